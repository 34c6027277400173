"""Forecast → warning → duties → list on a small data folder, through the checker."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.duties import build_instance, supply_conflicts
from emergency.errors import InputError, ValidationErrors
from emergency.respond import Override, check_plan, plan_response, state_at
from emergency.solution import WarningDecision
from tests.datafiles import small_plans, write_small_dataset

runner = CliRunner()
START = dt.date(2016, 12, 16)


def warning(level: str | None = "orange", days: int = 3) -> WarningDecision:
    return WarningDecision(
        level=level,
        start=START if level else None,
        end=START + dt.timedelta(days=days - 1) if level else None,
        rule_set="henan-2019",
        reason="test",
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "city")


@pytest.fixture
def dataset(data: Path) -> Dataset:
    return load_dataset(data)


def by_source(plan, day: dt.date = START) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {a.source: a.measure for a in plan.assignments if a.date == day}


def test_orange_list_meets_targets_and_checks(dataset: Dataset) -> None:
    plan = plan_response(dataset, warning())
    assert plan.status == "optimal"
    rep = check_plan(dataset, plan)
    assert rep.ok, rep.violations
    assert float(rep.cost_yuan) == plan.total_cost_yuan
    day = plan.days[0]
    # Orange: 20 % of the baseline less the non-listed cut (small_city()).
    assert day.target_kg.so2 == 700 and day.target_kg.nox == 1000
    assert day.target_kg.pm == 300 and day.target_kg.vocs == 100
    for r in day.rows:
        assert r.cut_kg >= r.target_kg - 1e-6
    chosen = by_source(plan)
    # The coke oven at minimum load forces the blast furnace to 0.6 or below: `deep`.
    assert chosen["JY-P001"] == "deep"
    assert chosen["JY-P003"] == "ultra-low"  # guaranteed: held at its floor
    p3 = next(a for a in plan.assignments if a.source == "JY-P003")
    assert p3.fixed == "guaranteed" and not p3.deepened and "guaranteed" in p3.why
    p1 = next(a for a in plan.assignments if a.source == "JY-P001")
    assert p1.deepened and p1.floor == "stop-sinter" and "deepened from stop-sinter" in p1.why


def test_every_row_is_valid_and_its_own(dataset: Dataset) -> None:
    """Rows are built from the engine's values without validation: each must still be
    what validating its fields gives, and no two rows share a mutable part."""
    from emergency.solution import Assignment

    plan = plan_response(dataset, warning())
    assert plan.assignments
    for a in plan.assignments:
        assert Assignment.model_validate(a.model_dump()) == a
        assert a.source in dataset.by_id and a.date >= START and a.why and a.why_zh
        # every field the engine sets is set, not left at the copied row's placeholder
        assert a.measure_name and a.floor and a.floor_cost_yuan is not None
        assert (a.loads is not None) == (a.source in dataset.plans)
    rows = plan.assignments
    assert len({id(a.__dict__) for a in rows}) == len(rows)


def test_each_days_reachable_cut_is_its_own(dataset: Dataset) -> None:
    """R(p, d) is shown per day: a yellow day between orange ones holds the guaranteed
    firm at its yellow floor (normal operation: its plan names none), so it reaches less
    than they do; the orange days, alike, reach the same."""
    from emergency import POLLUTANTS

    days = [(START + dt.timedelta(days=i), lv) for i, lv in enumerate(["orange", "yellow"])]
    days.append((START + dt.timedelta(days=2), "orange"))
    plan = plan_response(dataset, warning(), days=days)
    inst = build_instance(dataset, days)
    expected = [
        {p: round(v, 6) for p, v in zip(POLLUTANTS, inst.reachable_kg(d), strict=True)}
        for d in range(3)
    ]
    assert [day.reachable_kg.model_dump() for day in plan.days] == expected
    assert expected[0] != expected[1] and expected[0] == expected[2]


def test_restart_is_paid_once_and_reported(dataset: Dataset) -> None:
    plan = plan_response(dataset, warning(days=3))
    p1 = [a for a in plan.assignments if a.source == "JY-P001"]
    assert [a.restart_cost_yuan for a in p1] == [400000, 0, 0]
    assert plan.total_cost_yuan == pytest.approx(sum(a.cost_yuan for a in plan.assignments))


def test_floor_cost_is_the_plans_alone(dataset: Dataset) -> None:
    plan = plan_response(dataset, warning(days=1))
    inst = build_instance(dataset, [(START, "orange")])
    floors = sum(src.options[src.floor[0]].cost_yuan_d for src in inst.sources)
    assert plan.floor_cost_yuan == pytest.approx(floors + 400000)  # sinter stop restart
    assert plan.total_cost_yuan >= plan.floor_cost_yuan


def test_no_warning_gives_an_empty_list(dataset: Dataset) -> None:
    plan = plan_response(dataset, warning(None))
    assert plan.status == "no_warning" and plan.assignments == [] and plan.days == []


def test_override_exempt_and_force_are_fixed_and_shown(dataset: Dataset) -> None:
    ov = [
        Override(source="JY-Q001", exempt=True, reason="承担抢险任务"),
        Override(source="JY-S001", measure="stop-all", reason="重点区域"),
    ]
    plan = plan_response(dataset, warning(days=1), overrides=ov)
    rows = {a.source: a for a in plan.assignments}
    assert rows["JY-Q001"].measure == "normal" and rows["JY-Q001"].fixed == "exempt"
    assert "承担抢险任务" in rows["JY-Q001"].why
    assert rows["JY-S001"].measure == "stop-all" and rows["JY-S001"].fixed == "override"
    rep = check_plan(dataset, plan, overrides=ov)
    assert rep.ok, rep.violations
    plain = check_plan(dataset, plan)  # without the overrides the exemption is below floor
    assert any("JY-Q001" in v for v in plain.violations)


def test_override_of_unknown_measure_is_an_input_error(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="JY-S001 has no measure 'nope'"):
        plan_response(
            dataset, warning(), overrides=[Override(source="JY-S001", measure="nope", reason="x")]
        )


def test_replanning_from_state_keeps_the_stop_without_a_new_restart(dataset: Dataset) -> None:
    first = plan_response(dataset, warning(days=3))
    state = state_at(first, dataset, START + dt.timedelta(days=1))
    assert state.stopped_days == {"JY-P001/sinter-1": 1}
    # Upgrade to red for the remaining days: the sinter stop continues, no new restart.
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2)]
    again = plan_response(dataset, warning("red"), days=days, state=state)
    p1 = [a for a in again.assignments if a.source == "JY-P001"]
    assert all(a.restart_cost_yuan == 0 for a in p1)
    rep = check_plan(dataset, again, state=state)
    assert rep.ok, rep.violations


def test_supply_edge_no_allowed_measure_can_satisfy_is_reported(tmp_path: Path) -> None:
    plans = small_plans()
    # The steel plant can no longer go deep enough for its coke supplier at orange.
    plans["JY-P001"]["measures"] = plans["JY-P001"]["measures"][:2]
    plans["JY-P001"]["levels"]["red"] = "stop-sinter"
    with pytest.raises(ValidationErrors, match=r"JY-P002.yaml:\d+: supplies\[0\]"):
        load_dataset(write_small_dataset(tmp_path / "c", plans=plans))


def test_override_that_breaks_a_supply_edge_is_refused(dataset: Dataset) -> None:
    ov = [Override(source="JY-P001", exempt=True, reason="出口订单")]
    inst = build_instance(dataset, [(START, "orange")], overrides=ov)
    msgs = supply_conflicts(inst)
    assert msgs and "JY-P002.yaml" in msgs[0] and "JY-P001/bf-1" in msgs[0]
    with pytest.raises(InputError, match="cannot be met"):
        plan_response(dataset, warning(), overrides=ov)


def test_cli_respond_json_matches_the_spec(data: Path) -> None:
    result = runner.invoke(
        app,
        ["respond", "--forecast", "examples/forecast-orange.json", "--data", str(data), "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) >= {
        "warning",
        "status",
        "total_cost_yuan",
        "floor_cost_yuan",
        "bound_yuan",
        "days",
        "marginal_cost_yuan_per_kg",
        "assignments",
    }
    assert out["warning"]["level"] == "orange" and out["status"] == "optimal"
    assert set(out["days"][0]) >= {"date", "level", "target_kg", "cut_kg", "shortfall_kg"}
    a = out["assignments"][0]
    assert set(a) >= {
        "source",
        "date",
        "measure",
        "floor",
        "deepened",
        "cut_kg",
        "cost_yuan",
        "why",
    }
    assert out["total_cost_yuan"] == pytest.approx(sum(x["cost_yuan"] for x in out["assignments"]))


def test_cli_respond_keeps_the_collector_paused_to_the_output(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One city is one run: no sweep of the oldest generation between the load, the
    search and the output (each pause's end swept the whole city), and after it the
    collector is back as it was."""
    import gc

    import emergency.cli.cmd_respond as cmd
    import emergency.respond as respond

    seen: dict[str, bool] = {}
    planned, written = respond.plan_response, cmd.write_json

    def plan(*args: object, **kwargs: object) -> object:
        seen["search"] = gc.isenabled()
        return planned(*args, **kwargs)  # type: ignore[arg-type]

    def write(*args: object, **kwargs: object) -> None:
        seen["output"] = gc.isenabled()
        written(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(respond, "plan_response", plan)
    monkeypatch.setattr(cmd, "write_json", write)
    assert gc.isenabled()
    fc = "examples/forecast-orange.json"
    result = runner.invoke(app, ["respond", "-f", fc, "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    assert seen == {"search": False, "output": False}
    assert gc.isenabled()


def test_cli_respond_csv_and_xlsx(data: Path, tmp_path: Path) -> None:
    csv_out, xlsx_out = tmp_path / "list.csv", tmp_path / "list.xlsx"
    fc = "examples/forecast-orange.json"
    en = ["respond", "-f", fc, "--data", str(data), "--lang", "en"]
    r1 = runner.invoke(app, [*en, "--csv", str(csv_out)])
    r2 = runner.invoke(app, [*en, "--xlsx", str(xlsx_out)])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("source,name,kind,industry")
    assert any(line.startswith("JY-P001,济源钢铁,plant,steel") for line in lines)
    wb = load_workbook(xlsx_out)
    assert wb.sheetnames == ["list", "days", "summary"]
    assert wb["list"].max_row == len(lines)


def test_cli_respond_human_output_and_bad_input(data: Path, tmp_path: Path) -> None:
    fc = "examples/forecast-orange.json"
    r = runner.invoke(app, ["respond", "-f", fc, "--data", str(data), "--lang", "en"])
    assert r.exit_code == 0 and "Status optimal" in r.output and "JY-P001" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    r = runner.invoke(app, ["respond", "-f", str(bad), "--data", str(data)])
    assert r.exit_code == 2 and "bad.json" in r.output and "Traceback" not in r.output
    r = runner.invoke(
        app, ["respond", "-f", "examples/forecast-orange.json", "--data", str(tmp_path / "none")]
    )
    assert r.exit_code == 2


@pytest.mark.parametrize("width", [80, 100])
def test_respond_table_never_cuts_a_date(dataset: Dataset, width: int) -> None:
    """In 80 columns the dates stay whole (they were cut to ``2016-12-…``)."""
    import io

    from rich.console import Console

    from emergency.cli.cmd_respond import render

    plan = plan_response(dataset, warning(days=3))
    out = io.StringIO()
    render(plan, Console(file=out, width=width, highlight=False, color_system=None))
    text = out.getvalue()
    assert "2016-12-…" not in text and "2016-12…" not in text
    for day in range(3):
        date = str(START + dt.timedelta(days=day))
        rows = [line for line in text.splitlines() if line.startswith(date)]
        assert rows, f"no row of the cuts table starts with {date}:\n{text}"
        assert any(f" {date} " in line for line in text.splitlines()), "the list's date column"
    assert max(len(line) for line in text.splitlines()) <= width


def test_cli_respond_table_in_80_columns(data: Path) -> None:
    fc = "examples/forecast-orange.json"
    args = ["respond", "-f", fc, "--data", str(data), "--lang", "en"]
    r = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "2016-12-16" in r.output and "…" not in r.output.split("Curtailment")[0]


def test_cli_curve(data: Path, tmp_path: Path) -> None:
    png = tmp_path / "curve.png"
    r = runner.invoke(
        app,
        [
            "curve",
            "--data",
            str(data),
            "--from",
            "0.1",
            "--to",
            "0.3",
            "--step",
            "0.1",
            "--plot",
            str(png),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    pts = json.loads(r.output.split("plot written")[0])
    assert [p["fraction"] for p in pts] == [0.1, 0.2, 0.3]
    costs = [p["cost_yuan"] for p in pts]
    assert costs == sorted(costs)  # a deeper cut never costs less
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_check_accepts_a_list_and_flags_a_tampered_one(data: Path, tmp_path: Path) -> None:
    fc = "examples/forecast-orange.json"
    out = runner.invoke(app, ["respond", "-f", fc, "--data", str(data), "--json"])
    good = tmp_path / "plan.json"
    good.write_text(out.output, encoding="utf-8")
    r = runner.invoke(app, ["check", "--plan", str(good), "--data", str(data)])
    assert r.exit_code == 0 and r.output.startswith("valid:"), r.output
    plan = json.loads(out.output)
    plan["assignments"] = [a for a in plan["assignments"] if a["source"] != "JY-P001"]
    plan["total_cost_yuan"] += 1000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan), encoding="utf-8")
    r = runner.invoke(app, ["check", "--plan", str(bad), "--data", str(data)])
    assert r.exit_code == 1
    assert "JY-P001" in r.output and "differs from the list's" in r.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"status": "optimal"}', encoding="utf-8")
    r = runner.invoke(app, ["check", "--plan", str(broken), "--data", str(data)])
    assert r.exit_code == 2 and "broken.json: warning" in r.output


def test_the_stages_are_told_in_order_and_in_chinese(dataset: Dataset) -> None:
    from emergency.cli.cmd_respond import stage_text

    told: list[str] = []
    plan_response(dataset, warning("orange"), time_limit_s=20, progress=told.append)
    stages = [m for m in told if not m.startswith("searching")]
    # The whole model is searched unless the exact reduced-cost core proved the list.
    assert stages[4:] in ([], ["solving the integer model (CP-SAT)"])
    assert stages[:4] == [
        "building the duties",
        "building the model",
        "solving the LP relaxation",
        "solving the sources in play first",
    ]
    assert stage_text("solving the LP relaxation", "zh") == "求解线性松弛"
    assert (
        stage_text("searching: 1,234 yuan, gap 0.0100%", "zh") == "搜索中：1,234 元，差距 0.0100%"
    )
    assert all(stage_text(m, "zh") != m for m in stages), "every stage has its Chinese"


def test_every_stage_the_optimiser_tells_has_its_chinese() -> None:
    """Each literal stage ``optimise`` passes to its progress (read from its source, the
    stages of days linked by stops too) is told in Chinese."""
    import ast

    from emergency import optimiser
    from emergency.cli.cmd_respond import stage_text

    tree = ast.parse(Path(optimiser.__file__).read_text(encoding="utf-8"))
    said = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "say"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    assert "solving each day with the stops held" in said
    assert "improving the list by neighbourhoods" in said
    assert [m for m in said if stage_text(m, "zh") == m] == []


def test_cli_respond_gap_stops_within_it_and_says_so(data: Path) -> None:
    """A gap of 50 % lets the search stop at once; the status then says whether the list is
    proven optimal, and the gap is never over the one asked for."""
    args = ["respond", "-f", "examples/forecast-orange.json", "--data", str(data), "--json"]
    exact = json.loads(runner.invoke(app, args).output)
    loose_run = runner.invoke(app, [*args, "--gap", "50"])
    assert loose_run.exit_code == 0, loose_run.output
    loose = json.loads(loose_run.output)
    assert loose["gap"] <= 0.5
    assert loose["bound_yuan"] <= exact["total_cost_yuan"] + 1e-6
    assert loose["total_cost_yuan"] >= exact["total_cost_yuan"] - 1e-6
    if loose["status"] == "optimal":
        assert loose["total_cost_yuan"] == pytest.approx(exact["total_cost_yuan"])
    bad = runner.invoke(app, [*args, "--gap", "-1"])
    assert bad.exit_code == 2


@pytest.mark.parametrize("per_write", [1, 7, 2000])
def test_the_json_written_in_parts_is_the_plans_json(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch, per_write: int
) -> None:
    import io

    from emergency.cli import cmd_respond

    monkeypatch.setattr(cmd_respond, "ROWS_PER_WRITE", per_write)
    for plan in (plan_response(dataset, warning("orange")), plan_response(dataset, warning(None))):
        out = io.StringIO()
        cmd_respond.write_json(plan, out)
        assert json.loads(out.getvalue()) == json.loads(plan.model_dump_json())
        assert out.getvalue() == plan.model_dump_json(indent=2) + "\n"
        # to a UTF-8 file (as stdout), the rows as the serializer's bytes: the same text
        raw = io.BytesIO()
        file = io.TextIOWrapper(raw, encoding="utf-8", write_through=False)
        cmd_respond.write_json(plan, file)
        file.flush()
        assert raw.getvalue().decode("utf-8") == out.getvalue()


def test_reasons_written_once_for_alike_days_are_each_days_own(tmp_path: Path) -> None:
    """The list's reasons are written once per source for days that share what they depend
    on (respond._assignments): on a synthetic city with supply edges, two orange days then
    a red one, every row's reasons (en, zh) are those written for its own day alone."""
    from emergency import respond
    from emergency.optimiser import optimise
    from emergency.synth import synthesize, write_city

    write_city(synthesize(300, 5), tmp_path / "city")
    days = [(START, "orange"), (START + dt.timedelta(days=1), "orange")]
    days.append((START + dt.timedelta(days=2), "red"))
    inst = build_instance(load_dataset(tmp_path / "city"), days)
    assert inst.edges, "the city has no supply edges"
    solved = optimise(inst, time_limit_s=5.0)
    rows = respond._assignments(inst, solved)
    index = {src.id: s for s, src in enumerate(inst.sources)}
    day = {date: d for d, date in enumerate(inst.dates)}
    deepened = set()
    for row in rows:
        s, d = index[row.source], day[row.date]
        assert row.why == respond._why(inst, solved, s, d), (row.source, row.date)
        assert row.why_zh == respond._why(inst, solved, s, d, "zh"), (row.source, row.date)
        if row.deepened:
            deepened.add(row.date)
    # deepened rows on both levels' days: reasons that read the day's marginal costs
    assert len(deepened) == 3, deepened
    assert len({r.why for r in rows if r.date == days[0][0] and r.deepened}) > 1
