"""The tables of the synthetic city, read once from ``emergency/data/synth_*.yaml``.

What makes the SYNTHETIC Jiyuan-like city of :mod:`emergency.synth` plausible is data, not
code: the line types of each industry, the grade schedules, the districts, the name parts
(``synth_industries.yaml``) and the city-plan tables (``synth_city.yaml``). This module
reads and checks them; a broken table is a packaging bug and raises :class:`ValueError`
naming the file and the key, e.g. ``synth_industries.yaml: industries.steel.lines[0].so2_kg_d:
Input should be a valid integer``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from emergency import POLLUTANTS
from emergency.cityplan import CityNotice
from emergency.inventory import GRADES as INVENTORY_GRADES
from emergency.inventory import GUARANTEES

DATA_DIR = Path(__file__).parent / "data"
INDUSTRIES_FILE = DATA_DIR / "synth_industries.yaml"
CITY_FILE = DATA_DIR / "synth_city.yaml"
SEASON_FILE = DATA_DIR / "synth_season.yaml"

LEVELS: tuple[str, ...] = ("yellow", "orange", "red")  # henan-2019 has no blue
GRADES: tuple[str, ...] = (*INVENTORY_GRADES, "")  # "": outside the graded industries
DUST_KINDS: tuple[str, ...] = ("site", "yard", "quarry")
HALF = -1
"""Schedule marker (``half`` in the file): stop every other line of the type; one line: 50 %."""

Loads = tuple[int, int, int]
"""Yellow, orange, red, in percent of normal load (whole numbers: the arithmetic is exact)."""


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            expected = ", ".join(repr(c) for c in choices)
            raise ValueError(f"unknown {what} {value!r} (expected one of {expected})")
        return value

    return check


def _every(choices: tuple[str, ...], what: str) -> Callable[[Mapping[str, Any]], Any]:
    def check(mapping: Mapping[str, Any]) -> Any:
        missing = [c for c in choices if c not in mapping]
        if missing:
            raise ValueError(f"missing {what} {', '.join(repr(m) for m in missing)}")
        return mapping

    return check


def _half(value: Any) -> Any:
    return HALF if value == "half" else value


def _check_loads(loads: Loads) -> Loads:
    if any(x != HALF and not 0 <= x <= 100 for x in loads):
        raise ValueError("a load is a percent in 0..100 (or `half` at yellow)")
    if HALF in loads[1:]:
        raise ValueError("`half` is allowed at yellow only")
    return loads


def _check_range(per_plant: tuple[int, int]) -> tuple[int, int]:
    if per_plant[0] > per_plant[1]:
        raise ValueError("the fewest lines exceed the most")
    return per_plant


def _unique_keys(lines: tuple[LineType, ...]) -> tuple[LineType, ...]:
    keys = [lt.key for lt in lines]
    twice = [k for i, k in enumerate(keys) if k in keys[:i]]
    if twice:
        raise ValueError(f"key {twice[0]!r} given twice")
    return lines


Count = Annotated[StrictInt, Field(ge=0)]
Weight = Annotated[StrictInt, Field(ge=1)]
Amount = Annotated[StrictInt, Field(ge=0)]
Fraction = Annotated[StrictFloat, Field(ge=0, le=1)]
Load = Annotated[StrictInt, BeforeValidator(_half)]
Grade = Annotated[StrictStr, AfterValidator(_one_of(GRADES, "grade"))]
Level = Annotated[StrictStr, AfterValidator(_one_of(LEVELS, "level"))]
Pollutant = Annotated[StrictStr, AfterValidator(_one_of(POLLUTANTS, "pollutant"))]
Schedule = Annotated[
    dict[Grade, Annotated[tuple[Load, Load, Load], AfterValidator(_check_loads)]],
    AfterValidator(_every(GRADES, "grade")),
]
PerPollutant = Annotated[dict[Pollutant, Fraction], AfterValidator(_every(POLLUTANTS, "pollutant"))]
Names = Annotated[tuple[StrictStr, ...], Field(min_length=1)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- industries


class District(_Table):
    """A disc around a town or park centre, in degrees."""

    lon: StrictFloat
    lat: StrictFloat
    radius_deg: Annotated[StrictFloat, Field(gt=0)]


class LineType(_Table):
    """A kind of production line: emissions and value added at plant size 1.0."""

    key: StrictStr
    name: StrictStr
    per_plant: Annotated[tuple[Count, Count], AfterValidator(_check_range)]
    """Fewest and most lines of this type in one plant."""
    schedule: StrictStr
    so2_kg_d: Amount
    nox_kg_d: Amount
    pm_kg_d: Amount
    vocs_kg_d: Amount
    value_added_yuan_d: Amount
    can_stop: StrictBool
    min_load_pct: Annotated[StrictInt, Field(ge=0, le=100)]
    """Technical minimum of a running line (a stoppable line may still stop: load 0)."""
    restart_cost_yuan: Amount
    min_stop_days: Weight


class Guarantee(_Table):
    """A guaranteed (保障类) kind and the probability that a plant of the industry has it."""

    kind: Annotated[StrictStr, AfterValidator(_one_of(GUARANTEES, "guarantee"))]
    probability: Fraction


class Industry(_Table):
    """One industry: its share of the plants, where and how graded they are, their lines."""

    weight: Weight
    core: StrictBool = False
    placement: StrictStr
    grades: Annotated[dict[Grade, Weight], Field(min_length=1)]
    guarantee: Guarantee | None = None
    trade_names: Names
    lines: Annotated[tuple[LineType, ...], Field(min_length=1), AfterValidator(_unique_keys)]


class DustSources(_Table):
    """Placements and name parts of construction sites, yards and quarries."""

    site_placement: StrictStr
    yard_placement: StrictStr
    quarry_placement: StrictStr
    site_types: Names
    site_phases: Names
    yard_goods: Names


class NameParts(_Table):
    """Characters of invented trade names (字号) and persons, and waste-disposal endings."""

    syllables: Annotated[StrictStr, Field(min_length=3)]
    surnames: Annotated[StrictStr, Field(min_length=1)]
    given_names: Annotated[StrictStr, Field(min_length=1)]
    waste_trade_names: Names


class IndustryTables(_Table):
    """``synth_industries.yaml``."""

    districts: Annotated[dict[StrictStr, District], Field(min_length=1)]
    placements: dict[StrictStr, Annotated[dict[StrictStr, Weight], Field(min_length=1)]]
    schedules: dict[StrictStr, Schedule]
    industries: Annotated[dict[StrictStr, Industry], Field(min_length=1)]
    dust_sources: DustSources
    names: NameParts

    @model_validator(mode="after")
    def _references(self) -> IndustryTables:
        """Every name used as a reference is defined (the message gives the key path)."""
        for key, table in self.placements.items():
            for district in table:
                if district not in self.districts:
                    raise ValueError(f"placements.{key}: no district {district!r}")
        used = [(f"industries.{k}.placement", ind.placement) for k, ind in self.industries.items()]
        used += [
            (f"dust_sources.{kind}_placement", getattr(self.dust_sources, f"{kind}_placement"))
            for kind in DUST_KINDS
        ]
        for where, placement in used:
            if placement not in self.placements:
                raise ValueError(f"{where}: no placement {placement!r}")
        for key, ind in self.industries.items():
            for i, lt in enumerate(ind.lines):
                if lt.schedule not in self.schedules:
                    raise ValueError(
                        f"industries.{key}.lines[{i}].schedule: no schedule {lt.schedule!r}"
                    )
        return self


# --------------------------------------------------------------------------- city plan


class LevelTables(_Table):
    """One warning level of the city plan."""

    cut_fraction: Fraction
    """The level's cut target, a fraction of the baseline for every pollutant."""
    other_cut_fraction: PerPollutant
    """Cuts outside the listed sources, fractions of the baseline."""
    advice: StrictStr
    advice_en: StrictStr


class DefaultMeasure(_Table):
    """A city-default measure: cuts a fraction of emissions at a fraction of value added."""

    id: StrictStr
    name: StrictStr
    cut_fraction: dict[Pollutant, Fraction]
    cost_fraction: Fraction


class Defaults(_Table):
    """The city defaults of one kind of source: measures and the one committed per level."""

    measures: Annotated[tuple[DefaultMeasure, ...], Field(min_length=1)]
    levels: dict[Level, StrictStr]

    @model_validator(mode="after")
    def _known_measures(self) -> Defaults:
        ids = [m.id for m in self.measures]
        for level, measure in self.levels.items():
            if measure not in ids:
                raise ValueError(f"levels.{level}: no measure {measure!r}")
        return self


class CityTables(_Table):
    """``synth_city.yaml``."""

    notice: CityNotice | None = None
    """the city plan's ``notice``, written as it is"""

    listed_share: Annotated[
        dict[Pollutant, Annotated[StrictFloat, Field(gt=0, le=1)]],
        AfterValidator(_every(POLLUTANTS, "pollutant")),
    ]
    levels: Annotated[dict[Level, LevelTables], AfterValidator(_every(LEVELS, "level"))]
    defaults: Annotated[
        dict[Annotated[StrictStr, AfterValidator(_one_of(DUST_KINDS, "kind"))], Defaults],
        AfterValidator(_every(DUST_KINDS, "kind")),
    ]


# --------------------------------------------------------------------------- heating season


class SeasonQuota(_Table):
    """A staggered-production quota: the lines of an industry, stop days or an output cut."""

    id: StrictStr
    industry: StrictStr
    lines: Annotated[tuple[StrictStr, ...], Field(min_length=1)]
    """Glob patterns on line ids (``kiln-*``)."""
    stop_days: Annotated[StrictInt, Field(ge=1)] | None = None
    output_cut: Annotated[StrictFloat, Field(gt=0, le=1)] | None = None
    per: Literal["firm"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SeasonQuota:
        if (self.stop_days is None) == (self.output_cut is None):
            raise ValueError("give either stop_days or output_cut")
        if self.per is not None and self.output_cut is None:
            raise ValueError("per: firm applies to output_cut only")
        return self


class SeasonKeyPeriod(_Table):
    """Days on which a level's duties apply as floors."""

    name: Annotated[StrictStr, Field(min_length=1)]
    start: dt.date
    end: dt.date
    level: Level


class RiskShape(_Table):
    """The risk climatology: a raised cosine around ``peak`` plus seeded noise."""

    file: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.-]+\.csv$")]
    peak: dt.date
    half_width_days: Annotated[StrictInt, Field(ge=1)]
    floor: Fraction
    amplitude: Fraction
    noise: Fraction


class SeasonTables(_Table):
    """``synth_season.yaml``."""

    id: Annotated[StrictStr, Field(min_length=1)]
    start: dt.date
    end: dt.date
    quotas: tuple[SeasonQuota, ...]
    min_running_share: dict[StrictStr, Fraction]
    key_periods: tuple[SeasonKeyPeriod, ...]
    risk: RiskShape

    @model_validator(mode="after")
    def _inside(self) -> SeasonTables:
        if self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")
        ids = [q.id for q in self.quotas]
        twice = [k for i, k in enumerate(ids) if k in ids[:i]]
        if twice:
            raise ValueError(f"quotas: id {twice[0]!r} given twice")
        for i, period in enumerate(self.key_periods):
            if not self.start <= period.start <= period.end <= self.end:
                raise ValueError(
                    f"key_periods[{i}]: {period.start} .. {period.end} is not inside the season"
                )
        if not self.start <= self.risk.peak <= self.end:
            raise ValueError(f"risk.peak: {self.risk.peak} is outside the season")
        return self


# --------------------------------------------------------------------------- loading

T = TypeVar("T", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (the second ``steel:`` would win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_tables(path: Path, model: type[T]) -> T:
    """Read and check one table file.

    Raises
    ------
    ValueError
        A syntax error (with its line) or a bad table, naming the file and the key path.
    """
    try:
        with path.open(encoding="utf-8") as fh:
            raw = yaml.load(fh, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path.name}{line}: YAML: {exc.problem}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(p for p in error["loc"] if p != "[key]")
            where = f"{path.name}: {_key_path(loc)}" if loc else path.name
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] not in ("value_error", "missing", "extra_forbidden"):
                message += f" (got {error.get('input')!r:.60})"
            problems.append(f"{where}: {message}")
        raise ValueError("\n".join(problems)) from None


@functools.cache
def industry_tables() -> IndustryTables:
    """The bundled ``synth_industries.yaml``, read and checked once."""
    return load_tables(INDUSTRIES_FILE, IndustryTables)


@functools.cache
def city_tables() -> CityTables:
    """The bundled ``synth_city.yaml``, read and checked once."""
    return load_tables(CITY_FILE, CityTables)


@functools.cache
def season_tables() -> SeasonTables:
    """The bundled ``synth_season.yaml``, read and checked once."""
    return load_tables(SEASON_FILE, SeasonTables)
