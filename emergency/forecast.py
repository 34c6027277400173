"""The consultation forecast (SPEC §5): a joint environment–meteorology daily AQI forecast.

Each day gives exactly one of an AQI value, an AQI range ``[low, high]``, or the daily
concentrations from which the engine computes the AQI. Days are consecutive calendar dates.
Every error names the file and the field, e.g.
``forecast.json: days[1].concentrations.pm25: must be ≥ 0, got -3``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from emergency import LEVELS
from emergency.bounds import BoundedDate, BoundedDatetime
from emergency.errors import InputError

Level = Literal["blue", "yellow", "orange", "red"]
Standard = Literal["HJ633-2012", "HJ633-2026", "by-date"]

POLLUTANT_KEYS: tuple[str, ...] = ("pm25", "pm10", "so2", "no2", "co", "o3_8h", "o3_1h")
"""Concentration keys of a forecast day: 24-hour means, ozone daily maxima (µg/m³; CO mg/m³)."""

PRIMARY_NAMES: frozenset[str] = frozenset((*POLLUTANT_KEYS, "o3"))
"""Names accepted for ``primary`` (forecasters often write plain ``o3``)."""


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

    @model_validator(mode="after")
    def _not_empty(self) -> Concentrations:
        if not self.values():
            raise ValueError(f"give at least one of {', '.join(POLLUTANT_KEYS)}")
        return self

    def values(self) -> dict[str, float]:
        """The concentrations given, by key."""
        return {k: v for k in POLLUTANT_KEYS if (v := getattr(self, k)) is not None}


class ForecastDay(_Strict):
    """One forecast day: ``aqi`` (value or ``[low, high]``) or ``concentrations``."""

    date: BoundedDate
    aqi: float | tuple[float, float] | None = None
    concentrations: Concentrations | None = None
    primary: list[str] = Field(default_factory=list)

    @field_validator("aqi", mode="before")
    @classmethod
    def _aqi(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            if len(value) != 2 or not all(_is_number(v) for v in value):
                raise ValueError(f"a range must be [low, high] numbers, got {value!r}")
            low, high = float(value[0]), float(value[1])
            if low < 0:
                raise ValueError(f"must be ≥ 0, got {value[0]}")
            if low > high:
                raise ValueError(f"range [{value[0]}, {value[1]}]: low must be ≤ high")
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
        if self.aqi is None and self.concentrations is None:
            raise ValueError("give `aqi` (a value or [low, high]) or `concentrations`")
        if self.aqi is not None and self.concentrations is not None:
            raise ValueError("give only one of `aqi` and `concentrations`, not both")
        return self

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
    issued_by: list[str] = Field(default_factory=list)
    city: str | None = None
    rule_set: str | None = None
    standard: Standard | None = None
    regional_order: Level | None = None
    note: str | None = None
    days: list[ForecastDay] = Field(min_length=1)

    _source: str = PrivateAttr(default="<input>")

    @field_validator("issued_at")
    @classmethod
    def _offset(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must carry a UTC offset, e.g. 2016-12-15T16:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _consecutive(self) -> Forecast:
        for i in range(1, len(self.days)):
            before, date = self.days[i - 1].date, self.days[i].date
            if date == before:
                raise ValueError(f"days[{i}].date: {date} is duplicated")
            if date < before:
                raise ValueError(f"days[{i}].date: {date} is out of order (after {before})")
            if date != before + dt.timedelta(days=1):
                missing = before + dt.timedelta(days=1)
                raise ValueError(f"days[{i}].date: {date} follows {before}; {missing} is missing")
        return self

    @property
    def source(self) -> str:
        """The file (or ``<input>``) this forecast was read from, for error messages."""
        return self._source

    @property
    def dates(self) -> list[dt.date]:
        """The forecast days in order."""
        return [d.date for d in self.days]


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


def _raise_validation(exc: ValidationError, source: str) -> None:
    path, message = describe_error(exc.errors(include_url=False)[0])
    where = f"{source}: {path}" if path else source
    raise InputError(f"{where}: {message}") from None


def parse_forecast(obj: Any, source: str = "<input>") -> Forecast:
    """Validate a decoded forecast JSON object.

    Parameters
    ----------
    obj : the decoded JSON (a mapping).
    source : file name used in error messages.

    Raises
    ------
    InputError
        One line naming ``source`` and the field, for the first problem found.
    """
    if not isinstance(obj, Mapping):
        raise InputError(f"{source}: expected a JSON object, got {type(obj).__name__}")
    try:
        forecast = Forecast.model_validate(obj)
    except ValidationError as exc:
        _raise_validation(exc, source)
        raise  # unreachable: keeps type checkers sure a Forecast is returned
    forecast._source = source
    return forecast


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def load_forecast(path: str | Path) -> Forecast:
    """Read and validate a forecast JSON file (SPEC §5).

    Raises
    ------
    InputError
        Unreadable file, malformed JSON (with line and column), or invalid content.
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
    return parse_forecast(obj, source)
