"""Vehicle breaches of a response: banned vehicles entering, heavy trucks over the cap.

For each enterprise whose plan has transport duties and each city day of the response
(its current plan's days and their levels), the duties of that day's level
(:func:`emergency.vehicles.duties.duties_at`) are held against the gate records in effect
(corrections applied) of vehicles entering (``direction: in``) that day:

- ``vehicle_banned``: one per entry of a banned vehicle (key ``gate:<record id>``, the
  entry's original record: a correction that leaves it banned keeps the key, and so the
  supervision task that follows it), with the entry's indicative emission
  (:mod:`emergency.vehicles.factors`);
- ``vehicle_over_cap``: one per enterprise and day with more heavy-truck entries than the
  cap (key ``trucks:<enterprise>:<day>``); the excess entries are the latest of the day,
  and their emission is the excess.

The duties bind through the order: a day on which the enterprise had no order of the
response (before approval, or exempt) is not checked, and each anomaly names the order of
its day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import ONE_DAY
from emergency.names import LEVEL_ZH
from emergency.service.planning import current_plan, loaded_data
from emergency.service.views import Anomaly
from emergency.settings import CITY_OFFSET
from emergency.store.models import GateRecord, Order, Response
from emergency.vehicles.duties import (
    CAPPED_VEHICLE,
    FUELS,
    VEHICLES,
    ZERO_EMISSION_FUELS,
    TransportDuty,
    duties_at,
)
from emergency.vehicles.factors import entry_kg, total
from emergency.vehicles.records import in_effect

ENTRY_KEY = "gate:"
"""A banned entry's anomaly key: this and the id of the entry's original record."""


def vehicle_anomalies(session: Session, response: Response) -> list[Anomaly]:
    """Vehicle breaches of ``response``, by enterprise, day and time."""
    plan = current_plan(session, response)
    if plan is None:
        return []
    levels = {d.date: d.level for d in plan.days}
    dataset = loaded_data(session).dataset
    duties = {eid: p.transport for eid, p in dataset.plans.items() if p.transport}
    if not duties or not levels:
        return []
    orders: dict[str, list[Order]] = {}
    for order in session.scalars(
        select(Order).where(Order.response_id == response.id, Order.source.in_(duties))
    ):
        orders.setdefault(order.source, []).append(order)
    first = dt.datetime.combine(min(levels), dt.time(), CITY_OFFSET)
    after = dt.datetime.combine(max(levels) + ONE_DAY, dt.time(), CITY_OFFSET)
    rows = session.scalars(
        select(GateRecord).where(
            GateRecord.enterprise_id.in_(sorted(orders)),
            GateRecord.at >= first,
            GateRecord.at < after,
        )
    )
    effective, _met, originals = in_effect(session, rows)
    entries: dict[tuple[str, dt.date], list[GateRecord]] = {}
    for row in effective:
        if row.direction == "in" and first <= row.at < after:
            day = row.at.astimezone(CITY_OFFSET).date()
            entries.setdefault((row.enterprise_id, day), []).append(row)
    out: list[Anomaly] = []
    for (enterprise, day), found in sorted(entries.items()):
        level = levels.get(day)
        duty = duties_at(duties[enterprise], level)
        ordered = _order_on(orders.get(enterprise, []), day)
        if duty is None or level is None or ordered is None:
            continue
        found.sort(key=lambda r: (r.at, r.id))
        out += _banned(ordered, duty, level, day, found, originals)
        out += _over_cap(ordered, duty, level, day, found)
    return out


def _order_on(orders: list[Order], day: dt.date) -> Order | None:
    """The enterprise's order in force on ``day`` (the newest, if several)."""
    covering = [
        o
        for o in orders
        if o.start <= day
        and ((o.end is None and o.closed_at is None) or (o.end is not None and day <= o.end))
    ]
    return max(covering, key=lambda o: o.id) if covering else None


def _vehicle(row: GateRecord) -> tuple[str, str]:
    """The vehicle described in English and in Chinese."""
    standard = "electric" if row.standard == "electric" else f"China {row.standard}"
    standard_zh = "新能源" if row.standard == "electric" else f"国{row.standard}"
    return (
        f"{row.plate} ({row.vehicle}, {standard}, {row.fuel})",
        f"{row.plate}（{VEHICLES.get(row.vehicle, row.vehicle)}，{standard_zh}，"
        f"{FUELS.get(row.fuel, row.fuel)}）",
    )


def _banned(
    order: Order,
    duty: TransportDuty,
    level: str,
    day: dt.date,
    found: list[GateRecord],
    originals: dict[int, int],
) -> list[Anomaly]:
    out = []
    for row in found:
        ban = duty.banning(row.vehicle, row.standard, row.fuel)
        if ban is None:
            continue
        en, zh = _vehicle(row)
        at = f"{row.at.astimezone(CITY_OFFSET):%H:%M}"
        level_zh = LEVEL_ZH.get(level, level)
        out.append(
            Anomaly(
                order_id=order.id,
                source=order.source,
                kind="vehicle_banned",
                message=f"{en} entered at gate {row.gate} at {at} on {day}: banned at {level} "
                f"({ban.text()})",
                message_zh=f"{level_zh}预警期间禁止进厂的车辆 {zh} 于 {day} {at} "
                f"经 {row.gate} 进厂",
                key=f"{ENTRY_KEY}{originals.get(row.id, row.id)}",
                evidence="gate",
                day=day,
                at=row.at,
                excess_kg=entry_kg(row.vehicle, row.standard, row.fuel),
            )
        )
    return out


def _over_cap(
    order: Order, duty: TransportDuty, level: str, day: dt.date, found: list[GateRecord]
) -> list[Anomaly]:
    cap = duty.max_truck_entries_per_day
    trucks = [r for r in found if r.vehicle == CAPPED_VEHICLE and r.fuel not in ZERO_EMISSION_FUELS]
    if cap is None or len(trucks) <= cap:
        return []
    excess = trucks[cap:]
    level_zh = LEVEL_ZH.get(level, level)
    return [
        Anomaly(
            order_id=order.id,
            source=order.source,
            kind="vehicle_over_cap",
            message=f"{len(trucks)} heavy-truck entries on {day}: {len(excess)} over the cap of "
            f"{cap} a day at {level}",
            message_zh=f"{day} 重型货车进厂 {len(trucks)} 辆次，超过{level_zh}预警每日限额 "
            f"{cap} 辆次 {len(excess)} 辆次",
            key=f"trucks:{order.source}:{day}",
            evidence="gate",
            day=day,
            at=excess[0].at,
            excess_kg=total([entry_kg(r.vehicle, r.standard, r.fuel) for r in excess]),
        )
    ]
