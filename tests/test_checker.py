"""The independent checker (emergency/checker.py): a valid list passes with its exact costs;
the same list broken one way at a time is rejected for exactly that reason."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from emergency.checker import CheckReport, check, exact_decimal
from emergency.instance import Choice, Edge, Instance, Line
from tests.instances import instance, opt, source

A, B, C, D, E = range(5)
"""A stops its line (restart 300 yuan, at least 2 days) and supplies all of B's line; C is
held at its floor; D's floor is a limit; E's cheap limit completes day 1's SO2 target."""
NORMAL = 0


def city(*, held: str = "guaranteed", stopped_before: dict | None = None) -> Instance:
    line = Line("l", restart_cost_yuan=300, min_stop_days=2 if stopped_before is None else 3)
    sources = [
        source(
            "A",
            [opt("half", 10, cost=50, loads=[0.5]), opt("stop", 20, cost=100, loads=[0.0])],
            days=3,
            lines=(line,),
        ),
        source("B", [opt("stop", cost=1000, loads=[0.0])], days=3, lines=(Line("w"),)),
        source(
            "C",
            [opt("lim", nox=3, cost=7), opt("deep", nox=6, cost=20)],
            days=3,
            floor=1,
            fixed=held,
        ),
        source("D", [opt("lim", pm=5, cost=10), opt("stop", pm=10, cost=40)], days=3, floor=1),
        source("E", [opt("lim", 5, cost=10)], days=3),
    ]
    return instance(
        sources,
        [(25, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)],
        edges=[Edge((A, 0), (B, 0), 1.0)],
        stopped_before=stopped_before,
    )


VALID: Choice = [
    [2, 2, NORMAL],  # A stops two days: its minimum
    [1, 1, NORMAL],  # B stops with its supplier
    [1, 1, 1],  # C at its floor
    [1, 1, 1],  # D at its floor
    [1, NORMAL, NORMAL],  # E: 20 + 5 kg SO2 on day 1
]


def broken(**changes: int) -> Choice:
    """VALID with ``X1=m`` setting source X on day 1 (1-based) to measure m."""
    choice = copy.deepcopy(VALID)
    for key, m in changes.items():
        choice["ABCDE".index(key[0])][int(key[1:]) - 1] = m
    return choice


def only_violation(rep: CheckReport) -> str:
    assert len(rep.violations) == 1, rep.violations
    return rep.violations[0]


# --- a valid list -----------------------------------------------------------------------------


def test_valid_list_passes_with_its_exact_cuts_and_costs() -> None:
    rep = check(city(), VALID)
    assert rep.ok, rep.violations
    assert rep.daily_cost_yuan == 100 + 100 + 1000 + 1000 + 3 * 7 + 3 * 10 + 10
    assert rep.restart_cost_yuan == 300  # A's line once; B's line restarts for free
    assert rep.cost_yuan == rep.daily_cost_yuan + rep.restart_cost_yuan
    assert rep.starts == [(A, 0, 0), (B, 0, 0)]
    assert rep.cut_kg[0] == [25, 3, 5, 0] and rep.cut_kg[2] == [0, 3, 5, 0]
    assert rep.shortfall_kg == [{}, {}, {}]


def test_costs_are_the_decimals_the_data_wrote_not_binary_floats() -> None:
    inst = instance([source("A", [opt("lim", 1, cost=0.1)], days=3)], [(0, 0, 0, 0)] * 3)
    assert check(inst, [[1, 1, 1]]).cost_yuan == Fraction(3, 10)
    assert exact_decimal(0.7) == Fraction(7, 10)


def test_a_cost_claimed_for_another_list_differs_from_the_recomputed_one() -> None:
    # The checker recomputes the cost; a caller compares it with what the list reports.
    claimed = check(city(), VALID).cost_yuan
    assert check(city(), broken(D2=2)).cost_yuan == claimed + 30


def test_target_above_what_is_reachable_is_capped() -> None:
    inst = city()
    inst.targets_kg[0] = (100, 0, 0, 0)  # reachable: A 20 + E 5
    assert check(inst, VALID).ok


# --- broken one way at a time -----------------------------------------------------------------


def test_cut_below_the_target_is_rejected() -> None:
    message = only_violation(check(city(), broken(E1=NORMAL)))
    assert message == "2016-12-16 so2: cut 20.00 kg below the target 25.00 kg"


def test_declared_shortfall_is_allowed_and_no_more() -> None:
    short = broken(E1=NORMAL)
    declared = [{"so2": 5.0}, {}, {}]
    rep = check(city(), short, allowed_shortfall_kg=declared)
    assert rep.ok and rep.shortfall_kg[0] == {"so2": Fraction(5)}
    too_little = [{"so2": 4.0}, {}, {}]
    assert "below the target" in only_violation(
        check(city(), short, allowed_shortfall_kg=too_little)
    )


def test_measure_below_the_floor_is_rejected() -> None:
    message = only_violation(check(city(), broken(D3=NORMAL)))
    assert message == "D 2016-12-18: measure normal not allowed (below the floor; floor lim)"


@pytest.mark.parametrize("kind", ["guaranteed", "protected_grade", "override", "exempt"])
def test_held_source_moved_off_its_measure_is_rejected(kind: str) -> None:
    message = only_violation(check(city(held=kind), broken(C2=2)))
    assert message == f"C 2016-12-17: measure deep not allowed ({kind}; floor lim)"


def test_stop_shorter_than_its_minimum_is_rejected() -> None:
    rep = check(city(), broken(A2=NORMAL, B2=NORMAL))
    message = only_violation(rep)
    assert message == "A/l 2016-12-17: restarted before its minimum stop of 2 days"


def test_stop_from_before_the_list_binds_and_is_not_paid_again() -> None:
    inst = city(stopped_before={(A, 0): 1})  # stopped a day already, minimum 3 days
    rep = check(inst, VALID)
    assert rep.ok, rep.violations
    assert rep.restart_cost_yuan == 0 and rep.starts == [(B, 0, 0)]
    message = only_violation(check(inst, broken(A2=1)))
    assert message == "A/l 2016-12-17: restarted before its minimum stop of 3 days"


def test_each_stop_start_pays_its_restart() -> None:
    line = Line("l", restart_cost_yuan=300)
    stop = opt("stop", 20, cost=100, loads=[0.0])
    inst = instance([source("A", [stop], days=3, lines=(line,))], [(0, 0, 0, 0)] * 3)
    rep = check(inst, [[1, NORMAL, 1]])
    assert rep.ok and rep.restart_cost_yuan == 600 and rep.daily_cost_yuan == 200
    assert rep.starts == [(0, 0, 0), (0, 0, 2)]


def test_supply_edge_broken_is_rejected() -> None:
    message = only_violation(check(city(), broken(B1=NORMAL)))
    assert message == ("B/w 2016-12-16: load 1 exceeds what its supplier A/l at 0 allows (share 1)")


def test_supplier_at_half_load_allows_half_the_load_only() -> None:
    message = only_violation(check(city(), broken(A3=1)))
    assert message == "B/w 2016-12-18: load 1 exceeds what its supplier A/l at 0.5 allows (share 1)"


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (VALID[:4], "choice has 4 sources, instance 5"),
        ([*VALID[:4], [1, 0]], "E: 2 days chosen, expected 3"),
        (broken(D2=9), "D day 2: unknown measure index 9"),
    ],
)
def test_list_of_the_wrong_shape_is_rejected(choice: Choice, message: str) -> None:
    assert only_violation(check(city(), choice)) == message
