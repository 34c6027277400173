"""One source alone over the season, exactly, by dynamic programming over its days.

For a source whose rules see only which of its lines stop (stop-day quotas on its lines,
restarts, minimum stops): the state is each class of lines stopping together's stop days
so far and current stop run; the value lexicographic as the solver's phases (least
shortfall, least cost, most risk-weighted cut). A per-measure ``price`` added to the daily
cost lets :mod:`emergency.season.split` price an output cut (a Lagrangian multiplier).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from emergency.scaling import decimal_scale

if TYPE_CHECKING:
    from emergency.season.context import Context, SeasonLine

PER_MILLE = 1000
"""Shortfalls are counted in thousandths of a row's requirement."""
RISK_SCALE = 10**6
"""The risk-weighted cut's integer scale (a tie-breaker)."""


def sticky(line: SeasonLine) -> bool:
    """A stop of this line binds beyond its day (a restart cost or a minimum stop)."""
    return line.restart_cost_yuan > 0 or line.min_stop_days > 1


def per_mille(gap: float, required: float) -> int:
    """A fixed shortfall in thousandths of the requirement (0 when met)."""
    if required <= 0 or gap <= 1e-9:
        return 0
    return min(PER_MILLE, math.ceil(PER_MILLE * gap / required - 1e-9))


PRICE_UNIT = 0.01
"""With a ``price``, the dynamic programme counts in hundredths of a yuan."""

DP_STATES = 100_000
"""Most states :func:`solve_alone` may need before it leaves a source to CP-SAT."""


def solve_alone(
    ctx: Context,
    s: int,
    rows: list[int],
    choice: list[list[int]],
    price: list[float] | None = None,
) -> str | None:
    """Schedule one source whose rules see only which of its lines stop (stop-day quotas
    on its lines, restarts, minimum stops) exactly, by dynamic programming over its days.

    Lines stopping on the same measures form a class; a state is each class's stop days
    so far (capped at its largest requirement) and current stop run (capped at its
    longest minimum stop); the value is lexicographic as the solver's phases: least
    shortfall (per mille of each row), least cost (integer units), most risk-weighted cut
    (the solver's integers). Each day, per set of classes stopped, the best allowed
    measure moves every state at once (arrays). Writes ``choice[s]`` and returns
    ``optimal``, ``broken`` (floors alone break a minimum stop), or None when it would
    need more than :data:`DP_STATES` states (left to CP-SAT).

    ``price`` (yuan a day per measure, may be negative) is added to each measure's daily
    cost; the value is then exact to :data:`PRICE_UNIT` yuan a day."""
    src = ctx.sources[s]
    n, first = ctx.n, ctx.first
    line_of_row = [ctx.rows[r].members[0][1] for r in rows]
    required = [ctx.rows[r].required for r in rows]
    relevant = sorted(set(line_of_row) | {li for li, ln in enumerate(src.lines) if sticky(ln)})
    column = {li: tuple(o.loads[li] == 0.0 for o in src.options) for li in relevant}
    classes: dict[tuple[bool, ...], list[int]] = {}
    for li in relevant:
        if any(column[li]):
            classes.setdefault(column[li], []).append(li)
    members = list(classes.values())
    k_count = len(members)
    class_of = {li: k for k, lines in enumerate(members) for li in lines}
    caps = [
        max(
            (
                math.ceil(req - 1e-9)
                for li, req in zip(line_of_row, required, strict=True)
                if li in lines
            ),
            default=0,
        )
        for lines in members
    ]
    longest = [max(src.lines[li].min_stop_days for li in lines) for lines in members]
    dims = tuple([cap + 1 for cap in caps] + [run + 1 for run in longest])
    size = math.prod(dims)
    if size > DP_STATES:
        return None
    if price is None:
        scale = decimal_scale(
            [o.cost_yuan_d for o in src.options] + [ln.restart_cost_yuan for ln in src.lines]
        )
        cost = [round(o.cost_yuan_d * scale) for o in src.options]
    else:
        scale = round(1 / PRICE_UNIT)
        cost = [round((o.cost_yuan_d + p) * scale) for o, p in zip(src.options, price, strict=True)]
    restart = [
        sum(round(src.lines[li].restart_cost_yuan * scale) for li in lines) for lines in members
    ]
    stops = [tuple(key[m] for key in classes) for m in range(len(src.options))]
    weights, risk = ctx.weights[s], ctx.inp.risk

    grid = np.indices(dims).reshape(len(dims), size)
    counts, runs = grid[:k_count], grid[k_count:]
    moves: dict[tuple[bool, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def move_of(stop: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Target state, added restart cost and validity of every state under ``stop``."""
        if stop not in moves:
            new = []
            add = np.zeros(size, dtype=np.int64)
            valid = np.ones(size, dtype=bool)
            for k in range(k_count):
                new.append(np.minimum(counts[k] + stop[k], caps[k]))
            for k in range(k_count):
                if stop[k]:
                    new.append(np.minimum(runs[k] + 1, longest[k]))
                    add += np.where(runs[k] == 0, restart[k], 0)
                else:
                    valid &= (runs[k] == 0) | (runs[k] >= longest[k])
                    new.append(np.zeros(size, dtype=np.int64))
            moves[stop] = (np.ravel_multi_index(tuple(new), dims), add, valid)
        return moves[stop]

    # The state entering the first planned day, from the settled days.
    settled = [stops[src.allowed[d][0]] for d in range(first)]
    start = [min(caps[k], sum(day[k] for day in settled)) for k in range(k_count)]
    for k in range(k_count):
        r = 0
        while r < first and settled[first - 1 - r][k]:
            r += 1
        start.append(min(r, longest[k]))
    big = np.iinfo(np.int64).max // 4
    total = np.full(size, big, dtype=np.int64)
    minus_cut = np.zeros(size, dtype=np.int64)
    total[np.ravel_multi_index(tuple(start), dims)] = 0
    back: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for d in range(first, n):
        best: dict[tuple[bool, ...], tuple[tuple[int, int], int]] = {}
        for m in src.allowed[d]:
            key = (cost[m], -round(weights[m] * risk[d] * RISK_SCALE))
            if stops[m] not in best or key < best[stops[m]][0]:
                best[stops[m]] = (key, m)
        parts = []
        reached = total < big
        for stop, ((add_m, cut_m), m) in best.items():
            target, add, valid = move_of(stop)
            idx = np.nonzero(valid & reached)[0]
            parts.append(
                (
                    target[idx],
                    total[idx] + add[idx] + add_m,
                    minus_cut[idx] + cut_m,
                    idx,
                    np.full(len(idx), m, dtype=np.int64),
                )
            )
        to, t, c, frm, mm = (np.concatenate([p[i] for p in parts]) for i in range(5))
        if len(to) == 0:
            return "broken"
        order = np.lexsort((c, t, to))
        kept, at = np.unique(to[order], return_index=True)
        chosen = order[at]
        total = np.full(size, big, dtype=np.int64)
        minus_cut = np.zeros(size, dtype=np.int64)
        total[kept] = t[chosen]
        minus_cut[kept] = c[chosen]
        back.append((kept, frm[chosen], mm[chosen]))

    short = np.zeros(size, dtype=np.int64)
    for li, req in zip(line_of_row, required, strict=True):
        k = class_of[li]
        table = np.array([per_mille(req - v, req) for v in range(caps[k] + 1)], dtype=np.int64)
        short += table[counts[k]]
    reached_idx = np.nonzero(total < big)[0]
    pick = np.lexsort((minus_cut[reached_idx], total[reached_idx], short[reached_idx]))[0]
    state = int(reached_idx[pick])
    for d in range(n - 1, first - 1, -1):
        kept, frm, mm = back[d - first]
        where = int(np.searchsorted(kept, state))
        choice[s][d] = int(mm[where])
        state = int(frm[where])
    return "optimal"
