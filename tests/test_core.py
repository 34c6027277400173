"""The sources in play (emergency.core): the core frees what the LP leaves open, its list is
valid for the whole model, and solving it first changes neither the optimum nor the proof."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from emergency import optimiser
from emergency.checker import check
from emergency.core import core_candidates, solve_core
from emergency.dataset import load_dataset
from emergency.duties import build_instance
from emergency.instance import Choice, Instance
from emergency.lp import solve_lp, solve_lp_by_parts
from emergency.model import BuiltModel, build
from emergency.optimiser import candidates, capped_targets, list_cost, optimise, stationary
from emergency.synth import synthesize, write_city

START = dt.date(2016, 12, 16)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """A synthetic city of 800 sources, three orange days, folded to its one stationary
    day (as the optimiser solves it)."""
    folder: Path = tmp_path_factory.mktemp("core") / "city"
    write_city(synthesize(800, 21), folder)
    days = [(START + dt.timedelta(days=i), "orange") for i in range(3)]
    one = stationary(build_instance(load_dataset(folder), days))
    assert one is not None
    return one


def built_of(inst: Instance) -> BuiltModel:
    capped, _ = capped_targets(inst)
    return build(inst, candidates(inst), capped)


def exact(inst: Instance, *, core: bool) -> optimiser.Solved:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0 if core else 10**9)
        return optimise(inst, time_limit_s=120)


@pytest.fixture(scope="module")
def best(city: Instance) -> optimiser.Solved:
    """The proven optimum without the core."""
    solved = exact(city, core=False)
    assert solved.status == "optimal"
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


@pytest.mark.parametrize(("sample", "free_size"), [(50, 50), (200, 400)])
def test_the_lp_solved_by_parts_is_the_whole_lp(
    city: Instance, sample: int, free_size: int
) -> None:
    """Small parts (a few dozen free source-days of hundreds) must still end at the whole
    LP's optimum, with a solution that takes one measure's worth per source-day and the
    same prices."""
    built = built_of(city)
    whole = solve_lp(built.linear, city.n_days)
    start = optimiser.greedy_multi(city, candidates=built.candidates)
    parts = solve_lp_by_parts(built, start, sample=sample, free_size=free_size)
    assert parts.status == "optimal"
    assert parts.objective_yuan == pytest.approx(whole.objective_yuan, rel=1e-9)
    for group in built.linear.one_of:
        assert sum(parts.values[k] for k in group) == pytest.approx(1.0, abs=1e-6)
        # A measure the optimum leaves out cannot lower the cost (rc ≥ 0, to the LP's
        # tolerance in yuan).
        assert all(parts.reduced_costs[k] >= -1.0 for k in group if parts.values[k] < 1e-9)
    for d, row in enumerate(whole.duals):
        for name, price in row.items():
            assert parts.duals[d][name] == pytest.approx(price, rel=1e-6, abs=1e-6)


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
    assert not any("whole model was not searched" in n for n in exact_run.notes)


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
