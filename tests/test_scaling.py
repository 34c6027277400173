"""Integer scaling for CP-SAT: exact for decimal data, bounds rounded the safe way."""

from __future__ import annotations

import math

from emergency.scaling import UNBOUNDED, decimal_scale, decimals, round_down, round_up, scale_row


def test_smallest_power_of_ten_that_makes_values_integral() -> None:
    assert decimal_scale([1150, 820]) == 1
    assert decimal_scale([229.99999999999997, 0.5]) == 10  # float noise is not a decimal
    assert decimal_scale([0.25, 3]) == 100
    assert decimal_scale([1 / 3], max_exp=4) == 10**4  # cannot be exact: capped


def test_the_scale_of_many_values_is_that_of_the_one_with_most_decimals() -> None:
    assert [decimals(v) for v in (1150, 229.99999999999997, 0.25, -0.125, 1 / 3)] == [0, 0, 2, 3, 6]
    values = [12.5, 0.07, 3.0, 1e-6, 41.125, 7 / 9, 220.4, 0.1 + 0.2]
    for end in range(len(values) + 1):
        part = values[:end]
        assert decimal_scale(part) == 10 ** max(map(decimals, part), default=0)


def test_bounds_ignore_float_noise_but_round_the_safe_way() -> None:
    assert round_up(18400.000000000004) == 18400
    assert round_up(18400.4) == 18401
    assert round_down(99.99999999999999) == 100
    assert round_down(99.6) == 99
    assert round_up(5000000.23) == 5000001  # 50,000.0023 kg in hundredths: not noise
    assert round_down(4999999.77) == 4999999


def test_row_is_scaled_and_divided_by_its_gcd() -> None:
    # 0.2 x + 0.4 y ≥ 0.5  →  2x + 4y ≥ 5  →  x + 2y ≥ 3 (integer x, y)
    ints, lo, hi = scale_row([0.2, 0.4], 0.5, math.inf)
    assert ints == [1, 2] and lo == 3 and hi == UNBOUNDED
    ints, lo, hi = scale_row([230.0, 690.0], -math.inf, 1000.0)
    assert ints == [1, 3] and hi == 4 and lo == -UNBOUNDED


def test_exact_cost_of_a_list_equals_the_sum_of_its_decimals() -> None:
    from fractions import Fraction

    from emergency.instance import Line
    from emergency.optimiser import list_cost
    from tests.instances import instance, opt, source

    a = source("A", [opt("x", 1, cost=0.1)], days=3)
    inst = instance([a], [(0, 0, 0, 0)] * 3)
    assert list_cost(inst, [[1, 1, 1]]) == Fraction(3, 10)
    # A restart (restart cost 0.05) is counted once per stop begun, at the scale it needs.
    line = Line("k1", restart_cost_yuan=0.05)
    b = source("B", [opt("stop", 10, cost=2.5, loads=(0.0,))], days=3, lines=[line])
    inst = instance([b], [(0, 0, 0, 0)] * 3)
    assert list_cost(inst, [[1, 0, 1]]) == Fraction(5) + 2 * Fraction(5, 100)
    # A stop in force before the first day goes on: no restart for it.
    inst.stopped_before[0, 0] = 1
    assert list_cost(inst, [[1, 0, 1]]) == Fraction(5) + Fraction(5, 100)
