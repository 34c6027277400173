"""The sources in play (emergency.core): the core frees what the LP leaves open, its list is
valid for the whole model, and solving it first changes neither the optimum nor the proof."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest

from emergency import optimiser
from emergency.checker import check
from emergency.core import (
    Staged,
    core_candidates,
    reduced_cost_candidates,
    solve_by_reduced_costs,
    solve_core,
)
from emergency.cpsat import CpResult
from emergency.instance import Choice, Instance
from emergency.lp import LpResult, solve_lp
from emergency.model import BuiltModel, LinearModel, build
from emergency.optimiser import candidates, capped_targets, list_cost, optimise
from tests.instances import stationary_city


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """800 sources."""
    return stationary_city(tmp_path_factory, 800, 21)


def built_of(inst: Instance) -> BuiltModel:
    capped, _ = capped_targets(inst)
    return build(inst, candidates(inst), capped)


def exact(inst: Instance, *, core: bool) -> optimiser.Solved:
    """The optimiser to its proof: with every model treated as large (cores first), or
    with no core at all (CP-SAT on the whole model alone)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0 if core else 10**9)
        if not core:
            patch.setattr(
                optimiser,
                "solve_by_reduced_costs",
                lambda *args, **kwargs: Staged(None, None, None),
            )
        return optimise(inst, time_limit_s=120)


@pytest.fixture(scope="module")
def best(city: Instance) -> optimiser.Solved:
    """The proven optimum without any core (CP-SAT on the whole model)."""
    solved = exact(city, core=False)
    assert solved.status == "optimal"
    assert not any("reduced costs" in n for n in solved.notes)
    return solved


def test_the_core_frees_split_and_coupled_source_days_and_holds_the_rest_at_the_lp(
    city: Instance,
) -> None:
    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    narrowed = core_candidates(built, lp, size=100)
    coupled = {e.src[0] for e in city.edges} | {e.dst[0] for e in city.edges}
    assert coupled, "the synthetic city has supply couplings"
    free = split = 0
    for s, per_day in enumerate(built.candidates):
        for d, options in enumerate(per_day):
            if len(options) == 1:
                assert narrowed[s][d] == options
                continue
            values = [lp.values[("x", s, d, m)] for m in options]
            if max(values) < 1 - 1e-6:
                split += 1
                assert narrowed[s][d] == options, "a split source-day must stay free"
            if s in coupled:
                assert narrowed[s][d] == options, "a coupled source-day must stay free"
            if narrowed[s][d] == options:
                free += 1
            else:
                assert narrowed[s][d] == (options[values.index(max(values))],)
    assert split > 0
    coupled_days = sum(len(built.candidates[s][d]) > 1 for s in coupled for d in range(city.n_days))
    assert free <= split + coupled_days + 100


def test_a_reduced_cost_core_keeps_what_the_lp_takes_and_the_cheap_moves(city: Instance) -> None:
    """Kept: every measure the LP takes in part, every measure whose reduced cost is at
    most the threshold, the held list's, every measure of a coupled source; dropped: only
    measures the LP leaves at 0 priced above the threshold."""
    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    hold = optimiser.greedy_multi(city, candidates=built.candidates)
    coupled = {e.src[0] for e in city.edges} | {e.dst[0] for e in city.edges}
    threshold = 500.0
    narrowed = reduced_cost_candidates(built, lp, threshold, coupled_free=True, keep=hold)
    dropped = 0
    for s, per_day in enumerate(built.candidates):
        for d, options in enumerate(per_day):
            kept = narrowed[s][d]
            assert set(kept) <= set(options) and hold[s][d] in kept
            if s in coupled or len(options) == 1:
                assert kept == options
                continue
            for m in options:
                key = ("x", s, d, m)
                if m not in kept:
                    dropped += 1
                    assert lp.values[key] <= 1e-6 and lp.reduced_costs[key] > threshold
                elif m != hold[s][d]:
                    assert lp.values[key] > 1e-6 or lp.reduced_costs[key] <= threshold
    assert dropped > 0


@pytest.fixture(scope="module")
def far_city(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """400 sources (seed 6) whose least-cost list takes a measure priced 10,195 yuan
    above the LP's, 202nd of 700 by reduced cost (59 tie at 0): no first core holds it."""
    return stationary_city(tmp_path_factory, 400, 6)


@dataclass
class Far:
    """``far_city``'s model, its LP and HiGHS's proven least cost."""

    built: BuiltModel
    lp: LpResult
    least: Fraction


@pytest.fixture(scope="module")
def far(far_city: Instance) -> Far:
    from emergency.highs import solve_highs

    built = built_of(far_city)
    reference = solve_highs(built, time_limit_s=120)
    assert reference.status == "optimal" and reference.choice is not None
    lp = solve_lp(built.linear, far_city.n_days, keep_solution=True)
    return Far(built, lp, list_cost(far_city, reference.choice))


def staged_on(far: Far, start: Choice | None, *, near_first: float, seconds: float) -> Staged:
    """:func:`solve_by_reduced_costs` on ``far`` with the first core's share ``near_first``
    and any exact core searched, however wide."""
    import time

    from emergency import core

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "NEAR_FIRST", near_first)
        patch.setattr(core, "WHOLE_SHARE", 1.0)
        return solve_by_reduced_costs(
            far.built,
            far.lp,
            start,
            lambda choice: list_cost(far.built.instance, choice),
            deadline=time.perf_counter() + seconds,
        )


def test_the_exact_reduced_cost_core_proves_the_whole_models_least_cost(
    far_city: Instance, far: Far
) -> None:
    """Grown until its threshold reaches the gap between its list and the LP bound, the
    core holds every list that could cost less: CP-SAT closing it proves the least cost
    of the whole model — HiGHS's proven optimum on the same rows."""
    from emergency import core

    # The first core as small as it gets (the ties and 20 more): the proof must come from
    # the exact core.
    staged = staged_on(far, None, near_first=0.0, seconds=60)
    assert staged.proven and staged.choice is not None
    assert float(staged.cost or 0) == pytest.approx(float(far.least), abs=0.5)
    assert staged.bound_yuan == float(staged.cost or 0)
    assert staged.cost == list_cost(far_city, staged.choice)
    assert check(far_city, staged.choice).ok
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "WHOLE_SHARE", 1.0)
        solved = optimise(far_city, time_limit_s=60)
    assert solved.status == "optimal" and solved.gap == 0.0
    assert float(solved.cost_yuan) == pytest.approx(float(far.least), abs=0.5)
    assert any("reduced costs" in n for n in solved.notes), "proven by the exact core"


def searched_on(
    far: Far, *, seconds: float, **constants: float
) -> tuple[Staged, list[tuple[int, int]], Choice]:
    """:func:`solve_by_reduced_costs` on ``far`` from the LP's list rounded, two workers
    allowed, with ``constants`` of emergency.core set: what it found, each CP-SAT search
    it made (the core's variables, its workers), and the rounded list."""
    import time

    from emergency import core
    from emergency.rounding import rounded

    start = rounded(far.built, far.lp, deadline=time.perf_counter() + 30)
    assert start is not None
    searches: list[tuple[int, int]] = []
    solve = core.solve_cpsat

    def counted(linear: LinearModel, **kw: Any) -> CpResult:
        searches.append((len(linear.binaries), kw["workers"]))
        return solve(linear, **kw)

    with pytest.MonkeyPatch.context() as patch:
        for name, value in constants.items():
            patch.setattr(core, name, value)
        patch.setattr(core, "solve_cpsat", counted)
        staged = solve_by_reduced_costs(
            far.built,
            far.lp,
            start,
            lambda choice: list_cost(far.built.instance, choice),
            deadline=time.perf_counter() + seconds,
            workers=2,
        )
    return staged, searches, start


def test_two_workers_from_the_rounded_list_search_the_exact_core_first(
    far_city: Instance, far: Far
) -> None:
    """With two CP-SAT workers and the LP's list rounded, the exact core (small enough for
    two workers, though more than half the model here: the whole model's search is kept
    out) is the first searched: it proves the whole model's least cost, with the first
    core's share cut to nothing (a first core could not have)."""
    staged, searches, _ = searched_on(far, seconds=60, NEAR_FIRST=0.0, WHOLE_SHARE=1.0)
    assert [workers for _, workers in searches] == [2], "one search, the exact core's"
    assert staged.proven and staged.cost == far.least
    assert staged.choice is not None and check(far_city, staged.choice).ok


def test_an_exact_core_of_half_the_model_does_not_come_first(far_city: Instance, far: Far) -> None:
    """Here the exact core frees more than half the model's measures: it does not replace
    the first core (nor end the cores with none searched) — the first, narrow one is
    searched, by two workers."""
    from emergency import core

    _, searches, start = searched_on(far, seconds=2)
    exact_at = float(list_cost(far_city, start)) - far.lp.objective_yuan + 1.0
    whole = reduced_cost_candidates(far.built, far.lp, exact_at, coupled_free=True, keep=start)
    free = sum(len(o) for per_day in whole for o in per_day if len(o) > 1)
    assert free >= core.WHOLE_SHARE * len(far.built.linear.binaries)
    assert searches, "a core is searched"
    size, workers = searches[0]
    assert size < free and workers == 2


def test_an_exact_core_not_closed_still_bounds_the_whole_model(
    far_city: Instance, far: Far
) -> None:
    """Cut short, the exact core proves nothing, but its bound holds for the whole model:
    at or below HiGHS's optimum, at or above the LP's."""
    start = optimiser.greedy_multi(far_city, candidates=far.built.candidates)
    # The first core exact at once (its threshold every reduced cost), from the greedy
    # list (0.3 % above the least): wide, and 0.4 s to search it.
    staged = staged_on(far, start, near_first=1.0, seconds=0.4)
    assert staged.bound_yuan is not None
    assert far.lp.objective_yuan - 1e-6 <= staged.bound_yuan <= float(far.least) + 0.5
    if not staged.proven:
        assert staged.bound_yuan < float(staged.cost or 0)


def test_the_core_list_meets_every_rule_and_costs_no_less_than_the_optimum(
    city: Instance, best: optimiser.Solved
) -> None:
    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    choice = solve_core(built, lp, time_limit_s=30, size=200)
    assert choice is not None
    report = check(city, choice)
    assert report.ok, report.violations[:3]
    assert list_cost(city, choice) >= best.cost_yuan
    assert float(list_cost(city, choice)) >= lp.objective_yuan - 1e-6


def test_solving_the_core_first_keeps_the_optimum_and_its_proof(
    city: Instance, best: optimiser.Solved
) -> None:
    with_core = exact(city, core=True)
    assert with_core.status == "optimal"
    assert with_core.cost_yuan == best.cost_yuan
    assert with_core.gap == 0.0
    assert check(city, with_core.choice).ok


def test_a_gap_limit_ends_the_search_with_an_honest_bound(
    city: Instance, best: optimiser.Solved
) -> None:
    """CP-SAT calls a search stopped by its gap limit "optimal"; the list is then only
    proven within the limit, and the status and gap say so."""
    loose = optimise(city, time_limit_s=120, gap_limit=0.05)
    assert loose.gap <= 0.05
    assert loose.bound_yuan <= float(best.cost_yuan) + 1e-6
    assert loose.cost_yuan >= best.cost_yuan
    if loose.cost_yuan > best.cost_yuan:
        assert loose.status == "feasible" and loose.gap > 0
    if loose.status == "optimal":
        assert loose.gap == 0.0 and loose.cost_yuan == best.cost_yuan


def test_the_lp_is_highs_relaxation_and_its_reduced_costs_bound_every_list(
    city: Instance, best: optimiser.Solved
) -> None:
    """GLOP's LP (sparse rows, dual simplex) has HiGHS's LP optimum on the same rows; its
    solution takes one measure's worth per source-day; a measure it leaves out cannot
    lower the cost (rc ≥ 0); and the reduced costs bound every list from below: cost ≥
    LP + Σ rc of the measures the list takes and the LP leaves out (what the exact core
    of :func:`solve_by_reduced_costs` rests on) — checked on the optimum and the greedy."""
    from emergency.highs import solve_highs

    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    assert lp.status == "optimal"
    lin = built.linear
    relaxed = solve_highs(built, time_limit_s=120, relax=True)
    assert relaxed.status == "optimal"
    reference = relaxed.objective_yuan
    assert lp.objective_yuan == pytest.approx(reference, rel=1e-9)
    for group in lin.one_of:
        assert sum(lp.values[k] for k in group) == pytest.approx(1.0, abs=1e-6)
        assert all(lp.reduced_costs[k] >= -1.0 for k in group if lp.values[k] < 1e-9)
    greedy = optimiser.greedy_multi(city, candidates=built.candidates)
    for choice in (best.choice, greedy):
        taken = sum(
            lp.reduced_costs[("x", s, d, m)]
            for s, row in enumerate(choice)
            for d, m in enumerate(row)
            if lp.values.get(("x", s, d, m), 1.0) < 1e-9
        )
        assert float(list_cost(city, choice)) >= lp.objective_yuan + taken - 1.0


def test_neighbourhoods_never_return_a_costlier_list_and_keep_every_rule(
    city: Instance,
) -> None:
    """From the greedy list, a few seconds of neighbourhoods: a valid list no costlier
    (and here cheaper: the greedy is above the optimum)."""
    import time

    from emergency.core import improve

    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    start = optimiser.greedy_multi(city, candidates=built.candidates)
    better = improve(
        built,
        lp,
        start,
        lambda choice: list_cost(city, choice),
        deadline=time.perf_counter() + 6,
        size=150,
        step_s=2,
    )
    assert check(city, better).ok
    assert list_cost(city, better) < list_cost(city, start)


def test_a_list_within_the_asked_gap_of_the_lp_bound_ends_the_search_after_the_core(
    city: Instance, best: optimiser.Solved
) -> None:
    """Asked for 0.5 %, the core's list is within it of the LP bound: no further search,
    a note that says so, and a bound that is the LP's (honest, at or below the optimum)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0)
        loose = optimise(city, time_limit_s=120, gap_limit=0.005)
    assert loose.lp is not None
    assert any("whole model was not searched" in n for n in loose.notes)
    assert loose.status == "feasible"
    assert loose.bound_yuan == pytest.approx(loose.lp.objective_yuan, rel=1e-12)
    assert loose.bound_yuan <= float(best.cost_yuan) + 1e-6
    assert 0 <= loose.gap <= 0.005
    assert loose.cost_yuan == list_cost(city, loose.choice) >= best.cost_yuan
    assert check(city, loose.choice).ok
    exact_run = exact(city, core=True)
    assert not any("within the gap asked" in n for n in exact_run.notes)


def test_cp_sat_stops_at_its_first_list_costing_enough(city: Instance) -> None:
    """``enough_yuan`` above every list: CP-SAT stops at its first list, unproven; without
    it the same model is searched to the proof."""
    from emergency.cpsat import solve_cpsat

    built = built_of(city)
    whole = solve_cpsat(built.linear, time_limit_s=120)
    first = solve_cpsat(built.linear, time_limit_s=120, enough_yuan=10.0**15)
    assert whole.status == "optimal"
    assert first.status == "feasible"
    assert first.objective_units >= whole.objective_units
    assert first.bound_units < first.objective_units


def test_neighbourhoods_end_once_the_list_costs_enough(city: Instance) -> None:
    """A start already costing ``enough_yuan``: improve solves no neighbourhood and hands
    the start back; a lower ``enough_yuan`` lets it work."""
    import time

    from emergency import core

    built = built_of(city)
    lp = solve_lp(built.linear, city.n_days, keep_solution=True)
    start = optimiser.greedy_multi(city, candidates=built.candidates)
    solved: list[object] = []
    real = core.solve_core

    def counted(*args: object, **kwargs: object) -> object:
        solved.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    def improve_to(enough: float) -> Choice:
        return core.improve(
            built,
            lp,
            start,
            lambda choice: list_cost(city, choice),
            deadline=time.perf_counter() + 30,
            size=150,
            step_s=2,
            enough_yuan=enough,
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core, "solve_core", counted)
        kept = improve_to(float(list_cost(city, start)))
        assert kept is start and solved == []
        better = improve_to(float(list_cost(city, start)) * (1 - 1e-5))
    assert solved
    assert list_cost(city, better) <= float(list_cost(city, start)) * (1 - 1e-5)
