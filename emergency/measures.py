"""A source's measures: from its one-plant-one-policy plan, or from its kind's city defaults.

This module alone decides "plan file or city defaults". A plant has a plan (lines, named
measures with a load per line, the measure committed at each level); a site, yard or quarry
without a plan follows the city's default measures for its kind (cut and cost fractions of
its inventory row). Everything that asks which measures a source has, which it may take at a
level, what one allows or costs — the optimiser's duties, validation of supply edges, orders,
overrides and pages — asks here.

Cuts and costs are rounded to :data:`DECIMALS` places, which recovers the exact decimal
(data carry fewer decimals than that: kg and yuan with at most two, loads and fractions with
at most four), so ``(1 − 0.8) × 1150`` is 230, not 229.99999999999997, and the solver's
integer scaling stays exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from emergency import NORMAL, POLLUTANTS
from emergency.instance import Line, Option
from emergency.plans import no_line_above

if TYPE_CHECKING:
    from emergency.cityplan import CityPlan, KindDefaults
    from emergency.inventory import Source
    from emergency.plans import Plan

DECIMALS = 6


class Data(Protocol):
    """What this module reads of a data folder (:class:`emergency.dataset.Dataset` is one)."""

    @property
    def plans(self) -> Mapping[str, Plan]: ...

    @property
    def by_id(self) -> Mapping[str, Source]: ...

    @property
    def city(self) -> CityPlan: ...


def exact(x: float) -> float:
    """``x`` rounded to :data:`DECIMALS` places (and never ``-0.0``)."""
    return round(x, DECIMALS) + 0.0


@dataclass(frozen=True)
class SourceMeasures:
    """What a source can do: its lines (plans only), its measures and its level floors."""

    lines: tuple[Line, ...]
    options: tuple[Option, ...]
    """``options[0]`` is always normal operation."""
    floors: dict[str, str]
    """Level → the measure the source commits to (its plan's, or its kind's defaults)."""
    line_ids: tuple[str, ...]
    from_plan: bool

    def floor(self, level: str | None) -> str:
        """The measure committed at ``level`` (``normal`` where none is named)."""
        return self.floors.get(level, NORMAL) if level else NORMAL

    def index(self, measure_id: str) -> int:
        """The position of a measure in :attr:`options`; ``KeyError`` if the source has none."""
        return options_index(self.options, measure_id)

    def ids(self) -> list[str]:
        """Measure ids, ``normal`` first."""
        return [o.id for o in self.options]


def plan_options(plan: Plan) -> tuple[tuple[Line, ...], tuple[Option, ...]]:
    """Lines and measures of a one-plant-one-policy plan; ``normal`` first."""
    lines = tuple(
        Line(ln.id, float(ln.restart_cost_yuan), int(ln.min_stop_days)) for ln in plan.lines
    )
    ids = [ln.id for ln in plan.lines]
    rows = [
        (ln.so2_kg_d, ln.nox_kg_d, ln.pm_kg_d, ln.vocs_kg_d, ln.value_added_yuan_d)
        for ln in plan.lines
    ]
    options = []
    # Written out (no inner loop over the pollutants, no call for each rounding): a city of
    # 50,000 sources has 300,000 measures. Line by line in file order, as ever: the same sums.
    for measure_id, measure in plan.measures_by_id.items():
        get = measure.loads.get
        loads = tuple([float(get(line_id, 1.0)) for line_id in ids])
        so2 = nox = pm = vocs = cost = 0.0
        for load, (a, b, c, e, v) in zip(loads, rows, strict=True):
            if load != 1.0:
                off = 1.0 - load
                so2 += off * a
                nox += off * b
                pm += off * c
                vocs += off * e
                cost += off * v
        options.append(
            Option(
                measure_id,
                measure.name or measure_id,
                # exact() written in
                (
                    round(so2, DECIMALS) + 0.0,
                    round(nox, DECIMALS) + 0.0,
                    round(pm, DECIMALS) + 0.0,
                    round(vocs, DECIMALS) + 0.0,
                ),
                round(cost, DECIMALS) + 0.0,
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
        so2, nox, pm, vocs = (
            exact(m.cut_fraction.get(p, 0.0) * getattr(source, f"{p}_kg_d")) for p in POLLUTANTS
        )
        cost = exact(m.cost_fraction * source.value_added_yuan_d)
        options.append(Option(m.id, m.name or m.id, (so2, nox, pm, vocs), cost))
    return tuple(options)


def kind_defaults(dataset: Data, source_id: str) -> KindDefaults | None:
    """The city defaults a source follows: only when it has no plan file."""
    if source_id in dataset.plans:
        return None
    return dataset.city.defaults.get(dataset.by_id[source_id].kind)


def source_measures(dataset: Data, source_id: str) -> SourceMeasures:
    """A source's measures: its plan's if it has one, else its kind's city defaults.

    Raises ``KeyError`` for a source not in the inventory.
    """
    plan = dataset.plans.get(source_id)
    if plan is not None:
        lines, options = plan_options(plan)
        ids = tuple(line.id for line in plan.lines)
        return SourceMeasures(lines, options, dict(plan.levels), ids, True)
    defaults = kind_defaults(dataset, source_id)
    floors = dict(defaults.levels) if defaults is not None else {}
    source = dataset.by_id[source_id]
    return SourceMeasures((), default_options(source, dataset.city), floors, (), False)


def options_index(options: Sequence[Option], measure_id: str) -> int:
    """The position of ``measure_id`` in ``options``; ``KeyError`` if it is not there."""
    for i, option in enumerate(options):
        if option.id == measure_id:
            return i
    raise KeyError(measure_id)


def stricter(a: Option, b: Option, by_fraction: bool) -> bool:
    """``a`` is at least as strict as ``b``: ≥ cuts (city defaults) or ≤ loads (plans)."""
    if by_fraction:
        return all(x >= y for x, y in zip(a.cut_kg, b.cut_kg, strict=True))
    return all(x <= y for x, y in zip(a.loads, b.loads, strict=True))


def held(source: Source, city: CityPlan) -> tuple[str, str] | None:
    """Why a source is held at its floor, if it is: guaranteed firm or protected grade."""
    if source.guarantee:
        return "guaranteed", f"guaranteed firm ({source.guarantee})"
    if source.grade and source.grade in city.protect_grades:
        return "protected_grade", f"grade {source.grade} (protect_grades)"
    return None


def allowed_measures(plan: Plan, source: Source | None, city: CityPlan, level: str) -> list[str]:
    """The measures of a plan the optimiser may choose at a level.

    Guaranteed sources and grades in ``protect_grades`` keep exactly their floor; others may
    take any measure at least as strict as the floor on every line. Validation (supply edges)
    and the optimiser's duties both ask this function.
    """
    floor = plan.floor(level)
    if floor not in plan.measures_by_id:
        return []
    if source is not None and held(source, city):
        return [floor]
    return [m for m in plan.measure_ids() if plan.at_least_as_strict(m, floor)]


def allowed_options(options: Sequence[Option], floor: int) -> tuple[int, ...]:
    """:func:`allowed_measures` of a source that is not held, by position in the options
    of its plan (:func:`plan_options`), ``options[floor]`` its floor: the same rule
    (:func:`emergency.plans.no_line_above`) on the same loads, without looking each up."""
    than = options[floor].loads
    return tuple(i for i, o in enumerate(options) if no_line_above(o.loads, than))


def allowed_loads(dataset: Data, source: str, measure: str) -> tuple[dict[str, float], float]:
    """Load allowed per line under a measure, and for the whole source.

    The whole-source load is weighted by value added (the same weights as the cost), so it
    equals ``1 − daily cost / daily value added``; for a source following the city's
    defaults it is ``1 − cost_fraction``. A measure the source does not have allows
    normal operation (``({}, 1.0)``): the caller keeps what it was planned with.
    """
    plan = dataset.plans.get(source)
    if plan is not None:
        if measure not in plan.measures_by_id:
            return {}, 1.0
        loads = {line.id: plan.load(measure, line.id) for line in plan.lines}
        weights = {line.id: line.value_added_yuan_d for line in plan.lines}
        total_weight = sum(weights.values())
        if total_weight > 0:
            total = sum(loads[k] * w for k, w in weights.items()) / total_weight
        else:
            total = sum(loads.values()) / len(loads) if loads else 1.0
        return loads, round(total, 6)
    defaults = kind_defaults(dataset, source) if source in dataset.by_id else None
    if defaults is None or measure == NORMAL:
        return {}, 1.0
    try:
        cost_fraction = float(defaults.measure(measure).cost_fraction)
    except KeyError:
        return {}, 1.0
    return {}, round(1.0 - cost_fraction, 6)


def measure_name(dataset: Data, source: str, measure: str) -> str:
    """The display name of a source's measure (its plan's, or the city default's)."""
    if measure == NORMAL:
        return "normal operation"
    if source not in dataset.by_id:
        return measure
    options = source_measures(dataset, source).options
    try:
        return options[options_index(options, measure)].name or measure
    except KeyError:
        return measure


def floor_cost_yuan_d(dataset: Data, source: str, measure: str) -> float:
    """Daily cost of a source's measure (restart costs aside); 0 for an unknown one."""
    if source not in dataset.by_id:
        return 0.0
    options = source_measures(dataset, source).options
    try:
        return float(options[options_index(options, measure)].cost_yuan_d)
    except KeyError:
        return 0.0
