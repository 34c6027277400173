"""The consultation forecast (docs/FORMATS.md): a joint environment–meteorology daily AQI forecast.

Each day gives exactly one of an AQI value, an AQI range ``[low, high]``, or the daily
concentrations from which the engine computes the AQI. Days are consecutive calendar dates.
Every problem is reported at once, each naming the file, the JSON line (when the forecast
was read from text) and the field, e.g.
``forecast.json:14: days[1].concentrations.pm25: must be ≥ 0, got -3``.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from emergency import LEVELS
from emergency.aqi import HOUR_KEYS, HOURS_PER_DAY, aqi_from_hourly_aqi, rolling_daily_aqi
from emergency.aqi import standard_for as _standard_for
from emergency.bounds import BoundedDate, BoundedDatetime
from emergency.errors import InputError, ValidationErrors, where

Level = Literal["blue", "yellow", "orange", "red"]
Standard = Literal["HJ633-2012", "HJ633-2026", "by-date"]

POLLUTANT_KEYS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co", "o3_8h", "o3_1h")
"""Concentration keys of a forecast day: 24-hour means, ozone daily maxima (µg/m³; CO mg/m³)."""

PRIMARY_NAMES: frozenset[str] = frozenset((*POLLUTANT_KEYS, "o3"))
"""Names accepted for ``primary`` (forecasters often write plain ``o3``)."""

WIDE_ABOVE = 300.0
"""A range whose high is above this AQI ..."""
WIDE_FACTOR = 3.0
"""... and more than this many times its low is refused as a likely typo ([210, 2600] for
[210, 260]: off-scale, and orange turned red) unless the day says ``"wide_range": true``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Concentrations(_Strict):
    """Daily concentrations, µg/m³ (CO mg/m³); at least one key."""

    pm25: float | None = Field(default=None, ge=0)
    pm10: float | None = Field(default=None, ge=0)
    so2: float | None = Field(default=None, ge=0)
    no2: float | None = Field(default=None, ge=0)
    co: float | None = Field(default=None, ge=0)
    o3_8h: float | None = Field(default=None, ge=0)
    o3_1h: float | None = Field(default=None, ge=0)

    _exact: dict[str, Fraction] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _not_empty(self) -> Concentrations:
        if not self.values():
            raise ValueError(f"give at least one of {', '.join(POLLUTANT_KEYS)}")
        return self

    def values(self) -> dict[str, float | Fraction]:
        """The concentrations given, by key (exact for the deciding window of ``hours``)."""
        if self._exact is not None:
            return dict(self._exact)
        return {k: v for k in POLLUTANT_KEYS if (v := getattr(self, k)) is not None}


class Hour(_Strict):
    """One hour of a forecast day: ``aqi`` alone, or 1-hour concentrations (µg/m³; CO mg/m³)."""

    aqi: float | None = Field(default=None, ge=0)
    pm25: float | None = Field(default=None, ge=0)
    pm10: float | None = Field(default=None, ge=0)
    so2: float | None = Field(default=None, ge=0)
    no2: float | None = Field(default=None, ge=0)
    co: float | None = Field(default=None, ge=0)
    o3: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Hour:
        if self.aqi is not None and self.values():
            raise ValueError("give `aqi` or 1-hour concentrations, not both")
        if self.aqi is None and not self.values():
            raise ValueError(f"give `aqi` or at least one of {', '.join(HOUR_KEYS)}")
        return self

    def values(self) -> dict[str, float]:
        """The 1-hour concentrations given, by key."""
        return {k: v for k in HOUR_KEYS if (v := getattr(self, k)) is not None}

    @property
    def kind(self) -> str:
        """``aqi`` or the concentration keys given, e.g. ``pm25, o3``."""
        return "aqi" if self.aqi is not None else ", ".join(self.values())


_HOUR_AT = re.compile(r"\[(\d+)\]: (.*)", re.DOTALL)


class ForecastDay(_Strict):
    """One forecast day: ``aqi`` (value or ``[low, high]``) or ``concentrations``."""

    date: BoundedDate
    wide_range: bool | None = Field(default=None, strict=True)
    """True: the ``aqi`` range is meant to be this wide (see :data:`WIDE_FACTOR`)."""
    aqi: float | tuple[float, float] | None = None
    concentrations: Concentrations | None = None
    hours: list[Hour] | None = None
    """24 hours, 00–23: the day's AQI is then the rolling 24-hour AQI (docs/FORMATS.md)."""
    primary: list[str] = Field(default_factory=list)

    @field_validator("hours", mode="before")
    @classmethod
    def _24_hours(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) != HOURS_PER_DAY:
            raise ValueError(f"must list exactly {HOURS_PER_DAY} hours (00–23), got {len(value)}")
        return value

    @field_validator("hours", mode="after")
    @classmethod
    def _same_kind(cls, value: list[Hour] | None) -> list[Hour] | None:
        first = value[0].kind if value else ""
        for j, hour in enumerate(value or []):
            if hour.kind != first:
                raise ValueError(
                    f"[{j}]: gives {hour.kind} but hour 0 gives {first}; every hour of a day "
                    "gives the same"
                )
        return value

    @field_validator("aqi", mode="before")
    @classmethod
    def _aqi(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            if len(value) != 2 or not all(_is_number(v) for v in value):
                raise ValueError(f"a range must be [low, high] numbers, got {value!r}")
            low, high = float(value[0]), float(value[1])
            day = info.data.get("date")
            shown = f"range [{value[0]}, {value[1]}]" + (f" on {day}" if day else "")
            if low < 0:
                raise ValueError(f"must be ≥ 0, got {value[0]} ({shown})")
            if low > high:
                raise ValueError(f"{shown}: low must be ≤ high")
            if high > WIDE_ABOVE and high > WIDE_FACTOR * low and not info.data.get("wide_range"):
                raise ValueError(
                    f"{shown} is implausibly wide: the high is above {WIDE_ABOVE:g} and more "
                    f"than {WIDE_FACTOR:g}× the low (a typo?); if it is meant, add "
                    '"wide_range": true to this day'
                )
            return (low, high)
        if not _is_number(value):
            raise ValueError(f"must be a number or [low, high], got {value!r}")
        if value < 0:
            raise ValueError(f"must be ≥ 0, got {value}")
        return float(value)

    @field_validator("primary", mode="before")
    @classmethod
    def _primary(cls, value: Any) -> Any:
        names = [] if value is None else [value] if isinstance(value, str) else value
        if not isinstance(names, list):
            raise ValueError(f"must be a pollutant key or a list of them, got {value!r}")
        for name in names:
            if name not in PRIMARY_NAMES:
                known = ", ".join(sorted(PRIMARY_NAMES))
                raise ValueError(f"unknown pollutant {name!r} (known: {known})")
        return names

    @model_validator(mode="after")
    def _exactly_one(self) -> ForecastDay:
        given = [self.aqi, self.concentrations, self.hours]
        if all(v is None for v in given):
            raise ValueError("give `aqi` (a value or [low, high]), `concentrations` or `hours`")
        if sum(v is not None for v in given) > 1:
            raise ValueError("give only one of `aqi`, `concentrations` and `hours`, not more")
        return self

    @model_serializer(mode="wrap")
    def _without_derived(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.hours is not None and isinstance(data, dict):  # derived from `hours`
            data.pop("aqi", None)
            data.pop("concentrations", None)
        return data

    def set_from_hours(self, previous: ForecastDay | None, standard: str | None) -> None:
        """Fill ``aqi`` (hourly AQI) or ``concentrations`` (the deciding window) from ``hours``.

        ``previous``: the day before, whose hours complete the windows crossing midnight when
        they are of the same kind. ``standard``: the table that chooses the deciding window
        (None: the one in force on the date).
        """
        if self.hours is None:
            return
        before = previous.hours if previous is not None else None
        if before is not None and before[0].kind != self.hours[0].kind:
            before = None
        if self.hours[0].aqi is not None:
            prior = [h.aqi or 0.0 for h in before] if before else None
            value = aqi_from_hourly_aqi(prior, [h.aqi or 0.0 for h in self.hours])
            self.aqi = float(math.ceil(value))
            return
        prior_values = [h.values() for h in before] if before else None
        chosen = standard or _standard_for(self.date)
        _result, window = rolling_daily_aqi(
            prior_values, [h.values() for h in self.hours], chosen, self.date
        )
        concentrations = Concentrations.model_validate({k: float(v) for k, v in window.items()})
        concentrations._exact = dict(window)
        self.concentrations = concentrations

    @property
    def aqi_range(self) -> tuple[float, float] | None:
        """``(low, high)`` of an AQI value or range; None for concentrations."""
        if self.aqi is None:
            return None
        if isinstance(self.aqi, tuple):
            return self.aqi
        return (self.aqi, self.aqi)


class Forecast(_Strict):
    """A consultation forecast: who issued it, when, and the daily AQI ahead."""

    issued_at: BoundedDatetime | None = None
    effective_at: BoundedDatetime | None = Field(
        default=None,
        description="when the warning takes effect on its first day (default 00:00 there)",
    )
    issued_by: list[str] = Field(default_factory=list)
    city: str | None = None
    rule_set: str | None = None
    standard: Standard | None = None
    regional_order: Level | None = None
    note: str | None = None
    days: list[ForecastDay] = Field(min_length=1)

    _source: str = PrivateAttr(default="<input>")

    @field_validator("issued_at", "effective_at")
    @classmethod
    def _offset(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must carry a UTC offset, e.g. 2016-12-15T16:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _consecutive(self) -> Forecast:
        for i, message in date_problems([d.date for d in self.days], self.issued_at):
            raise ValueError(f"days[{i}].date: {message}")  # the first; parse_forecast: all
        return self

    @model_validator(mode="after")
    def _from_hours(self) -> Forecast:
        named = self.standard if self.standard != "by-date" else None
        for i, day in enumerate(self.days):
            day.set_from_hours(self.days[i - 1] if i else None, named)
        return self

    @property
    def source(self) -> str:
        """The file (or ``<input>``) this forecast was read from, for error messages."""
        return self._source

    @property
    def dates(self) -> list[dt.date]:
        """The forecast days in order."""
        return [d.date for d in self.days]


def date_problems(
    dates: Sequence[dt.date | None], issued_at: dt.datetime | None = None
) -> list[tuple[int, str]]:
    """``(index, message)`` for each day not the day after the one before it, and for a
    first day before the issue date (a forecast cannot open a warning in the past).

    A ``None`` (a date that could not be read) is skipped together with its neighbours'
    comparisons, so one bad date gives one error, not three.
    """
    problems: list[tuple[int, str]] = []
    if issued_at is not None and dates and dates[0] is not None:
        issued = issued_at.date()  # the issuer's own local date
        if dates[0] < issued:
            problems.append(
                (0, f"{dates[0]} is before the issue date {issued}: forecast days start on it")
            )
    for i in range(1, len(dates)):
        before, date = dates[i - 1], dates[i]
        if before is None or date is None:
            continue
        if date == before:
            problems.append((i, f"{date} is duplicated"))
        elif date < before:
            problems.append((i, f"{date} is out of order (after {before})"))
        elif date != before + dt.timedelta(days=1):
            missing = before + dt.timedelta(days=1)
            problems.append((i, f"{date} follows {before}; {missing} is missing"))
    return problems


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def field_path(loc: Sequence[str | int]) -> str:
    """``('days', 1, 'aqi')`` → ``days[1].aqi`` (pydantic's ``[key]`` markers dropped)."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error as ``(field path, message)`` in the engine's words."""
    loc = [p for p in error.get("loc", ()) if isinstance(p, str | int)]
    # Unions and tagged validators add their type names to the location; drop them.
    loc = [p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "tuple[")))]
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    path = field_path(loc)
    if kind == "extra_forbidden":
        if "concentrations" in loc[:-1]:
            return path, f"unknown pollutant (known: {', '.join(POLLUTANT_KEYS)})"
        return path, "unknown field"
    if kind == "missing":
        return path, "required field is missing"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        if "'blue'" in expected:
            return path, f"unknown level {value!r} (known: {', '.join(LEVELS)})"
        return path, f"unknown value {value!r} (expected {expected})"
    if kind in ("greater_than_equal", "greater_than"):
        sign = "≥" if kind == "greater_than_equal" else ">"
        bound = ctx.get("ge", ctx.get("gt"))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return path, f"must be {sign} {bound}, got {value}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        got = len(value) if isinstance(value, list | tuple | dict) else value
        return path, f"must list at least {n} item{'s' if n != 1 else ''}, got {got}"
    if kind == "value_error":
        message = str(ctx.get("error", error.get("msg", "")))
        if not loc and ": " in message and message.split(": ", 1)[0].startswith("days["):
            return tuple(message.split(": ", 1))  # type: ignore[return-value]
        return path, message
    message = str(error.get("msg", kind)).replace("Input should be", "must be")
    if value is None or "got" in message or isinstance(value, dict | list):
        return path, message
    return path, f"{message}, got {value!r}"


JsonPath = tuple[str | int, ...]

_DATE: TypeAdapter[dt.date] = TypeAdapter(BoundedDate)
_DATETIME: TypeAdapter[dt.datetime | None] = TypeAdapter(BoundedDatetime | None)
_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def json_lines(text: str) -> dict[JsonPath, int]:
    """The 1-based line of every member and item of a JSON document, by path.

    A member's line is its key's; an item's, where it starts. ``text`` must be valid JSON
    (decoded already); anything unexpected gives what was found so far (lines are a help,
    never a reason to fail).
    """
    starts = [i for i, c in enumerate(text) if c == "\n"]
    lines: dict[JsonPath, int] = {}

    def line(i: int) -> int:
        return bisect.bisect_left(starts, i) + 1

    def skip(i: int) -> int:
        match = _WS.match(text, i)
        return match.end() if match else i

    def string(i: int) -> tuple[str, int]:
        match = _STRING.match(text, i)
        if match is None:
            raise ValueError(f"no JSON string at {i}")
        return str(json.loads(match.group())), match.end()

    def value(i: int, path: JsonPath) -> int:
        i = skip(i)
        lines.setdefault(path, line(i))
        opening = text[i]
        if opening == '"':
            return string(i)[1]
        if opening not in "{[":
            scalar = _SCALAR.match(text, i)
            if scalar is None:
                raise ValueError(f"no JSON value at {i}")
            return scalar.end()
        closing, i, k = ("}" if opening == "{" else "]"), skip(i + 1), 0
        if text[i] == closing:
            return i + 1
        while True:
            if opening == "{":
                key, j = string(skip(i))
                member = (*path, key)
                if member in lines:  # a repeated key: the last wins, as in json
                    for seen in [p for p in lines if p[: len(member)] == member]:
                        del lines[seen]
                lines[member] = line(skip(i))
                i = value(skip(j) + 1, member)  # after the ':'
            else:
                i = value(i, (*path, k))
                k += 1
            i = skip(i)
            if text[i] != ",":
                return i + 1
            i += 1

    with contextlib.suppress(ValueError, IndexError, RecursionError):
        value(0, ())
    return lines


def _line_of(lines: Mapping[JsonPath, int], path: JsonPath) -> int | None:
    """The line of ``path``, or of the deepest part of it found."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _loc(error: Mapping[str, Any]) -> JsonPath:
    """The path of a pydantic error in the JSON (its type markers dropped)."""
    return tuple(
        p
        for p in error.get("loc", ())
        if isinstance(p, int)
        or (isinstance(p, str) and p != "[key]" and not p.startswith(("function-", "tuple[")))
    )


def _raw_dates(obj: Mapping[str, Any]) -> list[dt.date | None]:
    days = obj.get("days")
    if not isinstance(days, list):
        return []
    dates: list[dt.date | None] = []
    for day in days:
        try:
            dates.append(_DATE.validate_python(day.get("date")) if isinstance(day, dict) else None)
        except ValidationError:
            dates.append(None)
    return dates


def _raw_issued(obj: Mapping[str, Any]) -> dt.datetime | None:
    try:
        value = _DATETIME.validate_python(obj.get("issued_at"))
    except ValidationError:
        return None
    return value if value is not None and value.utcoffset() is not None else None


def forecast_problems(exc: ValidationError, obj: Mapping[str, Any]) -> list[tuple[JsonPath, str]]:
    """Every problem of a forecast that failed validation: ``(path, message)``.

    Pydantic checks the order of the days only when every day is valid, and stops at the
    first; the dates are checked here on their own, so all problems come out at once.
    """
    problems: list[tuple[JsonPath, str]] = []
    for error in exc.errors(include_url=False):
        loc = _loc(error)
        if not loc and error.get("type") == "value_error":
            continue  # the order of the days (Forecast._consecutive): all of them below
        _path, message = describe_error(error)
        if loc and loc[-1] == "hours" and (at := _HOUR_AT.match(message)):
            loc, message = (*loc, int(at.group(1))), at.group(2)  # name the hour
        problems.append((loc, message))
    problems += [
        (("days", i, "date"), m) for i, m in date_problems(_raw_dates(obj), _raw_issued(obj))
    ]

    def day(problem: tuple[JsonPath, str]) -> int:  # fields first, then day by day
        loc = problem[0]
        return loc[1] if len(loc) > 1 and loc[0] == "days" and isinstance(loc[1], int) else -1

    return sorted(problems, key=day)


def parse_forecast(obj: Any, source: str = "<input>", text: str | None = None) -> Forecast:
    """Validate a decoded forecast JSON object.

    Parameters
    ----------
    obj : the decoded JSON (a mapping).
    source : file name used in error messages.
    text : the JSON text ``obj`` was decoded from, if any: errors then name its lines.

    Raises
    ------
    ValidationErrors
        Every problem found, one line each naming ``source``, the line (with ``text``)
        and the field: ``forecast.json:9: days[1].aqi: ...``. One problem: one line.
    """
    if not isinstance(obj, Mapping):
        raise InputError(f"{source}: expected a JSON object, got {type(obj).__name__}")
    try:
        forecast = Forecast.model_validate(obj)
    except ValidationError as exc:
        problems = forecast_problems(exc, obj)
        lines = json_lines(text) if text is not None else {}
        located = [(_line_of(lines, path), path, message) for path, message in problems]
        if lines:
            located.sort(key=lambda item: item[0] or 0)
        raise ValidationErrors(
            [f"{where(source, line, field_path(path) or None)}: {m}" for line, path, m in located],
            what=source,
        ) from None
    forecast._source = source
    return forecast


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def load_forecast(path: str | Path) -> Forecast:
    """Read and validate a forecast JSON file (docs/FORMATS.md).

    Raises
    ------
    InputError
        Unreadable file or malformed JSON (with line and column); :class:`ValidationErrors`
        listing every problem of the content, each with its line.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"{source}: cannot read: {reason}") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    except ValueError as exc:
        raise InputError(f"{source}: malformed JSON: {exc}") from None
    return parse_forecast(obj, source, text)
