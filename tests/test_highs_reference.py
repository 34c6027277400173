"""The optimiser against HiGHS, an independent MIP solver, on the same rows: the list's
exact cost equals HiGHS's proven optimum — a stationary response, the whole model solved
first on its core (as at 50,000 sources), and days that differ re-planned from a stop in
force."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from emergency import optimiser
from emergency.checker import check
from emergency.core import core_candidates, solve_core
from emergency.dataset import Dataset, load_dataset
from emergency.duties import build_instance
from emergency.heldstops import by_day, day_instance
from emergency.heuristics import greedy_multi
from emergency.highs import solve_highs
from emergency.instance import Choice, Instance
from emergency.lp import solve_lp
from emergency.model import BuiltModel, Key, build, stop_lines
from emergency.optimiser import candidates, capped_targets, list_cost, optimise, stationary
from emergency.respond import plan_response, state_at
from emergency.solution import WarningDecision
from emergency.synth import synthesize, write_city

START = dt.date(2016, 12, 16)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder: Path = tmp_path_factory.mktemp("highs") / "city"
    write_city(synthesize(500, 17), folder)
    return load_dataset(folder)


def highs_optimum(inst: Instance) -> float:
    capped, _ = capped_targets(inst)
    built = build(inst, candidates(inst), capped)
    result = solve_highs(built, time_limit_s=300)
    assert result.status == "optimal", (result.status, result.seconds, result.bound_yuan)
    assert result.choice is not None
    # HiGHS's own list, costed exactly, is its optimum (to its tolerances).
    assert float(list_cost(inst, result.choice)) == pytest.approx(result.objective_yuan, rel=1e-9)
    return float(list_cost(inst, result.choice))


def assert_matches(inst: Instance, *, core: bool) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0 if core else 10**9)
        ours = optimise(inst, time_limit_s=120)
    # "short": a red day's targets are beyond reach and capped at it (min(T, R)).
    assert ours.status in ("optimal", "short") and ours.gap == 0.0
    assert check(inst, ours.choice, allowed_shortfall_kg=ours.shortfall_kg).ok
    folded = stationary(inst)
    reference = highs_optimum(folded if folded is not None else inst)
    assert float(ours.cost_yuan) == pytest.approx(reference, rel=1e-9, abs=0.5)


@pytest.mark.parametrize("core", [False, True], ids=["whole", "core-first"])
def test_a_stationary_response_costs_what_highs_proves_optimal(city: Dataset, core: bool) -> None:
    days = [(START + dt.timedelta(days=i), "orange") for i in range(3)]
    assert_matches(build_instance(city, days), core=core)


def test_an_upgrade_replanned_from_a_stop_in_force_costs_what_highs_proves(
    city: Dataset,
) -> None:
    """Two orange days in force, then red from the second day on: the stops begun on the
    first day continue (restarts and minimum stops link the days), nothing folds to one
    day."""
    first = plan_response(city, warning("orange", 2), time_limit_s=60)
    state = state_at(first, city, START + dt.timedelta(days=1))
    assert state.stopped_days, "the orange list stops some lines"
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2, 3)]
    inst = build_instance(city, days, state=state)
    assert stationary(inst) is None
    assert_matches(inst, core=True)


def warning(level: str, days: int) -> WarningDecision:
    return WarningDecision(
        level=level,
        start=START,
        end=START + dt.timedelta(days=days - 1),
        rule_set="henan-2019",
        reason="test",
    )


def test_on_linked_days_the_core_moves_whole_sources_and_holds_the_optimum(
    city: Dataset,
) -> None:
    """The upgrade above: the core frees every day of a source or none (the optimum moves
    sources for the whole episode, a line stopped rather than restarted), and a core of a
    fraction of the source-days, solved alone, already costs HiGHS's proven optimum."""
    first = plan_response(city, warning("orange", 2), time_limit_s=60)
    state = state_at(first, city, START + dt.timedelta(days=1))
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2, 3)]
    inst = build_instance(city, days, state=state)
    capped, _ = capped_targets(inst)
    built = build(inst, candidates(inst), capped)
    lp = solve_lp(built.linear, inst.n_days, keep_solution=True)
    many = [
        (s, d)
        for s in range(len(inst.sources))
        for d in range(3)
        if len(built.candidates[s][d]) > 1
    ]
    size = len(many) // 4
    narrowed = core_candidates(built, lp, size)
    free_days = {(s, d) for s, d in many if narrowed[s][d] == built.candidates[s][d]}
    for s in {s for s, _ in many}:
        days_of = [(s, d) for d in range(3) if (s, d) in set(many)]
        assert all(k in free_days for k in days_of) or not any(k in free_days for k in days_of), s
    assert len(free_days) < len(many), "the core holds some sources"
    choice = solve_core(built, lp, time_limit_s=60, size=size)
    assert choice is not None
    assert check(inst, choice).ok
    assert float(list_cost(inst, choice)) == pytest.approx(highs_optimum(inst), rel=1e-9, abs=0.5)


def upgrade(city: Dataset) -> Instance:
    first = plan_response(city, warning("orange", 2), time_limit_s=60)
    state = state_at(first, city, START + dt.timedelta(days=1))
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2, 3)]
    return build_instance(city, days, state=state)


def test_the_days_apart_lie_under_the_linked_lp_and_keep_first_day_restarts(
    city: Dataset,
) -> None:
    """The model of the days apart (what bounds a linked model whose LP is not solved in
    time) is a relaxation: its LP lies under the linked model's LP, which lies under
    HiGHS's optimum; it keeps the restarts of stops begun on the first day, and no row or
    variable that links two days."""
    inst = upgrade(city)
    capped, _ = capped_targets(inst)
    linked = build(inst, candidates(inst), capped)
    apart = build(inst, candidates(inst), capped, days_apart=True)
    starts = [k for k in apart.linear.binaries if k[0] == "start"]
    assert starts and all(k[3] == 0 for k in starts)
    for row in apart.linear.rows:
        assert len({k[2] for _, k in row.terms if k[0] == "x"}) <= 1, row
    lp_linked = solve_lp(linked.linear, inst.n_days).objective_yuan
    lp_apart = solve_lp(apart.linear, inst.n_days).objective_yuan
    restarts = sum(c for c, k in apart.linear.objective if k[0] == "start")
    assert restarts > 0
    assert lp_apart <= lp_linked + 1e-6 * abs(lp_linked) <= highs_optimum(inst) + 1.0


@pytest.mark.parametrize("neighbourhoods", [False, True], ids=["whole", "large"])
def test_a_linked_model_whose_lp_is_not_solved_is_bounded_by_the_days_apart(
    city: Dataset, neighbourhoods: bool
) -> None:
    """Above LINKED_LP_MAX variables the linked LP is not tried: the bound is the days
    apart's and the notes say so. A small model is then searched whole (from the greedy
    list) to HiGHS's optimum; a large one (neighbourhoods' size) is given the greedy list
    — within its bound, which the checker's cost is above."""
    inst = upgrade(city)
    capped, _ = capped_targets(inst)
    apart = solve_lp(
        build(inst, candidates(inst), capped, days_apart=True).linear, inst.n_days
    ).objective_yuan
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "LINKED_LP_MAX", 0)
        if neighbourhoods:
            patch.setattr(optimiser, "CORE_FROM", 0)
            patch.setattr(optimiser, "NEIGHBOURHOODS_FROM", 0)
        ours = optimise(inst, time_limit_s=60)
    assert check(inst, ours.choice, allowed_shortfall_kg=ours.shortfall_kg).ok
    assert any("is not solved above 0 variables" in n for n in ours.notes), ours.notes
    assert ours.bound_yuan >= apart - 1e-6 * abs(apart)
    assert ours.bound_yuan <= float(ours.cost_yuan)
    assert any(ours.marginal_yuan_per_kg[d] for d in range(inst.n_days))
    if neighbourhoods:
        assert any("the greedy list is given" in n for n in ours.notes), ours.notes
        assert ours.bound_yuan == pytest.approx(apart, rel=1e-9)
    else:
        assert float(ours.cost_yuan) == pytest.approx(highs_optimum(inst), rel=1e-9, abs=0.5)


def test_where_neighbourhoods_follow_the_linked_core_has_all_the_time_but_a_second(
    city: Dataset,
) -> None:
    """Days linked by stops, a model of the neighbourhoods' size: the whole-source core is
    given all the time left but the held stops' share and a second (it goes on improving
    the list the neighbourhoods would only start from), not CORE_MAX_S; its list holds
    every rule and costs no less than HiGHS's optimum."""
    inst = upgrade(city)
    limits: list[float] = []
    core = optimiser.solve_core

    def timed_core(*args: object, time_limit_s: float, **kw: object) -> object:
        limits.append(time_limit_s)
        return core(*args, time_limit_s=time_limit_s, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0)
        patch.setattr(optimiser, "NEIGHBOURHOODS_FROM", 0)
        patch.setattr(optimiser, "solve_core", timed_core)
        ours = optimise(inst, time_limit_s=25)
    # All but the held stops' share and a second (25 s less the LP: about 18 s), where
    # the core alone had CORE_MAX_S.
    assert len(limits) == 1 and limits[0] > 1.5 * optimiser.CORE_MAX_S
    told = ("the whole model is not searched at this size", "improved on neighbourhoods")
    assert any(t in n for t in told for n in ours.notes), ours.notes
    assert check(inst, ours.choice, allowed_shortfall_kg=ours.shortfall_kg).ok
    assert float(ours.cost_yuan) >= highs_optimum(inst) - 0.5


def stop_states(built: BuiltModel, choice: Choice) -> dict[tuple[int, int], list[bool]]:
    """Per source and line whose stops link the days, whether ``choice`` stops it each day."""
    inst = built.instance
    return {
        (s, li): [inst.sources[s].options[choice[s][d]].stops(li) for d in range(inst.n_days)]
        for s, li in stop_lines(built)
    }


def needless_cuts(
    inst: Instance, candidates: list[list[tuple[int, ...]]], choice: Choice
) -> Choice:
    """``choice`` with, on each day, one uncoupled source moved to a dearer measure that
    cuts no less of any pollutant and stops the same lines (so the list stays valid)."""
    coupled = {e.src[0] for e in inst.edges} | {e.dst[0] for e in inst.edges}
    out = [list(row) for row in choice]
    for d in range(inst.n_days):
        for s, src in enumerate(inst.sources):
            here = src.options[out[s][d]]
            dearer = [
                m
                for m in candidates[s][d]
                if s not in coupled
                and src.options[m].cost_yuan_d > here.cost_yuan_d
                and all(a >= b for a, b in zip(src.options[m].cut_kg, here.cut_kg, strict=True))
                and [src.options[m].stops(li) for li in range(len(src.lines))]
                == [here.stops(li) for li in range(len(src.lines))]
            ]
            if dearer:
                out[s][d] = dearer[0]
                break
        else:
            raise AssertionError(f"no source to curtail deeper on day {d}")
    return out


def assert_each_day_least(built: BuiltModel, start: Choice, out: Choice) -> None:
    """Each day of ``out`` costs what HiGHS proves least for that day with ``start``'s
    stops held: the day's candidates that stop the same lines whose stops link the days
    (worked out here, not read from :func:`day_instance`, which must give the same), the
    day's imposed targets."""
    inst = built.instance
    linking: dict[int, list[int]] = {}
    for s, li in stop_lines(built):
        linking.setdefault(s, []).append(li)
    for d in range(inst.n_days):
        day = day_instance(built, start, d)
        assert [src.allowed[0] for src in day.sources] == [
            tuple(
                m
                for m in built.candidates[s][d]
                if all(
                    src.options[m].stops(li) == src.options[start[s][d]].stops(li)
                    for li in linking.get(s, [])
                )
            )
            for s, src in enumerate(inst.sources)
        ]
        day_built = build(day, [src.allowed for src in day.sources], [built.targets_kg[d]])
        reference = solve_highs(day_built, time_limit_s=120)
        assert reference.status == "optimal", (d, reference.status)
        ours = float(list_cost(day, [[row[d]] for row in out]))
        assert ours == pytest.approx(reference.objective_yuan, rel=1e-9, abs=0.5), d


def test_each_day_with_the_stops_held_gets_the_least_cost_highs_proves_for_it(
    city: Dataset,
) -> None:
    """From a valid list of the linked upgrade (the greedy's, a source a day curtailed deeper
    than it needs: the greedy's days are already the least with its stops), the days
    searched apart with its stops held: each day's measures cost what HiGHS proves least
    for that day's model (the list's stops, the day's imposed targets), every line whose
    stops link the days stops on the same days as before, the restarts are the same, and
    the list holds every rule."""
    inst = upgrade(city)
    capped, _ = capped_targets(inst)
    built = build(inst, candidates(inst), capped)
    start = needless_cuts(inst, built.candidates, greedy_multi(inst, candidates=built.candidates))
    assert check(inst, start).ok
    out, cheaper = by_day(built, start, list_cost, deadline=time.perf_counter() + 120)
    assert cheaper > 0 and list_cost(inst, out) < list_cost(inst, start)
    assert check(inst, out).ok
    assert stop_states(built, out) == stop_states(built, start)
    for s in range(len(inst.sources)):
        assert inst.restart_costs(s, out[s]) == inst.restart_costs(s, start[s])
    assert_each_day_least(built, start, out)


def test_on_linked_days_the_core_s_list_is_searched_day_by_day_with_its_stops_held(
    city: Dataset,
) -> None:
    """A linked model of the core's size: the days apart with the stops held start from
    the core's list (here made to curtail a source a day deeper than it needs), within
    their share of the time; they undo that, the notes say so, and the whole model's
    search starts from their list."""
    inst = upgrade(city)
    core = optimiser.solve_core
    cores: list[Choice] = []

    def needless_core(built: BuiltModel, *args: object, **kw: object) -> Choice | None:
        found = core(built, *args, **kw)  # type: ignore[arg-type]
        assert found is not None
        cores.append(needless_cuts(inst, built.candidates, found))
        return cores[-1]

    held = optimiser.by_day
    seen: list[tuple[Choice, float, Choice]] = []

    def spy(built: BuiltModel, best: Choice, cost: object, *, deadline: float) -> object:
        left = deadline - time.perf_counter()
        out = held(built, best, cost, deadline=deadline)  # type: ignore[arg-type]
        seen.append((best, left, out[0]))
        return out

    hints: list[dict[Key, int] | None] = []
    search = optimiser.solve_cpsat

    def spy_search(linear: object, **kw: object) -> object:
        hints.append(kw.get("hint"))  # type: ignore[arg-type]
        return search(linear, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "CORE_FROM", 0)
        patch.setattr(optimiser, "solve_core", needless_core)
        patch.setattr(optimiser, "by_day", spy)
        patch.setattr(optimiser, "solve_cpsat", spy_search)
        ours = optimise(inst, time_limit_s=20)
    assert len(seen) == 1
    best, left, out = seen[0]
    assert best == cores[0]
    assert 0 < left <= optimiser.HELD_SHARE * 20
    assert check(inst, out).ok
    assert list_cost(inst, out) < list_cost(inst, best)
    capped, _ = capped_targets(inst)
    built = build(inst, candidates(inst), capped)
    assert stop_states(built, out) == stop_states(built, best)
    assert any(f"of {inst.n_days} days cheaper" in n for n in ours.notes), ours.notes
    hint = hints[0]
    assert hint is not None
    assert hint == {k: int(out[k[1]][k[2]] == k[3]) for k in hint}  # type: ignore[misc]
    assert list_cost(inst, ours.choice) <= list_cost(inst, out)
    assert check(inst, ours.choice, allowed_shortfall_kg=ours.shortfall_kg).ok


def test_without_the_linked_lp_the_greedy_list_is_searched_day_by_day_with_its_stops_held(
    city: Dataset,
) -> None:
    """A large linked model whose LP is not tried is given the greedy list: its days are
    then searched apart with its stops held (here a greedy list curtailing a source a day
    deeper than it needs, which they undo: each day at HiGHS's least for it), and the
    notes say so."""
    inst = upgrade(city)
    greedy = optimiser.greedy_multi
    given: list[Choice] = []

    def needless(inst: Instance, *, candidates: list[list[tuple[int, ...]]]) -> Choice:
        given.append(needless_cuts(inst, candidates, greedy(inst, candidates=candidates)))
        return given[0]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimiser, "LINKED_LP_MAX", 0)
        patch.setattr(optimiser, "CORE_FROM", 0)
        patch.setattr(optimiser, "NEIGHBOURHOODS_FROM", 0)
        patch.setattr(optimiser, "greedy_multi", needless)
        ours = optimise(inst, time_limit_s=30)
    assert any("the greedy list is given" in n for n in ours.notes), ours.notes
    assert any(f"of {inst.n_days} days cheaper" in n for n in ours.notes), ours.notes
    assert check(inst, ours.choice, allowed_shortfall_kg=ours.shortfall_kg).ok
    capped, _ = capped_targets(inst)
    built = build(inst, candidates(inst), capped)
    assert stop_states(built, ours.choice) == stop_states(built, given[0])
    assert list_cost(inst, ours.choice) < list_cost(inst, given[0])
    assert_each_day_least(built, given[0], ours.choice)
