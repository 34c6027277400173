"""The city plan (plans/city.yaml): targets per level, default measures, public advice.

The rule set and AQI standard in force, the whole-society baseline, per level the cut
fractions, the expected cut of non-listed sources, SO2+NOx pooling and the advice to the
public; the default measures of sites, yards and quarries without plan files;
``protect_grades``; ``ack_deadline_hours``; the deeper measures ``emergency list import``
gives plants per industry (``deeper_limits``, ``deeper_stop``); how the public warning
outputs name the city (``notice``: issuing body, notice number pattern, CAP sender, area and
geocode). Checked like the plans: every problem with the file, the YAML line and the field.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
)

from emergency import LEVELS, NORMAL, POLLUTANTS
from emergency.errors import ValidationErrors, where
from emergency.inventory import INDUSTRIES
from emergency.plans import (
    MODEL_CONFIG,
    TOLERANCE,
    DefaultKindKey,
    Fraction,
    GradeKey,
    LevelKey,
    NonNegative,
    PollutantKey,
    number_text,
    pydantic_problems,
    read_text,
)
from emergency.yamlfile import Problem, format_problems, read_yaml

DEFAULT_DEEPER_LIMITS: tuple[float, ...] = (30.0, 50.0)
"""Whole-plant limits (cut in %) ``list import`` adds when ``deeper_limits`` names none."""

DEEPER_DEFAULT = "default"
"""The key of ``deeper_limits`` / ``deeper_stop`` for industries not named there."""


def _industry_key(value: str) -> str:
    if value != DEEPER_DEFAULT and value not in INDUSTRIES:
        raise ValueError(
            f"unknown industry {value!r} (expected {', '.join((DEEPER_DEFAULT, *INDUSTRIES))})"
        )
    return value


DeeperKey = Annotated[str, AfterValidator(_industry_key)]
Percent = Annotated[float, Field(gt=0, lt=100, strict=True)]


def _fill_pollutants(values: dict[str, float]) -> dict[str, float]:
    return {p: float(values.get(p, 0.0)) for p in POLLUTANTS}


class DefaultMeasure(BaseModel):
    """A city default for kinds without plan files: cut fractions and a cost fraction."""

    model_config = MODEL_CONFIG

    id: str = Field(min_length=1)
    name: str = ""
    cut_fraction: dict[PollutantKey, Fraction] = Field(default_factory=dict, validate_default=True)
    cost_fraction: Fraction = 0.0

    @field_validator("cut_fraction")
    @classmethod
    def _fill(cls, value: dict[str, float]) -> dict[str, float]:
        return _fill_pollutants(value)


class KindDefaults(BaseModel):
    """Default measures of one kind (mildest first) and the one that applies per level."""

    model_config = MODEL_CONFIG

    measures: list[DefaultMeasure] = Field(default_factory=list)
    levels: dict[str, str] = Field(default_factory=dict)

    def measure(self, measure_id: str) -> DefaultMeasure:
        """The default measure with this id (``normal``: no cut, no cost)."""
        if measure_id == NORMAL:
            return DefaultMeasure(id=NORMAL, name="normal operation")
        for measure in self.measures:
            if measure.id == measure_id:
                return measure
        raise KeyError(f"no default measure {measure_id!r}")

    def floor(self, level: str | None) -> str:
        """The default measure at a level (``normal`` if none)."""
        return self.levels.get(level, NORMAL) if level else NORMAL


class LevelPolicy(BaseModel):
    """What a warning level demands: cut fractions of the whole-society baseline."""

    model_config = MODEL_CONFIG

    cut_fraction: dict[PollutantKey, Fraction] = Field(default_factory=dict, validate_default=True)
    other_cut_kg_d: dict[PollutantKey, NonNegative] = Field(
        default_factory=dict, validate_default=True
    )
    pool_so2_nox: bool = False
    advice: str = ""
    advice_en: str | None = None

    @field_validator("cut_fraction", "other_cut_kg_d")
    @classmethod
    def _fill(cls, value: dict[str, float]) -> dict[str, float]:
        return _fill_pollutants(value)


NUMBER_FIELDS: tuple[str, ...] = ("year", "seq")
"""The placeholders of ``notice.number``: both must appear."""
CHINA_LON: tuple[float, float] = (73.0, 136.0)
CHINA_LAT: tuple[float, float] = (3.0, 54.0)
"""The bounds of ``notice.area`` (degrees, WGS 84): China."""
CAP_FORBIDDEN = frozenset(" \t\r\n,<&")
"""Characters CAP 1.2 forbids in ``sender`` (whitespace, comma) and XML's restricted ones."""


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_text)]


def _number_pattern(value: str) -> str:
    """``济重污应急〔{year}〕{seq}号``: only ``{year}`` and ``{seq}``, both present, formattable."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValueError(
            f"not a valid pattern: {exc} (a literal brace is written {{{{ or }}}})"
        ) from None
    names = [name for _, name, _, _ in parts if name is not None]
    for name in names:
        if name not in NUMBER_FIELDS:
            raise ValueError(f"unknown placeholder {{{name}}} (only {{year}} and {{seq}})")
    missing = [f"{{{f}}}" for f in NUMBER_FIELDS if f not in names]
    if missing:
        raise ValueError(
            f"the pattern must contain {{year}} and {{seq}}; missing {' and '.join(missing)}"
        )
    try:
        value.format(year=2016, seq=1)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"not a valid pattern: {exc}") from None
    return value


def _sender(value: str) -> str:
    bad = sorted({ch for ch in value if ch in CAP_FORBIDDEN}, key=value.index)
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise ValueError(f"a CAP sender has no spaces, commas, '<' or '&' (found {shown})")
    return value


def _point(value: Any) -> Any:
    """``[lon, lat]`` in China, as a tuple of two floats."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"a point is [lon, lat], two numbers (got {value!r:.60})")
    lon, lat = float(value[0]), float(value[1])
    inside = (CHINA_LON[0] <= lon <= CHINA_LON[1], CHINA_LAT[0] <= lat <= CHINA_LAT[1])
    if inside == (True, True):
        return (lon, lat)
    if CHINA_LON[0] <= lat <= CHINA_LON[1] and CHINA_LAT[0] <= lon <= CHINA_LAT[1]:
        raise ValueError(f"[{value[0]}, {value[1]}] is [lat, lon]: write each point as [lon, lat]")
    if not inside[0]:
        raise ValueError(f"lon {value[0]} is outside {CHINA_LON[0]:g}..{CHINA_LON[1]:g} (China)")
    raise ValueError(f"lat {value[1]} is outside {CHINA_LAT[0]:g}..{CHINA_LAT[1]:g} (China)")


Point = Annotated[tuple[float, float], BeforeValidator(_point)]


def _shoelace(points: Sequence[tuple[float, float]]) -> float:
    """Twice the signed area of the ring through ``points`` (closed implicitly)."""
    return sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(points, [*points[1:], points[0]], strict=True)
    )


class Geocode(BaseModel):
    """A CAP ``<geocode>``: the coding scheme and the code (``GB/T 2260``, ``419001``)."""

    model_config = MODEL_CONFIG

    valueName: Text
    value: Text


class CityNotice(BaseModel):
    """How the public warning outputs (notice, CAP, Atom, ``/public``) name the city.

    Every field is optional; what is left out keeps the default that docs/PUBLIC.md gives
    (the issuing body and number from the city's name, the area from the sources)."""

    model_config = MODEL_CONFIG

    issuer: Text | None = None
    """issuing body in Chinese (济源市重污染天气应急指挥部)"""
    issuer_en: Text | None = None
    """issuing body in English"""
    number: Annotated[str, AfterValidator(_number_pattern)] | None = None
    """notice number pattern with ``{year}`` and ``{seq}`` (济重污应急〔{year}〕{seq}号)"""
    sender: Annotated[Text, AfterValidator(_sender)] | None = None
    """CAP ``<sender>`` (jiyuan-emergency@example.cn)"""
    area: list[Point] | None = None
    """the city's outline, ``[lon, lat]`` points (closed automatically)"""
    geocode: Geocode | None = None
    """CAP ``<geocode>`` of the area (the administrative division code)"""

    @field_validator("area")
    @classmethod
    def _polygon(cls, value: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if value is None:
            return None
        distinct = list(dict.fromkeys(value))
        if len(distinct) < 3:
            raise ValueError(f"a polygon needs at least 3 distinct points, got {len(distinct)}")
        ring = value[:-1] if len(value) > 1 and value[0] == value[-1] else value
        if abs(_shoelace(ring)) < 1e-12:
            raise ValueError("the points lie on one line: the polygon has no area")
        return value

    def ring(self) -> list[tuple[float, float]]:
        """The area as a closed ring of ``(lat, lon)`` (first = last), CAP's order; [] without
        an area."""
        if not self.area:
            return []
        points = [(lat, lon) for lon, lat in self.area]
        return points if points[0] == points[-1] else [*points, points[0]]


class Supervision(BaseModel):
    """How the meters are held against the orders (docs/METERS.md); defaults when absent."""

    model_config = MODEL_CONFIG

    standby_fraction: float = Field(default=0.05, ge=0, le=0.5)
    """A line ordered stopped may draw this fraction of its baseline (standby: heating,
    lights, pumps); more, in any hour, is ``meter_stopped_draws``."""
    load_tolerance: float = Field(default=0.05, ge=0, le=0.5)
    """A limited line's observed load may exceed its allowed load by this much (metering,
    the baseline's own noise); more is ``meter_over_limit``."""


class CityPlan(BaseModel):
    """``plans/city.yaml``: rule set, baseline, level targets, defaults, policy switches."""

    model_config = MODEL_CONFIG

    name: str
    rule_set: str = Field(min_length=1)
    minimum_rule_set: str | None = Field(default=None, min_length=1)
    """Optional base rule set (provincial, national) the city's may not be milder than."""
    aqi_standard: Literal["by-date", "HJ633-2012", "HJ633-2026"] = "by-date"
    baseline_kg_d: dict[PollutantKey, NonNegative]
    protect_grades: list[GradeKey] = Field(default_factory=list)
    levels: dict[LevelKey, LevelPolicy]
    defaults: dict[DefaultKindKey, KindDefaults] = Field(default_factory=dict)
    ack_deadline_hours: float = Field(default=2.0, gt=0)
    report_by: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    language: Literal["zh", "en"] = "zh"
    """What the CLI's tables and the exports speak unless ``--lang`` says otherwise."""
    deeper_limits: dict[DeeperKey, list[Percent]] = Field(default_factory=dict)
    """Per industry (or ``default``): the whole-plant limits, cut in %, ascending, that
    ``emergency list import`` adds as deeper measures (docs/LIST.md); unnamed: 30, 50."""
    deeper_stop: dict[DeeperKey, bool] = Field(default_factory=dict)
    """Per industry (or ``default``): whether import adds a stop; unnamed: yes."""
    notice: CityNotice | None = None
    """How the public warning outputs name the city (docs/PUBLIC.md); absent: defaults."""
    supervision: Supervision = Field(default_factory=Supervision)
    """Thresholds of the meter checks (docs/METERS.md); absent: 0.05 and 0.05."""

    @field_validator("report_by", mode="before")
    @classmethod
    def _sexagesimal(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 17:00 as the base-60 integer 1020
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value

    @property
    def level_order(self) -> tuple[str, ...]:
        """The city's levels, mildest first."""
        return tuple(level for level in LEVELS if level in self.levels)

    def deeper_for(self, industry: str) -> tuple[tuple[float, ...], bool]:
        """The deeper limits (cut in %) and whether a stop is offered, for an industry.

        The industry's own entry, else the ``default`` entry, else 30 and 50 % and a stop.
        """
        limits = self.deeper_limits.get(
            industry, self.deeper_limits.get(DEEPER_DEFAULT, list(DEFAULT_DEEPER_LIMITS))
        )
        stop = self.deeper_stop.get(industry, self.deeper_stop.get(DEEPER_DEFAULT, True))
        return tuple(limits), stop

    def target_kg_d(self, level: str) -> dict[str, float]:
        """``T(p) = cut_fraction * baseline - other_cut`` per pollutant (may be negative)."""
        policy = self.levels[level]
        return {
            p: policy.cut_fraction[p] * self.baseline_kg_d.get(p, 0.0) - policy.other_cut_kg_d[p]
            for p in POLLUTANTS
        }


def check_city_plan(city: CityPlan) -> list[Problem]:
    """Rules inside the city plan: baseline, defaults named and ordered mildest first."""
    problems: list[Problem] = []
    missing = [p for p in POLLUTANTS if p not in city.baseline_kg_d]
    if missing:
        problems.append(Problem(("baseline_kg_d",), f"missing pollutant(s) {', '.join(missing)}"))
    if not city.levels:
        problems.append(Problem(("levels",), "no levels: name at least one warning level"))
    problems += _deeper_limit_problems(city.deeper_limits)
    for kind, defaults in city.defaults.items():
        base: tuple[str | int, ...] = ("defaults", kind)
        problems += [Problem(base + p.path, p.message) for p in _unique_defaults(defaults.measures)]
        for i in range(1, len(defaults.measures)):
            before, after = defaults.measures[i - 1], defaults.measures[i]
            milder = [
                f"{p} {number_text(after.cut_fraction[p])} < {number_text(before.cut_fraction[p])}"
                for p in POLLUTANTS
                if after.cut_fraction[p] < before.cut_fraction[p] - TOLERANCE
            ]
            if milder:
                problems.append(
                    Problem(
                        (*base, "measures", i),
                        f"{after.id!r} is milder than the previous {before.id!r} on "
                        + ", ".join(milder)
                        + " (list measures mildest first)",
                    )
                )
        ids = {m.id for m in defaults.measures} | {NORMAL}
        for level, measure_id in defaults.levels.items():
            if level not in city.levels:
                known = ", ".join(city.level_order)
                problems.append(
                    Problem((*base, "levels", level), f"not a level of this plan ({known})")
                )
            elif measure_id not in ids:
                known = ", ".join(m.id for m in defaults.measures) or "none"
                problems.append(
                    Problem(
                        (*base, "levels", level),
                        f"names no default measure: {measure_id!r} (measures: {known})",
                    )
                )
        order = [lv for lv in city.level_order if defaults.levels.get(lv, NORMAL) in ids]
        for lower, higher in itertools.pairwise(order):
            low, high = (
                defaults.measure(defaults.floor(lower)),
                defaults.measure(defaults.floor(higher)),
            )
            if any(high.cut_fraction[p] < low.cut_fraction[p] - TOLERANCE for p in POLLUTANTS):
                problems.append(
                    Problem(
                        (*base, "levels", higher)
                        if higher in defaults.levels
                        else (*base, "levels"),
                        f"{higher} ({high.id!r}) is milder than {lower} ({low.id!r})",
                    )
                )
    return problems


def _deeper_limit_problems(limits: dict[str, list[float]]) -> list[Problem]:
    """Each industry's limits ascending, each once."""
    problems: list[Problem] = []
    for key, cuts in limits.items():
        for i in range(1, len(cuts)):
            if cuts[i] in cuts[:i]:
                first = cuts.index(cuts[i])
                message = f"{number_text(cuts[i])} repeats deeper_limits.{key}[{first}]"
            elif cuts[i] < cuts[i - 1]:
                message = (
                    f"{number_text(cuts[i])} is below the previous {number_text(cuts[i - 1])}"
                    " (list the limits ascending, mildest first)"
                )
            else:
                continue
            problems.append(Problem(("deeper_limits", key, i), message))
    return problems


def _unique_defaults(measures: Sequence[DefaultMeasure]) -> list[Problem]:
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, measure in enumerate(measures):
        if measure.id == NORMAL:
            problems.append(Problem(("measures", i, "id"), "'normal' is reserved (no cut)"))
        if measure.id in first:
            problems.append(
                Problem(
                    ("measures", i, "id"),
                    f"duplicate measure id {measure.id!r} (also measures[{first[measure.id]}])",
                )
            )
        first.setdefault(measure.id, i)
    return problems


def parse_city_text(text: str, name: str) -> tuple[CityPlan | None, list[str]]:
    """Parse and check city-plan text."""
    try:
        data, node = read_yaml(text, name)
    except ValidationErrors as exc:
        return None, exc.errors
    if not isinstance(data, dict):
        return None, [f"{where(name, 1)}: expected a mapping of city-plan fields"]
    try:
        city = CityPlan.model_validate(data)
    except ValidationError as exc:
        return None, format_problems(name, pydantic_problems(exc), node)
    return city, format_problems(name, check_city_plan(city), node)


def load_city_plan(
    path: Path | str, display: str | None = None
) -> tuple[CityPlan | None, list[str]]:
    """Read ``plans/city.yaml``; returns the city plan (None if it cannot be built) and errors."""
    name = display if display is not None else str(path)
    text, errors = read_text(Path(path), name)
    if text is None:
        return None, errors
    return parse_city_text(text, name)


def dump_city_plan(city: CityPlan) -> str:
    """The city plan as YAML text."""
    return yaml.safe_dump(city.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
