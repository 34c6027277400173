"""The common-practice baseline (every quota line stops from the first day, one block) and
the share of stop days on the riskiest quarter of the season."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from emergency.dataset import Dataset, load_dataset
from emergency.season.baseline import first_day_blocks, riskiest_days, stop_share_on_riskiest
from emergency.season.check import check_season_schedule
from emergency.season.model import SeasonInput, parse_season_text
from emergency.season.schedule import Schedule
from tests.datafiles import dump_yaml, write_small_dataset

START = dt.date(2026, 11, 15)
END = dt.date(2026, 11, 28)  # 14 days
N = 14


def day(n: int) -> dt.date:
    """The n-th day of the test season (1-based)."""
    return START + dt.timedelta(days=n - 1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(write_small_dataset(tmp_path_factory.mktemp("baseline") / "data"))


def parse(dataset: Dataset, **fields: Any) -> SeasonInput:
    season: dict[str, Any] = {"id": "winter-test", "start": START, "end": END, **fields}
    return parse_season_text(dump_yaml(season), "plans/season.yaml", dataset)


def measures(result: Schedule, source: str) -> list[str]:
    """The measure of ``source`` per day (``normal`` outside the runs)."""
    out = ["normal"] * N
    for run in result.assignments:
        if run["source"] == source:
            first = (dt.date.fromisoformat(run["start"]) - START).days
            last = (dt.date.fromisoformat(run["end"]) - START).days
            for d in range(first, last + 1):
                out[d] = run["measure"]
    return out


def stopped(result: Schedule, source: str, line: str) -> list[int]:
    """1-based days on which the line is at load 0."""
    out = []
    for run in result.assignments:
        if run["source"] == source and run["line_loads"].get(line) == 0.0:
            first = (dt.date.fromisoformat(run["start"]) - START).days
            last = (dt.date.fromisoformat(run["end"]) - START).days
            out += range(first + 1, last + 2)
    return sorted(out)


def loads(dataset: Dataset, source: str, measure: str) -> dict[str, float]:
    plan = dataset.plans[source]
    return {ln.id: float(plan.load(measure, ln.id)) for ln in plan.lines}


def daily_cost(dataset: Dataset, source: str, measure: str) -> float:
    """Lost value added per day of a measure."""
    return sum(
        float(ln.value_added_yuan_d) * (1 - loads(dataset, source, measure)[ln.id])
        for ln in dataset.plans[source].lines
    )


def cheapest_stopping(dataset: Dataset, source: str, line: str) -> str:
    """The plan's cheapest measure with ``line`` at load 0."""
    plan = dataset.plans[source]
    stopping = [m for m in plan.measure_ids() if loads(dataset, source, m)[line] == 0]
    return min(stopping, key=lambda m: daily_cost(dataset, source, m))


SINTER = {"id": "sinter", "industry": "steel", "lines": ["sinter-*"], "stop_days": 5}


def test_stop_quota_is_one_block_from_the_first_day(dataset: Dataset) -> None:
    inp = parse(dataset, quotas=[SINTER])
    result = first_day_blocks(inp, dataset)
    assert stopped(result, "JY-P001", "sinter-1") == [1, 2, 3, 4, 5]
    measure = cheapest_stopping(dataset, "JY-P001", "sinter-1")
    assert measures(result, "JY-P001") == [measure] * 5 + ["normal"] * (N - 5)
    assert measures(result, "JY-P002") == ["normal"] * N  # no quota: its floor, normal
    assert result.status == "feasible", result.message
    check = check_season_schedule(inp, dataset, result.to_json())
    assert check.ok and abs(float(check.cost_yuan) - result.total_cost_yuan) < 0.01
    plan = dataset.plans["JY-P001"]
    daily = sum(
        float(ln.value_added_yuan_d) * (1 - loads(dataset, "JY-P001", measure)[ln.id])
        for ln in plan.lines
    )
    restart = float(plan.line("sinter-1").restart_cost_yuan)
    assert result.total_cost_yuan == pytest.approx(5 * daily + restart)
    assert quota_of(result, "sinter")["achieved"] == 5


def quota_of(result: Schedule, qid: str) -> dict[str, Any]:
    return next(q for q in result.quotas if q["id"] == qid)


@pytest.mark.parametrize("cut", [0.2, 0.5])
def test_output_cut_stops_the_lines_just_long_enough(dataset: Dataset, cut: float) -> None:
    quota = {"id": "cut", "industry": "steel", "lines": ["sinter-*"], "output_cut": cut}
    inp = parse(dataset, quotas=[quota])
    result = first_day_blocks(inp, dataset)
    blocks = math.ceil(cut * N - 1e-9)
    assert stopped(result, "JY-P001", "sinter-1") == list(range(1, blocks + 1))
    assert quota_of(result, "cut")["achieved"] >= cut
    assert result.status == "feasible", result.message


def test_key_period_floors_hold_inside_and_outside_the_block(dataset: Dataset) -> None:
    periods = [
        {"name": "red days", "start": day(2), "end": day(3), "level": "red"},
        {"name": "orange days", "start": day(9), "end": day(10), "level": "orange"},
    ]
    inp = parse(dataset, quotas=[SINTER], key_periods=periods)
    result = first_day_blocks(inp, dataset)
    plan = dataset.plans["JY-P001"]
    got = measures(result, "JY-P001")
    red, orange = plan.floor("red"), plan.floor("orange")
    # inside the block on red days: a measure stopping the sinter line at least as strict as
    # the red floor; outside the block: exactly the orange floor
    for d in (1, 2):
        assert plan.at_least_as_strict(got[d], red)
        assert loads(dataset, "JY-P001", got[d])["sinter-1"] == 0
    # outside the block on orange days: the orange floor, unless the coke oven feeding the
    # blast furnace, held at its own orange floor, allows less: then the cheapest measure
    # at least as strict as the floor that the supply coupling allows
    coke = dataset.plans["JY-P002"]
    edge = next(e for e in coke.supplies if e.to_enterprise == "JY-P001")
    assert measures(result, "JY-P002")[8:10] == [coke.floor("orange")] * 2
    oven = loads(dataset, "JY-P002", coke.floor("orange"))[edge.line]
    bound = 1 - float(edge.share) * (1 - oven)
    fits = [
        m
        for m in plan.measure_ids()
        if plan.at_least_as_strict(m, orange)
        and loads(dataset, "JY-P001", m)[edge.to_line] <= bound + 1e-9
    ]
    expected = min(fits, key=lambda m: daily_cost(dataset, "JY-P001", m))
    assert got[8:10] == [expected, expected]
    assert (expected == orange) == (loads(dataset, "JY-P001", orange)[edge.to_line] <= bound)
    assert got[10:] == ["normal"] * (N - 10)
    # the exempt power plant keeps its floor on the key-period days, normal otherwise
    power = dataset.plans["JY-P003"]
    expected = ["normal"] * N
    expected[1:3] = [power.floor("red")] * 2
    expected[8:10] = [power.floor("orange")] * 2
    assert measures(result, "JY-P003") == [m or "normal" for m in expected]
    assert result.status == "feasible", result.message


def test_a_broken_running_share_is_reported(dataset: Dataset) -> None:
    inp = parse(dataset, quotas=[SINTER], min_running_share={"steel": 0.9})
    result = first_day_blocks(inp, dataset)
    assert stopped(result, "JY-P001", "sinter-1") == [1, 2, 3, 4, 5]
    assert result.status == "infeasible"
    assert "5 violations" in result.message and "steel" in result.message
    assert "running share" in result.message
    assert [r["date"] for r in result.running_share_short] == [
        day(d).isoformat() for d in range(1, 6)
    ]


def test_riskiest_quarter_and_the_share_of_stop_days_on_it(dataset: Dataset) -> None:
    risk = {day(d): 1.0 for d in range(1, N + 1)}
    risk.update({day(11): 5.0, day(12): 4.0, day(13): 4.0, day(14): 3.0, day(2): 3.0})
    inp = parse(dataset, quotas=[SINTER], risk=risk)
    top = riskiest_days(inp)
    assert len(top) == math.ceil(N / 4) == 4
    assert top == {day(11), day(12), day(13), day(2)}  # a tie at 3.0: the earlier day
    baseline = first_day_blocks(inp, dataset)
    # days 1..5 stopped, day 2 among the riskiest: one stop day in five
    assert stop_share_on_riskiest(inp, dataset, baseline.to_json()) == pytest.approx(1 / 5)
    stop = {"sinter-1": 0.0, "bf-1": 0.8}
    moved = {
        "assignments": [
            {"source": "JY-P001", "measure": "x", "line_loads": stop, "start": str(day(10)),
             "end": str(day(13))},
            # a stop of a line no quota selects does not count
            {"source": "JY-P002", "measure": "x", "line_loads": {"coke-1": 0.0},
             "start": str(day(11)), "end": str(day(11))},
        ]
    }  # fmt: skip
    assert stop_share_on_riskiest(inp, dataset, moved) == pytest.approx(3 / 4)
    assert stop_share_on_riskiest(inp, dataset, {"assignments": []}) == 0.0


def test_the_bundled_city_baseline_meets_every_quota_from_the_first_day() -> None:
    from emergency.paths import REPO_ROOT
    from emergency.season.model import load_season

    data = load_dataset(REPO_ROOT)
    inp = load_season(None, data)
    result = first_day_blocks(inp, data)
    for q in result.quotas:
        assert q["achieved"] >= q["required"] - 1e-9, q
    check = check_season_schedule(inp, data, result.to_json())
    assert (result.status == "feasible") == check.ok
    assert abs(float(check.cost_yuan) - result.total_cost_yuan) < 0.01
    cement = inp.season.quotas[0]
    assert cement.stop_days is not None
    runs = [r for r in result.assignments if r["line_loads"].get("kiln-1") == 0.0]
    assert any(r["start"] == str(inp.season.start) for r in runs)
