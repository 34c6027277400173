"""Staggered orders: one per run of an approved season schedule; the state of a re-plan.

A run (source, measure, line loads, start..end) becomes an order of kind ``staggered``
from the server's today on (runs wholly behind are not ordered; a run under way is ordered
from today). A later approved version of the same season keeps the orders whose days from
its first day on are unchanged, and supersedes (or lifts) the others: an order under way is
cut to end the day before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import ONE_DAY, POLLUTANTS
from emergency.measures import measure_name
from emergency.season.model import SeasonInput
from emergency.service.access import Actor
from emergency.service.orders import Issued, hand_over
from emergency.service.planning import loaded_data
from emergency.store.db import store_of
from emergency.store.models import Order, SeasonPlan
from emergency.vocabulary import IN_FORCE, OrderStatus

STAGGERED = "staggered"


@dataclass(frozen=True)
class Run:
    source: str
    measure: str
    loads: tuple[tuple[str, float], ...]
    start: dt.date
    end: dt.date

    def key(self, first_day: dt.date) -> tuple[Any, ...]:
        """What an order must match to be kept: its days from ``first_day`` on."""
        return (self.source, self.measure, self.loads, max(self.start, first_day), self.end)


def runs(schedule: dict[str, Any]) -> list[Run]:
    """The runs of a schedule's assignments (normal days have none)."""
    out = []
    for a in schedule.get("assignments") or []:
        loads = tuple(sorted((str(k), float(v)) for k, v in (a.get("line_loads") or {}).items()))
        out.append(
            Run(
                source=str(a["source"]),
                measure=str(a["measure"]),
                loads=loads,
                start=dt.date.fromisoformat(str(a["start"])),
                end=dt.date.fromisoformat(str(a["end"])),
            )
        )
    return out


def _order_run(order: Order) -> Run:
    loads = tuple(sorted((str(k), float(v)) for k, v in order.allowed_load.items()))
    assert order.end is not None
    return Run(order.source, order.measure_id, loads, order.start, order.end)


def staggered_in_force(session: Session, season_id: str) -> list[Order]:
    """The staggered orders in force of a season (any of its versions)."""
    return list(
        session.scalars(
            select(Order)
            .join(SeasonPlan, Order.season_plan_id == SeasonPlan.id)
            .where(
                Order.kind == STAGGERED,
                SeasonPlan.season_id == season_id,
                Order.status.in_(IN_FORCE),
            )
            .order_by(Order.id)
        )
    )


def _new_order(session: Session, row: SeasonPlan, run: Run, start: dt.date) -> Order:
    dataset = loaded_data(session).dataset
    plan = dataset.plans.get(run.source)
    loads = dict(run.loads)
    cut = dict.fromkeys(POLLUTANTS, 0.0)
    total = 1.0
    if plan is not None:
        value = sum(ln.value_added_yuan_d for ln in plan.lines)
        lost = 0.0
        for line in plan.lines:
            off = 1.0 - loads.get(line.id, 1.0)
            lost += off * line.value_added_yuan_d
            for p, e in line.emissions().items():
                cut[p] += off * e
        total = 1.0 - lost / value if value else 1.0
    return Order(
        kind=STAGGERED,
        response_id=None,
        plan_id=None,
        season_plan_id=row.id,
        source=run.source,
        measure_id=run.measure,
        measure_name=measure_name(dataset, run.source, run.measure),
        level="",
        start=start,
        end=run.end,
        planned_end=run.end,
        fixed="",
        status=OrderStatus.issued,
        expected_cut_kg_d={p: round(v, 3) for p, v in cut.items()},
        allowed_load=loads,
        allowed_load_total=round(total, 6),
        issued_at=store_of(session).config.now(),
    )


def issue_staggered(session: Session, actor: Actor, row: SeasonPlan, first_day: dt.date) -> Issued:
    """Bring the season's staggered orders in line with version ``row`` from
    ``first_day`` on (no commit)."""
    wanted = [r for r in runs(row.schedule) if r.end >= first_day]
    wanted_keys = {r.key(first_day) for r in wanted}
    done = Issued()
    now = store_of(session).config.now()
    kept_keys = set()
    stale = []
    for order in staggered_in_force(session, row.season_id):
        if order.end is not None and order.end < first_day:
            continue  # its days are behind: it stays as it was
        key = _order_run(order).key(first_day)
        if key in wanted_keys and key not in kept_keys:
            kept_keys.add(key)
            done.kept += 1
        else:
            stale.append(order)
    for order in stale:  # first, so that a new order may take the same start
        order.status = OrderStatus.superseded
        order.closed_at = now
        if order.start < first_day:
            order.end = first_day - ONE_DAY  # its last day in force
    session.flush()
    for run in wanted:
        if run.key(first_day) in kept_keys:
            continue
        order = _new_order(session, row, run, max(run.start, first_day))
        session.add(order)
        done.issued.append(order)
    session.flush()
    hand_over(session, actor, done, stale, f"season plan {row.season_id} version {row.number}")
    return done


def held_loads(
    session: Session, base: SeasonPlan, inp: SeasonInput, first: dt.date
) -> dict[str, dict[dt.date, dict[str, float]]]:
    """Per planned source and season day before ``first``, the line loads that held:
    the approved schedule's (``base``, and the state it was re-planned from), overlaid
    with the response orders of that day — the stricter per line."""
    dataset = loaded_data(session).dataset
    days = [d for d in inp.season.days() if d < first]
    held: dict[str, dict[dt.date, dict[str, float]]] = {
        sid: {d: {ln.id: 1.0 for ln in plan.lines} for d in days}
        for sid, plan in dataset.plans.items()
    }
    for run in runs(base.schedule):
        per_day = held.get(run.source)
        if per_day is None:
            continue
        day = max(run.start, inp.season.start)
        while day <= run.end and day < first:
            for line, load in run.loads:
                if line in per_day[day]:
                    per_day[day][line] = load
            day += ONE_DAY
    state = base.state or {}
    for source, stored in (state.get("held") or {}).items():
        per_day = held.get(source)
        if per_day is None:
            continue
        for iso, loads in stored.items():
            day = dt.date.fromisoformat(iso)
            if day in per_day:
                for line, load in loads.items():
                    if line in per_day[day]:
                        per_day[day][line] = float(load)
    if days:
        _overlay_responses(session, held, days[0], days[-1])
    return held


def _overlay_responses(
    session: Session,
    held: dict[str, dict[dt.date, dict[str, float]]],
    first: dt.date,
    last: dt.date,
) -> None:
    """The response orders' line loads on the days ``first``..``last``, where stricter."""
    orders = session.scalars(
        select(Order).where(Order.kind == "response", Order.start <= last).order_by(Order.id)
    )
    for order in orders:
        if order.end is None and order.status not in IN_FORCE:
            continue  # closed before it came into force
        end = order.end if order.end is not None else order.planned_end
        per_day = held.get(order.source)
        if per_day is None or end < first:
            continue
        day = max(order.start, first)
        while day <= min(end, last):
            for line, load in order.allowed_load.items():
                if line in per_day[day]:
                    per_day[day][line] = min(per_day[day][line], float(load))
            day += ONE_DAY
