"""Taking meter readings in: checked as a whole, stored append-only, idempotent, fast.

A batch is all or nothing: every reading is checked (a meter some plan in force names, a
quarter-hour time with a UTC offset not ahead of the server's clock, a finite kWh ≥ 0) and
every problem is listed (400) before anything is written. A reading already stored with
the same value is a no-op, so a gateway may resend a batch after a timeout; the same
meter and time with another value is refused (409) unless the reading is sent as a
correction (``corrects``: the id of the reading it corrects, or ``true`` for the reading in
effect). A correction is a new row; the reading in effect for a meter and time is its
newest correction, else the original.

The rows are written with PostgreSQL's ``COPY`` (SQLite: multi-row INSERTs) in the
request's transaction: a day of 15-minute readings for 5,000 meters goes in within
seconds (bench/bench_meters.py).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.orm import Session

from emergency.bounds import BoundedAwareDatetime
from emergency.errors import ValidationErrors
from emergency.meters.index import MeterLine, meter_index
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict
from emergency.service.planning import loaded_data
from emergency.service.uow import commit
from emergency.settings import CITY_OFFSET
from emergency.store.db import store_of
from emergency.store.models import MeterReading

MAX_READINGS = 10_000
"""Readings in one request: about 0.8 MB of JSON, within the 1 MiB body limit."""
MAX_KWH = 10_000_000.0
"""Largest kWh in one 15-minute reading (40 GW: beyond any line; a typo or a hostile
value otherwise)."""
QUARTER = dt.timedelta(minutes=15)
MAX_ID = 2**31 - 1
MAX_LISTED = 50
"""Problems listed in one answer; the rest are counted."""
METER_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
"""What a meter id may hold (the plans' ``lines[].meters`` use the same pattern)."""
CHUNK = 200
"""Meters per query when the stored readings of a batch are looked up."""
TABLE: Table = MeterReading.__table__  # type: ignore[assignment]


def aligned(value: dt.datetime) -> bool:
    """Whether a time begins a quarter hour (in UTC, so +05:45 offsets are held too)."""
    utc = value.astimezone(dt.UTC)
    return utc.minute % 15 == 0 and utc.second == 0 and utc.microsecond == 0


class ReadingIn(BaseModel):
    """One 15-minute reading of one meter: the kWh drawn in the quarter hour that begins
    at ``time``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    meter: str = Field(
        pattern=METER_PATTERN, description="the meter's id, as a plan's lines[].meters names it"
    )
    time: BoundedAwareDatetime = Field(
        description="start of the quarter hour, with a UTC offset (2016-12-16T08:15:00+08:00)"
    )
    kwh: float = Field(ge=0, le=MAX_KWH, description="kWh drawn in the quarter hour")
    corrects: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | StrictBool | None = Field(
        default=None,
        description="a correction: the id of the reading it corrects, or true for the "
        "reading in effect for this meter and time",
    )

    @field_validator("time")
    @classmethod
    def _quarter(cls, value: dt.datetime) -> dt.datetime:
        if not aligned(value):
            raise ValueError("must begin a quarter hour (:00, :15, :30 or :45, no seconds)")
        return value

    @field_validator("corrects")
    @classmethod
    def _no_false(cls, value: int | bool | None) -> int | bool | None:
        if value is False:
            raise ValueError("must be a reading id or true (leave it out for an original)")
        return value


class ReadingsIn(BaseModel):
    """A batch of readings, checked and stored as a whole."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    readings: list[ReadingIn] = Field(
        min_length=1, max_length=MAX_READINGS, description="at most 10,000 readings"
    )


class ReadingsResult(BaseModel):
    """What a batch did."""

    received: int = Field(description="readings in the batch")
    inserted: int = Field(description="originals stored")
    unchanged: int = Field(description="readings already stored with the same value (no-ops)")
    corrections: int = Field(description="corrections stored")
    meters: int = Field(description="distinct meters in the batch")
    first: dt.datetime | None = Field(description="the earliest time in the batch")
    last: dt.datetime | None = Field(description="the latest time in the batch")


Label = Callable[[int, str], str]
"""Names a reading's field in a message: ``readings[3].meter`` or ``file.csv:5: meter``."""


def body_label(i: int, field: str) -> str:
    return f"readings[{i}].{field}"


def _local(at: dt.datetime) -> str:
    return f"{at.astimezone(CITY_OFFSET):%Y-%m-%d %H:%M}+08:00"


_INDEX: dict[str, dict[str, MeterLine]] = {}
_INDEX_LOCK = threading.Lock()


def meters_in_force(session: Session) -> dict[str, MeterLine]:
    """Meter id → line, from the plans in force (cached per content of the data)."""
    loaded = loaded_data(session)
    with _INDEX_LOCK:
        hit = _INDEX.get(loaded.key)
    if hit is not None:
        return hit
    index = meter_index(loaded.dataset.plans)
    with _INDEX_LOCK:
        if len(_INDEX) >= 4:
            _INDEX.pop(next(iter(_INDEX)))
        _INDEX[loaded.key] = index
    return index


@dataclass
class _Stored:
    """The rows stored for one meter and time: the original and its corrections."""

    original: tuple[int, float] | None = None
    corrections: list[tuple[int, int, float]] | None = None  # (id, corrects, kwh), by id

    def ids(self) -> set[int]:
        """The ids of every row for this meter and time."""
        first = {self.original[0]} if self.original else set()
        return first | {c[0] for c in self.corrections or []}

    def effective(self) -> tuple[int, float] | None:
        if self.corrections:
            rid, _corrects, kwh = self.corrections[-1]
            return rid, kwh
        return self.original


Key = tuple[str, dt.datetime]


def _stored(session: Session, keys: set[Key]) -> dict[Key, _Stored]:
    """The stored rows of every (meter, time) in ``keys``: one range query per meter,
    ``CHUNK`` meters per statement, on the (meter, at) index."""
    spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for meter, at in keys:
        lo, hi = spans.get(meter, (at, at))
        spans[meter] = (min(lo, at), max(hi, at))
    out: dict[Key, _Stored] = {}
    t = TABLE.c
    meters = sorted(spans)
    for start in range(0, len(meters), CHUNK):
        part = meters[start : start + CHUNK]
        where = or_(*(and_(t.meter == m, t.at.between(*spans[m])) for m in part))
        rows = session.execute(
            select(t.id, t.meter, t.at, t.kwh, t.corrects).where(where).order_by(t.id)
        )
        for rid, meter, at, kwh, corrects in rows:
            key = (meter, at)
            if key not in keys:
                continue
            found = out.setdefault(key, _Stored())
            if corrects is None:
                found.original = (rid, kwh)
            else:
                found.corrections = [*(found.corrections or []), (rid, corrects, kwh)]
    return out


def _refuse(problems: list[str], what: str) -> ValidationErrors:
    shown = problems[:MAX_LISTED]
    if len(problems) > MAX_LISTED:
        shown.append(f"… and {len(problems) - MAX_LISTED} more problems")
    return ValidationErrors(shown, what)


def add_readings(
    session: Session,
    actor: Actor,
    readings: Sequence[ReadingIn],
    *,
    label: Label = body_label,
    what: str = "the readings",
) -> ReadingsResult:
    """Check and store a batch of readings, all or nothing; audited, committed.

    Raises
    ------
    ValidationErrors
        Unknown meters, times ahead of the server's clock, a meter and time twice in the
        batch with two values, a correction of nothing (400): every problem, by index.
    Conflict
        A meter and time already stored with another value, not sent as a correction; a
        correction of a reading that has been corrected meanwhile (409).
    """
    require(actor, Action.write_meters)
    config = store_of(session).config
    index = meters_in_force(session)
    latest = config.now() + dt.timedelta(minutes=config.clock_skew_minutes)
    problems: list[str] = []
    keys: list[Key] = []
    for i, r in enumerate(readings):
        if r.meter not in index:
            problems.append(f"{label(i, 'meter')}: unknown meter {r.meter!r} (no plan names it)")
        if r.time > latest:
            problems.append(
                f"{label(i, 'time')}: {_local(r.time)} is in the future (server time "
                f"{_local(config.now())})"
            )
        keys.append((r.meter, r.time.astimezone(dt.UTC)))
    originals: dict[Key, int] = {}
    fixes: dict[Key, int] = {}
    for i, (r, key) in enumerate(zip(readings, keys, strict=True)):
        seen = fixes if r.corrects is not None else originals
        j = seen.setdefault(key, i)
        if j != i and readings[j].kwh != r.kwh:
            problems.append(
                f"{label(i, 'kwh')}: {r.kwh:g} kWh, but {label(j, 'kwh')} gives {readings[j].kwh:g}"
                f" kWh for the same meter and time ({r.meter!r}, {_local(key[1])})"
            )
    if problems:
        raise _refuse(problems, what)
    stored = _stored(session, set(keys))
    now = config.now()
    rows: list[tuple[str, dt.datetime, float, int | None]] = []
    nothing = _Stored()
    conflicts: list[str] = []
    inserted = unchanged = corrections = 0
    for i, (r, key) in enumerate(zip(readings, keys, strict=True)):
        if (originals if r.corrects is None else fixes)[key] != i:
            unchanged += 1  # the same reading twice in the batch
            continue
        found = stored.get(key, nothing)
        if r.corrects is None and found is nothing:  # the common case: a new reading
            rows.append((r.meter, key[1], r.kwh, None))
            inserted += 1
            continue
        effective = found.effective()
        if r.corrects is None:
            if found.original is None:
                rows.append((r.meter, key[1], r.kwh, None))
                inserted += 1
            elif r.kwh in (found.original[1], effective[1] if effective else None):
                unchanged += 1
            else:
                rid, kwh = effective or found.original
                conflicts.append(
                    f"{label(i, 'kwh')}: meter {r.meter!r} at {_local(key[1])} has {kwh:g} kWh "
                    f"(reading {rid}), not {r.kwh:g}: send a correction (corrects) to change it"
                )
            continue
        if effective is None:
            problems.append(
                f"{label(i, 'corrects')}: no reading of meter {r.meter!r} at {_local(key[1])} "
                "to correct: send the original first"
            )
            continue
        target = effective[0] if r.corrects is True else int(r.corrects)
        done = [c for c in found.corrections or [] if c[1] == target and c[2] == r.kwh]
        if done or (target == effective[0] and r.kwh == effective[1]):
            unchanged += 1  # a correction resent, or one that changes nothing
        elif target == effective[0]:
            rows.append((r.meter, key[1], r.kwh, target))
            corrections += 1
        elif target in found.ids():
            conflicts.append(
                f"{label(i, 'corrects')}: reading {target} of meter {r.meter!r} at "
                f"{_local(key[1])} was corrected meanwhile by reading {effective[0]} "
                f"({effective[1]:g} kWh): correct that one"
            )
        else:
            problems.append(
                f"{label(i, 'corrects')}: reading {target} is not a reading of meter "
                f"{r.meter!r} at {_local(key[1])}"
            )
    if problems:
        raise _refuse(problems, what)
    if conflicts:
        shown = conflicts[:MAX_LISTED]
        more = len(conflicts) - len(shown)
        raise Conflict("\n".join(shown) + (f"\n… and {more} more conflicts" if more else ""))
    _insert(session, rows, now, actor.label)
    times = [k[1] for k in keys]
    result = ReadingsResult(
        received=len(readings),
        inserted=inserted,
        unchanged=unchanged,
        corrections=corrections,
        meters=len({k[0] for k in keys}),
        first=min(times) if times else None,
        last=max(times) if times else None,
    )
    record(session, actor, "meters.readings", f"meters:{result.meters}", None, _audit(result))
    commit(session)
    return result


COLUMNS = ("meter", "at", "kwh", "corrects", "received_at", "actor")


def _insert(
    session: Session,
    rows: list[tuple[str, dt.datetime, float, int | None]],
    received_at: dt.datetime,
    actor: str,
) -> None:
    """Write the rows in the session's transaction: PostgreSQL's ``COPY`` (a batch of
    10,000 in tens of milliseconds), else one multi-row INSERT per 5,000 rows."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        raw = connection.connection.driver_connection
        assert raw is not None
        utc = received_at.astimezone(dt.UTC)
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY meter_readings ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for meter, at, kwh, corrects in rows:
                copy.write_row((meter, at, kwh, corrects, utc, actor))
        return
    for start in range(0, len(rows), 5000):
        chunk = [
            {"meter": m, "at": at, "kwh": kwh, "corrects": c, "received_at": received_at,
             "actor": actor}
            for m, at, kwh, c in rows[start : start + 5000]
        ]  # fmt: skip
        session.execute(insert(TABLE), chunk)


def _audit(result: ReadingsResult) -> dict[str, object]:
    return result.model_dump(mode="json")
