"""The LP's list rounded (emergency.rounding): always a list the checker accepts, repaired
where rounding misses a row, brought down by single moves, and never tried where days are
linked by stops."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from emergency import rounding
from emergency.checker import check
from emergency.instance import Choice, Instance, Line
from emergency.lp import solve_lp
from emergency.model import build
from emergency.optimiser import candidates, capped_targets, list_cost, optimise, stationary
from tests.instances import instance, opt, solved_lp, source, stationary_city


def rounded(inst: Instance, *, steps: int | None = None) -> Choice | None:
    built, lp = solved_lp(inst)
    with pytest.MonkeyPatch.context() as patch:
        if steps is not None:  # the moves limited: no exchanges either (emergency.exchange)
            patch.setattr(rounding, "MAX_STEPS", steps)
            patch.setattr(rounding, "exchange", lambda *_, **__: None)
        return rounding.rounded(built, lp, deadline=time.perf_counter() + 30)


def test_a_target_missed_by_rounding_is_repaired() -> None:
    """The LP takes A's limit and half of each of B's one-pollutant measures (200 yuan);
    either rounded misses one target, and only B's measure for both mends it (360)."""
    a = source("A", [opt("lim", 10, cost=100)])
    b = source(
        "B",
        [opt("so2", 10, cost=100), opt("nox", 0, 10, cost=100), opt("both", 10, 10, cost=260)],
    )
    inst = instance([a, b], [(15, 5, 0, 0)])
    _, lp = solved_lp(inst)
    assert lp.objective_yuan == pytest.approx(200)
    assert rounded(inst, steps=0) is None
    choice = rounded(inst)
    assert choice == [[1], [3]]
    assert check(inst, choice).ok and list_cost(inst, choice) == 360 == optimise(inst).cost_yuan


def test_where_the_part_taken_most_misses_a_row_the_part_worth_most_is_tried() -> None:
    """No moves allowed: B at the part the LP takes most of (normal, on a tie) misses the
    target, B at its part worth most (its limit) holds it, and that list comes back."""
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=250)])
    b = source("B", [opt("lim", 10, cost=120)])
    inst = instance([a, b], [(15, 0, 0, 0)])
    assert rounded(inst, steps=0) == [[1], [1]]


def test_days_linked_by_stops_are_left_to_the_cores() -> None:
    line = Line("l", restart_cost_yuan=500, min_stop_days=2)
    a = source("A", [opt("stop", 20, cost=300, loads=[0.0])], days=2, lines=(line,))
    b = source("B", [opt("lim", 10, cost=100)], days=2)
    inst = instance([a, b], [(10, 0, 0, 0), (25, 0, 0, 0)])
    built, lp = solved_lp(inst)
    assert any(k[0] == "start" for k in built.linear.binaries)
    assert rounding.rounded(built, lp, deadline=time.perf_counter() + 30) is None


@pytest.mark.parametrize("seed", [6, 7, 8, 9, 10])
def test_synthetic_cities_rounded_are_valid_near_the_lp_and_lower_for_the_moves(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    """400 sources with their supply couplings: the checker accepts the list; it costs
    within 1 % of the LP bound (0.001–0.8 % on these seeds), and less than the rounding
    alone (0.005–4.3 % above the bound)."""
    inst = stationary_city(tmp_path_factory, 400, seed)
    built, lp = solved_lp(inst)
    choice = rounding.rounded(built, lp, deadline=time.perf_counter() + 30)
    assert choice is not None
    report = check(inst, choice)
    assert report.ok, report.violations[:3]
    cost = list_cost(inst, choice)
    assert (
        Fraction(lp.objective_yuan) - 1 <= cost <= Fraction(lp.objective_yuan) * Fraction(101, 100)
    )
    alone = rounded(inst, steps=0)
    assert alone is None or cost < list_cost(inst, alone)


def test_two_moves_together_where_neither_alone_keeps_the_rows() -> None:
    """From A stopped (20 kg, 300 yuan) and B running: A down to its limit alone misses
    the 15 kg, B up alone saves nothing; together they cut 20 kg for 220."""
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=300)])
    b = source("B", [opt("lim", 10, cost=120)])
    inst = instance([a, b], [(15, 0, 0, 0)])
    built, lp = solved_lp(inst)
    # The rounding starts where the LP's values say: A stopped, B running.
    lp.values = {k: 0.0 for k in lp.values} | {("x", 0, 0, 2): 1.0, ("x", 1, 0, 0): 1.0}
    choice = rounding.rounded(built, lp, deadline=time.perf_counter() + 30)
    assert choice == [[1], [1]]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rounding, "PAIRS_FROM", 0)
        patch.setattr(rounding, "exchange", lambda *_, **__: None)
        assert rounding.rounded(built, lp, deadline=time.perf_counter() + 30) == [[2], [0]]
    # A list costing what is asked or less ends the search: the pair is not looked for.
    enough = rounding.rounded(built, lp, deadline=time.perf_counter() + 30, enough_yuan=300)
    assert enough == [[2], [0]]


def test_days_not_linked_are_rounded_day_by_day() -> None:
    """Two days, no stops to link them, the second asking more: each day's list holds its
    own target, and the second day's cuts more."""
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=250)], days=2)
    b = source("B", [opt("lim", 10, cost=120), opt("stop", 20, cost=260)], days=2)
    inst = instance([a, b], [(15, 0, 0, 0), (35, 0, 0, 0)])
    assert stationary(inst) is None
    choice = rounded(inst)
    assert choice is not None and check(inst, choice).ok
    assert choice == [[1, 2], [1, 2]] and list_cost(inst, choice) == 220 + 510


def test_models_with_shortfall_variables_are_not_rounded() -> None:
    a = source("A", [opt("lim", 10, cost=100)])
    inst = instance([a], [(15, 0, 0, 0)])
    built = build(inst, candidates(inst), capped_targets(inst)[0], slack=True)
    lp = solve_lp(built.linear, 1, keep_solution=True)
    assert built.linear.continuous
    assert rounding.rounded(built, lp, deadline=time.perf_counter() + 30) is None


def test_a_target_met_to_the_last_hundredth_is_met() -> None:
    """A cuts 0.1 kg and B 0.7 kg for 10 and 70 yuan; C 0.9 kg for 100. SO2 ≥ 0.8: A and
    B meet it exactly (0.8 kg, the checker's exact sum), though their float sum is
    0.7999999999999999. The rounding holds the row as CP-SAT does, in whole hundredths,
    so it takes A and B (80 yuan), not C."""
    a = source("A", [opt("lim", 0.1, cost=10)])
    b = source("B", [opt("lim", 0.7, cost=70)])
    c = source("C", [opt("lim", 0.9, cost=100)])
    inst = instance([a, b, c], [(0.8, 0, 0, 0)])
    assert 0.1 + 0.7 < 0.8
    choice = rounded(inst)
    assert choice == [[1], [1], [0]]
    report = check(inst, choice)
    assert report.ok and report.shortfall_kg == [{}]
    assert list_cost(inst, choice) == 80
    assert optimise(inst).cost_yuan == 80


def test_a_bound_between_hundredths_needs_the_next_hundredth() -> None:
    """Cuts in hundredths (A 0.25 kg for 1 yuan, B 12.5 for 50, C 49,999.75 for 100)
    against 50,000.0023 kg: A and C (101 yuan) reach 50,000.00, 2.3 g short (the checker
    allows 1 g), so the row is held only from 50,000.01 on and the list is B and C — by
    the rounding and by the whole optimiser."""
    inst = instance(
        [
            source("A", [opt("lim", 0.25, cost=1)]),
            source("B", [opt("lim", 12.5, cost=50)]),
            source("C", [opt("lim", 49999.75, cost=100)]),
        ],
        [(50000.0023, 0, 0, 0)],
    )
    _, lp = solved_lp(inst)
    assert lp.form is not None
    lows, _ = rounding._margins(lp.form)
    assert lows[lp.form.targets[0][2] - lp.form.first] == pytest.approx(50000.005, abs=1e-9)
    choice = rounded(inst)
    assert choice == [[0], [1], [1]] and check(inst, choice).ok
    solved = optimise(inst)  # CP-SAT's rows, scaled (emergency.scaling), hold it alike
    assert solved.choice == [[0], [1], [1]] and check(inst, solved.choice).ok


def test_a_row_not_whole_in_millionths_keeps_a_margin() -> None:
    """A row whose coefficients no power of ten up to a million makes whole is held with
    a margin of a billionth of its bound and a milligram."""
    _, lp = solved_lp(instance([source("A", [opt("lim", 1 / 3, cost=10)])], [(0.2, 0, 0, 0)]))
    assert lp.form is not None
    lows, _ = rounding._margins(lp.form)
    row = lp.form.targets[0][2] - lp.form.first
    assert lows[row] == pytest.approx(0.2 + 0.2e-9 + 1e-6, abs=1e-12)
