"""Observed daily AQI: one observation as sent (HTTP body or CSV row) and the CSV reader.

An observation is the daily AQI of a monitoring station (``city``: the city's mean of its
stations, the default) on a date: an integer on the AQI scale, 0–500 (HJ 633: a higher
sub-index is off the scale and counts as 500). ``corrects`` names the stored observation
it corrects (append-only: a correction is a new row).

The CSV (``emergency verify --observations``, ``emergency observations import``) has the
header ``date,aqi`` and optionally ``station``, ``primary``, ``corrects``; every problem is
reported at once as ``file:line: field: what``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emergency.bounds import BoundedDate
from emergency.errors import InputError, ValidationErrors, where
from emergency.forecast import PRIMARY_NAMES, describe_error

AQI_MAX = 500
"""The top of the AQI scale (HJ 633)."""
CITY = "city"
"""The station name of the city's mean AQI, the one forecasts are verified against."""
MAX_ID = 2**31 - 1


class ObservationIn(BaseModel):
    """One observed daily AQI as sent."""

    model_config = ConfigDict(extra="forbid")

    date: BoundedDate = Field(description="the day observed (the city's calendar day)")
    aqi: int = Field(ge=0, le=AQI_MAX, strict=True, description="the daily AQI, 0–500")
    station: str = Field(
        default=CITY,
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f]+$",
        description="the monitoring station; `city` (default) is the city's mean",
    )
    primary: str | None = Field(
        default=None, description="the primary pollutant (pm25, pm10, o3_8h …), if any"
    )
    corrects: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="the id of the stored observation this one corrects (same station "
        "and date); without it a different value for a stored day is refused (409)",
    )

    @field_validator("primary")
    @classmethod
    def _primary(cls, value: str | None) -> str | None:
        if value is not None and value not in PRIMARY_NAMES:
            known = ", ".join(sorted(PRIMARY_NAMES))
            raise ValueError(f"unknown pollutant {value!r} (known: {known})")
        return value


COLUMNS = ("date", "aqi", "station", "primary", "corrects")


def _cell(row: Mapping[str, Any], key: str) -> Any:
    value = row.get(key)
    value = value.strip() if isinstance(value, str) else value
    if value in ("", None):
        return None
    if key in ("aqi", "corrects"):
        try:
            return int(value)
        except ValueError:
            return value  # the model names it
    return value


def parse_observations_csv(text: str, name: str) -> list[tuple[int, ObservationIn]]:
    """The rows of an observation CSV, each with its line.

    Raises
    ------
    ValidationErrors
        Every problem, ``file:line: field: what``: a missing header column, a bad value,
        an unknown column, the same station and date twice.
    """
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if not {"date", "aqi"} <= set(fields):
        raise InputError(f"{where(name, 1)}: expected the header date,aqi (got {','.join(fields)})")
    unknown = [f for f in fields if f not in COLUMNS]
    if unknown:
        raise InputError(
            f"{where(name, 1, unknown[0])}: unknown column (known: {', '.join(COLUMNS)})"
        )
    reader.fieldnames = fields
    rows: list[tuple[int, ObservationIn]] = []
    errors: list[str] = []
    seen: dict[tuple[str, dt.date, int | None], int] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:  # more cells than the header has columns
            errors.append(f"{where(name, line)}: more cells than the header's {len(fields)}")
            continue
        raw = {k: v for k in COLUMNS if (v := _cell(row, k)) is not None}
        if not raw:
            continue  # a blank line
        try:
            obs = ObservationIn.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                path, message = describe_error(error)
                errors.append(f"{where(name, line, path or None)}: {message}")
            continue
        key = (obs.station, obs.date, obs.corrects)
        if key in seen:
            errors.append(
                f"{where(name, line, 'date')}: station {obs.station!r}, {obs.date}: already "
                f"on line {seen[key]}"
            )
            continue
        seen[key] = line
        rows.append((line, obs))
    if errors:
        raise ValidationErrors(errors, what=name)
    return rows


def read_observations_csv(path: Path) -> list[tuple[int, ObservationIn]]:
    """:func:`parse_observations_csv` of a file."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"{name}: cannot read: {reason}") from None
    return parse_observations_csv(text, name)


def city_series(rows: list[tuple[int, ObservationIn]], name: str) -> dict[dt.date, int]:
    """The city's daily AQI from CSV rows (the ``city`` station; a correction in the file
    replaces the value it follows).

    Raises
    ------
    InputError
        No row of the ``city`` station.
    """
    series: dict[dt.date, int] = {}
    for _line, obs in rows:
        if obs.station == CITY and (obs.corrects is not None or obs.date not in series):
            series[obs.date] = obs.aqi
    if not series and rows:
        raise InputError(f"{name}: station: no row of station {CITY!r} (the city's AQI)")
    return series
