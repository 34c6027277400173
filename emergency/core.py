"""The measures in play: small models around the LP optimum, solved first for a list close
to the least cost in a fraction of the whole model's time.

Where days are not linked by stops, the cores are cut by reduced cost
(:func:`solve_by_reduced_costs`): growing, and the last of them exact — no cheaper list
takes a measure priced above the LP by more than the gap left, so CP-SAT closing that core
proves the whole model's least cost. Where days are linked, by whole sources, as below.

In the LP relaxation of this model (one measure per source and day, a handful of target
rows per day, a few couplings) nearly every source-day takes one measure outright; only a
few are split between two. The core keeps free every day of the sources that are split or
coupled, and of those whose cheapest move is worth least at the LP's target prices (moving
the whole source, on every day, to another measure, with the restarts that begins:
:func:`rank_sources`); it holds the others at their LP measure and solves that smaller
model with CP-SAT (without a hint: the LP rounded seldom meets the couplings, and CP-SAT's
own first list comes sooner than its repair of that one).

Its list is valid for the whole model — the same rows with some choices held — so it
warm-starts the whole model's search. It proves nothing by itself: the bound stays the
whole model's (the LP relaxation's, or CP-SAT's on the whole model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from emergency.cpsat import solve_cpsat
from emergency.instance import Choice, Option
from emergency.lp import LpResult
from emergency.model import BuiltModel, Infeasible, build, hint_of, read_choice

CORE_SIZE = 1000
"""Source-days left free besides the split and coupled ones: small enough for CP-SAT to
settle in seconds, large enough that the list it finds is within a few hundredths of a
per cent of the least cost on the synthetic cities (bench/RESULTS.md)."""
CORE_SIZE_LINKED = 2000
"""The same where days are linked by stops (whole sources move there, and the core with
2,000 source-days found a list 0.0004 % above the optimum of the synthetic upgrade of
5,000 sources in 8 s, the core with 1,000 one 0.014 % above)."""

SPLIT = 1e-6
"""An LP value below 1 − SPLIT means the source-day is split between measures."""


@dataclass
class Ranking:
    """What the core is cut from: the LP's measure per source-day, the sources always free
    (split or coupled), the others from the most to the least likely to move."""

    held: dict[tuple[int, int], int]
    always: set[int]
    ranked: list[int]


def rank_sources(built: BuiltModel, lp: LpResult) -> Ranking:
    """Rank the sources by what moving each, on every day at once, to one other measure
    is worth at the LP's target prices: Σ over days of (cost − Σ price × cut), plus the
    restarts of the stops the move begins, exactly, minus the same for the LP's measures.

    A whole source, not a source-day: where days are linked by stops the least-cost list
    moves sources on all their days together (a line stopped for the episode rather than
    for a day), and the LP's reduced costs of single source-days are mostly zero there
    (the restart sits on the first day's start variable): on the synthetic upgrade of
    5,000 sources every source the optimum moves is among the first 310 of 2,112 by this
    value, and spread over 8 to 6,310 of 9,392 source-days by reduced cost."""
    inst = built.instance
    n = inst.n_days
    coupled = {e.src[0] for e in inst.edges} | {e.dst[0] for e in inst.edges}
    rows = [inst.pooled_rows(d) for d in range(n)]
    prices = [[lp.duals[d].get(name, 0.0) for name, _ in rows[d]] for d in range(n)]
    held: dict[tuple[int, int], int] = {}
    always: set[int] = set()
    worth: list[tuple[float, int]] = []
    for s, src in enumerate(inst.sources):
        per_day = built.candidates[s]
        if all(len(options) == 1 for options in per_day):
            continue
        for d, options in enumerate(per_day):
            if len(options) > 1:
                values = [lp.values.get(("x", s, d, m), 0.0) for m in options]
                best = max(range(len(options)), key=values.__getitem__)
                held[s, d] = options[best]
                if values[best] < 1.0 - SPLIT:
                    always.add(s)
        if s in coupled:
            always.add(s)
        if s in always:
            continue
        now = [held.get((s, d), per_day[d][0]) for d in range(n)]

        def priced(d: int, m: int, o: Sequence[Option] = src.options) -> float:
            cut = o[m].cut_kg
            return o[m].cost_yuan_d - sum(
                p * sum(cut[i] for i in idx) for p, (_, idx) in zip(prices[d], rows[d], strict=True)
            )

        base = sum(priced(d, now[d]) for d in range(n)) + inst.restarts_yuan(s, now)
        common = set(per_day[0]).intersection(*per_day[1:])
        moves = [
            sum(priced(d, m) for d in range(n)) + inst.restarts_yuan(s, [m] * n) - base
            for m in common
            if [m] * n != now
        ]
        worth.append((min(moves) if moves else math.inf, s))
    worth.sort()
    return Ranking(held, always, [s for _, s in worth])


def core_candidates(
    built: BuiltModel,
    lp: LpResult,
    size: int = CORE_SIZE,
    *,
    window: int = 0,
    hold: Choice | None = None,
    ranking: Ranking | None = None,
) -> list[list[tuple[int, ...]]]:
    """Per source and day: every candidate measure when the source is in play, else the
    LP's measure alone (or ``hold``'s).

    In play: the sources split or coupled on any day and, of the others ranked by
    :func:`rank_sources`, the ``window``-th run of them holding ``size`` source-days
    (0: the first)."""
    inst = built.instance
    ranking = ranking or rank_sources(built, lp)
    free = set(ranking.always)
    seen = 0
    for s in ranking.ranked:
        if seen >= (window + 1) * size:
            break
        if seen >= window * size:
            free.add(s)
        seen += sum(1 for d in range(inst.n_days) if (s, d) in ranking.held)

    def kept(s: int, d: int) -> tuple[int, ...]:
        if s in free or (s, d) not in ranking.held:
            return built.candidates[s][d]
        return (hold[s][d] if hold is not None else ranking.held[s, d],)

    return [[kept(s, d) for d in range(inst.n_days)] for s in range(len(inst.sources))]


def solve_core(
    built: BuiltModel,
    lp: LpResult,
    *,
    time_limit_s: float,
    size: int = CORE_SIZE,
    window: int = 0,
    hold: Choice | None = None,
    enough_yuan: float | None = None,
    ranking: Ranking | None = None,
) -> Choice | None:
    """The best list CP-SAT finds on the core within ``time_limit_s`` (choosing and
    building it included; from ``hold`` when given; the first costing ``enough_yuan`` or
    less), or None (the held measures leave no valid list, or none was found in time)."""
    began = time.perf_counter()
    if time_limit_s < 0.2:
        return None  # building the core alone takes longer (2 s at 50,000 sources)
    narrowed = core_candidates(built, lp, size, window=window, hold=hold, ranking=ranking)
    try:
        core = build(built.instance, narrowed, built.targets_kg)
    except Infeasible:
        return None
    # The limit covers choosing and building the core (about 2 s at 50,000 sources).
    left = time_limit_s - (time.perf_counter() - began)
    if left < 0.2:
        return None
    # A held list is valid: CP-SAT starts from it. The LP rounded seldom is (couplings), and
    # repairing it took CP-SAT 5 s at 50,000 sources, where its own first list takes 2 s.
    hint = hint_of(core, hold) if hold is not None else None
    res = solve_cpsat(core.linear, time_limit_s=left, hint=hint, enough_yuan=enough_yuan)
    if not res.has_solution:
        return None
    return read_choice(core, res.values)


NEAR_FIRST = 0.01
"""The first reduced-cost core frees the measures the LP prices at no extra cost (ties)
and this share of the others, the cheapest first."""
GROWTH = 4.0
"""Each later reduced-cost core frees measures up to this many times the last one's
threshold (or to a hundredth of the gap left, whichever is more)."""
WHOLE_SHARE = 0.5
"""A reduced-cost core freeing this share of the model's measures or more is left to the
whole model's search."""
STAGE_SHARE = 0.5
SHORT_S = 2.0
"""The share of the time left that a core short of exact may take, unless less than
``SHORT_S`` is left (then all of it): the next, wider core starts from its list (20,000
sources in 20 s: 45 yuan above HiGHS's optimum, 430 when the first core took all the
time the whole model's search did not)."""
MIN_STAGE_S = 0.05
"""No core is begun, nor searched, with less time than this left (besides, for a core
after the first, what building the last one took)."""


PARALLEL_FREE_MAX = 6000
"""Cores freeing more measures than this are searched by one CP-SAT worker, whatever
:func:`solve_by_reduced_costs` is given."""


@dataclass
class Staged:
    """What :func:`solve_by_reduced_costs` found: its best list (or None) and its cost;
    a lower bound on the whole model's least cost from its exact core (or None: no exact
    core searched), and whether CP-SAT closed that core (then the list is the least)."""

    choice: Choice | None
    cost: Fraction | None
    bound_yuan: float | None = None
    proven: bool = False


def reduced_cost_candidates(
    built: BuiltModel,
    lp: LpResult,
    threshold: float,
    *,
    coupled_free: bool,
    keep: Choice | None = None,
) -> list[list[tuple[int, ...]]]:
    """Per source and day: the measures the LP takes (in any part), those whose reduced
    cost is at most ``threshold`` yuan, ``keep``'s, and, with ``coupled_free``, every
    measure of a coupled source."""
    inst = built.instance
    coupled = {e.src[0] for e in inst.edges} | {e.dst[0] for e in inst.edges}
    values, rcs = lp.values, lp.reduced_costs
    out: list[list[tuple[int, ...]]] = []
    for s, per_day in enumerate(built.candidates):
        if coupled_free and s in coupled:
            out.append(list(per_day))
            continue
        row: list[tuple[int, ...]] = []
        for d, options in enumerate(per_day):
            if len(options) == 1:
                row.append(options)
                continue
            kept = tuple(
                m
                for m in options
                if values.get(("x", s, d, m), 0.0) > SPLIT
                or rcs.get(("x", s, d, m), 0.0) <= threshold
                or (keep is not None and keep[s][d] == m)
            )
            row.append(kept)
        out.append(row)
    return out


def _free(narrowed: list[list[tuple[int, ...]]]) -> int:
    """The measures a core leaves free (those of source-days with a choice)."""
    return sum(len(o) for per_day in narrowed for o in per_day if len(o) > 1)


def solve_by_reduced_costs(
    built: BuiltModel,
    lp: LpResult,
    best: Choice | None,
    cost: Callable[[Choice], Fraction],
    *,
    deadline: float,
    enough_yuan: float | None = None,
    workers: int = 1,
) -> Staged:
    """Cores of the measures nearest to the LP optimum, growing, each searched from the
    best list so far — for models whose days are not linked by stops.

    A measure the LP leaves at 0 with reduced cost r adds at least r to the LP bound: no
    list costing less than the best so far takes a measure whose r exceeds the gap between
    them. So the first core frees the measures the LP prices at no extra cost and the
    cheapest 1 % of the others; each next one frees measures up to ``GROWTH`` times the
    last threshold (or a hundredth of the gap left); once the threshold reaches the gap
    the core is exact — its least cost is the whole model's — and the search ends there
    with a proof when CP-SAT closes it. A core that would free half the model's measures
    is left to the whole model's search. A core short of exact takes at most
    ``STAGE_SHARE`` of the time left (all of it under ``SHORT_S``); a core freeing up to
    ``PARALLEL_FREE_MAX`` measures is searched by ``workers`` CP-SAT workers, and with
    more than one the exact core comes first when it is that small. Ends at ``deadline``
    (``time.perf_counter()``) or at a list costing ``enough_yuan`` or less."""
    lower = lp.objective_yuan
    at_zero = sorted(
        r for k, r in lp.reduced_costs.items() if k[0] == "x" and lp.values.get(k, 0.0) <= SPLIT
    )
    if not at_zero:
        return Staged(best, cost(best) if best is not None else None)
    ties = sum(1 for r in at_zero if r <= 1e-6)
    threshold = at_zero[min(len(at_zero) - 1, ties + max(20, int(NEAR_FIRST * len(at_zero))))]
    lowest = cost(best) if best is not None else None
    stage = 0
    building = 0.0  # what building the last core took: the next is no quicker
    while deadline - time.perf_counter() > MIN_STAGE_S + building:
        if enough_yuan is not None and lowest is not None and lowest <= enough_yuan:
            break
        gap = math.inf if lowest is None else float(lowest) - lower
        # Margin for the LP's floating point: a yuan, or a millionth of the cost.
        exact_at = gap + max(1.0, 1e-6 * abs(lower))
        if stage > 0:
            threshold = max(GROWTH * threshold, gap / 100)
        exact = threshold >= exact_at / GROWTH
        if exact:
            threshold = exact_at
        narrowed = reduced_cost_candidates(built, lp, threshold, coupled_free=True, keep=best)
        if stage == 0 and not exact and workers > 1 and lowest is not None:
            # Two workers close an exact core of a few thousand measures in about a
            # second: with a good first list (the LP's rounded) it comes first.
            whole = reduced_cost_candidates(built, lp, exact_at, coupled_free=True, keep=best)
            wide = _free(whole)
            if wide <= PARALLEL_FREE_MAX and wide < WHOLE_SHARE * len(built.linear.binaries):
                narrowed, threshold, exact = whole, exact_at, True
        free = _free(narrowed)
        if free >= WHOLE_SHARE * len(built.linear.binaries):
            break
        stage += 1
        began = time.perf_counter()
        try:
            core = build(built.instance, narrowed, built.targets_kg)
        except Infeasible:
            continue  # the held measures alone break a row (no list yet): a wider core
        building = time.perf_counter() - began
        left = deadline - time.perf_counter()
        if left < MIN_STAGE_S:
            break
        res = solve_cpsat(
            core.linear,
            # A core that does not close in half the time left would not with all of it:
            # the rest goes to the next, wider one (or to the whole model) — unless too
            # little is left for another search to be worth starting.
            time_limit_s=left if exact or left < SHORT_S else left * STAGE_SHARE,
            hint=hint_of(core, best) if best is not None else None,
            enough_yuan=enough_yuan,
            # Two workers close a core of a few thousand measures in a third of one's
            # time, but move slower on one of ten thousand and more (bench/RESULTS.md).
            workers=workers if free <= PARALLEL_FREE_MAX else 1,
        )
        if res.has_solution:
            found = read_choice(core, res.values)
            found_cost = cost(found)
            if lowest is None or found_cost < lowest:
                best, lowest = found, found_cost
        if exact:
            # Every list cheaper than the best at the start of this stage is in this core
            # (and that list too): the core's least cost is the whole model's, so its
            # bound is a bound on the whole model, and closing it a proof.
            bound = None
            if res.has_solution and lowest is not None:
                core_bound = res.bound_units / res.objective_scale + core.linear.objective_const
                bound = min(float(lowest), core_bound)
            closed = res.status == "optimal" and res.bound_units >= res.objective_units
            return Staged(best, lowest, bound, closed)
    return Staged(best, lowest)


IMPROVE_MIN_S = 1.0
"""No neighbourhood is begun with less time than this left."""


def improve(
    built: BuiltModel,
    lp: LpResult,
    best: Choice,
    cost: Callable[[Choice], Fraction],
    *,
    deadline: float,
    size: int = CORE_SIZE,
    step_s: float = 4.0,
    enough_yuan: float | None = None,
) -> Choice:
    """Large neighbourhoods in turn until ``deadline`` (``time.perf_counter()``) or a list
    costing ``enough_yuan`` or less: each frees the split and coupled source-days and the
    next ``size`` by reduced cost, holds the rest at the best list so far and keeps what
    CP-SAT finds there when it costs less. For models too large for CP-SAT to move on
    whole in the time (days linked by stops, tens of thousands of variables)."""
    if deadline - time.perf_counter() <= IMPROVE_MIN_S:
        return best  # ranking the sources alone takes 0.9 s at 50,000
    window = 1
    lowest = cost(best)
    ranking = rank_sources(built, lp)
    while deadline - time.perf_counter() > IMPROVE_MIN_S:
        if enough_yuan is not None and lowest <= enough_yuan:
            break
        left = min(step_s, deadline - time.perf_counter())
        found = solve_core(
            built,
            lp,
            time_limit_s=left,
            size=size,
            window=window,
            hold=best,
            enough_yuan=enough_yuan,
            ranking=ranking,
        )
        if found is not None and cost(found) < lowest:
            best, lowest = found, cost(found)
        window += 1
        if window * size >= len(built.linear.one_of):
            window = 0
    return best


__all__ = [
    "CORE_SIZE",
    "CORE_SIZE_LINKED",
    "IMPROVE_MIN_S",
    "Ranking",
    "Staged",
    "core_candidates",
    "improve",
    "rank_sources",
    "reduced_cost_candidates",
    "solve_by_reduced_costs",
    "solve_core",
]
