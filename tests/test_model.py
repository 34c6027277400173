"""Each constraint family of emergency/model.py alone: a tiny instance, the list fixed by
rows ``x = 1``, and the rows solved by CP-SAT and by the LP — no optimiser around them.

A feasible list must leave the rows solvable (at its exact cost); an infeasible one must
make both solvers say so, or the build itself raise :class:`Infeasible` when the forced
choices alone break a row.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from emergency.checker import check
from emergency.cpsat import continuous_scales, solve_cpsat
from emergency.instance import Choice, Edge, Instance, Line
from emergency.lp import solve_lp
from emergency.model import (
    FAMILIES,
    BuiltModel,
    Family,
    Infeasible,
    LinearModel,
    Row,
    add_choice,
    add_stops,
    add_supply,
    add_targets,
    build,
)
from tests.instances import instance, opt, source

NORMAL, LIM, STOP = 0, 1, 2
"""Measure indices in the sources below: ``normal`` first (tests/instances.py)."""


def uncapped_targets(inst: Instance) -> list[dict[str, float]]:
    """The targets of the instance as written (the tests keep them reachable)."""
    return [
        {name: inst.row_target(d, idx) for name, idx in inst.pooled_rows(d)}
        for d in range(inst.n_days)
    ]


def built_with(
    inst: Instance,
    family: Family,
    *,
    candidates: list[list[tuple[int, ...]]] | None = None,
    slack: bool = False,
) -> BuiltModel:
    """The choice rows (they declare the measure variables) and one family's rows."""
    built = BuiltModel(
        inst,
        candidates or [list(src.allowed) for src in inst.sources],
        uncapped_targets(inst),
        slack,
    )
    add_choice(built)
    if family is not add_choice:
        family(built)
    return built


def fix(built: BuiltModel, choice: Choice) -> BuiltModel:
    """Rows ``x[s, d, m] = 1`` for the chosen measures (forced choices need none)."""
    for s, row in enumerate(choice):
        for d, m in enumerate(row):
            options = built.candidates[s][d]
            if len(options) == 1:
                assert options == (m,), "a forced choice cannot be another"
                continue
            built.linear.rows.append(Row([(1.0, ("x", s, d, m))], 1.0, 1.0))
    return built


def solve(built: BuiltModel) -> tuple[str, Fraction | None]:
    """Both solvers on the rows: the status they agree on, and CP-SAT's exact cost."""
    cp = solve_cpsat(built.linear, time_limit_s=10)
    lp = solve_lp(built.linear, built.instance.n_days)
    assert cp.status in ("optimal", "infeasible")
    assert lp.status == cp.status, (cp.status, lp.status)
    if cp.status != "optimal":
        return cp.status, None
    cost = Fraction(cp.objective_units, cp.objective_scale)
    cost += Fraction(repr(built.linear.objective_const))
    return cp.status, cost


def status(built: BuiltModel, choice: Choice) -> str:
    return solve(fix(built, choice))[0]


# --- add_choice: exactly one measure per source and day, daily costs in the objective -----


def choice_instance() -> Instance:
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=250)], days=2)
    b = source("B", [opt("lim", 15, cost=120)], days=2, fixed="guaranteed")
    return instance([a, b], [(0, 0, 0, 0)] * 2)


def test_choice_one_measure_per_day_is_feasible_at_its_daily_cost() -> None:
    built = built_with(choice_instance(), add_choice)
    assert built.linear.one_of == [[("x", 0, d, m) for m in (0, 1, 2)] for d in (0, 1)]
    assert status(built, [[LIM, STOP], [NORMAL, NORMAL]]) == "optimal"
    assert solve(built)[1] == 100 + 250


def test_choice_of_two_measures_on_one_day_is_infeasible() -> None:
    built = built_with(choice_instance(), add_choice)
    built.linear.rows.append(Row([(1.0, ("x", 0, 0, STOP))], 1.0, 1.0))
    assert status(built, [[LIM, LIM], [NORMAL, NORMAL]]) == "infeasible"


def test_choice_forced_by_one_candidate_is_a_constant_not_a_variable() -> None:
    a = source("A", [opt("lim", 10, cost=100)], floor=1, fixed="override")
    built = built_with(instance([a], [(0, 0, 0, 0)]), add_choice)
    assert built.linear.binaries == [] and built.linear.objective_const == 100
    assert solve(built) == ("optimal", 100)


# --- add_stops: restarts paid per stop start, minimum stop days, stops from before ---------


def stop_instance(
    *, restart: float = 0, min_stop: int = 1, stopped_before: dict | None = None
) -> Instance:
    line = Line("l", restart_cost_yuan=restart, min_stop_days=min_stop)
    a = source(
        "A",
        [opt("lim", 10, cost=50, loads=[0.5]), opt("stop", 20, cost=100, loads=[0.0])],
        days=3,
        lines=(line,),
    )
    return instance([a], [(0, 0, 0, 0)] * 3, stopped_before=stopped_before)


def test_stops_held_for_the_minimum_days_are_feasible_and_pay_one_restart() -> None:
    built = built_with(stop_instance(restart=300, min_stop=2), add_stops)
    assert solve(fix(built, [[STOP, STOP, NORMAL]])) == ("optimal", 2 * 100 + 300)


def test_stops_ended_before_the_minimum_days_are_infeasible() -> None:
    built = built_with(stop_instance(restart=300, min_stop=2), add_stops)
    assert status(built, [[STOP, NORMAL, NORMAL]]) == "infeasible"
    built = built_with(stop_instance(min_stop=3), add_stops)
    assert status(built, [[NORMAL, STOP, LIM]]) == "infeasible"


def test_stops_started_twice_pay_the_restart_twice() -> None:
    built = built_with(stop_instance(restart=300), add_stops)
    assert solve(fix(built, [[STOP, LIM, STOP]])) == ("optimal", 100 + 50 + 100 + 2 * 300)


def test_stop_from_before_binds_its_remaining_days_without_a_restart() -> None:
    inst = stop_instance(restart=300, min_stop=3, stopped_before={(0, 0): 1})
    assert solve(fix(built_with(inst, add_stops), [[STOP, STOP, NORMAL]])) == ("optimal", 200)
    assert status(built_with(inst, add_stops), [[STOP, LIM, NORMAL]]) == "infeasible"


def test_stop_from_before_that_no_candidate_continues_cannot_be_built() -> None:
    inst = stop_instance(min_stop=3, stopped_before={(0, 0): 1})
    running = [[(NORMAL, LIM), (NORMAL, LIM, STOP), (NORMAL, LIM, STOP)]]
    with pytest.raises(Infeasible):
        built_with(inst, add_stops, candidates=running)


def test_stops_that_cost_nothing_and_last_a_day_get_no_rows() -> None:
    built = built_with(stop_instance(), add_stops)
    assert built.linear.rows == [] and all(k[0] == "x" for k in built.linear.binaries)


# --- add_supply: load(dst) ≤ 1 − share × (1 − load(src)) -----------------------------------


def supply_instance(share: float) -> Instance:
    a = source("A", [opt("stop", 20, cost=50, loads=[0.0])], lines=(Line("u"),))
    b = source(
        "B",
        [opt("half", 0, cost=100, loads=[0.5]), opt("stop", 0, cost=1000, loads=[0.0])],
        lines=(Line("w"),),
    )
    return instance([a, b], [(0, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), share)])


SUPPLIER_STOPS, USER_HALF, USER_STOPS = 1, 1, 2
"""Measure indices in :func:`supply_instance`: A (normal, stop), B (normal, half, stop)."""


@pytest.mark.parametrize(
    ("share", "user", "expected"),
    [
        (1.0, USER_STOPS, "optimal"),
        (1.0, USER_HALF, "infeasible"),  # half load with no supply at all
        (1.0, NORMAL, "infeasible"),
        (0.5, USER_HALF, "optimal"),  # half its supply gone: half load is the most it may run
        (0.5, NORMAL, "infeasible"),
    ],
)
def test_supply_edge_when_the_supplier_stops(share: float, user: int, expected: str) -> None:
    built = built_with(supply_instance(share), add_supply)
    assert status(built, [[SUPPLIER_STOPS], [user]]) == expected


def test_supply_edge_with_the_supplier_running_lets_the_user_run() -> None:
    built = built_with(supply_instance(1.0), add_supply)
    assert solve(fix(built, [[NORMAL], [NORMAL]])) == ("optimal", 0)


def test_supply_edge_broken_by_forced_choices_cannot_be_built() -> None:
    with pytest.raises(Infeasible):
        built_with(supply_instance(1.0), add_supply, candidates=[[(SUPPLIER_STOPS,)], [(NORMAL,)]])


LOADS = (0.0, 0.3, 0.35, 0.5, 0.7, 1.0)


def loads_instance(share: float, *, own: bool = False) -> Instance:
    """A supplier and a user whose measures run their line at each of :data:`LOADS` (with
    ``own``, one source whose two lines are coupled, each measure a pair of loads)."""
    if own:
        pairs = [(up, down) for up in LOADS for down in LOADS]
        both = source(
            "A",
            [opt(f"{up}/{down}", cost=1, loads=[up, down]) for up, down in pairs],
            lines=(Line("u"), Line("w")),
        )
        return instance([both], [(0, 0, 0, 0)], edges=[Edge((0, 0), (0, 1), share)])
    a = source("A", [opt(f"{x}", cost=1, loads=[x]) for x in LOADS], lines=(Line("u"),))
    b = source("B", [opt(f"{x}", cost=1, loads=[x]) for x in LOADS], lines=(Line("w"),))
    return instance([a, b], [(0, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), share)])


@pytest.mark.parametrize("share", [0.3, 0.5, 0.7, 1.0])
def test_supply_rows_allow_exactly_the_pairs_the_checker_allows(share: float) -> None:
    """Every pair of measures (the normal one too) against the checker's own reading of
    the coupling, in exact decimals: 1 − 0.7 × (1 − 0.5) is 0.65, and 0.35 at 0.5 with
    share 0.7 … each side of every boundary."""
    inst = loads_instance(share)
    built = built_with(inst, add_supply)
    n = len(inst.sources[0].options)
    for up in range(n):
        for down in range(n):
            choice = [[up], [down]]
            expected = "optimal" if check(inst, choice).ok else "infeasible"
            assert status(built_with(inst, add_supply), choice) == expected, (up, down)
    assert built.linear.rows, "some pairs are forbidden: the rows must say so"


@pytest.mark.parametrize("share", [0.5, 1.0])
def test_supply_rows_between_two_lines_of_one_source_allow_what_the_checker_allows(
    share: float,
) -> None:
    inst = loads_instance(share, own=True)
    for m in range(len(inst.sources[0].options)):
        expected = "optimal" if check(inst, [[m]]).ok else "infeasible"
        assert status(built_with(inst, add_supply), [[m]]) == expected, m


def test_supply_rows_leave_no_half_way_mix_to_the_lp() -> None:
    """The target needs half of the supplier's stop. A single row load(B) − load(A) ≤ 0
    would let the LP run the user at half load (100 yuan) on a supplier half stopped;
    the pairs' rows make the user stop as far as its supplier does (0.5 × 1,000)."""
    a = source("A", [opt("stop", 20, cost=50, loads=[0.0])], lines=(Line("u"),))
    b = source(
        "B",
        [opt("half", 0, cost=100, loads=[0.5]), opt("stop", 0, cost=1000, loads=[0.0])],
        lines=(Line("w"),),
    )
    inst = instance([a, b], [(10, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), 1.0)])
    built = build(inst, [list(src.allowed) for src in inst.sources], uncapped_targets(inst))
    lp = solve_lp(built.linear, 1)
    assert lp.objective_yuan == pytest.approx(25 + 500)
    assert solve(built) == ("optimal", 50 + 1000)


# --- add_targets: Σ cut ≥ target per day and row -------------------------------------------


CUTS = 1
"""The one measure of each source in :func:`target_instance` besides normal."""


def target_instance(target: tuple[float, float, float, float], *, pooled: bool = False) -> Instance:
    a = source("A", [opt("so2", so2=20, cost=100)])
    b = source("B", [opt("nox", nox=15, cost=120)])
    return instance([a, b], [target], pooled=pooled)


def test_targets_met_by_the_list_are_feasible() -> None:
    built = built_with(target_instance((20, 15, 0, 0)), add_targets)
    assert solve(fix(built, [[CUTS], [CUTS]])) == ("optimal", 220)


def test_targets_missed_by_the_list_are_infeasible() -> None:
    built = built_with(target_instance((20, 15, 0, 0)), add_targets)
    assert status(built, [[CUTS], [NORMAL]]) == "infeasible"


def test_pooled_target_counts_so2_and_nox_together() -> None:
    split = built_with(target_instance((10, 10, 0, 0)), add_targets)
    assert status(split, [[CUTS], [NORMAL]]) == "infeasible"
    pooled = built_with(target_instance((10, 10, 0, 0), pooled=True), add_targets)
    assert [row.tag for row in pooled.linear.rows] == [("target", 0, "so2+nox")]
    assert status(pooled, [[CUTS], [NORMAL]]) == "optimal"


def test_targets_with_slack_fall_short_by_exactly_the_missing_kg() -> None:
    built = built_with(target_instance((20, 15, 0, 0)), add_targets, slack=True)
    fix(built, [[CUTS], [NORMAL]])
    key = ("short", 0, "nox")
    assert set(built.linear.continuous) == {("short", 0, "so2"), key}
    weights = [(1, k) for k in built.linear.continuous]
    res = solve_cpsat(built.linear, time_limit_s=10, objective=weights)
    assert res.status == "optimal"
    assert res.values[key] / continuous_scales(built.linear)[key] == 15


def test_targets_of_zero_or_less_get_no_row() -> None:
    built = built_with(target_instance((0, -5, 0, 0)), add_targets)
    assert built.linear.rows == []


# --- build: every family, in the order of FAMILIES -----------------------------------------


def test_build_writes_the_rows_of_every_family_in_order() -> None:
    inst = supply_instance(0.5)
    inst.targets_kg[0] = (10, 0, 0, 0)
    candidates = [list(src.allowed) for src in inst.sources]
    by_hand = BuiltModel(inst, candidates, uncapped_targets(inst), False, LinearModel())
    for family in FAMILIES:
        family(by_hand)
    assert add_targets in FAMILIES and FAMILIES[0] is add_choice
    assert build(inst, candidates, uncapped_targets(inst)).linear == by_hand.linear
