"""The season re-planned from a date with what is settled (state), a new risk series, the
checker of a re-plan, and the schedule's CSV/XLSX files."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.errors import InputError, ValidationErrors
from emergency.season.check import check_season_schedule
from emergency.season.model import SeasonInput
from emergency.season.schedule import Schedule, SeasonState, plan_season
from tests.datafiles import small_plans, write_small_dataset
from tests.test_season import (
    END,
    SINTER_5,
    START,
    base_season,
    day,
    parse,
    quota,
    stopped_days,
    write_season,
)

STEEL = {"min_running_share": {"steel": 0.4}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_dataset(tmp_path_factory.mktemp("replan") / "data")


@pytest.fixture(scope="module")
def dataset(data: Path) -> Dataset:
    return load_dataset(data)


def replan(
    dataset: Dataset, season: dict[str, Any], state: SeasonState | None
) -> tuple[SeasonInput, Schedule]:
    """Plan with ``state`` and check the result with the same state."""
    inp = parse(dataset, season)
    result = plan_season(inp, dataset, time_limit_s=10, state=state)
    report = check_season_schedule(inp, dataset, result.to_json(), state=state)
    assert report.ok, report.violations
    assert abs(float(report.cost_yuan) - result.total_cost_yuan) < 0.01
    assert abs(float(report.settled_cost_yuan) - result.settled_cost_yuan) < 0.01
    return inp, result


def sinter_stopped(days: list[int]) -> dict[str, dict[dt.date, dict[str, float]]]:
    """JY-P001's sinter line held stopped on these days (a response's stop days)."""
    return {"JY-P001": {day(d): {"sinter-1": 0.0} for d in days}}


def after(result: Schedule, first: int) -> list[str]:
    """Days on which the sinter line is stopped from day ``first`` on."""
    return [d for d in stopped_days(result, "JY-P001", "sinter-1") if d >= str(day(first))]


# ------------------------------------------------------------------ the state


def test_response_stop_days_reduce_the_stops_still_scheduled(dataset: Dataset) -> None:
    season = base_season(quotas=[SINTER_5], **STEEL)
    _, plain = replan(dataset, season, SeasonState(day(6)))
    assert len(after(plain, 6)) == 5  # nothing settled: the whole quota is still to do
    _, result = replan(dataset, season, SeasonState(day(6), sinter_stopped([1, 2, 3])))
    assert result.status == "optimal"
    assert result.to_json()["from"] == str(day(6))
    assert len(after(result, 6)) == 2
    assert quota(result, "sinter")["achieved"] == 5
    # settled: 3 days with sinter stopped and the blast furnace at 1 (800 000 a day, not
    # a measure of the plan) and one restart; then a new stop of 2 days (stop-sinter,
    # 1 040 000 a day), begun after a running day: it pays its restart
    assert result.settled_cost_yuan == 3 * 800_000 + 400_000
    assert result.total_cost_yuan == 3 * 800_000 + 400_000 + 2 * 1_040_000 + 400_000
    settled = [a for a in result.assignments if a["measure"] == "settled"]
    assert [(a["start"], a["end"]) for a in settled] == [(str(day(1)), str(day(3)))]


def test_a_quota_met_by_settled_days_is_not_stopped_again(dataset: Dataset) -> None:
    season = base_season(quotas=[SINTER_5], **STEEL)
    _, result = replan(dataset, season, SeasonState(day(8), sinter_stopped([2, 3, 4, 5, 6])))
    assert after(result, 8) == []
    assert result.total_cost_yuan == result.settled_cost_yuan == 5 * 800_000 + 400_000


def test_a_stopped_line_stays_stopped_its_minimum_without_a_new_restart(
    tmp_path: Path,
) -> None:
    plans = small_plans()
    plans["JY-P001"]["lines"][0]["min_stop_days"] = 3
    dataset = load_dataset(write_small_dataset(tmp_path / "data", plans=plans))
    season = base_season()  # no quota: resuming at once would be cheapest
    _, result = replan(dataset, season, SeasonState(day(6), sinter_stopped([5])))
    # stopped 1 day before from: 2 more days, then it runs
    assert after(result, 6) == [str(day(6)), str(day(7))]
    assert result.total_cost_yuan == 800_000 + 400_000 + 2 * 1_040_000
    # stopped 3 days before: its minimum is over
    _, result = replan(dataset, season, SeasonState(day(6), sinter_stopped([3, 4, 5])))
    assert after(result, 6) == []


def test_key_period_floors_hold_from_the_date_on(dataset: Dataset) -> None:
    season = base_season(
        key_periods=[{"name": "festival", "start": day(2), "end": day(9), "level": "yellow"}]
    )
    _, result = replan(dataset, season, SeasonState(day(6)))
    held = {a["start"] for a in result.assignments if a["source"] == "JY-P001"}
    # days 2..5 were settled at normal (no floor then); from day 6 the floor limit-20 holds
    assert held == {str(day(6))}
    run = next(a for a in result.assignments if a["source"] == "JY-P001")
    assert (run["measure"], run["end"]) == ("limit-20", str(day(9)))


def test_from_before_the_season_is_no_state_and_after_it_an_error(dataset: Dataset) -> None:
    season = base_season(quotas=[SINTER_5], **STEEL)
    _, result = replan(dataset, season, SeasonState(START - dt.timedelta(days=3)))
    assert result.to_json()["from"] is None and result.settled_cost_yuan == 0
    assert len(stopped_days(result, "JY-P001", "sinter-1")) == 5
    inp = parse(dataset, season)
    with pytest.raises(InputError, match="after the end of season winter-test"):
        plan_season(inp, dataset, state=SeasonState(END + dt.timedelta(days=1)))


def test_held_loads_are_validated(dataset: Dataset) -> None:
    inp = parse(dataset, base_season())
    state = SeasonState(
        day(4),
        {
            "JY-X": {day(1): {"a": 0.0}},
            "JY-P001": {day(1): {"kiln-9": 0.0, "sinter-1": 1.5}, day(5): {"sinter-1": 0.0}},
        },
    )
    with pytest.raises(ValidationErrors) as info:
        plan_season(inp, dataset, state=state)
    text = "\n".join(info.value.errors)
    assert "held.JY-X: no source with a plan" in text
    assert f"held.JY-P001.{day(1)}.kiln-9: JY-P001 has no line" in text
    assert f"held.JY-P001.{day(1)}.sinter-1: load must be within 0 .. 1" in text
    assert f"held.JY-P001.{day(5)}: not a settled day" in text


# ------------------------------------------------------------------ the checker


@pytest.fixture(scope="module")
def replanned(dataset: Dataset) -> tuple[SeasonInput, SeasonState, dict[str, Any]]:
    season = base_season(quotas=[SINTER_5], **STEEL)
    state = SeasonState(day(6), sinter_stopped([4, 5]))
    inp, result = replan(dataset, season, state)
    return inp, state, result.to_json()


def violations(
    dataset: Dataset, inp: SeasonInput, schedule: dict[str, Any], state: SeasonState | None
) -> str:
    report = check_season_schedule(inp, dataset, schedule, state=state)
    assert not report.ok
    return "\n".join(report.violations)


def test_checker_accepts_the_replan_only_with_its_state(
    dataset: Dataset, replanned: tuple[SeasonInput, SeasonState, dict[str, Any]]
) -> None:
    inp, state, schedule = replanned
    # the settled stop (days 4-5) continues no further: the min stop of 2 is over; the
    # quota needs 3 more days
    assert check_season_schedule(inp, dataset, schedule, state=state).ok
    text = violations(dataset, inp, schedule, None)
    assert "schedule re-planned from" in text
    text = violations(dataset, inp, schedule, SeasonState(day(6)))
    assert f"JY-P001/sinter-1 {day(4)}: settled at 1, the schedule has 0" in text


def test_checker_rejects_settled_days_not_held_as_given(
    dataset: Dataset, replanned: tuple[SeasonInput, SeasonState, dict[str, Any]]
) -> None:
    inp, state, schedule = replanned
    bad = copy.deepcopy(schedule)
    bad["assignments"] = [a for a in bad["assignments"] if a["measure"] != "settled"]
    bad["assignments"].append(
        {"source": "JY-P001", "measure": "stop-sinter", "start": str(day(4)), "end": str(day(5))}
    )
    text = violations(dataset, inp, bad, state)
    assert f"JY-P001/bf-1 {day(4)}: settled at 1, the schedule has 0.8" in text
    assert "differs from the recomputed" in text  # both totals


def test_checker_rejects_settled_loads_on_planned_days_and_wrong_settled_cost(
    dataset: Dataset, replanned: tuple[SeasonInput, SeasonState, dict[str, Any]]
) -> None:
    inp, state, schedule = replanned
    bad = copy.deepcopy(schedule)
    run = next(a for a in bad["assignments"] if a["measure"] == "settled")
    run["end"] = str(day(6))
    bad["settled_cost_yuan"] += 1
    text = violations(dataset, inp, bad, state)
    assert f"JY-P001 {day(6)}: settled loads on a planned day" in text
    assert "settled_cost_yuan" in text and "differs from the recomputed" in text


def test_checker_rejects_a_broken_minimum_stop_continuation(tmp_path: Path) -> None:
    plans = small_plans()
    plans["JY-P001"]["lines"][0]["min_stop_days"] = 3
    dataset = load_dataset(write_small_dataset(tmp_path / "data", plans=plans))
    state = SeasonState(day(6), sinter_stopped([5]))
    inp, result = replan(dataset, base_season(), state)
    bad = copy.deepcopy(result.to_json())
    bad["assignments"] = [a for a in bad["assignments"] if a["start"] < str(day(6))]
    bad.pop("total_cost_yuan")
    text = violations(dataset, inp, bad, state)
    assert f"JY-P001/sinter-1 {day(6)}: restarted before its minimum stop of 3 days" in text
    assert f"JY-P001/sinter-1 {day(5)}" not in text  # the settled day itself is a fact


# ------------------------------------------------------------------ the CLI


def invoke(*args: str) -> Any:
    """Run a command; its problems in English (``--lang en``)."""
    return CliRunner().invoke(app, [*args, "--lang", "en"])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = write_small_dataset(tmp_path / "data")
    # the original risk favours days 9-13
    risk = {day(d): 2 for d in range(9, 14)}
    write_season(data, base_season(quotas=[SINTER_5], risk=risk, **STEEL))
    return data


def plan_json(data: Path, *extra: str) -> dict[str, Any]:
    result = invoke("season", "plan", "--data", str(data), "--json", *extra)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_cli_replan_moves_stops_onto_a_new_risk_spike(folder: Path, tmp_path: Path) -> None:
    original = plan_json(folder)
    first = tmp_path / "first.json"
    first.write_text(json.dumps(original), encoding="utf-8")
    spike = [str(day(d)) for d in range(3, 8)]
    risk = tmp_path / "risk.csv"
    risk.write_text("date,risk\n" + "".join(f"{d},5\n" for d in spike), encoding="utf-8")

    def on_spike(schedule: dict[str, Any]) -> int:
        result = Schedule("winter-test", "optimal", assignments=schedule["assignments"])
        return len(set(stopped_days(result, "JY-P001", "sinter-1")) & set(spike))

    args = ["--from", str(day(3)), "--state", str(first), "--risk", str(risk)]
    again = plan_json(folder, *args)
    assert on_spike(original) == 0
    assert on_spike(again) == 5
    assert again["from"] == str(day(3))
    # the new series replaces the days it lists; the others keep the season file's
    assert [d["risk"] for d in again["days"][2:9]] == [5, 5, 5, 5, 5, 0, 2]
    second = tmp_path / "second.json"
    second.write_text(json.dumps(again), encoding="utf-8")
    check = ["season", "check", "--data", str(folder), "--schedule", str(second)]
    result = invoke(*check, "--state", str(first))
    assert result.exit_code == 0, result.output
    # the first plan as a state the second one does not follow on the settled days
    moved = copy.deepcopy(original)
    moved["assignments"] = [
        dict(a, start=str(day(1)), end=str(day(2))) for a in moved["assignments"]
    ]
    first.write_text(json.dumps(moved), encoding="utf-8")
    result = invoke(*check, "--state", str(first))
    assert result.exit_code == 1 and "settled at 0" in result.stdout


def test_cli_state_and_from_errors(folder: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    base = ["season", "plan", "--data", str(folder)]
    state.write_text(json.dumps({"season": "winter-other", "assignments": []}), "utf-8")
    result = invoke(*base, "--from", str(day(3)), "--state", str(state))
    assert result.exit_code == 2
    assert "season: the schedule is for season 'winter-other', not 'winter-test'" in result.stderr
    bad_run = {"source": "JY-P001", "start": str(day(1)), "end": str(day(2))}
    bad_run["line_loads"] = {"sinter-1": "x"}  # type: ignore[assignment]
    state.write_text(json.dumps({"season": "winter-test", "assignments": [bad_run]}), "utf-8")
    result = invoke(*base, "--from", str(day(3)), "--state", str(state))
    assert result.exit_code == 2
    assert f"{state}: assignments[0].line_loads.sinter-1: a load within 0 .. 1" in result.stderr
    state.write_text("{", "utf-8")
    assert invoke(*base, "--from", str(day(3)), "--state", str(state)).exit_code == 2
    result = invoke(*base, "--from", str(END + dt.timedelta(days=1)))
    assert result.exit_code == 2 and "after the end of season winter-test" in result.stderr
    assert invoke(*base, "--from", "15/11/2026").exit_code == 2
    result = invoke(*base, "--state", str(state))
    assert result.exit_code == 2 and "--state needs --from" in result.stderr
    risk = tmp_path / "risk.csv"
    risk.write_text("date,risk\n2020-01-01,3\n", "utf-8")
    result = invoke(*base, "--risk", str(risk))
    assert result.exit_code == 2 and "risk.csv:2: date: 2020-01-01 is outside the season" in (
        result.stderr
    )


# ------------------------------------------------------------------ CSV and XLSX


@pytest.fixture
def formula_folder(tmp_path: Path) -> Path:
    plans = small_plans()
    plans["JY-P001"]["measures"][1]["name"] = '=HYPERLINK("http://x")'
    data = write_small_dataset(tmp_path / "data", plans=plans)
    write_season(data, base_season(quotas=[SINTER_5], **STEEL))
    return data


def test_csv_one_row_per_run_with_formula_guard(formula_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "season.csv"
    result = invoke("season", "plan", "--data", str(formula_folder), "--csv", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert list(rows[0]) == [
        "source",
        "name",
        "industry",
        "district",
        "measure",
        "measure_name",
        "line_loads",
        "start",
        "end",
        "days",
    ]
    stop = next(r for r in rows if r["measure"] == "stop-sinter")
    assert stop["source"] == "JY-P001" and stop["industry"] == "steel" and stop["name"]
    assert stop["measure_name"] == '\'=HYPERLINK("http://x")'
    assert stop["line_loads"] == "sinter-1=0; bf-1=0.8"
    assert int(stop["days"]) == 5
    assert (dt.date.fromisoformat(stop["end"]) - dt.date.fromisoformat(stop["start"])).days == 4
    assert result.stdout.count("csv: ") == 1


def test_xlsx_sheets_headers_and_formula_guard(formula_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "season.xlsx"
    result = invoke("season", "plan", "--data", str(formula_folder), "--xlsx", str(out))
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["排产 Assignments", "配额 Quotas", "每日 Days"]
    runs = wb["排产 Assignments"]
    assert runs["A1"].value == "排污单位编号" and runs["A2"].value == "source"
    stop = next(r for r in runs.iter_rows(min_row=3) if r[4].value == "stop-sinter")
    assert stop[5].value == '\'=HYPERLINK("http://x")' and stop[5].data_type == "s"
    assert stop[9].value == 5
    quotas = wb["配额 Quotas"]
    assert [c.value for c in quotas[2]] == [
        "id",
        "kind",
        "required",
        "achieved",
        "unit",
        "short_by",
    ]
    assert [c.value for c in quotas[3]][:4] == ["sinter", "stop_days", 5, 5]
    days = wb["每日 Days"]
    assert days["A2"].value == "date" and days.max_row == 2 + 14
    assert days["E2"].value.startswith("running_share_")


def test_bad_output_path_is_exit_2(formula_folder: Path, tmp_path: Path) -> None:
    base = ["season", "plan", "--data", str(formula_folder)]
    result = invoke(*base, "--csv", str(tmp_path / "no" / "such" / "x.csv"))
    assert result.exit_code == 2 and "cannot write" in result.stderr
    result = invoke(*base, "--xlsx", str(tmp_path))
    assert result.exit_code == 2
