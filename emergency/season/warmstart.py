"""A constructive season schedule: the warm start (hint) of the least-shortfall phase.

From every source at its floor (normal outside key periods), quotas are met where it is
simple, day by day within the allowed measures and each industry's minimum running share:

- ``stop_days`` rows: each source stops its quota lines in one block of the needed length
  (at least the lines' minimum stop), with the cheapest allowed measure stopping them;
  sources in a running-share industry go largest value added first, each block where it
  leaves the industry the most room (the least stopped value added over its days), so the
  blocks are staggered and the share holds on every day;
- ``output_cut`` rows: each member source on its own, either at the cheapest allowed
  measure cutting its selected lines by the row's fraction every planned day or in a stop
  block of the needed length, whichever costs less (restarts counted).

Where no measure fits (floors, key periods, the share) the source is left as it is: the
solver mends the rest. Supply couplings are not looked at; the caller checks the result
against the model (docs/SEASON.md, "The model").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emergency.season.context import Context as _Context
    from emergency.season.context import SeasonSource

EPS = 1e-9


def source_cost(src: SeasonSource, row: list[int]) -> float:
    """Lost value added and restarts of one source over the days of ``row``."""
    cost = sum(src.options[m].cost_yuan_d for m in row)
    for li, line in enumerate(src.lines):
        if not line.restart_cost_yuan:
            continue
        before = False
        for m in row:
            now = src.options[m].loads[li] == 0.0
            if now and not before:
                cost += line.restart_cost_yuan
            before = now
    return cost


class _Warm:
    def __init__(self, ctx: _Context, members: list[int]) -> None:
        self.ctx = ctx
        self.sources = ctx.sources
        self.n, self.first = ctx.n, ctx.first
        self.choice: dict[int, list[int]] = {}
        for s in members:
            src = self.sources[s]
            self.choice[s] = [
                src.floor[d] if src.floor[d] in src.allowed[d] else src.allowed[d][0]
                for d in range(self.n)
            ]
        # Per source and day: lines to stop, and (lines, fraction) cuts to keep.
        self.stops: dict[int, list[frozenset[int]]] = {s: [frozenset()] * self.n for s in members}
        self.cuts: dict[int, list[list[tuple[list[int], float]]]] = {
            s: [[] for _ in range(self.n)] for s in members
        }
        mine = set(members)
        self.industry: dict[int, str] = {}
        self.need: dict[str, float] = {}
        self.out: dict[str, list[float]] = {}
        for industry, (share, group, total) in ctx.shares.items():
            if not mine.issuperset(group):  # a model of part of the industry: no share
                continue
            for s in group:
                self.industry[s] = industry
            self.need[industry] = share * total
            self.out[industry] = [
                sum(self.output(s, self.choice[s][d]) for s in group) for d in range(self.n)
            ]

    def output(self, s: int, m: int) -> float:
        src = self.sources[s]
        loads = src.options[m].loads
        return sum(ln.value_added_yuan_d * loads[li] for li, ln in enumerate(src.lines))

    def room(self, s: int, d: int, m: int) -> float:
        """What the industry keeps above its share on day ``d`` with ``m`` (inf: none)."""
        industry = self.industry.get(s)
        if industry is None:
            return math.inf
        delta = self.output(s, m) - self.output(s, self.choice[s][d])
        if delta >= 0:
            return math.inf
        return self.out[industry][d] + delta - self.need[industry]

    def pick(
        self, s: int, d: int, stop: frozenset[int], cuts: list[tuple[list[int], float]]
    ) -> int | None:
        """The cheapest allowed measure on day ``d`` stopping ``stop`` and meeting ``cuts``
        (with what the day already asks)."""
        src = self.sources[s]
        stop = stop | self.stops[s][d]
        cuts = cuts + self.cuts[s][d]
        best: int | None = None
        for m in src.allowed[d]:
            loads = src.options[m].loads
            if any(loads[li] != 0.0 for li in stop):
                continue
            if any(_cut(src, loads, lines) < f - EPS for lines, f in cuts):
                continue
            if best is None or src.options[m].cost_yuan_d < src.options[best].cost_yuan_d:
                best = m
        return best

    def set(self, s: int, d: int, m: int) -> None:
        industry = self.industry.get(s)
        if industry is not None:
            self.out[industry][d] += self.output(s, m) - self.output(s, self.choice[s][d])
        self.choice[s][d] = m

    def block(self, s: int, stop: frozenset[int], k: int) -> tuple[int, list[int]] | None:
        """Where a stop block of ``k`` days of ``stop`` fits best: its start and measures
        (the largest least room to the industry's share over its days)."""
        first, n = self.first, self.n
        if k <= 0 or k > n - first:
            return None
        picks: list[int | None] = [self.pick(s, d, stop, []) for d in range(n)]
        best: tuple[float, int, list[int]] | None = None
        for start in range(first, n - k + 1):
            days = range(start, start + k)
            measures = [picks[d] for d in days]
            if any(m is None for m in measures):
                continue
            ms = [m for m in measures if m is not None]
            least = min(self.room(s, d, m) for d, m in zip(days, ms, strict=True))
            if least < -EPS:
                continue
            if best is None or least > best[0] + EPS:
                best = (least, start, ms)
                if math.isinf(least):
                    break
        return None if best is None else (best[1], best[2])

    def place(self, s: int, stop: frozenset[int], start: int, measures: list[int]) -> None:
        for i, m in enumerate(measures):
            d = start + i
            self.set(s, d, m)
            self.stops[s][d] = self.stops[s][d] | stop

    def stop_days(self, s: int, lines: dict[int, float]) -> None:
        """Stop ``lines`` (line → days required) in one block."""
        src = self.sources[s]
        settled = {
            li: sum(src.options[self.choice[s][d]].loads[li] == 0.0 for d in range(self.first))
            for li in lines
        }
        left = {li: req - settled[li] for li, req in lines.items() if req - settled[li] > EPS}
        if not left:
            return
        # all the lines in one block, else (floors, the share) each line in its own
        tries = [left] if len(left) == 1 else [left, *({li: req} for li, req in left.items())]
        for part in tries:
            stop = frozenset(part)
            k = math.ceil(max(part.values()) - EPS)
            k = max(k, max(src.lines[li].min_stop_days for li in stop))
            found = self.block(s, stop, min(k, self.n - self.first))
            if found is not None:
                self.place(s, stop, *found)
                if part is left:
                    return

    def output_cut(self, s: int, lines: list[int], f: float) -> None:
        """Cut ``lines`` of source ``s`` by ``f`` of their value added over the season."""
        src = self.sources[s]
        n, first = self.n, self.first
        total = sum(src.lines[li].value_added_yuan_d for li in lines)
        if total <= 0 or first >= n:
            return
        done = sum(
            total * _cut(src, src.options[self.choice[s][d]].loads, lines) for d in range(first)
        )
        f_left = min(1.0, (f * total * n - done) / (total * (n - first)))
        if f_left <= EPS:
            return
        # every day at a measure cutting enough
        daily = list(self.choice[s])
        daily_ok = True
        for d in range(first, n):
            m = self.pick(s, d, frozenset(), [(lines, f_left)])
            if m is None or self.room(s, d, m) < -EPS:
                daily_ok = False
                continue
            daily[d] = m
        # or a stop block of the needed length
        stop = frozenset(lines)
        k = math.ceil(f_left * (n - first) - EPS)
        k = max(k, max(src.lines[li].min_stop_days for li in stop))
        found = self.block(s, stop, min(k, n - first))
        if found is not None:
            start, measures = found
            blocked = list(self.choice[s])
            blocked[start : start + len(measures)] = measures
            if not daily_ok or source_cost(src, blocked) < source_cost(src, daily):
                self.place(s, stop, start, measures)
                return
        for d in range(first, n):
            if daily[d] != self.choice[s][d]:
                self.set(s, d, daily[d])
                self.cuts[s][d] = [*self.cuts[s][d], (lines, f_left)]


def _cut(src: SeasonSource, loads: tuple[float, ...], lines: list[int]) -> float:
    total = sum(src.lines[li].value_added_yuan_d for li in lines)
    if total <= 0:
        return 1.0
    lost = sum(src.lines[li].value_added_yuan_d * (1.0 - loads[li]) for li in lines)
    return lost / total


def warm_start(ctx: _Context, members: list[int], rows: list[int]) -> dict[int, list[int]]:
    """A schedule (source → measure per day) of ``members`` meeting the quota ``rows``
    where simple; see the module's description."""
    warm = _Warm(ctx, members)
    quotas = ctx.inp.season.quotas
    stop_rows: dict[int, dict[int, float]] = {}
    cut_rows: list[tuple[int, list[int], float]] = []
    for r in rows:
        row = ctx.rows[r]
        quota = quotas[row.quota]
        if quota.stop_days is not None:
            s, li = row.members[0]
            lines = stop_rows.setdefault(s, {})
            lines[li] = max(lines.get(li, 0.0), row.required)
        else:
            assert quota.output_cut is not None
            by_source: dict[int, list[int]] = {}
            for s, li in row.members:
                by_source.setdefault(s, []).append(li)
            for s, lines_of in by_source.items():
                cut_rows.append((s, lines_of, quota.output_cut))

    def value(s: int) -> float:
        return sum(ln.value_added_yuan_d for ln in ctx.sources[s].lines)

    for s in sorted(stop_rows, key=lambda s: (-value(s), s)):
        warm.stop_days(s, stop_rows[s])
    for s, lines_of, f in sorted(cut_rows, key=lambda t: (-value(t[0]), t[0])):
        warm.output_cut(s, lines_of, f)
    return warm.choice
