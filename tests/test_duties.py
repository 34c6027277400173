"""Duties: ``build_instance`` on the small data folder (tests/datafiles.py), alone.

Floors per level, the measures each source may take (held firms keep their floor), a
planner's overrides, the state a running response leaves, the supply edges as (source, line)
index pairs and the targets per day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from emergency import NORMAL
from emergency.checker import check
from emergency.dataset import Dataset, load_dataset
from emergency.duties import Override, ResponseState, build_instance
from emergency.errors import InputError
from emergency.instance import Instance, SourceDuty
from emergency.measures import (
    allowed_measures,
    default_options,
    held,
    options_index,
    plan_options,
    source_measures,
)
from tests.datafiles import small_city, small_rows, write_small_dataset

START = dt.date(2016, 12, 16)
YELLOW_ORANGE_RED = [
    (START + dt.timedelta(days=d), level) for d, level in enumerate(("yellow", "orange", "red"))
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(write_small_dataset(tmp_path_factory.mktemp("city")))


def duty(inst: Instance, source_id: str) -> SourceDuty:
    return next(src for src in inst.sources if src.id == source_id)


def ids(src: SourceDuty, indices: tuple[int, ...] | list[int]) -> list[str]:
    return [src.options[m].id for m in indices]


def days(level: str, n: int = 1) -> list[tuple[dt.date, str]]:
    return [(START + dt.timedelta(days=d), level) for d in range(n)]


# --- measures and floors ----------------------------------------------------------------------


def test_every_source_in_file_order_with_its_measures(dataset: Dataset) -> None:
    inst = build_instance(dataset, YELLOW_ORANGE_RED)
    assert [src.id for src in inst.sources] == [s.id for s in dataset.sources]
    for src in inst.sources:
        plan = dataset.plans.get(src.id)
        if plan is not None:
            assert (src.lines, src.options) == plan_options(plan)
        else:
            assert src.lines == ()
            assert src.options == default_options(dataset.by_id[src.id], dataset.city)
        assert src.options[0].id == NORMAL


@pytest.mark.parametrize(
    ("source_id", "floors"),
    [
        ("JY-P001", ["limit-20", "stop-sinter", "deep"]),
        ("JY-P002", ["extend-coking", "min-load", "min-load"]),
        ("JY-P003", [NORMAL, "ultra-low", "ultra-low"]),  # no yellow measure in its plan
        ("JY-S001", ["stop-earthwork", "stop-earthwork", "stop-all"]),
        ("JY-Y001", ["cover", "stop-loading", "stop-loading"]),
        ("JY-Q001", ["stop-blasting", "stop-all", "stop-all"]),
    ],
)
def test_floor_per_level(dataset: Dataset, source_id: str, floors: list[str]) -> None:
    src = duty(build_instance(dataset, YELLOW_ORANGE_RED), source_id)
    assert ids(src, src.floor) == floors
    measures = source_measures(dataset, source_id)
    assert src.floor == [measures.index(measures.floor(lv)) for _, lv in YELLOW_ORANGE_RED]


def test_plan_sources_may_take_any_measure_at_least_as_strict_as_the_floor(
    dataset: Dataset,
) -> None:
    inst = build_instance(dataset, YELLOW_ORANGE_RED)
    src = duty(inst, "JY-P001")
    assert [ids(src, a) for a in src.allowed] == [
        ["limit-20", "stop-sinter", "deep"],
        ["stop-sinter", "deep"],
        ["deep"],
    ]
    plan = dataset.plans["JY-P001"]
    for (_, level), allowed in zip(YELLOW_ORANGE_RED, src.allowed, strict=True):
        expected = allowed_measures(plan, None, dataset.city, level)
        assert allowed == tuple(options_index(src.options, m) for m in expected)
    assert src.fixed == ["", "", ""] and src.note == ["", "", ""]


def test_default_sources_may_take_any_measure_cutting_at_least_the_floor(
    dataset: Dataset,
) -> None:
    src = duty(build_instance(dataset, YELLOW_ORANGE_RED), "JY-S001")
    assert [ids(src, a) for a in src.allowed] == [
        ["stop-earthwork", "stop-all"],
        ["stop-earthwork", "stop-all"],
        ["stop-all"],
    ]


def test_guaranteed_firm_keeps_exactly_its_floor(dataset: Dataset) -> None:
    src = duty(build_instance(dataset, YELLOW_ORANGE_RED), "JY-P003")
    assert held(dataset.by_id["JY-P003"], dataset.city) is not None
    assert src.allowed == [(f,) for f in src.floor]
    assert src.fixed == ["guaranteed"] * 3
    assert src.note == ["guaranteed firm (livelihood)"] * 3


def test_protected_grade_keeps_exactly_its_floor(tmp_path: Path) -> None:
    rows = small_rows()
    next(r for r in rows if r["id"] == "JY-S001")["grade"] = "A"  # city protects grade A
    dataset = load_dataset(write_small_dataset(tmp_path, rows=rows))
    src = duty(build_instance(dataset, days("yellow")), "JY-S001")
    assert ids(src, src.allowed[0]) == ["stop-earthwork"]
    assert src.fixed == ["protected_grade"]
    assert src.note == ["grade A (protect_grades)"]


# --- overrides ----------------------------------------------------------------------------


def test_override_to_a_measure_fixes_it_with_the_reason(dataset: Dataset) -> None:
    override = Override(source="JY-P001", measure="deep", reason="稳产保供")
    src = duty(build_instance(dataset, days("yellow", 2), overrides=[override]), "JY-P001")
    assert [ids(src, a) for a in src.allowed] == [["deep"], ["deep"]]
    assert src.fixed == ["override"] * 2 and src.note == ["稳产保供"] * 2
    assert ids(src, src.floor) == ["limit-20"] * 2  # the floor is still reported


def test_exempt_source_runs_normally(dataset: Dataset) -> None:
    override = Override(source="JY-Q001", exempt=True, reason="抢险")
    src = duty(build_instance(dataset, days("orange"), overrides=[override]), "JY-Q001")
    assert ids(src, src.allowed[0]) == [NORMAL]
    assert src.fixed == ["exempt"] and src.note == ["抢险"]


def test_override_of_an_unknown_measure_is_an_input_error(dataset: Dataset) -> None:
    override = Override(source="JY-P001", measure="shutdown", reason="x")
    with pytest.raises(InputError, match=r"JY-P001 has no measure 'shutdown' \(known: normal"):
        build_instance(dataset, days("orange"), overrides=[override])


def test_override_of_an_unknown_source_is_an_input_error(dataset: Dataset) -> None:
    override = Override(source="JY-X999", exempt=True, reason="x")
    with pytest.raises(InputError, match="unknown source 'JY-X999'"):
        build_instance(dataset, days("orange"), overrides=[override])


# --- the state a running response leaves ----------------------------------------------------


def test_line_stopped_earlier_narrows_the_choice_while_its_minimum_stop_binds(
    dataset: Dataset,
) -> None:
    # sinter-1: minimum stop 2 days; stopped one day already → day 1 must keep it stopped.
    state = ResponseState(stopped_days={"JY-P001/sinter-1": 1})
    inst = build_instance(dataset, days("yellow", 2), state=state)
    src = duty(inst, "JY-P001")
    assert [ids(src, a) for a in src.allowed] == [
        ["stop-sinter", "deep"],
        ["limit-20", "stop-sinter", "deep"],
    ]
    assert src.fixed == ["state", ""]
    assert src.note[0] == "sinter-1 stopped 1 day(s) ago; minimum stop 2 days"
    s = inst.sources.index(src)
    assert inst.stopped_before == {(s, 0): 1}


def test_line_stopped_earlier_has_its_restart_paid(dataset: Dataset) -> None:
    state = ResponseState(stopped_days={"JY-P001/sinter-1": 1})
    fresh = build_instance(dataset, days("orange", 2))
    running = build_instance(dataset, days("orange", 2), state=state)
    continued = [list(src.floor) for src in fresh.sources]  # stop-sinter on both days
    assert check(fresh, continued).restart_cost_yuan == 400_000
    assert check(running, continued).restart_cost_yuan == 0


def test_state_of_a_stop_already_served_or_unknown_changes_nothing(dataset: Dataset) -> None:
    fresh = build_instance(dataset, days("yellow"))
    state = ResponseState(
        stopped_days={"JY-P001/sinter-1": 2, "JY-X999/l": 1, "JY-P001/no-line": 1}
    )
    inst = build_instance(dataset, days("yellow"), state=state)
    s = [src.id for src in inst.sources].index("JY-P001")
    assert inst.stopped_before == {(s, 0): 2}  # served: no narrowing, but no restart either
    assert [src.allowed for src in inst.sources] == [src.allowed for src in fresh.sources]


# --- supply edges and targets ---------------------------------------------------------------


def test_supply_edges_are_source_and_line_index_pairs(dataset: Dataset) -> None:
    inst = build_instance(dataset, days("orange"))
    [edge] = inst.edges
    (s1, u), (s2, w) = edge.src, edge.dst
    assert (inst.sources[s1].id, inst.sources[s1].lines[u].id) == ("JY-P002", "coke-1")
    assert (inst.sources[s2].id, inst.sources[s2].lines[w].id) == ("JY-P001", "bf-1")
    assert edge.share == 1.0


def test_targets_per_day_are_the_cut_fraction_of_the_baseline_less_other_cuts(
    dataset: Dataset,
) -> None:
    inst = build_instance(dataset, YELLOW_ORANGE_RED)
    # small_city(): baseline 4000/6000/2000/1000 kg; 10/20/30 %; less the non-listed cut.
    assert inst.targets_kg == [
        (350.0, 500.0, 150.0, 50.0),
        (700.0, 1000.0, 300.0, 100.0),
        (900.0, 1400.0, 500.0, 150.0),
    ]
    assert inst.pooled == [False] * 3
    assert inst.dates == [d for d, _ in YELLOW_ORANGE_RED]
    assert inst.levels == ["yellow", "orange", "red"]


def test_pooled_level_pools_so2_and_nox(tmp_path: Path) -> None:
    city = small_city()
    city["levels"]["red"]["pool_so2_nox"] = True
    dataset = load_dataset(write_small_dataset(tmp_path, city=city))
    inst = build_instance(dataset, YELLOW_ORANGE_RED)
    assert inst.pooled == [False, False, True]
    assert [name for name, _ in inst.pooled_rows(2)] == ["so2+nox", "pm", "vocs"]


def test_level_without_targets_is_an_input_error(dataset: Dataset) -> None:
    with pytest.raises(InputError, match=r"levels\.blue: the city plan has no targets"):
        build_instance(dataset, days("blue"))
