"""Exchanges found by dynamic programming: a rounded list made cheaper by moving many
source-days at once, every row still held — for models whose days are not linked by stops.

The rounded list (:mod:`emergency.rounding`) is the cheapest its single and paired moves
reach. What is left between it and the least cost is in *which* source-days deviate from
the LP's measures: at 5,000 synthetic sources the least cost swaps five of the rounded
list's thirteen deviations for six others whose SO2+NOx adds up to the same within
0.15 kg (bench/RESULTS.md). No exchange of one or two moves finds that; a knapsack over
that row's kilograms does, exactly, by dynamic programming.

One exchange (:func:`exchange`), from the target row the LP prices highest:

1. **That row**: the cheapest set of moves, one per source-day at most, that keeps it
   held, exact over its kilograms in steps of one unit — as fine as :data:`MAX_CELLS`
   allows, the one that keeps most candidates' changes whole (0.05 kg at the synthetic
   cities; a move whose change is off that step is left out). The change a move makes to
   each other binding target row is priced at the LP's price of that row, plus
   :data:`PREMIUM` a kilogram either way: refilling that row later costs a little more
   than its price, and a kilogram more than it needs is worth nothing.
2. **Each other binding row** (priced above zero by the LP), in turn: the cheapest set of
   moves that change it alone among the binding rows and bring it back to held (at a
   cost, after step 1 took its kilograms) or keep it held for less.
3. The list is kept if every row holds (the slack target rows and the couplings too) and
   it costs less; then again from the top, until a round saves nothing or time is up.

Candidates are the measures whose LP reduced cost is within the gap between the list and
the LP bound (a cheaper list takes no other: :mod:`emergency.core`), of source-days in no
coupling row (those stay as they are), a move's change a whole number of hundredths of
a kilogram on the row of the step. Of the other binding rows, a step reads only those of
the same day (the rows a move can change with it). The states are the row's change from
the list, at most :data:`WINDOW_KG` either way and :data:`MAX_CELLS` in all; each
source-day's choice per state is kept for reading the exchange back (one byte each), for
at most :data:`MAX_CHOICE_BYTES` — the source-days with the cheapest candidates first.
Nothing here proves anything: the bound stays the LP's (or CP-SAT's), and the list goes
to the checker like every other.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emergency.lp import holds_rows

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scipy.sparse import csc_matrix

    from emergency.lp import SparseForm
    from emergency.model import Key

PREMIUM = 10.0
"""Yuan per kilogram, either way, on top of its LP price, of a change a move makes to
another binding target row than the one the step is exact on. Measured on the synthetic
cities (the exchanged list above the least cost at 5,000 and 20,000 sources): 2 yuan 75
and 175; 5 yuan 75 and 265; 10 yuan 40 and 135; 20 yuan 40 and 315."""
WINDOW_KG = 300.0
"""How far the step's row may move from the list's, either way (kg)."""
MAX_CELLS = 24_001
"""States of one step at most: the unit is coarsened rather than the window cut below
what the candidates' largest changes need."""
MAX_CHOICE_BYTES = 48 * 2**20
"""The choices kept for reading an exchange back, at most (one byte per source-day and
state)."""
MAX_SOURCE_DAYS = 20_000
"""Models with more source-days are not searched (at 50,000 synthetic sources, 40,000
source-days, the exchanges took a second and saved 155 yuan of the rounded list's 2,495
above the least cost; CP-SAT, left that second, came nearer: bench/RESULTS.md)."""
PRICED = 1e-6
"""An LP price above this (yuan per kg) makes a target row binding."""


@dataclass
class _Rows:
    """What every step reads: per column its group, whether it may move, and each binding
    row's coefficients."""

    group: np.ndarray
    cost: np.ndarray
    movable: np.ndarray
    binding: list[tuple[float, int]]
    """(LP price, row) of the binding target rows, the highest price first."""
    values: dict[int, np.ndarray]
    related: dict[int, list[tuple[float, int]]]
    """Per binding row, the other binding rows a move can change with it (the same
    day's)."""


def exchange(
    form: SparseForm,
    rows: csc_matrix,
    group: np.ndarray,
    cur: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    reduced_costs: Mapping[Key, float],
    prices: np.ndarray,
    gap_yuan: float,
    deadline: float,
) -> np.ndarray | None:
    """From the measures ``cur`` (a column per group, every row held within ``lo`` and
    ``hi``): a cheaper valid list by exchanges, or None (none found by ``deadline``,
    ``time.perf_counter()``). ``rows`` are the model's rows after the choice rows;
    ``prices`` the LP's price of each row of ``form.matrix``; ``reduced_costs`` the LP's
    by variable; ``gap_yuan`` how far ``cur`` is above the LP bound."""
    targets = {r - form.first: float(prices[r]) for _, _, r in form.targets}
    binding = sorted(((p, r) for r, p in targets.items() if p > PRICED), reverse=True)
    if not binding or len(cur) > MAX_SOURCE_DAYS:
        return None
    csr = rows.tocsr()
    coupled = np.zeros(int(group.max()) + 1, dtype=bool)
    for r in range(rows.shape[0]):
        if r not in targets:
            a, b = csr.indptr[r], csr.indptr[r + 1]
            coupled[group[csr.indices[a:b][csr.data[a:b] != 0]]] = True
    reduced = np.fromiter((reduced_costs.get(k, 0.0) for k in form.keys), float, len(group))
    movable = (reduced <= gap_yuan) & ~coupled[group]
    values = {}
    for _, r in binding:
        dense = np.zeros(rows.shape[1])
        a, b = csr.indptr[r], csr.indptr[r + 1]
        dense[csr.indices[a:b]] = csr.data[a:b]
        values[r] = dense
    touched = {r: set(np.flatnonzero(v).tolist()) for r, v in values.items()}
    related = {
        r: [(p, o) for p, o in binding if o != r and not touched[r].isdisjoint(touched[o])]
        for _, r in binding
    }
    ctx = _Rows(group, form.cost, movable, binding, values, related)
    best = cur
    best_cost = float(form.cost[cur].sum())
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for _, r in binding:
            found = _step(ctx, best, r, lo, hi, rows, deadline)
            if found is None:
                continue
            found_cost = float(form.cost[found].sum())
            if found_cost < best_cost - 0.5:
                best, best_cost, improved = found, found_cost, True
    return None if best is cur else best


def _step(
    ctx: _Rows,
    cur: np.ndarray,
    first: int,
    lo: np.ndarray,
    hi: np.ndarray,
    rows: csc_matrix,
    deadline: float,
) -> np.ndarray | None:
    """One exchange from row ``first``, then each other binding row of its day refilled;
    the valid list, or None."""
    found = _row_dp(ctx, cur, first, lo, hi, priced=True, deadline=deadline)
    if found is None:
        if time.perf_counter() > deadline:
            return None
        found = cur  # the others alone may still save
    for _, r in ctx.related[first]:
        refilled = _row_dp(ctx, found, r, lo, hi, priced=False, deadline=deadline)
        if refilled is not None:
            found = refilled
    if found is cur or not holds_rows(rows, found, lo, hi):
        return None
    return found


def _row_dp(
    ctx: _Rows,
    cur: np.ndarray,
    r: int,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    priced: bool,
    deadline: float,
) -> np.ndarray | None:
    """The cheapest moves from ``cur`` that leave row ``r`` held, exact over its
    kilograms; the changes to the other binding rows of its day ``priced``, or else only
    moves that change none of them. The new columns, or None (no such moves, or they
    save nothing and row ``r`` was held)."""
    if time.perf_counter() > deadline:
        return None
    group = ctx.group
    at = cur[group]  # each column's group's current column
    n_cols = len(group)
    delta = ctx.values[r] - ctx.values[r][at]
    cents = np.round(delta * 100.0)
    take = ctx.movable & (np.arange(n_cols) != at) & (cents != 0)
    take &= np.abs(delta * 100.0 - cents) < 1e-6
    price = ctx.cost - ctx.cost[at]
    for p, o in ctx.related[r]:
        moved = ctx.values[o] - ctx.values[o][at]
        if priced:
            price = price - p * moved + PREMIUM * np.abs(moved)
        else:
            take &= np.abs(moved) <= 1e-9
    cols = np.flatnonzero(take)
    if not len(cols):
        return None
    steps = cents[cols].astype(np.int64)
    window = WINDOW_KG * 100.0
    unit_cents = _unit(steps, math.ceil(2 * window / (MAX_CELLS - 1)))
    keep = steps % unit_cents == 0
    cols, steps = cols[keep], steps[keep] // unit_cents
    half = math.ceil(window / unit_cents)
    size = 2 * half + 1
    now = float(ctx.values[r][cur].sum())
    unit = unit_cents / 100.0
    low = -math.floor((now - lo[r]) / unit + 1e-9)  # the fewest units the row may lose
    high = math.floor((hi[r] - now) / unit + 1e-9) if math.isfinite(hi[r]) else half
    if low > half or high < -half:
        return None
    # Source-days, the cheapest candidate first, as many as the choices' memory allows.
    order = np.lexsort((price[cols], group[cols]))
    cols, steps = cols[order], steps[order]
    groups, starts = np.unique(group[cols], return_index=True)
    ends = np.append(starts[1:], len(cols))
    cheapest = np.minimum.reduceat(price[cols], starts)
    most = max(1, MAX_CHOICE_BYTES // size)
    if len(groups) > most:
        kept = np.sort(np.argsort(cheapest, kind="stable")[:most])
        groups, starts, ends = groups[kept], starts[kept], ends[kept]
    f = np.full(size, np.inf)
    f[half] = 0.0
    choice = np.full((len(groups), size), -1, dtype=np.int8)
    for i in range(len(groups)):
        if time.perf_counter() > deadline:
            return None
        new = f.copy()
        for k, j in enumerate(range(starts[i], min(ends[i], starts[i] + 127))):
            u = int(steps[j])
            if abs(u) >= size:
                continue
            c = float(price[cols[j]])
            if u >= 0:
                src, dst, mark = f[: size - u], new[u:], choice[i, u:]
            else:
                src, dst, mark = f[-u:], new[: size + u], choice[i, : size + u]
            moved = src + c
            better = moved < dst
            np.copyto(dst, moved, where=better)  # no gathering: a third of the time
            np.copyto(mark, k, where=better)
        f = new
    span = np.arange(size) - half
    f[(span < low) | (span > high)] = np.inf
    end = int(np.argmin(f))
    if not math.isfinite(f[end]) or (low <= 0 <= high and f[end] >= 0.0):
        return None
    out = cur.copy()
    cell = end
    for i in range(len(groups) - 1, -1, -1):
        k = int(choice[i, cell])
        if k >= 0:
            j = starts[i] + k
            out[groups[i]] = cols[j]
            cell -= int(steps[j])
    return out


def _unit(steps: np.ndarray, least: int) -> int:
    """The step of the states (hundredths of a kg): at least ``least``, a multiple of
    all the changes' greatest common divisor, the one that keeps the most changes whole
    (the smallest of those)."""
    common = int(np.gcd.reduce(np.abs(steps)))
    first = max(1, math.ceil(least / common))
    units = [common * k for k in range(first, first + 100)]
    kept = [int(np.count_nonzero(steps % u == 0)) for u in units]
    return units[int(np.argmax(kept))]


__all__ = ["exchange"]
