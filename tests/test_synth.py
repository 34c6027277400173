"""The synthetic Jiyuan-like city: determinism, validity, composition, magnitudes, CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emergency import POLLUTANTS
from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.measures import kind_defaults, source_measures
from emergency.paths import REPO_ROOT
from emergency.season.model import load_season, selected_lines
from emergency.synth import SynthCity, synthesize, write_city
from emergency.synth_tables import (
    CITY_FILE,
    INDUSTRIES_FILE,
    SEASON_FILE,
    CityTables,
    IndustryTables,
    SeasonTables,
    city_tables,
    industry_tables,
    load_tables,
    season_tables,
)

BUNDLED_SOURCES, BUNDLED_SEED = 400, 2016
KINDS = ("plant", "site", "yard", "quarry")


def files_of(root: Path) -> dict[str, bytes]:
    """Every generated file under a data folder (rule sets excluded), by relative path."""
    paths = [root / "enterprises.csv", root / "plans" / "city.yaml"]
    paths += [root / "plans" / "season.yaml", root / "plans" / "season-risk.csv"]
    paths += sorted((root / "plans" / "enterprises").glob("*.yaml"))
    return {str(p.relative_to(root)): p.read_bytes() for p in paths}


def written(tmp_path: Path, n: int, seed: int) -> tuple[SynthCity, Path]:
    city = synthesize(n, seed)
    out = tmp_path / f"city-{n}-{seed}"
    write_city(city, out)
    return city, out


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    _, a = written(tmp_path / "a", 300, 5)
    _, b = written(tmp_path / "b", 300, 5)
    assert files_of(a) == files_of(b)


def test_different_seeds_differ(tmp_path: Path) -> None:
    _, a = written(tmp_path, 300, 5)
    _, b = written(tmp_path, 300, 6)
    assert (a / "enterprises.csv").read_bytes() != (b / "enterprises.csv").read_bytes()


def test_output_does_not_depend_on_hash_seed(tmp_path: Path) -> None:
    """Set or dict order under another PYTHONHASHSEED must not leak into the files."""
    script = (
        "import sys; from pathlib import Path; from emergency.synth import synthesize, write_city;"
        "write_city(synthesize(120, 9), Path(sys.argv[1]), copy_rules=False)"
    )
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env)
        outs.append(files_of(out))
    assert outs[0] == outs[1]


def test_bundled_data_is_the_documented_command(tmp_path: Path) -> None:
    """The repository's data is exactly ``emergency synth --sources 400 --seed 2016``."""
    _, out = written(tmp_path, BUNDLED_SOURCES, BUNDLED_SEED)
    assert files_of(out) == files_of(REPO_ROOT)


def test_rewrite_removes_stale_plans(tmp_path: Path) -> None:
    write_city(synthesize(300, 1), tmp_path)
    write_city(synthesize(60, 1), tmp_path)
    data = load_dataset(tmp_path)  # a plan without an inventory row would be an error
    written = sorted(p.stem for p in (tmp_path / "plans" / "enterprises").glob("*.yaml"))
    assert written == sorted(data.plans) and len(data.sources) == 60


# --------------------------------------------------------------------------- tables


def test_bundled_tables_load_and_validate() -> None:
    tables = industry_tables()
    assert len(tables.industries) == 18
    assert sum(ind.weight for ind in tables.industries.values()) == 255
    steel = tables.industries["steel"]
    assert steel.lines[0].key == "sinter" and steel.lines[0].so2_kg_d == 1500
    assert steel.lines[0].value_added_yuan_d == 600_000  # underscores in the file are digits
    assert tables.schedules["kiln"]["C"][0] == -1  # `half`
    assert list(city_tables().defaults) == ["site", "yard", "quarry"]
    assert industry_tables() is tables  # read once


def broken(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of a bundled table file with one text replaced (which must occur)."""
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "so2_kg_d: 1500,",
            "so2_kg_d: lots,",
            "synth_industries.yaml: industries.steel.lines[0].so2_kg_d: "
            "Input should be a valid integer (got 'lots')",
        ),
        (
            "min_stop_days: 2}",
            "min_stop_days: 2, colour: red}",
            "synth_industries.yaml: industries.steel.lines[0].colour: "
            "Extra inputs are not permitted",
        ),
        (
            "schedule: sinter,",
            "schedule: sintr,",
            "synth_industries.yaml: industries.steel.lines[0].schedule: no schedule 'sintr'",
        ),
        (
            "    B-: [90, 80, 60]\n",
            "",
            "synth_industries.yaml: schedules.main: missing grade 'B-'",
        ),
        (
            "B: [95, 85, 70]",
            "B: [95, half, 70]",
            "synth_industries.yaml: schedules.main.B: `half` is allowed at yellow only",
        ),
        (
            "grades: {A: 2, B: 5, C: 3}",
            "grades: {A: 2, E: 5, C: 3}",
            "synth_industries.yaml: industries.steel.grades.E: unknown grade 'E'",
        ),
        (
            "placement: heavy",
            "placement: hevy",
            "synth_industries.yaml: industries.steel.placement: no placement 'hevy'",
        ),
    ],
)
def test_a_broken_industry_table_names_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, INDUSTRIES_FILE, old, new)
    with pytest.raises(ValueError) as excinfo:
        load_tables(path, IndustryTables)
    assert str(excinfo.value).startswith(message)


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """A second ``steel:`` would silently replace the first; the error gives its line."""
    lines = INDUSTRIES_FILE.read_text(encoding="utf-8").splitlines()
    line = lines.index("  coking:") + 1
    path = broken(tmp_path, INDUSTRIES_FILE, "  coking:\n", "  steel:\n")
    with pytest.raises(
        ValueError, match=rf"^synth_industries\.yaml:{line}: YAML: key 'steel' given"
    ):
        load_tables(path, IndustryTables)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "cut_fraction: 0.20",
            "cut_fraction: 1.20",
            "synth_city.yaml: levels.orange.cut_fraction: Input should be less than or equal to 1",
        ),
        (
            "levels: {yellow: cover-water,",
            "levels: {yellow: cover-waters,",
            "synth_city.yaml: defaults.yard: levels.yellow: no measure 'cover-waters'",
        ),
        (
            "listed_share: {so2: 0.6, nox: 0.5,",
            "listed_share: {so2: 0.6,",
            "synth_city.yaml: listed_share: missing pollutant 'nox'",
        ),
    ],
)
def test_a_broken_city_table_names_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, CITY_FILE, old, new)
    with pytest.raises(ValueError) as excinfo:
        load_tables(path, CityTables)
    assert str(excinfo.value).startswith(message)


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (7, 3), (20, 4), (60, 1), (400, 7), (2000, 11)])
def test_generated_city_validates(tmp_path: Path, n: int, seed: int) -> None:
    _, out = written(tmp_path, n, seed)
    data = load_dataset(out)
    assert len(data.sources) == n
    plants = [s for s in data.sources if s.kind == "plant"]
    assert sorted(data.plans) == sorted(s.id for s in plants)
    season = load_season(None, data)  # raises, naming file, line and field, if invalid
    for quota in season.season.quotas:
        assert selected_lines(quota, data)


def test_rule_sets_are_copied(tmp_path: Path) -> None:
    _, out = written(tmp_path, 30, 2)
    bundled = sorted(p.name for p in (REPO_ROOT / "plans" / "rules").glob("*.yaml"))
    assert bundled
    assert sorted(p.name for p in (out / "plans" / "rules").glob("*.yaml")) == bundled


def test_rows_are_exact_sums_of_plan_lines() -> None:
    city = synthesize(400, 3)
    rows = {r["id"]: r for r in city.rows}
    for plan in city.plans:
        row = rows[plan["enterprise"]]
        for key in (*(f"{p}_kg_d" for p in POLLUTANTS), "value_added_yuan_d"):
            assert row[key] == sum(line[key] for line in plan["lines"]), (row["id"], key)
            assert isinstance(row[key], int)


def test_stoppable_lines_never_run_below_their_technical_minimum() -> None:
    """Files give stoppable lines min_load 0 (a stop is load 0); measures still respect
    the technical minimum of a running furnace."""
    minimum = {
        (key, lt.key): lt.min_load_pct / 100
        for key, industry in industry_tables().industries.items()
        for lt in industry.lines
    }
    city = synthesize(1000, 8)
    industry = {r["id"]: r["industry"] for r in city.rows}
    for plan in city.plans:
        for measure in plan["measures"]:
            for line_id, load in measure["loads"].items():
                low = minimum[(industry[plan["enterprise"]], line_id.rsplit("-", 1)[0])]
                assert load == 0 or load >= low, (plan["enterprise"], measure["id"], line_id)


def test_committed_floors_honour_every_supply_edge() -> None:
    city = synthesize(2000, 12)
    plans = {p["enterprise"]: p for p in city.plans}

    def load(plan: dict, line: str, level: str) -> float:
        measure_id = plan["levels"].get(level)
        if measure_id is None:
            return 1.0
        measure = next(m for m in plan["measures"] if m["id"] == measure_id)
        return float(measure["loads"].get(line, 1.0))

    edges = [(p, e) for p in city.plans for e in p["supplies"]]
    assert {e["to"]["line"].split("-")[0] for _, e in edges} >= {"bf", "acid"}
    for plan, edge in edges:
        down = plans[edge["to"]["enterprise"]]
        for level in ("yellow", "orange", "red"):
            up_load = load(plan, edge["line"], level)
            bound = 1 - edge["share"] * (1 - up_load)
            assert load(down, edge["to"]["line"], level) <= bound + 1e-9


# --------------------------------------------------------------------------- composition


def test_composition_of_a_400_source_city() -> None:
    city = synthesize(400, 2016)
    kinds = Counter(r["kind"] for r in city.rows)
    industries = {r["industry"] for r in city.rows if r["kind"] == "plant"}
    assert kinds["plant"] >= 200
    assert len(industries) >= 14
    assert kinds["site"] >= 80
    assert 15 <= kinds["yard"] <= 21
    assert 12 <= kinds["quarry"] <= 18
    assert {r["guarantee"] for r in city.rows} >= {"", "livelihood"}
    assert all(r["guarantee"] == "livelihood" for r in city.rows if r["industry"] == "heating")
    districts = {r["district"] for r in city.rows}
    assert len(districts) >= 15
    for r in city.rows:
        assert 112.0 <= float(r["lon"]) <= 112.8 and 34.9 <= float(r["lat"]) <= 35.3
        prefix = {"plant": "JY-P", "site": "JY-S", "yard": "JY-Y", "quarry": "JY-Q"}[r["kind"]]
        assert r["id"].startswith(prefix)


@pytest.mark.parametrize("n", [20, 57, 1000])
def test_every_kind_present_from_twenty_sources(n: int) -> None:
    city = synthesize(n, 1)
    assert len(city.rows) == n
    assert set(Counter(r["kind"] for r in city.rows)) == set(KINDS)


def test_proportions_scale_with_size() -> None:
    kinds = Counter(r["kind"] for r in synthesize(4000, 1).rows)
    assert kinds["site"] == 1120 and kinds["yard"] == 180 and kinds["quarry"] == 150


# --------------------------------------------------------------------------- magnitudes


def read_listed(root: Path) -> dict[str, int]:
    with (root / "enterprises.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {p: sum(int(r[f"{p}_kg_d"]) for r in rows) for p in POLLUTANTS}


def test_bundled_listed_share_of_baseline() -> None:
    data = load_dataset(REPO_ROOT)
    listed = read_listed(REPO_ROOT)
    for p in POLLUTANTS:
        assert 0.50 <= listed[p] / data.city.baseline_kg_d[p] <= 0.85, p


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_listed_share_for_other_seeds(seed: int) -> None:
    city = synthesize(400, seed)
    for p in POLLUTANTS:
        listed = sum(r[f"{p}_kg_d"] for r in city.rows)
        assert 0.50 <= listed / city.city["baseline_kg_d"][p] <= 0.85, p


def envelope(data: Dataset, level: str) -> dict[str, dict[str, float]]:
    """Floor, target and largest reachable cut, recomputed from the loaded data only."""
    keys = (*POLLUTANTS, "so2+nox")
    floor = dict.fromkeys(keys, 0.0)
    best = dict.fromkeys(keys, 0.0)
    protect = set(data.city.protect_grades)

    def pooled(cut: dict[str, float]) -> dict[str, float]:
        return {**cut, "so2+nox": cut["so2"] + cut["nox"]}

    for source in data.sources:
        fixed = bool(source.guarantee) or source.grade in protect
        chosen = source_measures(data, source.id).floor(level)
        plan = data.plan(source.id)
        if plan is not None:
            ids = plan.measure_ids()
            allowed = [m for m in ids if plan.at_least_as_strict(m, chosen)]
            cuts = {m: pooled(plan.cut_kg_d(m)) for m in ids}
        else:
            defaults = kind_defaults(data, source.id)
            assert defaults is not None
            ids = ["normal", *(m.id for m in defaults.measures)]
            frac = {
                m: {p: defaults.measure(m).cut_fraction.get(p, 0.0) for p in POLLUTANTS}
                for m in ids
            }
            allowed = [m for m in ids if all(frac[m][p] >= frac[chosen][p] for p in POLLUTANTS)]
            emissions = source.emissions()
            cuts = {m: pooled({p: frac[m][p] * emissions[p] for p in POLLUTANTS}) for m in ids}
        if fixed:
            allowed = [chosen]
        for k in keys:
            floor[k] += cuts[chosen][k]
            best[k] += max(cuts[m][k] for m in allowed)
    target = pooled(data.city.target_kg_d(level))
    return {"floor": floor, "target": target, "max": best}


def test_bundled_orange_targets_need_deepening_and_are_reachable() -> None:
    """At orange the committed floors fall short, the strictest allowed measures do not."""
    data = load_dataset(REPO_ROOT)
    env = envelope(data, "orange")
    short = [k for k in env["target"] if env["floor"][k] < env["target"][k]]
    assert "so2+nox" in short  # pooled, as the city plan says
    assert "vocs" in short
    for k in ("so2+nox", "pm", "vocs"):
        assert env["target"][k] <= env["max"][k], k


@pytest.mark.parametrize("level", ["yellow", "red"])
def test_bundled_other_levels_need_deepening_and_are_reachable(level: str) -> None:
    env = envelope(load_dataset(REPO_ROOT), level)
    assert any(env["floor"][k] < env["target"][k] for k in env["target"])
    for k in ("so2+nox", "pm", "vocs"):
        assert env["target"][k] <= env["max"][k], k


def test_city_plan_is_marked_synthetic() -> None:
    text = (REPO_ROOT / "plans" / "city.yaml").read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC DATA")
    data = load_dataset(REPO_ROOT)
    assert data.city.rule_set == "henan-2019"
    assert data.city.level_order == ("yellow", "orange", "red")
    assert all(data.city.levels[lv].pool_so2_nox for lv in data.city.level_order)
    assert all(data.city.levels[lv].advice and data.city.levels[lv].advice_en for lv in ("red",))


# --------------------------------------------------------------------------- heating season


def test_every_quota_of_the_table_selects_lines_in_the_bundled_city() -> None:
    """The bundled city holds every industry of the season table: no quota is dropped."""
    data = load_dataset(REPO_ROOT)
    season = load_season(None, data).season
    assert [q.id for q in season.quotas] == [q.id for q in season_tables().quotas]
    assert season.min_running_share == season_tables().min_running_share
    assert season.exempt_grades == list(data.city.protect_grades)
    for quota in season.quotas:
        lines = selected_lines(quota, data)
        assert lines, quota.id
        assert {data.by_id[s].industry for s, _ in lines} == {quota.industry}


def test_a_small_city_drops_the_quotas_of_missing_industries(tmp_path: Path) -> None:
    _, out = written(tmp_path, 7, 3)
    data = load_dataset(out)
    industries = {s.industry for s in data.sources if s.id in data.plans}
    season = load_season(None, data).season
    table = season_tables()
    kept = [q.id for q in table.quotas if q.industry in industries]
    assert [q.id for q in season.quotas] == kept
    assert len(kept) < len(table.quotas)
    assert set(season.min_running_share) == set(table.min_running_share) & industries


def test_risk_climatology_peaks_in_winter_and_is_low_at_the_edges() -> None:
    data = load_dataset(REPO_ROOT)
    inp = load_season(None, data)
    days, risk = inp.season.days(), inp.risk
    assert inp.season.risk == "season-risk.csv"
    assert len(days) == 121 and (days[0].isoformat(), days[-1].isoformat()) == (
        "2016-11-15",
        "2017-03-15",
    )
    assert all(0 <= r <= 1 for r in risk)
    peak = days[risk.index(max(risk))]
    assert (peak.month, peak.day) >= (12, 20) or peak.month == 1
    by_month: dict[int, list[float]] = {}
    for day, r in zip(days, risk, strict=True):
        by_month.setdefault(day.month, []).append(r)
    mean = {m: sum(v) / len(v) for m, v in by_month.items()}
    assert mean[1] > 2 * mean[11] and mean[1] > 4 * mean[3]
    assert mean[12] > mean[11] and mean[2] > mean[3]


def test_risk_noise_follows_the_seed_only(tmp_path: Path) -> None:
    a, b, c = synthesize(60, 1), synthesize(60, 1), synthesize(60, 2)
    assert a.risk == b.risk
    assert [d for d, _ in a.risk] == [d for d, _ in c.risk]
    assert a.risk != c.risk
    shape = season_tables().risk
    pairs = zip(a.risk, c.risk, strict=True)
    assert all(abs(x - y) <= 2 * shape.noise + 0.011 for (_, x), (_, y) in pairs)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    stop_days: 60\n",
            "    stop_days: 60\n    output_cut: 0.3\n",
            "synth_season.yaml: quotas[0]: give either stop_days or output_cut",
        ),
        (
            "level: orange}",
            "level: purple}",
            "synth_season.yaml: key_periods[1].level: unknown level 'purple'",
        ),
        (
            "start: 2017-01-27,",
            "start: 2017-03-27,",
            "synth_season.yaml: key_periods[1]: 2017-03-27 .. 2017-02-02 is not inside",
        ),
        (
            "  steel: 0.5\n",
            "  steel: 1.5\n",
            "synth_season.yaml: min_running_share.steel: Input should be less than or equal to 1",
        ),
    ],
)
def test_a_broken_season_table_names_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, SEASON_FILE, old, new)
    with pytest.raises(ValueError) as excinfo:
        load_tables(path, SeasonTables)
    assert str(excinfo.value).startswith(message)


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_data_folder(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(app, ["synth", "--sources", "60", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "60 sources" in result.output
    assert (out / "plans" / "rules").is_dir()
    assert len(load_dataset(out).sources) == 60
    assert files_of(out) == files_of(written(tmp_path, 60, 4)[1])


def test_cli_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    args = ["synth", "--sources", "30", "--seed", "1", "--out", str(tmp_path)]
    refused = CliRunner().invoke(app, [*args, "--lang", "en"])
    assert refused.exit_code == 2
    assert "not empty" in refused.output and "--force" in refused.output
    assert not (tmp_path / "enterprises.csv").exists()
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    load_dataset(tmp_path)


@pytest.mark.parametrize("sources", ["0", "-5"])
def test_cli_rejects_a_bad_source_count(tmp_path: Path, sources: str) -> None:
    result = CliRunner().invoke(app, ["synth", "--sources", sources, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--sources" in result.output


def test_cli_rejects_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "file.csv"
    target.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["synth", "--sources", "5", "--out", str(target), "--lang", "en"]
    )
    assert result.exit_code == 2
    assert "not a folder" in result.output


def test_every_synthetic_line_has_its_sub_meters(tmp_path: Path) -> None:
    """The synthetic plans map one or two electricity sub-meters to every line (what the
    meter gateway reports on); no meter serves two lines; the names are the documented
    ``<enterprise>-<line>-E1`` (and ``-E2``)."""
    _, out = written(tmp_path, 60, 1)
    data = load_dataset(out)
    seen: dict[str, tuple[str, str]] = {}
    counts: Counter[int] = Counter()
    for pid, plan in data.plans.items():
        for line in plan.lines:
            assert line.meters, (pid, line.id)
            assert line.meters[0] == f"{pid}-{line.id}-E1"
            counts[len(line.meters)] += 1
            for meter in line.meters:
                assert meter not in seen, (meter, seen.get(meter))
                seen[meter] = (pid, line.id)
    assert set(counts) == {1, 2}, counts  # some lines have a second meter
