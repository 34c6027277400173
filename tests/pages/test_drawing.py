"""The server-side drawings and the list's grouping, on hand-built plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from api.pages.charts import _nice_max, target_charts
from api.pages.svgmap import source_map
from api.pages.views import Filters, apply, category, list_rows, totals
from emergency.dataset import Dataset, load_dataset
from emergency.solution import (
    Assignment,
    DayResult,
    PollutantAmounts,
    ResponsePlan,
    TargetRow,
    WarningDecision,
)
from tests.datafiles import write_small_dataset

D1 = dt.date(2016, 12, 16)
D2 = D1 + dt.timedelta(days=1)
D3 = D2 + dt.timedelta(days=1)


def assignment(source: str, date: dt.date, measure: str, **extra: object) -> Assignment:
    values: dict[str, object] = {
        "source": source,
        "date": date,
        "measure": measure,
        "floor": measure,
        "deepened": False,
        "cut_kg": PollutantAmounts(pm=10),
        "cost_yuan": 100.0,
        "why": "plan measure for orange (floor)",
    }
    return Assignment.model_validate(values | extra)


def plan(assignments: list[Assignment], rows: list[TargetRow] | None = None) -> ResponsePlan:
    rows = rows or [
        TargetRow(
            row="so2+nox", target_kg=100, capped_kg=80, cut_kg=80, shortfall_kg=20, reachable_kg=80
        ),
        TargetRow(row="pm", target_kg=50, capped_kg=50, cut_kg=60, shortfall_kg=0, reachable_kg=90),
    ]
    days = [
        DayResult(
            date=d,
            level="orange",
            target_kg=PollutantAmounts(),
            cut_kg=PollutantAmounts(),
            shortfall_kg=PollutantAmounts(),
            rows=rows,
        )
        for d in (D1, D2, D3)
    ]
    warning = WarningDecision(level="orange", start=D1, end=D3, rule_set="t", reason="t")
    return ResponsePlan(warning=warning, status="short", days=days, assignments=assignments)


def test_charts_one_per_target_row_with_shortfall_drawn() -> None:
    charts = target_charts(plan([]))
    assert [c.key for c in charts] == ["so2+nox", "pm"]
    pooled, pm = charts
    assert not pooled.met and pm.met
    assert pooled.svg.count('class="short"') == 3
    assert pm.svg.count('class="short"') == 0
    assert pooled.svg.count('class="bar"') == 3 and pooled.svg.count('class="target"') == 3
    assert 'id="chart-so2-nox-t"' in pooled.svg
    assert "short 20 kg" in pooled.svg


def test_axis_maximum_is_round() -> None:
    assert _nice_max(0) == 1
    assert _nice_max(87) == 100
    assert _nice_max(1234) == 1500
    assert _nice_max(45_000) == 50_000


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(write_small_dataset(tmp_path_factory.mktemp("drawing") / "city"))


def test_rows_group_consecutive_days_with_one_measure(dataset: Dataset) -> None:
    rows = list_rows(
        plan(
            [
                assignment(
                    "JY-P001",
                    D1,
                    "deep",
                    floor="stop-sinter",
                    deepened=True,
                    restart_cost_yuan=400.0,
                    cost_yuan=500.0,
                ),
                assignment("JY-P001", D2, "deep", floor="stop-sinter", deepened=True),
                assignment("JY-P001", D3, "stop-sinter"),
                assignment("JY-S001", D1, "stop-all", fixed="override"),
                assignment("JY-S001", D3, "stop-all", fixed="override"),
            ]
        ),
        dataset,
    )
    steel = [r for r in rows if r.source == "JY-P001"]
    assert [(r.start, r.end, r.measure, r.days) for r in steel] == [
        (D1, D2, "deep", 2),
        (D3, D3, "stop-sinter", 1),
    ]
    assert steel[0].cost_yuan == 600.0 and steel[0].restart_cost_yuan == 400.0
    assert steel[0].floor_name == "烧结机停产" and steel[0].category == "deepened"
    site = [r for r in rows if r.source == "JY-S001"]
    assert len(site) == 2  # a gap of a day splits the run
    assert site[0].category == "override"
    assert totals(rows).cost_yuan == 900.0
    only = apply(rows, Filters(deepened=True))
    assert [r.source for r in only] == ["JY-P001"]
    assert Filters(sort="bogus").sort == "cost"
    assert Filters(sort="source").order == "asc"


def test_categories() -> None:
    assert category("normal", False, "exempt") == "override"
    assert category("normal", False, "") == "normal"
    assert category("ultra-low", False, "guaranteed") == "held"
    assert category("deep", True, "") == "deepened"
    assert category("limit-20", False, "") == "floor"


def test_map_survives_sources_at_one_point(tmp_path: Path) -> None:
    dataset = load_dataset(write_small_dataset(tmp_path / "city"))  # all at 112.6, 35.1
    svg, legend = source_map(dataset, {}, "/s/{source}", label="map <&>")
    assert svg.count("<circle") == 6
    assert 'aria-label="map &lt;&amp;&gt;"' in svg
    assert "nan" not in svg and "inf" not in svg
    assert {item.key: item.count for item in legend}["normal"] == 6
