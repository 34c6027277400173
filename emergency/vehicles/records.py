"""Gate records (门禁记录) in and out: append-only, idempotent, all or nothing.

A record says a vehicle (plate, kind, China emission standard, fuel) passed an
enterprise's gate in or out at a time. They come from the enterprise's gate system, a data
gateway or an admin (``POST /gates/records``), or a CSV file (``emergency gates import``).

- A batch is all or nothing: every record is checked — a known enterprise (an enterprise
  token only for itself: another's is 403), a Chinese plate, a time with a UTC offset not
  ahead of the server's clock, the standard matching the fuel — and every problem is
  listed before anything is written.
- An original resent with the same values is a no-op (a gateway may resend after a
  timeout); the same enterprise, gate, plate and time with other values is refused (409):
  send a correction.
- A correction is a new record whose ``corrects`` is the id of the record it replaces (of
  the same enterprise), which must be the one in effect: a record corrected already is
  corrected through its newest correction (409 otherwise). A correction resent is a no-op.
- The record in effect for an original is the end of its chain of corrections (under a
  race, two corrections of one record: the newer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.bounds import BoundedAwareDatetime
from emergency.errors import ValidationErrors
from emergency.service.access import Action, Actor, Role, require
from emergency.service.audit import record
from emergency.service.errors import Conflict, Forbidden
from emergency.service.planning import loaded_data
from emergency.service.uow import commit
from emergency.settings import CITY_OFFSET
from emergency.store.db import store_of
from emergency.store.models import GateRecord
from emergency.vehicles.duties import ELECTRIC, ZERO_EMISSION_FUELS
from emergency.vehicles.plates import normal_plate

MAX_RECORDS = 10_000
"""Records in one request (about 1.5 MB of JSON: within a raised body limit; the default
1 MiB limit holds about 6,000)."""
MAX_LISTED = 50
"""Problems listed in one answer; the rest are counted."""
CLOCK_SKEW = dt.timedelta(minutes=5)
"""A record may be dated this far after the server's clock (a gate clock running ahead)."""
MAX_ID = 2**31 - 1

Vehicle = Literal["heavy_truck", "medium_truck", "light_truck", "bus", "car"]
Fuel = Literal["diesel", "gasoline", "gas", "lng", "cng", "electric", "hydrogen"]
Standard = Literal["1", "2", "3", "4", "5", "6", "electric"]
Text = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class GateRecordIn(BaseModel):
    """One vehicle through one gate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)

    enterprise: Text = Field(description="the enterprise's id (an enterprise token: itself)")
    gate: Text = Field(description="the gate's name, as the enterprise calls it")
    plate: str = Field(max_length=20, description="the number plate, e.g. 豫U12345, 豫UD12345")
    time: BoundedAwareDatetime = Field(description="when it passed, with a UTC offset")
    direction: Literal["in", "out"]
    vehicle: Vehicle = Field(description="heavy_truck, medium_truck, light_truck, bus, car")
    standard: Standard = Field(
        description="China emission standard 国I…国VI as 1…6; electric for zero-emission"
    )
    fuel: Fuel
    corrects: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="the id of the record this one corrects"
    )

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        plate = normal_plate(value)
        if plate is None:
            raise ValueError(f"not a Chinese number plate: {value!r} (e.g. 豫U12345, 豫UD12345)")
        return plate

    @field_validator("corrects", mode="before")
    @classmethod
    def _whole(cls, value: object) -> object:
        if isinstance(value, bool | float):
            raise ValueError("must be a record id (a whole number)")
        return value

    @model_validator(mode="after")
    def _standard_fits_fuel(self) -> GateRecordIn:
        if (self.standard == ELECTRIC) != (self.fuel in ZERO_EMISSION_FUELS):
            raise ValueError(
                f"standard {self.standard!r} does not fit fuel {self.fuel!r}: 'electric' "
                "goes with fuel electric or hydrogen, and only with them"
            )
        return self


class GateBatchIn(BaseModel):
    """Gate records to store, all or nothing."""

    model_config = ConfigDict(extra="forbid")

    records: list[GateRecordIn] = Field(min_length=1, max_length=MAX_RECORDS)


class GateRecordView(BaseModel):
    id: int
    enterprise: str
    gate: str
    plate: str
    time: dt.datetime
    direction: str
    vehicle: str
    standard: str
    fuel: str
    corrects: int | None
    received_at: dt.datetime
    actor: str
    current: bool = Field(default=True, description="in effect: not replaced by a correction")


class GateRecordStored(GateRecordView):
    new: bool = Field(description="stored by this request (false: it was stored already)")


class GateBatchResult(BaseModel):
    stored: int = Field(description="records new in this request")
    unchanged: int = Field(description="records sent again, already stored as they are")
    records: list[GateRecordStored] = Field(description="every record sent, in its order")


Place = Callable[[int, str], str]
"""Where record ``i``'s field is, in a message: ``records[3].time`` or ``gates.csv:5: time``."""


def api_place(i: int, field: str) -> str:
    return f"records[{i}].{field}" if field else f"records[{i}]"


def _local(at: dt.datetime) -> str:
    return f"{at.astimezone(CITY_OFFSET):%Y-%m-%d %H:%M:%S}+08:00"


def _same(row: GateRecord, r: GateRecordIn) -> bool:
    return (
        row.gate == r.gate
        and row.plate == r.plate
        and row.at == r.time.astimezone(dt.UTC)
        and row.direction == r.direction
        and row.vehicle == r.vehicle
        and row.standard == r.standard
        and row.fuel == r.fuel
    )


def _key(enterprise: str, gate: str, plate: str, at: dt.datetime) -> tuple[str, str, str, str]:
    return enterprise, gate, plate, at.astimezone(dt.UTC).isoformat()


def _values(row: GateRecord) -> str:
    return f"{row.direction}, {row.vehicle}, standard {row.standard}, {row.fuel}"


def _limited(problems: list[str], what: str) -> list[str]:
    if len(problems) <= MAX_LISTED:
        return problems
    return [*problems[:MAX_LISTED], f"… and {len(problems) - MAX_LISTED} more {what}"]


def _sent_by_enterprise(row: GateRecord) -> bool:
    """Whether a stored record came from an enterprise's own token (``enterprise:…``)."""
    return str(row.actor).startswith(f"{Role.enterprise.value}:")


def add_records(
    session: Session, actor: Actor, records: Sequence[GateRecordIn], place: Place = api_place
) -> GateBatchResult:
    """Store a batch of gate records (all or nothing; committed).

    Raises
    ------
    Forbidden
        An enterprise token names another enterprise.
    ValidationErrors
        Unknown enterprise, a time ahead of the server's clock, a correction of no record
        of that enterprise: every problem, each naming its record and field.
    Conflict
        An original with other values than the one stored under its enterprise, gate,
        plate and time; a correction of a record corrected already (or a race lost).
    """
    require(actor, Action.write_gates)
    if actor.is_enterprise:
        others = sorted({r.enterprise for r in records} - {actor.enterprise_id or ""})
        if others:
            raise Forbidden("an enterprise may send gate records only for itself")
    known = loaded_data(session).dataset.by_id
    now = store_of(session).config.now()
    problems: list[str] = []
    for i, r in enumerate(records):
        if r.enterprise not in known:
            problems.append(f"{place(i, 'enterprise')}: no enterprise {r.enterprise}")
        if r.time > now + CLOCK_SKEW:
            problems.append(
                f"{place(i, 'time')}: {_local(r.time)} is in the future (server time {_local(now)})"
            )
    targets = _rows(session, {r.corrects for r in records if r.corrects is not None})
    for i, r in enumerate(records):
        target = targets.get(r.corrects or 0)
        if r.corrects is not None and (target is None or target.enterprise_id != r.enterprise):
            problems.append(
                f"{place(i, 'corrects')}: no gate record {r.corrects} of enterprise "
                f"{r.enterprise} to correct"
            )
        elif target is not None and actor.is_enterprise and not _sent_by_enterprise(target):
            # the evidence against a firm is not the firm's to rewrite
            problems.append(
                f"{place(i, 'corrects')}: gate record {r.corrects} came from the city's "
                "gateway; only the gateway or an admin corrects it"
            )
    if problems:
        raise ValidationErrors(_limited(problems, "problems"), "the gate records")
    stored, conflicts = _match(session, records, place)
    if conflicts:
        raise Conflict("\n".join(_limited(conflicts, "conflicts")))
    new = [row for row, fresh in stored if fresh]
    received_at = now
    for row in new:
        row.received_at, row.actor = received_at, actor.label
        session.add(row)
    session.flush()
    if new:
        record(
            session,
            actor,
            "gates.records",
            "gates:" + ",".join(sorted({row.enterprise_id for row in new})),
            None,
            {"stored": len(new), "ids": [row.id for row in new][:1000]},
        )
    commit(session)
    views = [GateRecordStored(**_view(row).model_dump(), new=fresh) for row, fresh in stored]
    return GateBatchResult(stored=len(new), unchanged=len(records) - len(new), records=views)


def _match(
    session: Session, records: Sequence[GateRecordIn], place: Place
) -> tuple[list[tuple[GateRecord, bool]], list[str]]:
    """Each record matched with what is stored: (the stored row, False) when it is there
    already — or earlier in this batch —, (a new row, True) otherwise; and the conflicts."""
    originals = _originals(session, [r for r in records if r.corrects is None])
    corrections = _corrections_of(session, {r.corrects for r in records if r.corrects})
    index: dict[int, int] = {}  # id() of a new row → its record's index in the batch
    out: list[tuple[GateRecord, bool]] = []
    conflicts: list[str] = []

    def named(row: GateRecord) -> str:
        return f"gate record {row.id}" if row.id else f"{place(index[id(row)], '')}"

    for i, r in enumerate(records):
        row = GateRecord(
            enterprise_id=r.enterprise,
            gate=r.gate,
            plate=r.plate,
            at=r.time.astimezone(dt.UTC),
            direction=r.direction,
            vehicle=r.vehicle,
            standard=r.standard,
            fuel=r.fuel,
            corrects=r.corrects,
        )
        if r.corrects is None:
            key = _key(r.enterprise, r.gate, r.plate, r.time)
            have = originals.get(key)
            if have is None:
                originals[key], index[id(row)] = row, i
                out.append((row, True))
                continue
            if not _same(have, r):
                conflicts.append(
                    f"{place(i, '')}: {named(have)} has this gate, plate and time with other "
                    f"values ({_values(have)}): send a correction of it"
                )
            out.append((have, False))
            continue
        siblings = corrections.setdefault(r.corrects, [])
        same = next((s for s in siblings if _same(s, r)), None)
        if same is not None:
            out.append((same, False))
            continue
        if siblings:
            newest = max(siblings, key=lambda s: s.id or MAX_ID)
            conflicts.append(
                f"{place(i, 'corrects')}: gate record {r.corrects} was corrected already by "
                f"{named(newest)}: correct that one"
            )
            out.append((newest, False))
            continue
        siblings.append(row)
        index[id(row)] = i
        out.append((row, True))
    return out, conflicts


def _rows(session: Session, ids: Iterable[int]) -> dict[int, GateRecord]:
    wanted = sorted(set(ids))
    found: dict[int, GateRecord] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.scalars(select(GateRecord).where(GateRecord.id.in_(chunk))):
            found[row.id] = row
    return found


def originals_of(session: Session, ids: Iterable[int]) -> dict[int, int]:
    """Each of the gate records ``ids`` → the first record of its chain of corrections
    (itself when it corrects none; an unknown id → itself)."""
    ids = list(ids)
    known = _rows(session, ids)
    # up the chains, one step per query
    while up := {r.corrects for r in known.values() if r.corrects is not None} - set(known):
        found = _rows(session, up)
        if not found:
            break  # a reference to no record (the foreign key forbids it)
        known.update(found)
    out = {}
    for rid in ids:
        first = rid
        while first in known and (corrects := known[first].corrects) is not None:
            first = corrects
        out[rid] = first
    return out


def _corrections_of(session: Session, ids: Iterable[int | None]) -> dict[int, list[GateRecord]]:
    wanted = sorted(i for i in ids if i is not None)
    found: dict[int, list[GateRecord]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in session.scalars(select(GateRecord).where(GateRecord.corrects.in_(chunk))):
            found.setdefault(row.corrects or 0, []).append(row)
    return found


def _originals(
    session: Session, records: Sequence[GateRecordIn]
) -> dict[tuple[str, str, str, str], GateRecord]:
    """The stored originals under the keys of ``records`` (one query per enterprise and
    range of times)."""
    out: dict[tuple[str, str, str, str], GateRecord] = {}
    by_enterprise: dict[str, list[dt.datetime]] = {}
    for r in records:
        by_enterprise.setdefault(r.enterprise, []).append(r.time.astimezone(dt.UTC))
    for enterprise, times in by_enterprise.items():
        rows = session.scalars(
            select(GateRecord).where(
                GateRecord.enterprise_id == enterprise,
                GateRecord.corrects.is_(None),
                GateRecord.at >= min(times),
                GateRecord.at <= max(times),
            )
        )
        for row in rows:
            out[_key(row.enterprise_id, row.gate, row.plate, row.at)] = row
    return out


def _view(row: GateRecord, current: bool = True) -> GateRecordView:
    return GateRecordView(
        id=row.id,
        enterprise=row.enterprise_id,
        gate=row.gate,
        plate=row.plate,
        time=row.at,
        direction=row.direction,
        vehicle=row.vehicle,
        standard=row.standard,
        fuel=row.fuel,
        corrects=row.corrects,
        received_at=row.received_at,
        actor=row.actor,
        current=current,
    )


# ----------------------------------------------------------------------------- in effect


def in_effect(
    session: Session, rows: Iterable[GateRecord]
) -> tuple[list[GateRecord], set[int], dict[int, int]]:
    """The records in effect among ``rows`` and the chains they belong to: the end of each
    chain of corrections (the newest correction of a record corrected twice), the ids of
    every record met, and each record in effect's original (the id of the chain's first
    record: what stays the same however often an entry is corrected). Corrections and
    corrected records outside ``rows`` are fetched."""
    known = {row.id: row for row in rows}
    frontier = set(known)
    parents = {row.corrects for row in known.values() if row.corrects is not None}
    while frontier or parents - set(known):
        for row in _rows(session, parents - set(known)).values():
            known[row.id] = row
        children = _corrections_of(session, set(frontier) | parents)
        frontier = set()
        for found in children.values():
            for row in found:
                if row.id not in known:
                    known[row.id] = row
                    frontier.add(row.id)
        parents = {r.corrects for r in known.values() if r.corrects is not None} - set(known)
    newest: dict[int, GateRecord] = {}
    for row in known.values():
        if row.corrects is not None:
            have = newest.get(row.corrects)
            if have is None or row.id > have.id:
                newest[row.corrects] = row
    effective = []
    originals: dict[int, int] = {}
    for row in known.values():
        if row.corrects is None:
            leaf = row
            while leaf.id in newest:
                leaf = newest[leaf.id]
            effective.append(leaf)
            originals[leaf.id] = row.id
    return effective, set(known), originals


def list_records(
    session: Session,
    actor: Actor,
    *,
    enterprise: str | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    limit: int = 1000,
) -> list[GateRecordView]:
    """Gate records (every row, corrections included, ``current`` marking those in effect)
    of an enterprise or all, passing from ``first`` to ``last`` (city days), oldest first."""
    require(actor, Action.read_supervision)
    query = select(GateRecord)
    if enterprise:
        query = query.where(GateRecord.enterprise_id == enterprise)
    if first is not None:
        query = query.where(GateRecord.at >= dt.datetime.combine(first, dt.time(), CITY_OFFSET))
    if last is not None:
        after = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), CITY_OFFSET)
        query = query.where(GateRecord.at < after)
    rows = list(session.scalars(query.order_by(GateRecord.at, GateRecord.id).limit(limit)))
    effective, _met, _originals = in_effect(session, rows)
    current = {row.id for row in effective}
    return [_view(row, row.id in current) for row in rows]
