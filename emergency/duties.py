"""Duties: for each source and day, the floor measure and the allowed measures (SPEC §4).

Turns the data folder (inventory, plans, city plan) and the days of a response into an
:class:`~emergency.instance.Instance`. Cuts and costs are rounded to :data:`DECIMALS`
places, which recovers the exact decimal (data carry fewer decimals than that: kg and yuan
with at most two, loads and fractions with at most four), so ``(1 − 0.8) × 1150`` is 230,
not 229.99999999999997, and the solver's integer scaling stays exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, model_validator

from emergency import POLLUTANTS
from emergency.errors import InputError
from emergency.instance import NORMAL, Edge, Instance, Line, Option, SourceDuty

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.inventory import Source
    from emergency.plans import CityPlan, Plan


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


DECIMALS = 6


def _r(x: float) -> float:
    return round(x, DECIMALS) + 0.0


def plan_options(plan: Plan) -> tuple[tuple[Line, ...], tuple[Option, ...]]:
    """Lines and measures of a one-plant-one-policy plan; ``normal`` first."""
    lines = tuple(
        Line(ln.id, float(ln.restart_cost_yuan), int(ln.min_stop_days)) for ln in plan.lines
    )
    options = []
    emis = [(ln.so2_kg_d, ln.nox_kg_d, ln.pm_kg_d, ln.vocs_kg_d) for ln in plan.lines]
    for mid in plan.measure_ids():
        m = plan.measure(mid)
        loads = tuple(float(m.loads.get(ln.id, 1.0)) for ln in plan.lines)
        cut = [0.0, 0.0, 0.0, 0.0]
        cost = 0.0
        for ln, e, load in zip(plan.lines, emis, loads, strict=True):
            off = 1.0 - load
            if off:
                for i in range(4):
                    cut[i] += off * e[i]
                cost += off * ln.value_added_yuan_d
        options.append(
            Option(
                mid,
                m.name or mid,
                (_r(cut[0]), _r(cut[1]), _r(cut[2]), _r(cut[3])),
                _r(cost),
                loads,
            )
        )
    return lines, tuple(options)


def default_options(source: Source, city: CityPlan) -> tuple[Option, ...]:
    """The city's default measures for a kind without a plan file; ``normal`` first."""
    options = [Option(NORMAL, "normal operation", (0.0, 0.0, 0.0, 0.0), 0.0)]
    defaults = city.defaults.get(source.kind)
    if defaults is None:
        return tuple(options)
    for m in defaults.measures:
        cut = tuple(
            _r(m.cut_fraction.get(p, 0.0) * getattr(source, f"{p}_kg_d")) for p in POLLUTANTS
        )
        cost = _r(m.cost_fraction * source.value_added_yuan_d)
        options.append(Option(m.id, m.name or m.id, cut, cost))  # type: ignore[arg-type]
    return tuple(options)


def _stricter(a: Option, b: Option, by_fraction: bool) -> bool:
    """a is at least as strict as b: lower-or-equal loads (plans) or ≥ cuts (defaults)."""
    if by_fraction:
        return all(x >= y for x, y in zip(a.cut_kg, b.cut_kg, strict=True))
    return all(x <= y for x, y in zip(a.loads, b.loads, strict=True))


def build_instance(
    dataset: Dataset,
    days: Sequence[tuple[dt.date, str]],
    *,
    overrides: Sequence[Override] = (),
    state: ResponseState | None = None,
) -> Instance:
    """The instance of a response over ``days`` (date, level)."""
    city = dataset.city
    by_override = {o.source: o for o in overrides}
    for o in overrides:
        if o.source not in dataset.by_id:
            raise InputError(f"override: source: unknown source {o.source!r}")
    sources: list[SourceDuty] = []
    index: dict[str, int] = {}
    for src in dataset.sources:
        plan = dataset.plans.get(src.id)
        if plan is not None:
            lines, options = plan_options(plan)
            floors = [options_index(options, plan.floor(level)) for _, level in days]
        else:
            lines, options = (), default_options(src, city)
            kd = city.defaults.get(src.kind)
            floors = [
                options_index(options, kd.levels.get(level, NORMAL) if kd else NORMAL)
                for _, level in days
            ]
        duty = SourceDuty(src.id, lines, options, floors, [], [], [])
        held_by = held(src, city)
        ov = by_override.get(src.id)
        for (_, level), fl in zip(days, floors, strict=True):
            if ov is not None:
                if ov.exempt:
                    m = 0
                else:
                    try:
                        m = options_index(options, ov.measure or NORMAL)
                    except KeyError:
                        raise InputError(
                            f"override: measure: {src.id} has no measure {ov.measure!r} "
                            f"(known: {', '.join(o.id for o in options)})"
                        ) from None
                duty.allowed.append((m,))
                duty.fixed.append("exempt" if ov.exempt else "override")
                duty.note.append(ov.reason)
            elif held_by:
                duty.allowed.append((fl,))
                duty.fixed.append(held_by[0])
                duty.note.append(held_by[1])
            else:
                if plan is not None:  # the one rule validation uses too
                    ids = allowed_measures(plan, None, city, level)
                    duty.allowed.append(tuple(options_index(options, m) for m in ids))
                else:
                    floor_opt = options[fl]
                    duty.allowed.append(
                        tuple(i for i, o in enumerate(options) if _stricter(o, floor_opt, True))
                    )
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
            t.append(_r(tau * base - pol.other_cut_kg_d.get(p, 0.0)))
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


def allowed_measures(plan: Plan, source: Source | None, city: CityPlan, level: str) -> list[str]:
    """The measures of a plan the optimiser may choose at a level (SPEC §4 "Allowed").

    Guaranteed sources and grades in ``protect_grades`` keep exactly their floor; others may
    take any measure at least as strict as the floor on every line. Validation (supply edges)
    and the instance both ask this function.
    """
    floor = plan.floor(level)
    if floor not in plan.measures_by_id:
        return []
    if source is not None and held(source, city):
        return [floor]
    return [m for m in plan.measure_ids() if plan.at_least_as_strict(m, floor)]


def options_index(options: Sequence[Option], measure_id: str) -> int:
    for i, o in enumerate(options):
        if o.id == measure_id:
            return i
    raise KeyError(measure_id)


def held(src: Source, city: CityPlan) -> tuple[str, str] | None:
    """Why a source is held at its floor, if it is: guaranteed firm or protected grade."""
    if src.guarantee:
        return "guaranteed", f"guaranteed firm ({src.guarantee})"
    if src.grade and src.grade in city.protect_grades:
        return "protected_grade", f"grade {src.grade} (protect_grades)"
    return None


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
                    if o.stops(li) and _stricter(o, duty.options[duty.floor[d]], False)
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
    from emergency.supply import build_supply_graph

    edges = []
    for (up, u_line), (down, w_line), share in build_supply_graph(dataset).edges(data="share"):
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
