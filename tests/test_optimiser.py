"""The optimiser on hand-built instances: the exact expected choice and cost for each
constraint family, every list checked by the independent checker."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from emergency.checker import check
from emergency.heuristics import floor_choice, greedy_multi, greedy_single
from emergency.instance import Edge, Instance, Line
from emergency.optimiser import Solved, candidates, list_cost, optimise
from tests.instances import instance, opt, source


def solve_checked(inst, **kw) -> Solved:  # type: ignore[no-untyped-def]
    solved = optimise(inst, **kw)
    rep = check(inst, solved.choice, allowed_shortfall_kg=solved.shortfall_kg)
    assert rep.ok, rep.violations
    assert rep.cost_yuan == solved.cost_yuan
    return solved


def measures(inst, solved) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[src.options[m].id for m in solved.choice[s]] for s, src in enumerate(inst.sources)]


def test_least_cost_combination_is_chosen() -> None:
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=250)])
    b = source("B", [opt("lim", 15, cost=120), opt("stop", 30, cost=300)])
    inst = instance([a, b], [(25, 0, 0, 0)])
    solved = solve_checked(inst)
    assert measures(inst, solved) == [["lim"], ["lim"]]
    assert solved.cost_yuan == 220
    assert solved.status == "optimal"
    assert solved.bound_yuan == pytest.approx(220)
    assert solved.gap == 0


def test_floor_is_kept_even_when_targets_need_less() -> None:
    a = source("A", [opt("lim", 10, cost=100), opt("stop", 20, cost=250)], floor=1)
    b = source("B", [opt("lim", 15, cost=10)])
    inst = instance([a, b], [(5, 0, 0, 0)])
    solved = solve_checked(inst)
    assert measures(inst, solved) == [["lim"], ["normal"]]
    assert solved.cost_yuan == 100


def test_below_floor_is_a_violation_for_the_checker() -> None:
    a = source("A", [opt("lim", 10, cost=100)], floor=1)
    inst = instance([a], [(0, 0, 0, 0)])
    rep = check(inst, [[0]])
    assert any("not allowed" in v for v in rep.violations)


@pytest.mark.parametrize("kind", ["guaranteed", "protected_grade", "override"])
def test_held_sources_are_not_deepened(kind: str) -> None:
    a = source("A", [opt("stop", 20, cost=250)])
    b = source("B", [opt("lim", 15, cost=120), opt("stop", 30, cost=300)], fixed=kind)
    inst = instance([a, b], [(18, 0, 0, 0)])
    solved = solve_checked(inst)
    # Unheld, B.stop (300) or A.stop+… would compete; held at normal, only A can cut.
    assert measures(inst, solved) == [["stop"], ["normal"]]
    assert solved.cost_yuan == 250
    rep = check(inst, [[0], [2]])
    assert any(f"({kind};" in v for v in rep.violations)


def test_supply_edge_forces_downstream_and_changes_the_choice() -> None:
    lines = (Line("u"),)
    a = source("A", [opt("stop", 20, cost=50, loads=[0.0])], lines=lines)
    b = source("B", [opt("stop", 0, cost=1000, loads=[0.0])], lines=(Line("w"),))
    c = source("C", [opt("lim", 20, cost=400)])
    free = instance([a, b, c], [(20, 0, 0, 0)])
    assert measures(free, solve_checked(free)) == [["stop"], ["normal"], ["normal"]]
    coupled = instance([a, b, c], [(20, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), 1.0)])
    solved = solve_checked(coupled)
    assert measures(coupled, solved) == [["normal"], ["normal"], ["lim"]]
    assert solved.cost_yuan == 400
    rep = check(coupled, [[1], [0], [0]])
    assert any("exceeds what its supplier" in v for v in rep.violations)


def test_partial_share_allows_partial_load() -> None:
    # B's load ≤ 1 − 0.5 (1 − 0) = 0.5 when A stops: B at 0.5 is enough.
    a = source("A", [opt("stop", 20, cost=50, loads=[0.0])], lines=(Line("u"),))
    b = source(
        "B",
        [opt("half", 0, cost=100, loads=[0.5]), opt("stop", 0, cost=1000, loads=[0.0])],
        lines=(Line("w"),),
    )
    inst = instance([a, b], [(20, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), 0.5)])
    solved = solve_checked(inst)
    assert measures(inst, solved) == [["stop"], ["half"]]
    assert solved.cost_yuan == 150


@pytest.mark.parametrize(
    ("restart", "expected", "cost"), [(1000, "stop", 1200), (2000, "lim", 1400)]
)
def test_restart_cost_is_paid_once_per_stop(restart: float, expected: str, cost: int) -> None:
    lines = (Line("l", restart_cost_yuan=restart),)
    a = source("A", [opt("stop", 20, cost=100, loads=[0.0])], days=2, lines=lines)
    b = source("B", [opt("lim", 20, cost=700)], days=2)
    inst = instance([a, b], [(20, 0, 0, 0)] * 2)
    solved = solve_checked(inst)
    got = measures(inst, solved)
    assert expected in got[0] + got[1]
    assert solved.cost_yuan == cost
    rep = check(inst, [[1, 1], [0, 0]])
    assert rep.restart_cost_yuan == restart and len(rep.starts) == 1


def test_stop_restart_stop_pays_twice() -> None:
    lines = (Line("l", restart_cost_yuan=300),)
    a = source("A", [opt("stop", 20, cost=100, loads=[0.0])], days=3, lines=lines)
    inst = instance([a], [(0, 0, 0, 0)] * 3)
    rep = check(inst, [[1, 0, 1]])
    assert rep.restart_cost_yuan == 600 and rep.daily_cost_yuan == 200


def test_minimum_stop_days_make_a_one_day_stop_dear() -> None:
    lines = (Line("l", min_stop_days=3),)
    a = source("A", [opt("stop", 20, cost=100, loads=[0.0])], days=3, lines=lines)
    b = source("B", [opt("lim", 20, cost=250)], days=3)
    inst = instance([a, b], [(20, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)])
    solved = solve_checked(inst)
    assert measures(inst, solved) == [["normal"] * 3, ["lim", "normal", "normal"]]
    assert solved.cost_yuan == 250
    rep = check(inst, [[1, 0, 0], [0, 0, 0]])
    assert any("minimum stop of 3 days" in v for v in rep.violations)


def test_state_stop_before_the_instance_keeps_binding_without_restart() -> None:
    lines = (Line("l", restart_cost_yuan=5000, min_stop_days=3),)
    a = source("A", [opt("stop", 20, cost=100, loads=[0.0])], days=3, lines=lines)
    b = source("B", [opt("lim", 20, cost=10)], days=3)
    inst = instance([a, b], [(20, 0, 0, 0)] * 3, stopped_before={(0, 0): 1})
    solved = solve_checked(inst)
    # Stopped one day already, minimum 3: days 1–2 must stay stopped; no restart is paid.
    # Day 3 is free again: B's cheap limit beats keeping A stopped.
    assert measures(inst, solved) == [["stop", "stop", "normal"], ["normal", "normal", "lim"]]
    assert solved.cost_yuan == 210
    rep = check(inst, [[0, 0, 0], [1, 1, 1]])
    assert any("minimum stop" in v for v in rep.violations)


def test_pooling_so2_and_nox() -> None:
    a = source("A", [opt("a", so2=20, cost=100)])
    b = source("B", [opt("b", nox=10, cost=100)])
    c = source("C", [opt("c", so2=10, nox=10, cost=300)])
    split = instance([a, b, c], [(10, 10, 0, 0)])
    solved = solve_checked(split)
    assert measures(split, solved) == [["a"], ["b"], ["normal"]] and solved.cost_yuan == 200
    pooled = instance([a, b, c], [(10, 10, 0, 0)], pooled=True)
    solved = solve_checked(pooled)
    assert measures(pooled, solved) == [["a"], ["normal"], ["normal"]] and solved.cost_yuan == 100
    assert "so2+nox" in solved.marginal_yuan_per_kg[0]
    assert "so2" not in solved.marginal_yuan_per_kg[0]


def test_unreachable_target_is_capped_and_reported_short() -> None:
    a = source("A", [opt("stop", 20, cost=250)])
    b = source("B", [opt("lim", 10, cost=100)])
    inst = instance([a, b], [(50, 0, 0, 0)])
    solved = solve_checked(inst)
    assert solved.status == "short"
    assert measures(inst, solved) == [["stop"], ["lim"]]
    assert solved.cost_yuan == 350
    assert solved.shortfall_kg[0]["so2"] == pytest.approx(20)
    assert solved.capped_targets_kg[0]["so2"] == pytest.approx(30)
    assert solved.reachable_kg[0]["so2"] == pytest.approx(30)


def test_capped_targets_infeasible_together_minimise_shortfall_then_cost() -> None:
    # A's stop gives all the SO2 reachable but forces B (guaranteed at normal) down: the
    # coupling makes the capped target unreachable; the least shortfall comes from C.
    a = source("A", [opt("stop", 20, cost=10, loads=[0.0])], lines=(Line("u"),))
    b = source("B", [], lines=(Line("w"),), fixed="guaranteed")
    c = source("C", [opt("lim", 5, cost=100)])
    inst = instance([a, b, c], [(25, 0, 0, 0)], edges=[Edge((0, 0), (1, 0), 1.0)])
    solved = optimise(inst)
    assert solved.status == "short"
    assert measures(inst, solved) == [["normal"], ["normal"], ["lim"]]
    assert solved.shortfall_kg[0]["so2"] == pytest.approx(20)
    rep = check(inst, solved.choice, allowed_shortfall_kg=solved.shortfall_kg)
    assert rep.ok, rep.violations


def test_decimal_costs_are_exact() -> None:
    a = source("A", [opt("lim", 1, cost=0.1)])
    b = source("B", [opt("lim", 1, cost=0.2)])
    inst = instance([a, b], [(2, 0, 0, 0)])
    solved = solve_checked(inst)
    assert solved.cost_yuan == Fraction(3, 10)


def random_instance(seed: int, n: int = 40, days: int = 3):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    srcs = []
    for i in range(n):
        opts = []
        for k in range(rng.randint(1, 4)):
            cut = [rng.randint(0, 50) * (k + 1) for _ in range(4)]
            opts.append(opt(f"m{k}", *cut, cost=rng.randint(1, 40) * 50 * (k + 1)))
        srcs.append(source(f"S{i}", opts, days=days))
    totals = [sum(max(o.cut_kg[p] for o in s.options) for s in srcs) for p in range(4)]
    targets = (totals[0] * 0.3, totals[1] * 0.3, totals[2] * 0.25, totals[3] * 0.2)
    return instance(srcs, [targets] * days)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_input_gives_the_same_list(seed: int) -> None:
    first = solve_checked(random_instance(seed))
    second = solve_checked(random_instance(seed))
    assert first.choice == second.choice
    assert first.cost_yuan == second.cost_yuan
    assert first.status == "optimal"


@pytest.mark.parametrize("seed", [4, 5])
def test_optimum_is_no_worse_than_greedy_and_above_lp_bound(seed: int) -> None:
    inst = random_instance(seed)
    solved = solve_checked(inst)
    for heuristic in (greedy_multi, greedy_single):
        choice = heuristic(inst)
        rep = check(inst, choice)
        assert rep.ok, rep.violations
        assert rep.cost_yuan >= solved.cost_yuan
    assert solved.lp is not None
    assert solved.lp.objective_yuan <= float(solved.cost_yuan) + 1e-6
    assert check(inst, floor_choice(inst)).daily_cost_yuan == 0


def test_marginal_cost_is_the_price_of_the_last_kg() -> None:
    # Continuous relaxation: the last kg comes from B at 120/15 = 8 yuan/kg.
    a = source("A", [opt("lim", 10, cost=100)])
    b = source("B", [opt("lim", 15, cost=120)])
    inst = instance([a, b], [(12, 0, 0, 0)])
    solved = solve_checked(inst)
    assert solved.marginal_yuan_per_kg[0]["so2"] == pytest.approx(8.0)
    assert "nox" not in solved.marginal_yuan_per_kg[0]  # no NOx target, no price


def restart_instance(seed: int, days: int = 3):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    srcs = []
    for i in range(12):
        line = Line(
            "l", restart_cost_yuan=rng.choice([0, 500, 3000]), min_stop_days=rng.randint(1, 3)
        )
        opts = [
            opt(
                "half",
                rng.randint(5, 30),
                rng.randint(5, 30),
                cost=rng.randint(100, 900),
                loads=[0.5],
            ),
            opt(
                "stop",
                rng.randint(30, 60),
                rng.randint(30, 60),
                cost=rng.randint(900, 2000),
                loads=[0.0],
            ),
        ]
        srcs.append(source(f"S{i}", opts, days=days, lines=(line,)))
    return instance(srcs, [(150, 150, 0, 0)] * days)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_stationary_shortcut_equals_the_full_multi_day_model(seed: int) -> None:
    from emergency.optimiser import _optimise, stationary

    inst = restart_instance(seed)
    assert stationary(inst) is not None
    short = solve_checked(inst)
    full = _optimise(inst, time_limit_s=30, progress=None, gap_limit=0.0)
    assert full.status == "optimal"
    assert short.cost_yuan == full.cost_yuan
    assert all(row == [row[0]] * 3 for row in short.choice)  # the same measure every day


def test_days_that_differ_are_not_collapsed() -> None:
    from emergency.optimiser import stationary

    inst = restart_instance(1)
    inst.targets_kg[1] = (100, 100, 0, 0)
    assert stationary(inst) is None
    inst = restart_instance(1)
    inst.stopped_before[(0, 0)] = 1
    assert stationary(inst) is None


def brute_force(inst: Instance) -> Fraction | None:
    """The least cost over every allowed list (no pruning), by the checker; None if no
    list holds."""
    best: Fraction | None = None
    per_source = [list(itertools.product(*src.allowed)) for src in inst.sources]
    for rows in itertools.product(*per_source):
        choice = [list(r) for r in rows]
        if check(inst, choice).ok:
            cost = list_cost(inst, choice)
            if best is None or cost < best:
                best = cost
    return best


def test_a_measure_running_a_line_a_stop_needs_does_not_prune_the_stop() -> None:
    """Two days, L1 with a restart and a two-day minimum stop. ``half`` (both lines at half
    load) cuts more than ``stop1`` (L1 stopped) for less, but running L1 on the second day
    of a stop begun on the first breaks the minimum stop: the least list stops L1 on both
    days, with ``stop1`` on the second. Pruning ``stop1`` as dominated gave 126, "optimal"."""
    lines = [Line("L1", restart_cost_yuan=100, min_stop_days=2), Line("L2")]
    src = source(
        "S",
        [
            opt("stop1", 10, 10, 10, 10, cost=10, loads=(0.0, 1.0)),
            opt("half", 12, 12, 12, 12, cost=8, loads=(0.5, 0.5)),
            opt("stop1-half2", 17, 17, 17, 17, cost=13, loads=(0.0, 0.5)),
        ],
        days=2,
        lines=lines,
    )
    inst = instance([src], [(17, 0, 0, 0), (10, 0, 0, 0)])
    assert candidates(inst)[0][1] == (0, 1, 2, 3)
    solved = optimise(inst, time_limit_s=5)
    assert solved.choice == [[3, 1]]
    assert solved.cost_yuan == brute_force(inst) == 123
    # Over one day nothing links: there the stop is dominated (a restart at most).
    assert (
        1
        not in candidates(instance([source("S", src.options[1:], lines=lines)], [(17, 0, 0, 0)]))[
            0
        ][0]
    )


@pytest.mark.parametrize("seed", range(30))
def test_linked_days_cost_what_every_allowed_list_shows_least(seed: int) -> None:
    """Small random instances with restarts, minimum stops and stops in force: a proven
    optimum costs what the least of every allowed list (not pruned) costs."""
    rng = random.Random(seed)
    n_days = rng.choice([2, 3])
    sources = []
    stopped_before: dict[tuple[int, int], int] = {}
    for k in range(rng.choice([1, 2])):
        lines = [
            Line(
                f"L{i}",
                restart_cost_yuan=rng.choice([0, 50, 120]),
                min_stop_days=rng.choice([1, 2, 3]),
            )
            for i in range(2)
        ]
        options = []
        for j in range(3):
            loads = tuple(rng.choice([0.0, 0.5, 1.0]) for _ in lines)
            cut = round(rng.uniform(1, 20))
            options.append(
                opt(f"m{j}", cut, cut, cut, cut, cost=round(rng.uniform(1, 30)), loads=loads)
            )
        sources.append(source(f"S{k}", options, days=n_days, lines=lines))
        if rng.random() < 0.3:
            stopped_before[(k, 0)] = 1
    targets = [(round(rng.uniform(5, 30)), 0, 0, 0) for _ in range(n_days)]
    inst = instance(sources, targets, stopped_before=stopped_before)
    least = brute_force(inst)
    solved = optimise(inst, time_limit_s=5)
    if least is None:
        assert solved.status == "short" or not check(inst, solved.choice).ok
        return
    if solved.status == "optimal":
        assert solved.cost_yuan == least, (solved.choice, solved.cost_yuan, least)
    assert solved.cost_yuan >= least


def test_days_alike_share_their_shortfalls_and_cuts_and_no_others_do() -> None:
    """Days 1 and 3 alike (same targets, same measures), day 2 another measure under the
    same targets: each day's shortfall and cut is its own, the alike days' the same."""
    from emergency.optimiser import shortfalls
    from emergency.respond import report
    from emergency.solution import WarningDecision

    a = source("A", [opt("half", so2=50, cost=5), opt("all", so2=100, cost=20)], days=3)
    b = source("B", [opt("cut", so2=30, cost=3)], days=3)
    inst = instance([a, b], [(120.0, 0.0, 0.0, 0.0)] * 3)
    choice = [[1, 2, 1], [1, 1, 1]]
    short = shortfalls(inst, choice)
    assert [row["so2"] for row in short] == [40.0, 0.0, 40.0]
    # the same measures under another target, or pooled, fall short otherwise
    other = instance([a, b], [(120.0, 0.0, 0.0, 0.0), (100.0, 0.0, 0.0, 0.0)] * 2)
    other.sources = [source(x.id, x.options[1:], days=4) for x in (a, b)]
    assert [r["so2"] for r in shortfalls(other, [[1] * 4, [1] * 4])] == [40.0, 20.0] * 2
    pooled = instance([a, b], [(120.0, 10.0, 0.0, 0.0)] * 2)
    pooled.pooled = [False, True]
    two = [[1, 1], [1, 1]]
    assert [sorted(row) for row in shortfalls(pooled, two)] == [
        ["nox", "pm", "so2", "vocs"],
        ["pm", "so2+nox", "vocs"],
    ]
    solved = Solved(
        status="feasible",
        choice=choice,
        cost_yuan=list_cost(inst, choice),
        bound_yuan=0.0,
        gap=0.0,
        shortfall_kg=short,
        capped_targets_kg=[{"so2": 120.0, "nox": 0.0, "pm": 0.0, "vocs": 0.0}] * 3,
        reachable_kg=[{"so2": 130.0, "nox": 0.0, "pm": 0.0, "vocs": 0.0}] * 3,
        marginal_yuan_per_kg=[{}] * 3,
        lp=None,
    )
    warning = WarningDecision(
        level="orange", start=inst.dates[0], end=inst.dates[2], rule_set="t", reason="t"
    )
    plan = report(inst, solved, warning)
    assert [day.cut_kg.so2 for day in plan.days] == [80.0, 130.0, 80.0]
