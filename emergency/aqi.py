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
from collections.abc import Mapping, Sequence
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


HOURLY_ONLY: tuple[str, ...] = ("so2_1h", "no2_1h", "co_1h")
"""1-hour SO2, NO2 and CO: they count in the hourly (real-time) AQI only, never the daily one."""

DAILY_KEYS: tuple[str, ...] = tuple(k for k in KEYS if k not in HOURLY_ONLY)
"""Keys of the daily AQI: 24-hour means, and ozone's daily maximum 1-hour and 8-hour values."""

HOURLY_KEYS: tuple[str, ...] = (
    "pm25",
    "pm10",
    "so2_1h",
    "no2_1h",
    "co_1h",
    "o3_1h",
    "o3_8h",
    "so2",
)
"""Keys of the hourly (real-time) AQI: ``pm25``, ``pm10`` are then 1-hour concentrations read on
the 24-hour breakpoints; ``o3_8h`` the 8-hour moving mean ending in the hour; ``so2`` (24-hour
mean) only stands in for ``so2_1h`` above 800."""

HOURLY_STAND_IN: Mapping[str, str] = {"so2": "so2_1h"}
"""In the hourly AQI, a key that counts only in place of another above its table."""

HOUR_KEYS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co", "o3")
"""1-hour concentrations of one forecast hour (µg/m³; CO mg/m³)."""

HOURS_PER_DAY = 24
O3_8H_HOURS = 8


def _choose_standard(standard: str | None, date: datetime.date | None) -> str:
    if standard is not None:
        return _check_standard(standard)
    if date is not None:
        return standard_for(date)
    return DEFAULT_STANDARD


def _assess(values: Mapping[str, Concentration], standard: str, hourly: bool) -> DailyAqi:
    """The AQI of checked ``values`` (keys of the mode, exact concentrations)."""
    allowed = HOURLY_KEYS if hourly else DAILY_KEYS
    if not values:
        raise InputError(f"no concentrations given; name at least one of {', '.join(allowed)}")
    given: dict[str, Fraction] = {}
    for raw_key, value in values.items():
        key = _check_key(raw_key, value)
        if key not in allowed:
            raise InputError(_wrong_mode(key, value, hourly))
        given[key] = _concentration(key, value)
    if hourly:
        for stand_in, key in HOURLY_STAND_IN.items():
            if stand_in in given and key not in given:
                raise InputError(
                    f"{stand_in}={_show(values[stand_in])}: in the hourly AQI the 24-hour mean "
                    f"only stands in for {key} above its table; give {key}"
                )

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
    if hourly:
        for stand_in, key in HOURLY_STAND_IN.items():
            if key not in substituted:  # the 1-hour value counts: the stand-in does not
                sub_indices.pop(stand_in, None)
                if stand_in in off_scale_keys:
                    off_scale_keys.remove(stand_in)

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


def _wrong_mode(key: str, value: object, hourly: bool) -> str:
    if hourly:
        return (
            f"{key}={_show(value)}: a 24-hour mean does not count in the hourly (real-time) "
            f"AQI; give the 1-hour value {key}_1h (keys: {', '.join(HOURLY_KEYS)})"
        )
    return (
        f"{key}={_show(value)}: a 1-hour value counts only in the hourly (real-time) AQI; the "
        f"daily AQI (HJ 633) uses the 24-hour mean {key.removesuffix('_1h')} "
        "(for the hourly AQI: hourly_aqi, emergency aqi --hourly)"
    )


def daily_aqi(
    values: Mapping[str, Concentration],
    standard: str | None = None,
    date: datetime.date | None = None,
) -> DailyAqi:
    """Daily AQI, primary pollutants and category of a day's concentrations (HJ 633).

    Parameters
    ----------
    values : concentration per key of :data:`DAILY_KEYS` (24-hour means of ``pm25``,
        ``pm10``, ``so2``, ``no2``, ``co``; ozone's daily maximum ``o3_1h`` and ``o3_8h``);
        at least one.
    standard : ``HJ633-2012`` or ``HJ633-2026``; by default chosen by ``date``
        (:func:`standard_for`), and HJ633-2012 when no date is given either.
    date : the day assessed, used only to choose the standard.

    Raises
    ------
    InputError
        A bad key, value or standard; a 1-hour SO2, NO2 or CO value (``so2_1h``, ``no2_1h``,
        ``co_1h``): those belong to the hourly AQI (:func:`hourly_aqi`) only.

    Notes
    -----
    O3 8-hour above 800 is not computed and ``o3_1h`` is used; it must then be given.
    """
    return _assess(values, _choose_standard(standard, date), hourly=False)


def hourly_aqi(
    values: Mapping[str, Concentration],
    standard: str | None = None,
    date: datetime.date | None = None,
) -> DailyAqi:
    """Hourly (real-time) AQI of one hour's concentrations (HJ 633).

    Parameters
    ----------
    values : concentration per key of :data:`HOURLY_KEYS`: the 1-hour ``so2_1h``,
        ``no2_1h``, ``co_1h``, ``o3_1h``; ``pm25`` and ``pm10`` as 1-hour concentrations read
        on their 24-hour breakpoints (HJ 633 has no 1-hour particulate rows); ``o3_8h`` the
        8-hour moving mean; ``so2`` the 24-hour mean, used only in place of ``so2_1h`` above
        800 (HJ 633), and then required.
    standard, date : as for :func:`daily_aqi`.

    Raises
    ------
    InputError
        A bad key, value or standard; a 24-hour ``no2`` or ``co``; ``so2`` without ``so2_1h``.
    """
    return _assess(values, _choose_standard(standard, date), hourly=True)


# --- the rolling 24-hour AQI of hourly forecasts ---------------------------------------


def _hour_values(
    hours: Sequence[Mapping[str, Concentration]], where: str
) -> list[dict[str, Fraction]]:
    if len(hours) != HOURS_PER_DAY:
        raise InputError(f"{where}: must list exactly {HOURS_PER_DAY} hours, got {len(hours)}")
    out = []
    for j, hour in enumerate(hours):
        exact: dict[str, Fraction] = {}
        for key, value in hour.items():
            if key not in HOUR_KEYS:
                known = ", ".join(HOUR_KEYS)
                raise InputError(f"{where}[{j}].{key}: unknown pollutant (known: {known})")
            exact[key] = _concentration(f"{where}[{j}].{key}", value)
        out.append(exact)
    return out


def _windows(previous: Sequence[Any] | None, hours: Sequence[Any]) -> list[list[Any]]:
    """The complete 24-hour windows that end in the day, earliest first."""
    if previous is None:
        return [list(hours)]
    joined = [*previous, *hours]
    return [joined[end - HOURS_PER_DAY + 1 : end + 1] for end in range(HOURS_PER_DAY, len(joined))]


def window_values(window: Sequence[Mapping[str, Fraction]]) -> dict[str, Fraction]:
    """Daily-AQI values of one 24-hour window of 1-hour concentrations.

    24-hour means of ``pm25``, ``pm10``, ``so2``, ``no2``, ``co``; the window's highest
    1-hour O3 (``o3_1h``) and highest running 8-hour mean inside it (``o3_8h``). A pollutant
    counts only when every hour of the window gives it.
    """
    out: dict[str, Fraction] = {}
    for key in HOUR_KEYS:
        if not all(key in hour for hour in window):
            continue
        series = [hour[key] for hour in window]
        if key == "o3":
            out["o3_1h"] = max(series)
            out["o3_8h"] = max(
                sum(series[i : i + O3_8H_HOURS], Fraction(0)) / O3_8H_HOURS
                for i in range(len(series) - O3_8H_HOURS + 1)
            )
        else:
            out[key] = sum(series, Fraction(0)) / len(series)
    return out


def rolling_daily_aqi(
    previous_day_hours: Sequence[Mapping[str, Concentration]] | None,
    hours: Sequence[Mapping[str, Concentration]],
    standard: str | None = None,
    date: datetime.date | None = None,
) -> tuple[DailyAqi, dict[str, Fraction]]:
    """:func:`daily_aqi_from_hours` and the values of the deciding window (the latest on ties)."""
    chosen = _choose_standard(standard, date)
    day = _hour_values(hours, "hours")
    before = _hour_values(previous_day_hours, "previous_day_hours") if previous_day_hours else None
    best: tuple[DailyAqi, dict[str, Fraction]] | None = None
    for window in _windows(before, day):
        values = window_values(window)
        if not values:
            continue
        result = _assess(values, chosen, hourly=False)
        if best is None or result.aqi >= best[0].aqi:
            best = (result, values)
    if best is None:
        raise InputError("hours: no pollutant is given in every hour")
    return best


def daily_aqi_from_hours(
    previous_day_hours: Sequence[Mapping[str, Concentration]] | None,
    hours: Sequence[Mapping[str, Concentration]],
    standard: str | None = None,
    date: datetime.date | None = None,
) -> DailyAqi:
    """The rolling 24-hour AQI of a day given as 24 hours of 1-hour concentrations.

    The highest daily AQI (:func:`daily_aqi`) over the complete 24-hour windows that end in
    the day (hours 00–23): with ``previous_day_hours`` (the day before, 24 hours) the 24
    windows ending at 00, 01, ... 23, each reaching back into the day before; without, the
    day's own window. Each window gives :func:`window_values`. Keys of an hour:
    :data:`HOUR_KEYS`. ``standard``, ``date``: as for :func:`daily_aqi` (the day's date).
    """
    return rolling_daily_aqi(previous_day_hours, hours, standard, date)[0]


def aqi_from_hourly_aqi(
    previous_day_aqi: Sequence[Concentration] | None, hourly_aqi_values: Sequence[Concentration]
) -> Fraction:
    """The day's value from 24 hourly AQI values: the highest 24-hour running mean, exact.

    HJ 633 defines no daily AQI from hourly AQI values; the engine takes the highest mean of
    the hourly AQI over the complete 24-hour windows ending in the day (as for
    :func:`daily_aqi_from_hours`). Round it up for an integer AQI.
    """
    day = [_concentration(f"hours[{j}].aqi", v) for j, v in enumerate(hourly_aqi_values)]
    if len(day) != HOURS_PER_DAY:
        raise InputError(f"hours: must list exactly {HOURS_PER_DAY} hours, got {len(day)}")
    before = None
    if previous_day_aqi:
        before = [_concentration(f"previous[{j}].aqi", v) for j, v in enumerate(previous_day_aqi)]
        if len(before) != HOURS_PER_DAY:
            raise InputError(f"previous day: must list exactly {HOURS_PER_DAY} hours")
    return max(sum(w, Fraction(0)) / HOURS_PER_DAY for w in _windows(before, day))
