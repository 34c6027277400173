"""A valid list from the LP optimum in milliseconds, for models whose days are not linked
by stops: the LP's measures, the split source-days rounded, the rows repaired, then moves
that lower the cost while every row still holds — one source-day at a time, then two
together where no one alone saves (a source cutting less, another more), then many at
once, found by dynamic programming over a target row's kilograms (:mod:`emergency.exchange`).

In the LP relaxation nearly every source-day takes one measure outright (:mod:`emergency.core`),
so rounding the few split ones leaves a list close to the LP bound — but CP-SAT, left to
find its own first list, starts far above it and comes down by many small steps (on the
synthetic city of 400 sources 0.09 s of a 0.13 s limit; docs/OPTIMISER.md). The rounded
list is where the reduced-cost cores start, and its cost sets how wide the exact core must
be.

The moves are read from the rows as one sparse matrix (:class:`emergency.lp.SparseForm`),
all at once per step: a move changes one source-day's measure, and changes each row by its
new measure's column minus its old one's. A row of decimal coefficients is held exactly, in
the whole units its coefficients are written in (:func:`_margins`); the checker holds
every list the optimiser gives to the exact rows in the tests.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from emergency.exchange import exchange
from emergency.instance import Choice
from emergency.lp import LpResult, SparseForm, holds_rows
from emergency.model import BuiltModel
from emergency.scaling import MAX_EXP, round_down, round_up

if TYPE_CHECKING:
    from scipy.sparse import coo_matrix, csc_matrix

SPLIT = 1e-6
"""An LP value above this is a part the source-day takes."""

WHOLE = 1e-6
"""How near a whole unit a scaled coefficient counts as whole (float noise: a millionth
of a unit). The bound is rounded as CP-SAT's rows round it (:func:`round_up`)."""

MAX_STEPS = 200
"""Moves made at most (repairs and improvements): each step reads every move once."""


def _margins(form: SparseForm) -> tuple[np.ndarray, np.ndarray]:
    """Each row's bounds as a list must hold them in float sums: (lows, highs).

    A row of whole coefficients (choices, couplings) sums exactly in floats: its own
    bounds. A row of decimal coefficients (a target's kg) is held as the checker holds
    it, exactly: in the units that make its coefficients whole (hundredths of a kg at the
    synthetic cities) a list's sum is a whole number, which must reach the bound rounded
    up to a whole unit; a float sum is far nearer that whole number than half a unit, so
    the bound rounded up and drawn out by half a unit decides it. A target met to the
    last hundredth is met: at 5,000 synthetic sources the least cost meets SO2+NOx
    exactly. Where the float sums (and the coefficients' distance from whole units)
    could err by a quarter unit, or no power of ten up to a million makes the
    coefficients whole, a margin of a billionth of the bound and a milligram instead."""
    rows = form.matrix[form.first :].tocsr()
    lows, highs = form.lows[form.first :].copy(), form.highs[form.first :].copy()
    for r in range(rows.shape[0]):
        data = rows.data[rows.indptr[r] : rows.indptr[r + 1]]
        if (data == np.round(data)).all():
            continue
        lo, hi = lows[r], highs[r]
        scale = _scale(data)
        err = len(data) * 2.0**-52 * float(np.abs(data).sum())
        if scale is not None:
            scaled = data * scale
            err = err * scale + float(np.abs(scaled - np.round(scaled)).sum())
        if scale is None or err >= 0.25:
            lows[r] = lo + 1e-9 * abs(lo) + 1e-6 if math.isfinite(lo) else lo
            highs[r] = hi - 1e-9 * abs(hi) - 1e-6 if math.isfinite(hi) else hi
            continue
        if math.isfinite(lo):
            lows[r] = (round_up(lo * scale) - 0.5) / scale
        if math.isfinite(hi):
            highs[r] = (round_down(hi * scale) + 0.5) / scale
    return lows, highs


def _scale(data: np.ndarray) -> int | None:
    """The least ``10**k`` (k ≤ :data:`emergency.scaling.MAX_EXP`) that makes every
    coefficient whole within :data:`WHOLE` of a unit, or None. Not
    :func:`emergency.scaling.decimal_scale`: that one reads the values one by one in
    Python (150,000 coefficients a target row at 50,000 sources) and, judging them
    relatively, can call 123.4567891 whole at 10⁴."""
    for k in range(MAX_EXP + 1):
        scaled = data * 10.0**k
        if (np.abs(scaled - np.round(scaled)) <= WHOLE).all():
            return int(10**k)
    return None


def rounded(
    built: BuiltModel, lp: LpResult, *, deadline: float, enough_yuan: float | None = None
) -> Choice | None:
    """A valid list near the LP optimum, or None (the model has other variables than one
    measure per source-day, the LP kept no solution, or the repair found no valid list
    by ``deadline``, ``time.perf_counter()``). The first list costing ``enough_yuan`` or
    less ends the search (a gap asked of the LP bound: 1 s saved at 50,000 sources)."""
    form = lp.form
    linear = built.linear
    if form is None or linear.continuous or any(k[0] != "x" for k in linear.binaries):
        return None
    n_cols = len(form.keys)
    group = np.full(n_cols, -1, dtype=np.int64)
    start = np.zeros(len(linear.one_of) + 1, dtype=np.int64)
    np.cumsum([len(g) for g in linear.one_of], out=start[1:])
    # The choice rows come first in the matrix, their columns in the model's order: the
    # binaries, group after group.
    choice_rows = form.matrix[: form.first].tocoo()
    group[choice_rows.col] = choice_rows.row
    if (group < 0).any():
        return None
    values = np.fromiter((lp.values.get(k, 0.0) for k in form.keys), float, count=n_cols)
    # What each measure cuts, at the LP's prices of the target rows.
    prices = np.zeros(form.matrix.shape[0])
    for d, name, r in form.targets:
        prices[r] = lp.duals[d].get(name, 0.0)
    worth = form.matrix.T @ prices
    spans = [(int(start[g]), int(start[g + 1])) for g in range(len(start) - 1)]
    # Each group at the measure the LP takes most of; or, where it is split, at the one of
    # its parts worth most (the rest comes down by single moves).
    most = np.array([a + int(np.argmax(values[a:b])) for a, b in spans], dtype=np.int64)
    up = np.array(
        [a + int(np.argmax(np.where(values[a:b] > SPLIT, worth[a:b], -np.inf))) for a, b in spans],
        dtype=np.int64,
    )
    rows = form.matrix[form.first :].tocsc()
    lo, hi = _margins(form)
    best: np.ndarray | None = None
    bounds = form.lows[form.first :]

    def cost_of(columns: np.ndarray) -> float:
        return float(form.cost[columns].sum()) + linear.objective_const

    # The cheapest descent from each start: the exchanges go from each in turn.
    ends: list[np.ndarray] = []
    for cur in (most, up) if (most != up).any() else (most,):
        here: np.ndarray | None = None
        for by_price in (True, False):
            found = _descend(
                rows, form.cost, worth, group, cur.copy(), lo, hi, bounds, deadline, by_price
            )
            if found is None:
                continue
            if here is None or form.cost[found].sum() < form.cost[here].sum():
                here = found
            if best is None or form.cost[found].sum() < form.cost[best].sum():
                best, best_by_price = found, by_price
            if enough_yuan is not None and cost_of(best) <= enough_yuan:
                return _read(built, form, best)
        if here is not None:
            ends.append(here)
    if best is None:
        return None
    # Pairs of moves only from the best of these (each search for a pair reads every
    # move once per move it tries first).
    paired = _descend(
        rows,
        form.cost,
        worth,
        group,
        best.copy(),
        lo,
        hi,
        bounds,
        deadline,
        best_by_price,
        pairs=True,
    )
    if paired is not None:
        ends = [paired if end is best else end for end in ends]
        best = paired
    if enough_yuan is not None and cost_of(best) <= enough_yuan:
        return _read(built, form, best)
    # The exchanges end where their moves do: from the LP's own measures (the first
    # start) and from the split ones rounded up they may end apart. At 50,000 synthetic
    # sources the list rounded up is the cheaper descent, but exchanges from it end 1,280
    # yuan above the least cost, those from the LP's own measures reach it
    # (bench/RESULTS.md). The cheaper first: with little time it is the one exchanged.
    # An exchange moves only to measures whose reduced cost is within the gap of the best
    # list so far, not of its own start: a list with another costs more than that one
    # (:mod:`emergency.core`). At 50,000 sources the second exchange took 3.7 s, now 2.0.
    ends.sort(key=lambda end: float(form.cost[end].sum()))
    ends = [end for k, end in enumerate(ends) if not any(np.array_equal(end, e) for e in ends[:k])]
    for end in ends:
        if time.perf_counter() > deadline:
            break
        exchanged = exchange(
            form,
            rows,
            group,
            end,
            lo,
            hi,
            reduced_costs=lp.reduced_costs,
            prices=prices,
            gap_yuan=min(cost_of(end), cost_of(best)) - lp.objective_yuan,
            deadline=deadline,
        )
        found = end if exchanged is None else exchanged
        if form.cost[found].sum() < form.cost[best].sum():
            best = found
        if enough_yuan is not None and cost_of(best) <= enough_yuan:
            break
    return _read(built, form, best)


def _descend(
    rows: csc_matrix,
    cost: np.ndarray,
    worth: np.ndarray,
    group: np.ndarray,
    cur: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    bounds: np.ndarray,
    deadline: float,
    by_price: bool,
    *,
    pairs: bool = False,
) -> np.ndarray | None:
    """From the measures ``cur`` (a column per group): the rows repaired, then the cost
    lowered, one move at a time — the move saving the most per yuan of cut it gives up at
    the LP's prices (``by_price``), or the most, and with ``pairs`` two moves where no one
    saves; the columns taken, or None (not repaired in time)."""
    n_cols = len(group)
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(bounds), bounds, 0.0)))
    cols = np.arange(n_cols)
    for _ in range(MAX_STEPS):
        if time.perf_counter() > deadline:
            break
        x = np.zeros(n_cols)
        x[cur] = 1.0
        act = rows @ x
        # Every move's change to every row: its column minus its group's current column.
        delta = (rows - rows[:, cur[group]]).tocoo()
        new = act[delta.row] + delta.data
        broken_now = (np.maximum(0.0, lo - act) + np.maximum(0.0, act - hi)) / scale
        # What each move does to the sum of what the rows miss by (scaled per row).
        after = (np.maximum(0.0, lo[delta.row] - new) + np.maximum(0.0, new - hi[delta.row])) / (
            scale[delta.row]
        )
        change = np.bincount(delta.col, after - broken_now[delta.row], minlength=n_cols)
        breaks = np.bincount(
            delta.col, (after > broken_now[delta.row]).astype(float), minlength=n_cols
        )
        moved_cost = cost - cost[cur[group]]
        moving = cols != cur[group]
        if broken_now.sum() > 0:
            # Repair: the move that mends the most per yuan (or mends and saves).
            mends = moving & (change < 0)
            if not mends.any():
                return None
            per_yuan = np.maximum(moved_cost, 0.0) / -np.where(mends, change, -1.0)
            score = np.where(mends, np.where(moved_cost <= 0, moved_cost - 1e18, per_yuan), np.inf)
            j = int(np.argmin(score))
        else:
            better = moving & (breaks == 0) & (moved_cost < 0)
            if not better.any() and not pairs:
                return cur
            if not better.any():
                # Tried first: the moves saving most per yuan of cut given up.
                given_up = worth[cur[group]] - worth
                order = moved_cost / np.maximum(given_up, 1e-9)
                breaking = moving & (breaks > 0)
                pair = _best_pair(delta, act, lo, hi, moved_cost, order, breaking, group, deadline)
                if pair is None:
                    return cur
                for j in pair:
                    cur[group[j]] = j
                continue
            # The move saving the most per yuan of cut it gives up at the LP's prices
            # (the slack it uses): saving 98 yuan per 100 given up before 82 per 100.
            if by_price:
                given_up = worth[cur[group]] - worth
                moved_cost = moved_cost / np.maximum(given_up, 1e-9)
            j = int(np.argmin(np.where(better, moved_cost, np.inf)))
        cur[group[j]] = j
    return cur if holds_rows(rows, cur, lo, hi) else None


PAIRS_FROM = 30
"""Moves tried first in a pair, of those that save but alone break a row."""


def _best_pair(
    delta: coo_matrix,
    act: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    moved_cost: np.ndarray,
    order: np.ndarray,
    breaking: np.ndarray,
    group: np.ndarray,
    deadline: float,
) -> tuple[int, int] | None:
    """Two moves in different source-days that save together and keep every row where one
    alone breaks one (a source cutting less, another more); the pair saving most, or None.

    Each of the first ``PAIRS_FROM`` saving moves among ``breaking`` by ``order`` is tried
    with every other move at once."""
    firsts = np.flatnonzero(breaking & (moved_cost < 0))
    if not len(firsts):
        return None
    firsts = firsts[np.argsort(order[firsts])[:PAIRS_FROM]]
    by_col = delta.tocsc()
    best: tuple[float, int, int] | None = None
    for i in firsts.tolist():
        if time.perf_counter() > deadline:
            break
        a, b = by_col.indptr[i], by_col.indptr[i + 1]
        after_i = act.copy()
        after_i[by_col.indices[a:b]] += by_col.data[a:b]
        broken = (after_i < lo) | (after_i > hi)
        new = after_i[delta.row] + delta.data
        bad = (new < lo[delta.row]) | (new > hi[delta.row])
        n_cols = len(moved_cost)
        breaks = np.bincount(delta.col, bad.astype(float), minlength=n_cols)
        mends = np.bincount(delta.col, (broken[delta.row] & ~bad).astype(float), minlength=n_cols)
        fits = (breaks == 0) & (mends == broken.sum()) & (group != group[i])
        total = np.where(fits, moved_cost + moved_cost[i], np.inf)
        j = int(np.argmin(total))
        if total[j] < 0 and (best is None or total[j] < best[0]):
            best = (float(total[j]), i, j)
    return None if best is None else (best[1], best[2])


def _read(built: BuiltModel, form: SparseForm, cur: np.ndarray) -> Choice:
    """The list: each source-day's forced measure, or the one chosen."""
    choice = [[options[0] for options in per_day] for per_day in built.candidates]
    for j in cur.tolist():
        _, s, d, m = form.keys[j]
        choice[s][d] = m
    return choice


__all__ = ["rounded"]
