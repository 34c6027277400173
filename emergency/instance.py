"""The optimisation instance: what the model needs, and nothing else.

An :class:`Instance` is solver-independent. The duties module builds it from the data
folder and the warning; the optimiser, the heuristics and the checker all read it. Tests
build tiny ones by hand.

Units: ``cut_kg`` is kilograms of each pollutant on one day (order of
:data:`emergency.POLLUTANTS`), ``cost_yuan_d`` yuan per day, ``restart_cost_yuan`` yuan once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from emergency import POLLUTANTS
from emergency.scaling import decimals

"""Why a source-day is held to one measure (``SourceDuty.fixed``)."""


@dataclass(frozen=True, slots=True)
class Line:
    """A production line of a planned source (restart matters only for these)."""

    id: str
    restart_cost_yuan: float = 0.0
    min_stop_days: int = 1


@dataclass(frozen=True, slots=True)
class Option:
    """One measure of one source: its daily cut and cost, and the load of each line."""

    id: str
    name: str
    cut_kg: tuple[float, float, float, float]
    cost_yuan_d: float
    loads: tuple[float, ...] = ()
    """Load per line of the source, in the order of ``SourceDuty.lines`` (empty: no lines)."""

    def stops(self, line_index: int) -> bool:
        return bool(self.loads) and self.loads[line_index] == 0.0


@dataclass(slots=True)
class SourceDuty:
    """A source's measures and, per day, its floor and allowed measures (indices)."""

    id: str
    lines: tuple[Line, ...]
    options: tuple[Option, ...]
    """``options[0]`` is always normal operation (:data:`emergency.NORMAL`)."""
    floor: list[int]
    allowed: list[tuple[int, ...]]
    fixed: list[str]
    """Per day: '' when the optimiser may choose, else why the source is held (FIXED_KINDS),
    or 'state' when a stop begun before the instance narrows the choice."""
    note: list[str]
    """Per day: a human reason attached to a fixed choice (override reason, guarantee kind)."""


@dataclass(frozen=True, slots=True)
class Edge:
    """Supply coupling: ``load(dst) <= 1 - share * (1 - load(src))`` on every day."""

    src: tuple[int, int]
    """(source index, line index) upstream."""
    dst: tuple[int, int]
    share: float


@dataclass(slots=True)
class Instance:
    """Everything the decision depends on."""

    dates: list[dt.date]
    levels: list[str]
    sources: list[SourceDuty]
    targets_kg: list[tuple[float, float, float, float]]
    """T(p, d) before capping, per day in POLLUTANTS order (may be ≤ 0: no target)."""
    pooled: list[bool]
    """Per day: SO2 and NOx are held to one pooled target (their sum)."""
    edges: list[Edge] = field(default_factory=list)
    stopped_before: dict[tuple[int, int], int] = field(default_factory=dict)
    """(source, line) → days the line has already been stopped when this instance starts."""
    _edges_into: dict[int, list[Edge]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _decimals: dict[float, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def decimals(self, values: Iterable[float]) -> int:
        """The most decimals any of ``values`` needs (:func:`emergency.scaling.decimals`),
        each distinct value worked out once for this instance: the same costs come back in
        every list priced."""
        known = self._decimals
        most = 0
        for v in values:
            k = known.get(v)
            if k is None:
                k = known[v] = decimals(v)
            if k > most:
                most = k
        return most

    def edges_into(self, s: int) -> list[Edge]:
        """The supply edges whose downstream line is one of source ``s``'s (indexed once)."""
        if self._edges_into is None:
            into: dict[int, list[Edge]] = {}
            for e in self.edges:
                into.setdefault(e.dst[0], []).append(e)
            self._edges_into = into
        return self._edges_into.get(s, [])

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def pooled_rows(self, d: int) -> list[tuple[str, tuple[int, ...]]]:
        """The target rows of day ``d``: (name, pollutant indices summed)."""
        if self.pooled[d]:
            return [("so2+nox", (0, 1)), ("pm", (2,)), ("vocs", (3,))]
        return [(p, (i,)) for i, p in enumerate(POLLUTANTS)]

    def row_target(self, d: int, idx: tuple[int, ...]) -> float:
        return sum(self.targets_kg[d][i] for i in idx)

    def reachable_kg(self, d: int) -> tuple[float, float, float, float]:
        """R(p, d): the largest cut of each pollutant with every source at its deepest."""
        so2 = nox = pm = vocs = 0.0
        for s in self.sources:
            options = s.options
            a, b, c, e = map(max, zip(*(options[m].cut_kg for m in s.allowed[d]), strict=True))
            so2 += a
            nox += b
            pm += c
            vocs += e
        return (so2, nox, pm, vocs)

    def reachable_by_day(self) -> list[tuple[float, float, float, float]]:
        """:meth:`reachable_kg` of every day, worked out once for days whose allowed
        measures are all the same."""
        out: list[tuple[float, float, float, float]] = []
        for d in range(self.n_days):
            alike = next(
                (e for e in range(d) if all(s.allowed[e] == s.allowed[d] for s in self.sources)),
                None,
            )
            out.append(out[alike] if alike is not None else self.reachable_kg(d))
        return out

    def earlier_alike(self, choice: Sequence[Sequence[int]], d: int) -> int | None:
        """The first day before ``d`` with day ``d``'s targets and pooling on which the list
        ``choice`` takes the same measure for every source (what it cuts and falls short
        is then the same), or None."""
        for e in range(d):
            if (
                self.targets_kg[e] == self.targets_kg[d]
                and self.pooled[e] == self.pooled[d]
                and all(row[e] == row[d] for row in choice)
            ):
                return e
        return None

    def restart_costs(self, s: int, measures: Sequence[int]) -> list[float]:
        """The cost of each restart that ``measures`` (one per day, from day 0) begin for
        source ``s``, line by line (a stop in force before the first day continues: no
        restart; a line that restarts for nothing is left out)."""
        src = self.sources[s]
        picked = [src.options[m] for m in measures]
        if not any(o.loads and 0.0 in o.loads for o in picked):
            return []  # no line stopped on any day
        out = []
        for li, line in enumerate(src.lines):
            if not line.restart_cost_yuan:
                continue
            stopped = self.stopped_before.get((s, li), 0) > 0
            for o in picked:
                stops = o.stops(li)
                if stops and not stopped:
                    out.append(line.restart_cost_yuan)
                stopped = stops
        return out

    def restarts_yuan(self, s: int, measures: Sequence[int]) -> float:
        """The restart costs of the stops that ``measures`` (one per day, from day 0) begin
        for source ``s`` (:meth:`restart_costs`, summed)."""
        return sum(self.restart_costs(s, measures), 0.0)

    def rows_reachable(self, d: int) -> dict[str, float]:
        """The largest reachable cut of every target row (pooled or not) of day ``d``:
        every source at its deepest allowed measure for that row, in one pass."""
        rows = self.pooled_rows(d)
        totals = [0.0] * len(rows)
        for s in self.sources:
            cuts = [s.options[m].cut_kg for m in s.allowed[d]]
            for j, (_, idx) in enumerate(rows):
                # a row of one pollutant or of two (pooled), the sum written out
                if len(idx) == 1:
                    totals[j] += max([c[idx[0]] for c in cuts])
                else:
                    totals[j] += max([sum(c[i] for i in idx) for c in cuts])
        return {name: t for (name, _), t in zip(rows, totals, strict=True)}


Choice = list[list[int]]
"""choice[s][d] = index into ``sources[s].options``."""
