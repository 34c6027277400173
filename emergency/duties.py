"""Duties: for each source and day, the floor measure and the allowed measures.

Turns the data folder (inventory, plans, city plan) and the days of a response into an
:class:`~emergency.instance.Instance`: each source's measures (:mod:`emergency.measures`,
its plan or its kind's city defaults), per day its floor, the measures it may take (held at
the floor for guaranteed firms and protected grades; fixed by a planner's override), the
state a running response leaves (lines already stopped), the supply couplings between lines
and the targets per pollutant and day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, model_validator

from emergency import NORMAL, POLLUTANTS
from emergency.errors import InputError
from emergency.instance import Edge, Instance, Line, Option, SourceDuty
from emergency.measures import allowed_options, exact, held, source_measures, stricter
from emergency.supply import graph_from_plans

if TYPE_CHECKING:
    from emergency.dataset import Dataset


class Override(BaseModel):
    """A planner's decision on one source: force a measure, or exempt it (normal operation)."""

    source: str
    measure: str | None = None
    exempt: bool = False
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> Override:
        if (self.measure is None) == (not self.exempt):
            raise ValueError("give either a measure or exempt: true")
        return self


class ResponseState(BaseModel):
    """Where a running response stands when the remaining days are re-planned."""

    stopped_days: dict[str, int] = Field(default_factory=dict)
    """"source/line" → how many days the line has already been stopped (restart paid)."""


def build_instance(
    dataset: Dataset,
    days: Sequence[tuple[dt.date, str]],
    *,
    overrides: Sequence[Override] = (),
    state: ResponseState | None = None,
    season_floor: Mapping[tuple[str, dt.date], Mapping[str, float]] | None = None,
) -> Instance:
    """The instance of a response over ``days`` (date, level).

    ``season_floor``: per (source, date) the line loads the approved season schedule
    holds that day (staggered production). Such a source may take only the measures at
    least as strict as both its level's floor and those loads; if none is, the strictest
    it may take (least value added kept: the highest daily cost). Its cut counts toward the
    day's target like any other (targets are against the normal baseline, unchanged).
    Guaranteed firms, protected grades and overrides are not narrowed.
    """
    city = dataset.city
    by_override = {o.source: o for o in overrides}
    for o in overrides:
        if o.source not in dataset.by_id:
            raise InputError(f"override: source: unknown source {o.source!r}")
    sources: list[SourceDuty] = []
    index: dict[str, int] = {}
    levels = list(dict.fromkeys(level for _, level in days))  # each once, in order
    for src in dataset.sources:
        plan = dataset.plans.get(src.id)
        measures = source_measures(dataset, src.id)
        lines, options = measures.lines, measures.options
        at_level = {level: measures.index(measures.floor(level)) for level in levels}
        floors = [at_level[level] for _, level in days]
        duty = SourceDuty(src.id, lines, options, floors, [], [], [])
        held_by = held(src, city)
        override = by_override.get(src.id)
        by_level: dict[str, tuple[int, ...]] = {}  # the allowed measures per level
        for (day, level), floor in zip(days, floors, strict=True):
            if override is not None:
                if override.exempt:
                    m = 0
                else:
                    try:
                        m = measures.index(override.measure or NORMAL)
                    except KeyError:
                        raise InputError(
                            f"override: measure: {src.id} has no measure {override.measure!r} "
                            f"(known: {', '.join(measures.ids())})"
                        ) from None
                duty.allowed.append((m,))
                duty.fixed.append("exempt" if override.exempt else "override")
                duty.note.append(override.reason)
            elif held_by:
                duty.allowed.append((floor,))
                duty.fixed.append(held_by[0])
                duty.note.append(held_by[1])
            else:
                if level not in by_level:
                    if plan is not None:  # the one rule validation uses too
                        by_level[level] = allowed_options(options, floor)
                    else:
                        at_floor = options[floor]
                        by_level[level] = tuple(
                            i for i, o in enumerate(options) if stricter(o, at_floor, True)
                        )
                allowed = by_level[level]
                held_loads = season_floor.get((src.id, day)) if season_floor else None
                if plan is not None and held_loads and allowed:
                    allowed = _season_narrowed(allowed, options, lines, held_loads)
                duty.allowed.append(allowed)
                duty.fixed.append("")
                duty.note.append("")
        index[src.id] = len(sources)
        sources.append(duty)

    stopped_before = _apply_state(sources, index, state, len(days))
    edges = _edges(dataset, index, sources)
    targets, pooled = [], []
    for _, level in days:
        pol = city.levels.get(level)
        if pol is None:
            raise InputError(
                f"plans/city.yaml: levels.{level}: the city plan has no targets for this level"
            )
        t = []
        for p in POLLUTANTS:
            tau = pol.cut_fraction.get(p, 0.0)
            base = city.baseline_kg_d.get(p, 0.0)
            t.append(exact(tau * base - pol.other_cut_kg_d.get(p, 0.0)))
        targets.append((t[0], t[1], t[2], t[3]))
        pooled.append(bool(pol.pool_so2_nox))
    return Instance(
        dates=[d for d, _ in days],
        levels=[lv for _, lv in days],
        sources=sources,
        targets_kg=targets,
        pooled=pooled,
        edges=edges,
        stopped_before=stopped_before,
    )


def _season_narrowed(
    allowed: tuple[int, ...],
    options: Sequence[Option],
    lines: Sequence[Line],
    loads: Mapping[str, float],
) -> tuple[int, ...]:
    """The allowed measures at least as strict as the season's loads on every line; if
    none is, the strictest allowed one (the highest daily cost)."""
    bound = [loads.get(line.id, 1.0) for line in lines]
    kept = tuple(
        m
        for m in allowed
        if all(x <= b + 1e-9 for x, b in zip(options[m].loads, bound, strict=True))
    )
    if kept:
        return kept
    return (max(allowed, key=lambda m: (options[m].cost_yuan_d, -m)),)


def _apply_state(
    sources: list[SourceDuty], index: dict[str, int], state: ResponseState | None, n: int
) -> dict[tuple[int, int], int]:
    """Lines already stopped: restart paid; a minimum stop still binding narrows the choice."""
    out: dict[tuple[int, int], int] = {}
    if state is None:
        return out
    for key, days_stopped in state.stopped_days.items():
        sid, _, line_id = key.partition("/")
        if sid not in index or days_stopped <= 0:
            continue
        s = index[sid]
        duty = sources[s]
        li = next((i for i, ln in enumerate(duty.lines) if ln.id == line_id), None)
        if li is None:
            continue
        out[s, li] = days_stopped
        remaining = duty.lines[li].min_stop_days - days_stopped
        for d in range(min(remaining, n)):
            keep = tuple(m for m in duty.allowed[d] if duty.options[m].stops(li))
            if not keep:
                keep = tuple(
                    i
                    for i, o in enumerate(duty.options)
                    if o.stops(li) and stricter(o, duty.options[duty.floor[d]], False)
                ) or tuple(i for i, o in enumerate(duty.options) if o.stops(li))
            if keep:
                duty.allowed[d] = keep
                duty.fixed[d] = duty.fixed[d] or "state"
                duty.note[d] = (
                    f"{line_id} stopped {days_stopped} day(s) ago; minimum stop "
                    f"{duty.lines[li].min_stop_days} days"
                )
    return out


def _edges(dataset: Dataset, index: dict[str, int], sources: list[SourceDuty]) -> list[Edge]:
    """The supply couplings of the networkx supply graph, as (source, line) index pairs."""
    edges = []
    graph = graph_from_plans(dataset.plans)
    for (up, u_line), (down, w_line), share in graph.edges(data="share"):
        if up not in index or down not in index:
            continue
        s1, s2 = index[up], index[down]
        u = _line_index(sources[s1], u_line)
        w = _line_index(sources[s2], w_line)
        if u is not None and w is not None:
            edges.append(Edge((s1, u), (s2, w), float(share)))
    edges.sort(key=lambda e: (e.src, e.dst))
    return edges


def _line_index(duty: SourceDuty, line_id: str) -> int | None:
    return next((i for i, ln in enumerate(duty.lines) if ln.id == line_id), None)


def supply_conflicts(inst: Instance) -> list[str]:
    """Supply edges that no allowed measure can satisfy on some day, naming both plans."""
    out = []
    for e in inst.edges:
        (s1, u), (s2, w) = e.src, e.dst
        a, b = inst.sources[s1], inst.sources[s2]
        for d in range(inst.n_days):
            up = max(a.options[m].loads[u] for m in a.allowed[d])
            down = min(b.options[m].loads[w] for m in b.allowed[d])
            if down > 1 - e.share * (1 - up) + 1e-9:
                out.append(
                    f"plans/enterprises/{a.id}.yaml: supplies: {a.id}/{a.lines[u].id} → "
                    f"{b.id}/{b.lines[w].id} (share {e.share:g}) cannot be met on "
                    f"{inst.dates[d]} ({inst.levels[d]}): {a.id} runs its line at {up:g} at "
                    f"most, and plans/enterprises/{b.id}.yaml allows no load below {down:g}"
                )
                break
    return out
