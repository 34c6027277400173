"""Bounds on values taken from outside: dates and times within 2000-01-01 … 2100-12-31.

Python's dates reach from year 1 to 9999, but arithmetic near either end overflows
(``9999-12-31T23:59:59+00:00`` has no +08:00 wall time; a day added to 31 Dec 9999 is no
date), and a database may not store them at all. Every date or time that comes in from a
request, a forecast or a file is held to these bounds, which no real episode leaves.

Use the annotated types in pydantic models (or FastAPI parameters); out of bounds, they
fail validation with ``must be between 2000-01-01 and 2100-12-31``, naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = dt.date(2000, 1, 1)
"""The first day accepted."""
LATEST = dt.date(2100, 12, 31)
"""The last day accepted."""


def _outside(shown: str) -> ValueError:
    return ValueError(f"must be between {EARLIEST} and {LATEST}, got {shown}")


def check_date(value: dt.date) -> dt.date:
    """``value`` if it lies within :data:`EARLIEST` … :data:`LATEST`; else ValueError."""
    if not EARLIEST <= value <= LATEST:
        raise _outside(value.isoformat())
    return value


def check_datetime(value: dt.datetime) -> dt.datetime:
    """``value`` if its day (as written, in its own offset) is within the bounds.

    The wall-clock day is compared, not the UTC instant: converting a time near year 9999
    to another offset is what overflows, so the check must not do it. Offsets are under a
    day, so every accepted value converts safely to any zone.
    """
    if not EARLIEST <= value.date() <= LATEST:
        raise _outside(value.isoformat())
    return value


BoundedDate = Annotated[dt.date, AfterValidator(check_date)]
"""A date within 2000-01-01 … 2100-12-31."""
BoundedDatetime = Annotated[dt.datetime, AfterValidator(check_datetime)]
"""A date and time on a day within 2000-01-01 … 2100-12-31 (with or without offset)."""
BoundedAwareDatetime = Annotated[AwareDatetime, AfterValidator(check_datetime)]
"""A date and time with a UTC offset, on a day within 2000-01-01 … 2100-12-31."""
