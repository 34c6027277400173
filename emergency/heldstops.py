"""Days with the stops held: a list made cheaper day by day, every line whose stops link
the days stopped on exactly the days it was, so its restarts and minimum stops stay as
they are.

Where days are linked by stops the whole-source core (:mod:`emergency.core`) chooses which
lines stop on which days, and its list is close to the least cost but seldom at it: on the
synthetic upgrade of 5,000 sources × 4 days it ended 2,475 yuan above HiGHS's optimum, and
the eleven sources where the two differ stop the same lines on the same days in both, and
differ only in how deep they curtail on each (in a run by hand).

Those are what this module finds. With the stop state of each line whose stops link the
days held (a restart cost, a minimum stop, a stop in force: :func:`linking_lines`),
nothing links the days any more: each day is a model of its own, of the measures of every
source-day that stop the same of those lines as the list's (:func:`day_instance`), with
that day's targets. Each is
solved from the list's measures by the reduced-cost cores of days not linked
(:func:`emergency.core.solve_by_reduced_costs`), then, unless one of them proved the
day, by CP-SAT on the whole day: a day closed is the least cost of that day with those
stops (over the candidate measures: :func:`emergency.optimiser.candidates` keeps every
measure that stops another set of the lines whose stops link the days). On that upgrade:
HiGHS's optimum, the four days in 2.5–4 s (runs by hand; bench/RESULTS.md).

Nothing here proves the whole model's least cost (another set of stops may be cheaper):
the bound stays the LP relaxation's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from fractions import Fraction

from emergency.core import solve_by_reduced_costs
from emergency.cpsat import solve_cpsat
from emergency.instance import Choice, Instance, Line, Option, SourceDuty
from emergency.lp import solve_lp
from emergency.model import BuiltModel, Infeasible, build, hint_of, read_choice, stop_lines

MIN_DAY_S = 0.05
DAY_S_PER_SOURCE = 6e-5
"""No day is begun with less time than this for it, nor than this much per source (0.3 s
at 5,000 sources, 3 s at 50,000: writing a day's model and solving its LP alone take 2 s
there); a day's share of the time left is raised to it, the last days left out if need
be."""


def linking_lines(built: BuiltModel) -> dict[int, tuple[int, ...]]:
    """Per source, the lines whose stops link the days (:func:`emergency.model.stop_lines`:
    a restart cost, a minimum stop or a stop in force, and some candidate stops them)."""
    out: dict[int, list[int]] = {}
    for s, li in stop_lines(built):
        out.setdefault(s, []).append(li)
    return {s: tuple(lines) for s, lines in out.items()}


def _stopped(option: Option, lines: tuple[int, ...]) -> tuple[bool, ...]:
    return tuple(option.stops(li) for li in lines)


def day_instance(
    built: BuiltModel,
    choice: Choice,
    d: int,
    linking: dict[int, tuple[int, ...]] | None = None,
) -> Instance:
    """Day ``d`` of ``built``'s instance alone, each source allowed the candidates of that
    day that stop the same lines as ``choice``'s measure among those whose stops link the
    days (``linking``, :func:`linking_lines` when not given; the others may stop or run
    as the day is best). Its lines keep their ids (the supply couplings read their loads)
    but no restart cost or minimum stop: with the stops held those are the same for every
    list of it."""
    inst = built.instance
    if linking is None:
        linking = linking_lines(built)
    sources = []
    for s, src in enumerate(inst.sources):
        allowed = built.candidates[s][d]
        lines = linking.get(s)
        if len(allowed) > 1 and lines:
            held = _stopped(src.options[choice[s][d]], lines)
            allowed = tuple(m for m in allowed if _stopped(src.options[m], lines) == held)
        sources.append(
            SourceDuty(
                src.id,
                tuple(Line(ln.id) for ln in src.lines),
                src.options,
                [src.floor[d]],
                [allowed],
                [src.fixed[d]],
                [src.note[d]],
            )
        )
    return Instance(
        dates=[inst.dates[d]],
        levels=[inst.levels[d]],
        sources=sources,
        targets_kg=[inst.targets_kg[d]],
        pooled=[inst.pooled[d]],
        edges=inst.edges,
    )


def by_day(
    built: BuiltModel,
    best: Choice,
    cost: Callable[[Instance, Choice], Fraction],
    *,
    deadline: float,
) -> tuple[Choice, int]:
    """``best`` (a valid list of ``built``) made cheaper day by day with its stops held,
    each day searched until its share of the time to ``deadline`` (``time.perf_counter()``)
    is up; and how many days were made cheaper. ``cost`` prices a list of an instance."""
    inst = built.instance
    n = inst.n_days
    out = [list(row) for row in best]
    cheaper = 0
    need = max(MIN_DAY_S, DAY_S_PER_SOURCE * len(inst.sources))
    linking = linking_lines(built)
    for d in range(n):
        left = deadline - time.perf_counter()
        if left < need:
            break
        day_deadline = time.perf_counter() + max(need, left / (n - d))
        day = day_instance(built, out, d, linking)
        allowed = [src.allowed for src in day.sources]
        if all(len(a[0]) == 1 for a in allowed):
            continue
        try:
            day_built = build(day, allowed, [built.targets_kg[d]])
        except Infeasible:
            continue  # cannot be: the list's own measures hold every row of the day
        start = [[row[d]] for row in out]
        found = _least(day_built, start, functools.partial(cost, day), deadline=day_deadline)
        if found is not start:
            for s, row in enumerate(found):
                out[s][d] = row[0]
            cheaper += 1
    return out, cheaper


def _least(
    built: BuiltModel, start: Choice, cost: Callable[[Choice], Fraction], *, deadline: float
) -> Choice:
    """A cheaper list than ``start`` of the one-day model ``built`` (``start`` itself if
    none is found by ``deadline``): its reduced-cost cores, then, unless one of them proved
    the day (the exact one would free half its measures, or time ran out), CP-SAT on the
    whole day from the best list so far."""
    lp = solve_lp(
        built.linear, 1, keep_solution=True, time_limit_s=max(0.01, deadline - time.perf_counter())
    )
    if lp.status != "optimal":
        return start
    staged = solve_by_reduced_costs(built, lp, start, cost, deadline=deadline)
    found = staged.choice or start
    left = deadline - time.perf_counter()
    if not staged.proven and left >= MIN_DAY_S:
        res = solve_cpsat(built.linear, time_limit_s=left, hint=hint_of(built, found))
        if res.has_solution:
            whole = read_choice(built, res.values)
            if cost(whole) < cost(found):
                found = whole
    return found if cost(found) < cost(start) else start


__all__ = ["by_day", "day_instance", "linking_lines"]
