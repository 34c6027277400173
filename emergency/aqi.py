"""Air quality index after HJ 633-2012 and HJ 633-2026.

The breakpoint tables are data (``emergency/data/aqi_hj633.yaml``). Arithmetic is exact:
concentrations become :class:`fractions.Fraction` through their decimal text, and each
sub-index is rounded up with an exact ceiling, so SO2 156.5 µg/m³ gives 101, never 102.
"""

from __future__ import annotations

import datetime
import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from emergency.errors import InputError

DATA_FILE = Path(__file__).parent / "data" / "aqi_hj633.yaml"
DEFAULT_STANDARD = "HJ633-2012"
"""The standard used when neither a standard nor a date is named (docs/FORMATS.md)."""

PRIMARY_ABOVE = 50
"""Primary pollutants are named only when the AQI is above this."""

EXCEEDING_ABOVE = 100
"""A pollutant whose sub-index is above this is "exceeding" (超标)."""

Concentration = float | str | Decimal | Fraction
"""A concentration as given: a number or its decimal text (floats are read by their text)."""


@dataclass(frozen=True)
class Category:
    """One AQI band: ``min_aqi``..``max_aqi`` inclusive (``max_aqi`` None: no upper bound)."""

    key: str
    zh: str
    colour: str
    min_aqi: int
    max_aqi: int | None

    def contains(self, aqi: int) -> bool:
        """Whether ``aqi`` falls in this band."""
        return aqi >= self.min_aqi and (self.max_aqi is None or aqi <= self.max_aqi)


@dataclass(frozen=True)
class _Tables:
    iaqi: tuple[int, ...]
    breakpoints: dict[str, dict[str, tuple[Fraction, ...]]]  # standard → key → BP_0..BP_n
    units: dict[str, str]
    substitute: dict[str, str]
    by_date: tuple[tuple[datetime.date | None, str], ...]
    categories: tuple[Category, ...]


def _exact(number: Any) -> Fraction:
    """A number from the data file as an exact fraction of its decimal text."""
    return Fraction(Decimal(str(number)))


@functools.cache
def _tables() -> _Tables:
    """Read and check the breakpoint file once; a bad file is a packaging bug (ValueError)."""
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    iaqi_levels = tuple(int(v) for v in raw["iaqi"])
    substitute = {str(k): str(v) for k, v in raw["substitute"].items()}
    units = {str(k): str(v) for k, v in raw["units"].items()}
    breakpoints: dict[str, dict[str, tuple[Fraction, ...]]] = {}
    for standard, rows in raw["standards"].items():
        table: dict[str, tuple[Fraction, ...]] = {}
        for key, row in rows.items():
            bps = tuple(_exact(v) for v in row)
            where = f"{DATA_FILE.name}: {standard}.{key}"
            if not 2 <= len(bps) <= len(iaqi_levels) or bps[0] != 0:
                raise ValueError(f"{where}: needs 2..{len(iaqi_levels)} breakpoints from 0")
            if any(lo >= hi for lo, hi in pairwise(bps)):
                raise ValueError(f"{where}: breakpoints must increase")
            if len(bps) < len(iaqi_levels) and key not in substitute:
                raise ValueError(f"{where}: a short row needs a `substitute` entry")
            if key not in units:
                raise ValueError(f"{where}: no unit")
            table[key] = bps
        breakpoints[str(standard)] = table
    if len({tuple(t) for t in breakpoints.values()}) != 1:
        raise ValueError(f"{DATA_FILE.name}: every standard must have the same keys")
    by_date = tuple((entry["from"], str(entry["standard"])) for entry in raw["by_date"])
    categories = []
    low = 0
    for entry in raw["categories"]:
        high = entry["max_aqi"]
        categories.append(
            Category(str(entry["key"]), str(entry["zh"]), str(entry["colour"]), low, high)
        )
        low = (high or 0) + 1
    return _Tables(
        iaqi=iaqi_levels,
        breakpoints=breakpoints,
        units=units,
        substitute=substitute,
        by_date=by_date,
        categories=tuple(categories),
    )


STANDARDS: tuple[str, ...] = tuple(_tables().breakpoints)
"""The standards with a breakpoint table: ``HJ633-2012``, ``HJ633-2026``."""

KEYS: tuple[str, ...] = tuple(_tables().breakpoints[DEFAULT_STANDARD])
"""Concentration keys in report order; bare names are 24-hour means."""

UNITS: Mapping[str, str] = _tables().units
"""Unit of each key (µg/m³; CO in mg/m³)."""

CATEGORIES: tuple[Category, ...] = _tables().categories
"""AQI bands from 优 excellent to 严重污染 severe."""


@dataclass(frozen=True)
class DailyAqi:
    """The AQI of one day (or hour) and how it came about.

    Attributes
    ----------
    aqi : the largest sub-index.
    primary : keys whose sub-index equals the AQI; empty when the AQI is 50 or less.
    category, category_zh, colour : the AQI band (``heavy``, ``重度污染``, ``purple``).
    iaqi : sub-index per key given (keys whose sub-index is not computed are left out).
    off_scale : some concentration lies above its table (爆表); its sub-index is 500.
    off_scale_keys : those keys.
    substituted : key not computed → key used instead (``{"so2_1h": "so2"}``).
    exceeding : keys with a sub-index above 100.
    standard : the breakpoint table used.
    """

    aqi: int
    primary: list[str]
    category: str
    category_zh: str
    colour: str
    iaqi: dict[str, int]
    off_scale: bool
    off_scale_keys: list[str]
    substituted: dict[str, str]
    exceeding: list[str]
    standard: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``emergency aqi --json``."""
        return {
            "aqi": self.aqi,
            "primary": list(self.primary),
            "category": self.category,
            "iaqi": dict(self.iaqi),
            "off_scale": self.off_scale,
            "standard": self.standard,
        }


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _check_standard(standard: object) -> str:
    if standard not in STANDARDS:
        raise InputError(f"standard {_show(standard)}: unknown; use one of {', '.join(STANDARDS)}")
    return str(standard)


def _check_key(key: object, value: object) -> str:
    if not isinstance(key, str) or key not in KEYS:
        raise InputError(f"{key}={_show(value)}: unknown pollutant; use one of {', '.join(KEYS)}")
    return key


def _concentration(key: str, value: object) -> Fraction:
    """``value`` as an exact non-negative fraction, via its decimal text for floats."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{key}={_show(value)}: not a number")
    if isinstance(value, numbers.Rational):
        exact = Fraction(int(value.numerator), int(value.denominator))
    elif isinstance(value, numbers.Real | Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise InputError(f"{key}={_show(value)}: not a number") from None
        if not number.is_finite():
            raise InputError(f"{key}={_show(value)}: not a finite number")
        exact = Fraction(number)
    else:
        raise InputError(f"{key}={_show(value)}: not a number")
    if exact < 0:
        raise InputError(f"{key}={_show(value)}: a concentration cannot be negative")
    return exact


def _segment_index(bps: tuple[Fraction, ...], levels: tuple[int, ...], c: Fraction) -> int | None:
    """IAQI of ``c`` on its segment, rounded up exactly; None above the last breakpoint."""
    for i in range(1, len(bps)):
        if c <= bps[i]:
            lo, hi = bps[i - 1], bps[i]
            value = Fraction(levels[i] - levels[i - 1]) / (hi - lo) * (c - lo) + levels[i - 1]
            return math.ceil(value)
    return None


def _not_computed(key: str, value: object, standard: str) -> str:
    t = _tables()
    top = t.breakpoints[standard][key][-1]
    return (
        f"{key}={_show(value)}: above {top} {t.units[key]} its sub-index is not computed "
        f"(HJ 633) and the {t.substitute[key]} sub-index replaces it"
    )


def standard_for(date: datetime.date) -> str:
    """The standard that assesses ``date``: HJ633-2026 from 2026-03-01, HJ633-2012 before."""
    if isinstance(date, datetime.datetime):
        date = date.date()
    if not isinstance(date, datetime.date):
        raise InputError(f"date {_show(date)}: not a date")
    chosen = _tables().by_date[0][1]
    for start, standard in _tables().by_date:
        if start is None or start <= date:
            chosen = standard
    return chosen


def category_of(aqi: int) -> Category:
    """The AQI band holding ``aqi``."""
    for category in CATEGORIES:
        if category.contains(aqi):
            return category
    raise InputError(f"aqi={aqi}: not a valid AQI")


def iaqi(pollutant: str, value: Concentration, standard: str = DEFAULT_STANDARD) -> int:
    """Sub-index of one concentration, rounded up; 500 above the table (off the scale).

    Parameters
    ----------
    pollutant : a key of :data:`KEYS` (``pm25``, ``so2_1h``, ``o3_8h``, ...).
    value : concentration in µg/m³ (CO in mg/m³).
    standard : ``HJ633-2012`` or ``HJ633-2026``.

    Raises
    ------
    InputError
        Unknown key or standard; a negative, NaN or non-numeric value; SO2 1-hour or O3
        8-hour above 800, whose sub-index HJ 633 does not compute.
    """
    standard = _check_standard(standard)
    key = _check_key(pollutant, value)
    c = _concentration(key, value)
    t = _tables()
    sub = _segment_index(t.breakpoints[standard][key], t.iaqi, c)
    if sub is not None:
        return sub
    if key in t.substitute:
        raise InputError(_not_computed(key, value, standard))
    return t.iaqi[-1]


def daily_aqi(
    values: Mapping[str, Concentration],
    standard: str | None = None,
    date: datetime.date | None = None,
) -> DailyAqi:
    """AQI, primary pollutants and category of a set of concentrations.

    Parameters
    ----------
    values : concentration per key of :data:`KEYS`; at least one.
    standard : ``HJ633-2012`` or ``HJ633-2026``; by default chosen by ``date``
        (:func:`standard_for`), and HJ633-2012 when no date is given either.
    date : the day assessed, used only to choose the standard.

    Notes
    -----
    SO2 1-hour above 800 is not computed and the 24-hour ``so2`` is used; O3 8-hour above
    800 is not computed and ``o3_1h`` is used. The replacement must then be given.
    """
    if standard is not None:
        standard = _check_standard(standard)
    elif date is not None:
        standard = standard_for(date)
    else:
        standard = DEFAULT_STANDARD
    if not values:
        raise InputError(f"no concentrations given; name at least one of {', '.join(KEYS)}")
    given: dict[str, Fraction] = {}
    for raw_key, value in values.items():
        key = _check_key(raw_key, value)
        given[key] = _concentration(key, value)

    t = _tables()
    sub_indices: dict[str, int] = {}
    off_scale_keys: list[str] = []
    substituted: dict[str, str] = {}
    for key in KEYS:
        if key not in given:
            continue
        sub = _segment_index(t.breakpoints[standard][key], t.iaqi, given[key])
        if sub is not None:
            sub_indices[key] = sub
        elif key in t.substitute:
            if t.substitute[key] not in given:
                message = _not_computed(key, values[key], standard)
                raise InputError(f"{message}, but {t.substitute[key]} is not given")
            substituted[key] = t.substitute[key]
        else:
            sub_indices[key] = t.iaqi[-1]
            off_scale_keys.append(key)

    aqi = max(sub_indices.values())
    band = category_of(aqi)
    return DailyAqi(
        aqi=aqi,
        primary=[k for k, v in sub_indices.items() if v == aqi] if aqi > PRIMARY_ABOVE else [],
        category=band.key,
        category_zh=band.zh,
        colour=band.colour,
        iaqi=sub_indices,
        off_scale=bool(off_scale_keys),
        off_scale_keys=off_scale_keys,
        substituted=substituted,
        exceeding=[k for k, v in sub_indices.items() if v > EXCEEDING_ABOVE],
        standard=standard,
    )
