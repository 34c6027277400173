"""The sources in play: a small model around the LP optimum, solved first for a list close
to the least cost in a fraction of the whole model's time.

In the LP relaxation of this model (one measure per source and day, a handful of target
rows per day, a few couplings) nearly every source-day takes one measure outright; only a
few are split between two. The core keeps free the source-days that are split or whose
nearest alternative is cheap in reduced cost (what the LP says choosing it instead would
cost), and every day of a coupled source; it holds the others at their LP measure and
solves that smaller model with CP-SAT (without a hint: the LP rounded seldom meets the
couplings, and CP-SAT's own first list comes sooner than its repair of that one).

Its list is valid for the whole model — the same rows with some choices held — so it
warm-starts the whole model's search. It proves nothing by itself: the bound stays the
whole model's (the LP relaxation's, or CP-SAT's on the whole model).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from fractions import Fraction

from emergency.cpsat import solve_cpsat
from emergency.instance import Choice
from emergency.lp import LpResult
from emergency.model import BuiltModel, Infeasible, build, hint_of, read_choice

CORE_SIZE = 1000
"""Source-days left free besides the split and coupled ones: small enough for CP-SAT to
settle in seconds, large enough that the list it finds is within a few hundredths of a
per cent of the least cost on the synthetic cities (bench/RESULTS.md)."""

SPLIT = 1e-6
"""An LP value below 1 − SPLIT means the source-day is split between measures."""


def core_candidates(
    built: BuiltModel,
    lp: LpResult,
    size: int = CORE_SIZE,
    *,
    window: int = 0,
    hold: Choice | None = None,
) -> list[list[tuple[int, ...]]]:
    """Per source and day: every candidate measure when the source-day is in play, else
    the LP's measure alone (or ``hold``'s).

    In play: the split and coupled source-days and, of the others ranked by their nearest
    alternative's reduced cost, the ``window``-th ``size`` of them (0: the nearest)."""
    inst = built.instance
    coupled = {e.src[0] for e in inst.edges} | {e.dst[0] for e in inst.edges}
    held: dict[tuple[int, int], int] = {}
    free: set[tuple[int, int]] = set()
    near: list[tuple[float, int, int]] = []
    for s in range(len(inst.sources)):
        for d in range(inst.n_days):
            options = built.candidates[s][d]
            if len(options) == 1:
                continue
            keys = [("x", s, d, m) for m in options]
            values = [lp.values.get(k, 0.0) for k in keys]
            best = max(range(len(options)), key=values.__getitem__)
            held[s, d] = options[best]
            if s in coupled or values[best] < 1.0 - SPLIT:
                free.add((s, d))
                continue
            nearest = min(lp.reduced_costs.get(k, 0.0) for i, k in enumerate(keys) if i != best)
            near.append((nearest, s, d))
    if window == 0:
        free.update((s, d) for _, s, d in heapq.nsmallest(size, near))
    else:
        near.sort()
        free.update((s, d) for _, s, d in near[window * size : (window + 1) * size])

    def kept(s: int, d: int) -> tuple[int, ...]:
        if (s, d) in free or (s, d) not in held:
            return built.candidates[s][d]
        return (hold[s][d] if hold is not None else held[s, d],)

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
) -> Choice | None:
    """The best list CP-SAT finds on the core within ``time_limit_s`` (choosing and
    building it included; from ``hold`` when given; the first costing ``enough_yuan`` or
    less), or None (the held measures leave no valid list, or none was found in time)."""
    began = time.perf_counter()
    narrowed = core_candidates(built, lp, size, window=window, hold=hold)
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
    window = 1
    lowest = cost(best)
    while deadline - time.perf_counter() > 1.0:
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
        )
        if found is not None and cost(found) < lowest:
            best, lowest = found, cost(found)
        window += 1
        if window * size >= len(built.linear.one_of):
            window = 0
    return best


__all__ = ["CORE_SIZE", "core_candidates", "improve", "solve_core"]
