"""The heating season: the file, the schedule (CP-SAT), the independent checker, the CLI."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.errors import ValidationErrors
from emergency.season.check import check_season_schedule
from emergency.season.model import SeasonInput, load_season, parse_season_text
from emergency.season.schedule import Schedule, plan_season
from tests.datafiles import dump_yaml, small_plans, write_small_dataset

START = dt.date(2026, 11, 15)
END = dt.date(2026, 11, 28)  # 14 days


def day(n: int) -> dt.date:
    """The n-th day of the test season (1-based)."""
    return START + dt.timedelta(days=n - 1)


def base_season(**fields: Any) -> dict[str, Any]:
    season: dict[str, Any] = {"id": "winter-test", "start": START, "end": END}
    season.update(fields)
    return season


SINTER_5 = {"id": "sinter", "industry": "steel", "lines": ["sinter-*"], "stop_days": 5}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_dataset(tmp_path_factory.mktemp("season") / "data")


@pytest.fixture(scope="module")
def dataset(data: Path) -> Dataset:
    return load_dataset(data)


def parse(dataset: Dataset, season: dict[str, Any]) -> SeasonInput:
    return parse_season_text(dump_yaml(season), "plans/season.yaml", dataset)


def solve(dataset: Dataset, season: dict[str, Any]) -> tuple[SeasonInput, Schedule]:
    inp = parse(dataset, season)
    result = plan_season(inp, dataset, time_limit_s=10)
    report = check_season_schedule(inp, dataset, result.to_json())
    assert report.ok, report.violations
    assert abs(float(report.cost_yuan) - result.total_cost_yuan) < 0.01
    return inp, result


def quota(result: Schedule, qid: str) -> dict[str, Any]:
    return next(q for q in result.quotas if q["id"] == qid)


def stopped_days(result: Schedule, source: str, line: str) -> list[str]:
    out = []
    for a in result.assignments:
        if a["source"] == source and a["line_loads"].get(line) == 0.0:
            first = dt.date.fromisoformat(a["start"])
            last = dt.date.fromisoformat(a["end"])
            out += [str(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]
    return out


# ------------------------------------------------------------------ the file


def errors_of(dataset: Dataset, season: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationErrors) as info:
        parse(dataset, season)
    return info.value.errors


def test_file_problems_name_file_line_and_field(dataset: Dataset) -> None:
    both = {"industry": "steel", "stop_days": 3, "output_cut": 0.3}
    errors = errors_of(dataset, base_season(quotas=[both], colour="red"))
    assert any(e.startswith("plans/season.yaml:") and "quotas[0]" in e for e in errors)
    assert any("either stop_days or output_cut" in e for e in errors)
    assert any("colour: unknown field" in e for e in errors)


def test_cross_checks_against_the_data(dataset: Dataset) -> None:
    season = base_season(
        quotas=[
            {"industry": "cement", "stop_days": 3},
            {"industry": "steel", "lines": ["kiln-*"], "stop_days": 3},
        ],
        key_periods=[{"name": "x", "start": day(2), "end": day(3), "level": "blue"}],
        min_running_share={"brick": 0.5},
    )
    errors = errors_of(dataset, season)
    text = "\n".join(errors)
    assert "quotas[0].industry: no source with a plan in industry 'cement'" in text
    assert "quotas[1]: selects no line" in text
    assert "key_periods[0].level: not a level of the city plan" in text
    assert "min_running_share.brick" in text
    line = next(e for e in errors if "quotas[1]" in e)
    assert line.split(":")[1].isdigit()


def test_dates_and_risk(dataset: Dataset, tmp_path: Path) -> None:
    errors = errors_of(
        dataset,
        base_season(
            end=START - dt.timedelta(days=1),
        ),
    )
    assert any("end" in e and "before start" in e for e in errors)
    (tmp_path / "risk.csv").write_text(
        f"date,risk\n{day(2)},3\n{day(3)},x\n2020-01-01,1\n", encoding="utf-8"
    )
    (tmp_path / "season.yaml").write_text(dump_yaml(base_season(risk="risk.csv")), "utf-8")
    with pytest.raises(ValidationErrors) as info:
        load_season(tmp_path / "season.yaml", dataset)
    text = "\n".join(info.value.errors)
    assert "risk.csv:3: risk: not a number" in text
    assert "risk.csv:4: date: 2020-01-01 is outside the season" in text
    (tmp_path / "risk.csv").write_text(f"date,risk\n{day(2)},3\n", encoding="utf-8")
    inp = load_season(tmp_path / "season.yaml", dataset)
    assert inp.risk[1] == 3 and inp.risk[0] == 0
    assert parse(dataset, base_season()).risk == [1.0] * 14


# ------------------------------------------------------------------ the schedule


def test_stop_days_met_in_one_block_at_least_cost(dataset: Dataset) -> None:
    _, result = solve(dataset, base_season(quotas=[SINTER_5], min_running_share={"steel": 0.4}))
    assert result.status == "optimal"
    assert quota(result, "sinter")["achieved"] == 5
    assert len(stopped_days(result, "JY-P001", "sinter-1")) == 5
    # stop-sinter: 800 000 + 0.2 × 1 200 000 a day, one restart of 400 000
    assert result.total_cost_yuan == 5 * (800_000 + 240_000) + 400_000
    assert result.gap == 0


def test_stops_go_to_the_riskiest_days(dataset: Dataset) -> None:
    risk = {day(d): 5 for d in range(9, 14)}
    _, result = solve(
        dataset,
        base_season(quotas=[SINTER_5], min_running_share={"steel": 0.4}, risk=risk),
    )
    assert stopped_days(result, "JY-P001", "sinter-1") == [str(day(d)) for d in range(9, 14)]


def test_stop_days_beyond_the_season_fall_short(dataset: Dataset) -> None:
    too_many = dict(SINTER_5, stop_days=20)
    _, result = solve(dataset, base_season(quotas=[too_many]))
    assert result.status == "short"
    q = quota(result, "sinter")
    assert q["achieved"] == 14 and q["short_by"] == 6
    assert q["short"] == [{"of": "JY-P001/sinter-1", "achieved": 14.0, "short_by": 6.0}]


def test_running_share_keeps_lines_running_and_makes_a_quota_short(dataset: Dataset) -> None:
    # stopping the sinter line leaves steel at 0.48 of its value added
    _, result = solve(dataset, base_season(quotas=[SINTER_5], min_running_share={"steel": 0.5}))
    assert result.status == "short"
    assert quota(result, "sinter")["short_by"] == 5
    assert all(d["running_share"]["steel"] >= 0.5 for d in result.days)


def test_running_share_alone(dataset: Dataset) -> None:
    season = base_season(
        quotas=[{"id": "coke", "industry": "coking", "output_cut": 0.3}],
        min_running_share={"coking": 0.8},
    )
    _, result = solve(dataset, season)
    assert result.status == "short"
    assert quota(result, "coke")["achieved"] == pytest.approx(0.2)
    assert all(d["running_share"]["coking"] == 0.8 for d in result.days)


def test_output_cut_met(dataset: Dataset) -> None:
    season = base_season(quotas=[{"id": "coke", "industry": "coking", "output_cut": 0.1}])
    _, result = solve(dataset, season)
    assert result.status == "optimal"
    assert quota(result, "coke")["achieved"] == pytest.approx(0.1)
    # 10 % of 14 × 500 000 is 700 000 of lost value added: 7 days at 0.8, and on those
    # days the blast furnace it supplies runs at 0.8 too (limit-20: 400 000 a day)
    assert result.total_cost_yuan == 700_000 + 7 * 400_000


def test_output_cut_per_firm_and_short(dataset: Dataset) -> None:
    # the coke oven runs at 0.6 at least: 40 % is the most it can cut
    season = base_season(
        quotas=[{"id": "coke", "industry": "coking", "output_cut": 0.5, "per": "firm"}]
    )
    _, result = solve(dataset, season)
    assert result.status == "short"
    q = quota(result, "coke")
    assert q["achieved"] == pytest.approx(0.4) and q["short_by"] == pytest.approx(0.1)
    assert q["short"][0]["of"] == "JY-P002"


def test_key_period_floor(dataset: Dataset) -> None:
    season = base_season(
        key_periods=[{"name": "festival", "start": day(3), "end": day(4), "level": "orange"}]
    )
    _, result = solve(dataset, season)
    assert result.status == "optimal"
    on = [a for a in result.assignments if a["source"] == "JY-P001"]
    # orange floor is stop-sinter (min 2 days, restart 400 000); power is held (guaranteed)
    assert [(a["start"], a["end"]) for a in on] == [(str(day(3)), str(day(4)))]
    assert on[0]["measure"] in ("stop-sinter", "deep")
    assert result.days[2]["key_period"] == "festival"
    power = [a for a in result.assignments if a["source"] == "JY-P003"]
    assert [a["measure"] for a in power] == ["ultra-low"]


def test_floors_and_supply_below_the_running_share_are_short_not_infeasible(
    dataset: Dataset,
) -> None:
    # orange: the coke oven's floor (0.6) holds the blast furnace at 0.6, so steel must take
    # "deep" (0.3 of its value added) although it should keep 0.4 running
    season = base_season(
        min_running_share={"steel": 0.4},
        key_periods=[{"name": "festival", "start": day(3), "end": day(3), "level": "orange"}],
    )
    inp, result = solve(dataset, season)
    assert result.status == "short"
    assert result.running_share_short == [
        {"industry": "steel", "date": str(day(3)), "required": 0.4, "achieved": 0.3}
    ]
    undeclared = dict(result.to_json(), running_share_short=[])
    text = violations(dataset, inp, undeclared)
    assert f"steel {day(3)}: running share 0.3000 below 0.4000" in text


def test_exempt_firms_carry_no_quota(dataset: Dataset) -> None:
    season = base_season(quotas=[{"id": "power", "industry": "power", "stop_days": 3}])
    _, result = solve(dataset, season)
    assert result.status == "optimal"
    assert result.assignments == []
    assert result.total_cost_yuan == 0


# ------------------------------------------------------------------ the checker


@pytest.fixture(scope="module")
def planned(dataset: Dataset) -> tuple[SeasonInput, dict[str, Any]]:
    season = base_season(
        quotas=[SINTER_5, {"id": "coke", "industry": "coking", "output_cut": 0.1}],
        min_running_share={"steel": 0.4},
        key_periods=[{"name": "festival", "start": day(12), "end": day(12), "level": "yellow"}],
    )
    inp, result = solve(dataset, season)
    assert result.status == "optimal"
    return inp, result.to_json()


def violations(dataset: Dataset, inp: SeasonInput, schedule: dict[str, Any]) -> str:
    report = check_season_schedule(inp, dataset, schedule)
    assert not report.ok
    return "\n".join(report.violations)


def without(schedule: dict[str, Any], source: str) -> dict[str, Any]:
    out = copy.deepcopy(schedule)
    out["assignments"] = [a for a in out["assignments"] if a["source"] != source]
    out.pop("total_cost_yuan")
    return out


def run(source: str, measure: str, first: int, last: int) -> dict[str, Any]:
    return {"source": source, "measure": measure, "start": str(day(first)), "end": str(day(last))}


def test_checker_accepts_the_plan(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    assert check_season_schedule(inp, dataset, schedule).ok


def test_checker_rejects_a_wrong_cost(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    bad = dict(schedule, total_cost_yuan=schedule["total_cost_yuan"] - 1)
    assert "differs from the recomputed" in violations(dataset, inp, bad)


def test_checker_rejects_quota_short_and_floor(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    text = violations(dataset, inp, without(schedule, "JY-P001"))
    assert "quota sinter: achieved 0 of 5" in text
    assert f"JY-P001 {day(12)}: normal is milder than the key-period floor limit-20" in text
    text = violations(dataset, inp, without(schedule, "JY-P002"))
    assert "quota coke: achieved 0 of 0.1" in text


def test_checker_tolerates_a_declared_shortfall(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    bad = without(schedule, "JY-P002")
    bad["status"] = "short"
    bad["quotas"] = [{"id": "coke", "short_by": 0.1}]
    assert "quota coke" not in violations(dataset, inp, bad)  # supply still broken


def test_checker_rejects_min_stop_supply_share_and_exempt(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    bad = without(schedule, "JY-P001")
    bad["assignments"] += [run("JY-P001", "stop-sinter", 1, 1), run("JY-P001", "deep", 3, 3)]
    bad["assignments"] += [run("JY-P003", "ultra-low", 5, 5)]
    text = violations(dataset, inp, bad)
    assert f"JY-P001/sinter-1 {day(2)}: restarted before its minimum stop of 2 days" in text
    assert f"steel {day(3)}: running share 0.3000 below 0.4000" in text
    assert f"JY-P003 {day(5)}: ultra-low but held at its floor normal" in text
    bad = without(schedule, "JY-P002")
    bad["assignments"].append(run("JY-P002", "min-load", 13, 13))
    text = violations(dataset, inp, bad)
    assert "JY-P001/bf-1" in text and "exceeds what JY-P002/coke-1" in text


def test_checker_rejects_unknown_measures(
    dataset: Dataset, planned: tuple[SeasonInput, dict[str, Any]]
) -> None:
    inp, schedule = planned
    bad = copy.deepcopy(schedule)
    bad["assignments"].append(run("JY-P001", "fly", 1, 1))
    bad["assignments"].append(run("JY-X", "normal", 1, 1))
    text = violations(dataset, inp, bad)
    assert "has no measure 'fly'" in text and "no planned source 'JY-X'" in text


# ------------------------------------------------------------------ the CLI


def write_season(data: Path, season: dict[str, Any]) -> Path:
    path = data / "plans" / "season.yaml"
    path.write_text(dump_yaml(season), encoding="utf-8")
    return path


def test_cli_plan_and_check(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "data")
    runner = CliRunner()
    write_season(data, base_season(quotas=[SINTER_5], min_running_share={"steel": 0.4}))
    result = runner.invoke(app, ["season", "plan", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "optimal"
    schedule = tmp_path / "schedule.json"
    schedule.write_text(result.stdout, encoding="utf-8")
    check = ["season", "check", "--data", str(data), "--schedule", str(schedule)]
    result = runner.invoke(app, check)
    assert result.exit_code == 0, result.output
    out["assignments"] = []
    schedule.write_text(json.dumps(out), encoding="utf-8")
    result = runner.invoke(app, check)
    assert result.exit_code == 1 and "quota sinter" in result.stdout
    schedule.write_text("{", encoding="utf-8")
    assert runner.invoke(app, check).exit_code == 2

    write_season(data, base_season(quotas=[SINTER_5], min_running_share={"steel": 0.5}))
    result = runner.invoke(app, ["season", "plan", "--data", str(data)])
    assert result.exit_code == 1 and "SHORT by 5" in result.stdout


def test_cli_bad_season_file(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "data")
    season = base_season(quotas=[{"industry": "steel", "stop_days": -1}], extra=1)
    path = write_season(data, season)
    args = ["season", "plan", "--season", str(path), "--data", str(data), "--lang", "en"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"error: {path}:") for line in lines)
    assert any("quotas[0].stop_days" in line for line in lines)
    missing = ["season", "plan", "--data", str(data), "--season", str(tmp_path / "no.yaml")]
    assert CliRunner().invoke(app, missing).exit_code == 2


# ------------------------------------------------------------------ sources with no role


@pytest.mark.parametrize(
    ("restart", "stopped", "restarts"),
    [(400_000, [3, 4, 8, 9], 2), (3_000_000, [3, 4, 5, 6, 7, 8], 1)],
)
def test_sources_with_no_role_bridge_forced_stops_when_cheaper(
    tmp_path: Path, restart: int, stopped: list[int], restarts: int
) -> None:
    # no supply coupling, no quota, no running share: the sources have no role, their
    # days are fixed except from the first forced stop to the last one's minimum stop
    plans = small_plans()
    plans["JY-P002"]["supplies"] = []
    plans["JY-P001"]["lines"][0]["restart_cost_yuan"] = restart
    dataset = load_dataset(write_small_dataset(tmp_path / "data", plans=plans))
    orange = [{"name": f"k{d}", "start": day(d), "end": day(d), "level": "orange"} for d in (3, 8)]
    _, result = solve(dataset, base_season(key_periods=orange))
    assert result.status == "optimal"
    got = stopped_days(result, "JY-P001", "sinter-1")
    # (a 2-day stop around day 8 may start on day 7 or 8: the same cost and cut)
    assert len(got) == len(stopped) and {str(day(3)), str(day(8))} <= set(got)
    assert set(got) <= {str(day(d)) for d in range(3, 10)}
    # stop-sinter 1 040 000 a day, restarts; on the two days the coke oven at min-load
    # (200 000) and the power plant at its floor ultra-low (90 000)
    expected = len(stopped) * 1_040_000 + restarts * restart + 2 * (200_000 + 90_000)
    assert result.total_cost_yuan == expected


def test_a_source_scheduled_alone_matches_the_solver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JY-P001 without its supplier: its rules see only stops (a stop-day quota, restarts,
    # minimum stops), so it is scheduled alone by dynamic programming; with no room for
    # states it goes to CP-SAT: the same cost and the same risk-weighted cut
    from emergency.season import dp

    plans = small_plans()
    plans["JY-P002"]["supplies"] = []
    dataset = load_dataset(write_small_dataset(tmp_path / "data", plans=plans))
    risk = {day(d): (d * 7) % 5 for d in range(1, 15)}
    season = base_season(
        quotas=[dict(SINTER_5, stop_days=6)],
        risk=risk,
        key_periods=[{"name": "k", "start": day(10), "end": day(10), "level": "red"}],
    )
    _, alone = solve(dataset, season)
    monkeypatch.setattr(dp, "DP_STATES", 0)
    _, solver = solve(dataset, season)
    assert alone.status == solver.status == "optimal"
    assert alone.total_cost_yuan == solver.total_cost_yuan
    assert alone.risk_weighted_cut == solver.risk_weighted_cut
    assert len(stopped_days(alone, "JY-P001", "sinter-1")) == 6


# ------------------------------------------------------------------ the warm start


def synth_season(tmp_path: Path, *, steel_share: float) -> tuple[Dataset, SeasonInput]:
    """A 300-source synth city (seed 7) and a season: brick works stop their kilns 60
    days with 40 % of brick running each day; each steel firm cuts its sinter, pellet and
    iron lines by 30 % with ``steel_share`` of steel running."""
    out = tmp_path / "synth"
    args = ["synth", "--sources", "300", "--seed", "7", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    dataset = load_dataset(out)
    season = {
        "id": "winter-synth",
        "start": dt.date(2016, 11, 15),
        "end": dt.date(2017, 3, 15),
        "quotas": [
            {"id": "brick", "industry": "brick", "lines": ["kiln-*"], "stop_days": 60},
            {
                "id": "steel",
                "industry": "steel",
                "lines": ["sinter-*", "pellet-*", "bf-*"],
                "output_cut": 0.3,
                "per": "firm",
            },
        ],
        "min_running_share": {"brick": 0.4, "steel": steel_share},
    }
    return dataset, parse(dataset, season)


def test_the_warm_start_alone_meets_an_output_cut_and_staggered_stop_days(
    tmp_path: Path,
) -> None:
    # a small synthetic city: 17 brick works must stop their kilns 60 of 121 days while
    # brick keeps 40 % of its value added running every day (the blocks must be
    # staggered), and each steel firm cuts its sinter, pellet and iron lines by 30 % while
    # steel keeps half; the warm start alone, no solver, meets both
    from emergency.season.schedule import warm_schedule

    dataset, inp = synth_season(tmp_path, steel_share=0.5)
    warm = warm_schedule(inp, dataset)
    assert warm.status == "feasible"
    assert [(q["id"], q["short"]) for q in warm.quotas] == [("brick", []), ("steel", [])]
    assert quota(warm, "brick")["achieved"] >= 60
    assert quota(warm, "steel")["achieved"] >= 0.3 - 1e-9
    assert warm.running_share_short == []
    brick = [d["running_share"]["brick"] for d in warm.days]
    assert min(brick) >= 0.4 - 1e-9 and min(brick) < 0.9  # stops overlap, within the share
    report = check_season_schedule(inp, dataset, warm.to_json())
    assert report.ok, report.violations
    assert abs(float(report.cost_yuan) - warm.total_cost_yuan) < 0.01


# ------------------------------------------------------------------ groups solved in parts


def test_a_group_held_by_running_shares_solved_in_parts_is_valid_and_bounds_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small synthetic city whose steel firms cut 30 % each while steel keeps 55 %
    # running, and whose brick works stop 60 days while brick keeps 40 %: solved in parts
    # (emergency.season.split: the Lagrangian search per steel firm, dynamic programming
    # per brick works, the shares mended), the schedule meets every rule, and its bound
    # is a true lower bound: at most the cost the whole model finds, and the whole
    # model's bound is at most its cost
    from emergency.season import schedule

    dataset, inp = synth_season(tmp_path, steel_share=0.55)
    whole = plan_season(inp, dataset, time_limit_s=20)
    monkeypatch.setattr(schedule, "SPLIT_SIZE", 0)
    split: list[Any] = []
    solve_shared = schedule.solve_shared

    def recorded(*args: Any) -> Any:
        split.append(solve_shared(*args))
        return split[-1]

    monkeypatch.setattr(schedule, "solve_shared", recorded)
    parts = plan_season(inp, dataset, time_limit_s=20)
    assert len(split) == 2 and None not in split  # brick and steel, each in parts
    for found in (whole, parts):
        assert found.status in ("optimal", "feasible")
        report = check_season_schedule(inp, dataset, found.to_json())
        assert report.ok, report.violations
        assert abs(float(report.cost_yuan) - found.total_cost_yuan) < 0.01
        assert found.bound_yuan <= found.total_cost_yuan + 0.01
    assert parts.bound_yuan <= whole.total_cost_yuan + 0.01
    assert whole.bound_yuan <= parts.total_cost_yuan + 0.01
    assert parts.gap < 0.01
