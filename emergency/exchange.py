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
4. **Stuck**, moves that change two binding rows of a day at once (:func:`_mixed`): one
   or two of them, then each row refilled exactly by its own moves (a table per row of
   the least cost of every change); else many of them, by a programme over the first
   row's kilograms with the others' changes priced at their LP prices (and 0.9 and 1.1
   times those) and carried beside, every state priced exactly with the refills. At
   5,000 synthetic sources the least cost swaps two such moves; at 20,000, four. While
   these save, they go on; then the steps from step 1 again.

Candidates are the measures whose LP reduced cost is within the gap between the list and
the LP bound (a cheaper list takes no other: :mod:`emergency.core`), of source-days in no
coupling row (those stay as they are), a move's change a whole number of hundredths of
a kilogram on the row of the step. Of the other binding rows, a step reads only those of
the same day (the rows a move can change with it). The states are the row's change from
the list, at most :data:`WINDOW_KG` either way and :data:`MAX_CELLS` in all; where each
move became its source-day's best is kept for reading the exchange back (one bit per move
and state), for at most :data:`MAX_CHOICE_BYTES` — the source-days with the cheapest
candidates first.
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
"""The marks kept for reading an exchange back, at most, per programme (one bit per move
and state: at 50,000 synthetic sources the largest, 18,968 moves of 11,736 source-days
over 12,001 states, takes 27 MiB). With one byte per source-day and state the same room
held 4,194 source-days there, the cheapest candidates first — moves that shed cuts — and
the refills that add them were left out: exchanges ended 200 yuan above the least cost,
and reach it with all of them. A mixed exchange holds a programme per binding row of the
day and one more at once."""
MAX_SOURCE_DAYS = 60_000
"""Models with more source-days are not searched (a day of 50,000 synthetic sources: the
exchanges from the LP's own measures reach the least cost in 3 s; bench/RESULTS.md)."""
LAGRANGE = (1.0, 0.9, 1.1)
"""The other rows' LP prices times these, in turn, price the changes of moves that change
two binding rows in the programme over many of them."""
MIXED_TRIED = 200
"""Sets of moves that change two binding rows at once read back and checked, the
cheapest by table first, at most: of one or two such moves, then of the programme over
many at each of :data:`LAGRANGE`."""
PAIRS_PER_LOOKUP = 1_000_000
"""Pairs of such moves looked up at once (arrays of a few times this many floats)."""
MAX_PAIRS_FIRST = 20_000
"""First moves of a pair, the lowest by the bound first, at most."""
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
    if len(cur) > MAX_SOURCE_DAYS:
        return None
    ctx = _context(form, rows, group, reduced_costs=reduced_costs, prices=prices, gap_yuan=gap_yuan)
    if ctx is None:
        return None
    binding, related = ctx.binding, ctx.related
    best = cur
    best_cost = float(form.cost[cur].sum())
    improved = True
    days = {tuple(sorted([r, *(o for _, o in related[r])])) for _, r in binding}
    searched = None  # the list the last search for mixed moves left
    while improved and time.perf_counter() < deadline:
        improved = False
        for _, r in binding:
            found = _step(ctx, best, r, lo, hi, rows, deadline)
            if found is None:
                continue
            found_cost = float(form.cost[found].sum())
            if found_cost < best_cost - 0.5:
                best, best_cost, improved = found, found_cost, True
        if improved or best is searched:
            continue
        # Stuck: moves that change two binding rows at once (:func:`_mixed`), as long as
        # they save; then the steps again from their list.
        again = True
        while again and time.perf_counter() < deadline:
            again = False
            for day in days:
                found = _mixed(ctx, best, day, lo, hi, rows, deadline)
                if found is not None and float(form.cost[found].sum()) < best_cost - 0.5:
                    best, best_cost = found, float(form.cost[found].sum())
                    again = improved = True
        searched = best
    return None if best is cur else best


def _context(
    form: SparseForm,
    rows: csc_matrix,
    group: np.ndarray,
    *,
    reduced_costs: Mapping[Key, float],
    prices: np.ndarray,
    gap_yuan: float,
) -> _Rows | None:
    """What the exchanges read (arguments as :func:`exchange`'s), or None: no target row
    is binding."""
    targets = {r - form.first: float(prices[r]) for _, _, r in form.targets}
    binding = sorted(((p, r) for r, p in targets.items() if p > PRICED), reverse=True)
    if not binding:
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
    return _Rows(group, form.cost, movable, binding, values, related)


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


def _mixed(
    ctx: _Rows,
    cur: np.ndarray,
    day: tuple[int, ...],
    lo: np.ndarray,
    hi: np.ndarray,
    rows: csc_matrix,
    deadline: float,
) -> np.ndarray | None:
    """A cheaper valid list by moves that each change two or more of the binding rows
    ``day`` at once (a source cutting SO2 and VOCs together), every row of ``day`` then
    refilled by its own programme over the moves that change it alone; or None.

    Each row's programme (:func:`_table`, no prices) gives, for every change of that row,
    the least cost of its own moves; the least cost of reaching at least a change is its
    suffix minimum. A set of moves is priced by that table lookup per row, exactly where
    no two of its parts move the same source-day (they are read back and checked).

    1. One or two such moves: the sets cheapest by lookup first, the first that holds
       every row. Pairs are many (15 million at 20,000 sources): only those whose bound
       by the LP's prices is below zero are looked up — a move's cost less its rows'
       changes at their prices, plus per row the most its refill can earn at that price.
    2. Else many: a programme over the first row's kilograms of such moves, the other
       rows' changes priced at their LP prices times each of :data:`LAGRANGE`, the real
       cost and those changes carried beside; every state then priced exactly with the
       refills, the first that holds every row."""
    if len(day) < 2 or any(math.isfinite(hi[r]) for r in day):
        return None
    tables = []
    for r in day:
        table = _table(ctx, cur, r, lo, hi, priced=False, deadline=deadline)
        if table is None:
            if time.perf_counter() > deadline:
                return None
            empty = np.zeros(0, dtype=np.int64)
            table = _Table(
                r,
                np.zeros(1),
                np.zeros((0, 1), np.uint8),
                empty,
                empty,
                empty,
                empty,
                0.01,
                0,
                0,
                0,
                [],
            )
        tables.append(_Refill(table))
    group = ctx.group
    at = cur[group]
    changes = np.stack([ctx.values[t.table.r] - ctx.values[t.table.r][at] for t in tables])
    n_cols = len(group)
    many = (np.abs(changes) > 1e-9).sum(axis=0) >= 2
    moves = np.flatnonzero(ctx.movable & (np.arange(n_cols) != at) & many)
    if not len(moves):
        return None
    price = ctx.cost[moves] - ctx.cost[at[moves]]
    moved = changes[:, moves]
    need = np.array([lo[t.table.r] - float(ctx.values[t.table.r][cur].sum()) for t in tables])
    prices = dict((r, p) for p, r in ctx.binding)
    # The bound: a set's cost is at least its moves' own (cost less priced changes) plus
    # what every refill could earn at the row's price.
    own = price.copy()
    floor = 0.0
    for i, t in enumerate(tables):
        p = prices[t.table.r]
        own -= p * moved[i]
        floor += p * need[i] - t.earns(p)
    sets: list[tuple[float, tuple[int, ...]]] = []
    single = _lookup(tables, need[:, None] - moved, price)
    sets += [(float(e), (int(j),)) for j, e in enumerate(single) if e < -0.5]
    # Pairs by the bound, the lowest first, looked up a chunk at a time.
    by_own = np.argsort(own, kind="stable")
    ranked = own[by_own]
    lasts = np.searchsorted(ranked, -floor - ranked - 0.5)
    a = 0
    while a < len(by_own) and lasts[a] > a + 1 and a < MAX_PAIRS_FIRST:
        b = a
        count = 0
        while b < len(by_own) and lasts[b] > b + 1 and count < PAIRS_PER_LOOKUP:
            count += int(lasts[b]) - b - 1
            b += 1
        if time.perf_counter() > deadline:
            return None
        first = np.concatenate([np.full(lasts[k] - k - 1, by_own[k]) for k in range(a, b)])
        second = np.concatenate([by_own[k + 1 : lasts[k]] for k in range(a, b)])
        a = b
        apart = group[moves[first]] != group[moves[second]]
        first, second = first[apart], second[apart]
        paired = _lookup(
            tables, need[:, None] - moved[:, first] - moved[:, second], price[first] + price[second]
        )
        cheap = np.flatnonzero(paired < -0.5)
        if len(cheap) > MIXED_TRIED:
            cheap = cheap[np.argpartition(paired[cheap], MIXED_TRIED)[:MIXED_TRIED]]
        sets += [(float(paired[q]), (int(first[q]), int(second[q]))) for q in cheap]
    sets.sort()
    for _, parts in sets[:MIXED_TRIED]:
        if time.perf_counter() > deadline:
            return None
        taken = {int(group[moves[j]]): int(moves[j]) for j in parts}
        out = _refilled(cur, taken, tables, need - moved[:, list(parts)].sum(axis=1))
        if out is not None and holds_rows(rows, out, lo, hi):
            return out
    # Many such moves at once: a programme over the first row's kilograms, each other
    # row's change priced at its LP price (times each of LAGRANGE), the real cost and
    # those changes carried beside, every state then priced exactly with the refills.
    axis = tables[0].table.r
    for times in LAGRANGE:
        at_price = {o: p * times for p, o in ctx.related[axis]}
        table = _table(ctx, cur, axis, lo, hi, priced=False, deadline=deadline, mixed_at=at_price)
        if table is None:
            if time.perf_counter() > deadline:
                return None
            continue
        kg = (np.arange(len(table.f)) - table.half) * table.unit
        beside = dict(zip((o for _, o in ctx.related[axis]), table.carried[1:], strict=True))
        if any(t.table.r not in beside for t in tables[1:]):
            return None
        short = np.stack(
            [need[0] - kg, *(need[i] - beside[t.table.r] for i, t in enumerate(tables) if i)]
        )
        total = _lookup(tables, short, table.carried[0])
        total[~np.isfinite(table.f)] = np.inf
        cheap = np.flatnonzero(total < -0.5)
        for cell in cheap[np.argsort(total[cheap], kind="stable")][:MIXED_TRIED]:
            if time.perf_counter() > deadline:
                return None
            out = _refilled(cur, table.read(int(cell)), tables, short[:, cell])
            if out is not None and holds_rows(rows, out, lo, hi):
                return out
    return None


def _refilled(
    cur: np.ndarray, taken: dict[int, int], tables: list[_Refill], short: np.ndarray
) -> np.ndarray | None:
    """``cur`` with the moves ``taken`` (source-day: new column) and each row's least
    refill of what it is ``short`` (kg), or None where two of them move one source-day."""
    out = cur.copy()
    for g, c in taken.items():
        out[g] = c
    moved = set(taken)
    for i, t in enumerate(tables):
        cell = t.cell(float(short[i]))
        if cell is None:
            return None
        refill = t.table.read(cell)
        if not moved.isdisjoint(refill):
            return None
        moved.update(refill)
        for g, c in refill.items():
            out[g] = c
    return out


@dataclass
class _Refill:
    """A row's programme read as: the least cost of a change of at least so much."""

    table: _Table

    def __post_init__(self) -> None:
        f = self.table.f
        backwards = np.minimum.accumulate(f[::-1])
        self.least = backwards[::-1]
        # Where each suffix's least is reached (the cell nearest the start of the suffix).
        mark = np.where(f[::-1] <= backwards, np.arange(len(f)), -1)
        self.at = (len(f) - 1 - np.maximum.accumulate(mark))[::-1]

    def index(self, kg: np.ndarray) -> np.ndarray:
        """The state of the least change of at least ``kg`` (past the end: ``len``)."""
        t = self.table
        cell = np.ceil(kg / t.unit - 1e-9).astype(np.int64) + t.half
        return np.clip(cell, 0, len(t.f))

    def cost(self, kg: np.ndarray) -> np.ndarray:
        cell = self.index(kg)
        return np.where(
            cell < len(self.least), self.least[np.minimum(cell, len(self.least) - 1)], np.inf
        )

    def cell(self, kg: float) -> int | None:
        """The state of the least change of at least ``kg``; None past the window."""
        index = int(self.index(np.array([kg]))[0])
        return None if index >= len(self.at) else int(self.at[index])

    def earns(self, price: float) -> float:
        """The most a change can earn at ``price`` a kg less its least cost."""
        t = self.table
        finite = np.isfinite(self.least)
        kg = (np.arange(len(t.f)) - t.half) * t.unit
        return float(np.max(price * kg[finite] - self.least[finite]))


def _lookup(tables: list[_Refill], short: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per column of ``short`` (kg each row still needs, one row per table), ``cost``
    plus each row's least refill: a bound on the set's cost where refills collide."""
    total = cost.astype(float)
    for i, t in enumerate(tables):
        total = total + t.cost(short[i])
    return total


@dataclass
class _Table:
    """One step's dynamic programme over row ``r``: per state (the row's change from the
    list, ``unit`` kg a state, state ``half`` no change) the least cost of the moves
    reaching it exactly, and each source-day's choice there for reading the moves back."""

    r: int
    f: np.ndarray
    marks: np.ndarray
    """Per move, the states where it became its source-day's best at its turn, one bit a
    state (:func:`numpy.packbits`) from the first state it reaches: a source-day's
    choice at a state is its last move marked there."""
    groups: np.ndarray
    starts: np.ndarray
    """Where each source-day's moves begin in ``cols`` (they run to the next's start)."""
    cols: np.ndarray
    steps: np.ndarray
    unit: float
    half: int
    low: int
    """The fewest states the row may lose and stay held (negative: it has slack)."""
    high: int
    carried: list[np.ndarray]
    """With prices for mixed moves: per state the real cost of its moves, then their
    change to each other binding row of the day (in ``related`` order)."""

    def read(self, cell: int) -> dict[int, int]:
        """The moves reaching state ``cell``: the new column of each source-day moved.

        From the last source-day back, each one's choice at the state left by those after
        it: the last move marked there, the source-days with none skipped at once (the
        last marked move of all those before, found in one pass)."""
        moves = {}
        size = len(self.f)
        first = np.maximum(self.steps, 0)
        reach = size - np.abs(self.steps)
        owner = np.repeat(np.arange(len(self.groups)), np.diff(self.starts, append=len(self.cols)))
        limit = len(self.cols)
        while limit:
            bit = cell - first[:limit]
            inside = np.flatnonzero((bit >= 0) & (bit < reach[:limit]))
            at = bit[inside]
            marked = inside[(self.marks[inside, at >> 3] >> (7 - (at & 7))) & 1 == 1]
            if not len(marked):
                break
            j = int(marked[-1])
            i = int(owner[j])
            moves[int(self.groups[i])] = int(self.cols[j])
            cell -= int(self.steps[j])
            limit = int(self.starts[i])
        return moves


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
    table = _table(ctx, cur, r, lo, hi, priced=priced, deadline=deadline)
    if table is None:
        return None
    f = table.f.copy()
    span = np.arange(len(f)) - table.half
    f[(span < table.low) | (span > table.high)] = np.inf
    end = int(np.argmin(f))
    if not math.isfinite(f[end]) or (table.low <= 0 <= table.high and f[end] >= 0.0):
        return None
    out = cur.copy()
    for g, c in table.read(end).items():
        out[g] = c
    return out


def _table(
    ctx: _Rows,
    cur: np.ndarray,
    r: int,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    priced: bool,
    deadline: float,
    mixed_at: Mapping[int, float] | None = None,
) -> _Table | None:
    """The programme of :func:`_row_dp`, or None (no moves, the row out of reach, or
    ``deadline`` passed). With ``mixed_at`` (a price per other binding row of the day),
    over the moves that change row ``r`` and another of them, each such change priced
    at it, the real cost and the other rows' changes summed beside (``carried``)."""
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
    real = [price]
    changes_other = np.zeros(n_cols, dtype=bool)
    for p, o in ctx.related[r]:
        moved = ctx.values[o] - ctx.values[o][at]
        if mixed_at is not None:
            price = price - mixed_at[o] * moved
            real.append(moved)
            changes_other |= np.abs(moved) > 1e-9
        elif priced:
            price = price - p * moved + PREMIUM * np.abs(moved)
        else:
            take &= np.abs(moved) <= 1e-9
    if mixed_at is not None:
        take &= changes_other
    cols = np.flatnonzero(take)
    if not len(cols):
        return None
    steps = cents[cols].astype(np.int64)
    window = WINDOW_KG * 100.0
    unit_cents = _unit(steps, math.ceil(2 * window / (MAX_CELLS - 1)))
    half = math.ceil(window / unit_cents)
    size = 2 * half + 1
    # A move off the unit, or past the window (a stop of 1,871 kg at 50,000 sources), is
    # not a candidate here: it would only take the marks' room.
    keep = (steps % unit_cents == 0) & (np.abs(steps) < size * unit_cents)
    cols, steps = cols[keep], steps[keep] // unit_cents
    if not len(cols):
        return None
    now = float(ctx.values[r][cur].sum())
    unit = unit_cents / 100.0
    low = -math.floor((now - lo[r]) / unit + 1e-9)  # the fewest units the row may lose
    high = math.floor((hi[r] - now) / unit + 1e-9) if math.isfinite(hi[r]) else half
    if low > half or high < -half:
        return None
    # Source-days, the cheapest candidate first, as many as the marks' memory allows.
    order = np.lexsort((price[cols], group[cols]))
    cols, steps = cols[order], steps[order]
    groups, starts = np.unique(group[cols], return_index=True)
    ends = np.append(starts[1:], len(cols))
    row_bytes = (size + 7) // 8
    if len(cols) * row_bytes > MAX_CHOICE_BYTES:
        cheapest = np.minimum.reduceat(price[cols], starts)
        rank = np.argsort(cheapest, kind="stable")
        fits = np.cumsum((ends - starts)[rank]) * row_bytes <= MAX_CHOICE_BYTES
        fits[0] = True
        kept = np.sort(rank[fits])
        cols = np.concatenate([cols[starts[k] : ends[k]] for k in kept])
        steps = np.concatenate([steps[starts[k] : ends[k]] for k in kept])
        groups, starts = np.unique(group[cols], return_index=True)
        ends = np.append(starts[1:], len(cols))
    f = np.full(size, np.inf)
    f[half] = 0.0
    if mixed_at is None:
        real = []
    carried = [np.zeros(size) for _ in real]
    marks = np.zeros((len(cols), row_bytes), dtype=np.uint8)
    for i in range(len(groups)):
        if time.perf_counter() > deadline:
            return None
        # What each move of this source-day reaches, read from the states before it;
        # then applied in place, in turn (a source-day of one move needs no copy of them).
        reached = []
        for j in range(starts[i], ends[i]):
            u = int(steps[j])
            a, b = (
                (slice(0, size - u), slice(u, size))
                if u >= 0
                else (slice(-u, size), slice(0, size + u))
            )
            c = float(price[cols[j]])
            reached.append(
                (
                    j,
                    b,
                    f[a] + c,
                    [old[a] + v[cols[j]] for old, v in zip(carried, real, strict=True)],
                )
            )
        for j, b, moved, beside in reached:
            better = moved < f[b]
            np.copyto(f[b], moved, where=better)  # no gathering: a third of the time
            packed = np.packbits(better)
            marks[j, : len(packed)] = packed
            for out, add in zip(carried, beside, strict=True):
                np.copyto(out[b], add, where=better)
    return _Table(r, f, marks, groups, starts, cols, steps, unit, half, low, high, carried)


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
