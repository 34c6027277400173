"""Key periods (重点时段) of the approved season plans, joined with the city's responses.

A key period applies its level's duties on its days whatever the forecast. At most one
response is open per city, so a key period meets the forecast responses this way:

- **No response open**: the key period opens a response at its level over its days (from
  today on) with the reason "key period: NAME" (``reason_zh`` "重点时段：NAME") — already
  when its first day is at most :data:`LEAD_DAYS` ahead (opened ahead, like a warning issued
  before its episode: the list is planned now and approved by a planner as any other).
- **A forecast response open**: its days inside the key period are planned at least at
  the key period's level (the key period is the floor of those days; re-planned when the
  season plan is approved, and at every change the consultation makes). The key period
  opens its own response for its remaining days once that response is released.
- **A key-period response open**: the consultation follows it as any response — a higher
  level upgrades it (and the days up to the key period's end stay at least at its level);
  a lower level, or none, holds it at the key period's level until the key period ends.

A key period opens one response only (``responses.key_period``): released early by a
planner, it is not opened again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.notify.outbox import warning_event
from emergency.rules import LEVEL_RANK
from emergency.service.access import Actor
from emergency.service.audit import record
from emergency.service.orders import Issued, approve_version
from emergency.service.planning import (
    active_overrides,
    add_plan_version,
    current_plan,
    date_range,
    insert_response,
    loaded_data,
    open_response,
    solve,
)
from emergency.solution import WarningDecision
from emergency.store.db import store_of
from emergency.store.models import Response, SeasonPlan

LEAD_DAYS = 3
"""A key period opens its response this many days before its first day, at the earliest."""


@dataclass(frozen=True)
class KeyPeriodRef:
    """A key period of an approved season plan."""

    season: str
    name: str
    start: dt.date
    end: dt.date
    level: str

    @property
    def ident(self) -> str:
        """What ``responses.key_period`` holds: ``season/name/start``."""
        return f"{self.season}/{self.name}/{self.start.isoformat()}"

    @property
    def reason(self) -> str:
        return f"key period: {self.name}"

    @property
    def reason_zh(self) -> str:
        return f"重点时段：{self.name}"


def key_periods(session: Session) -> list[KeyPeriodRef]:
    """The key periods of every approved season plan, by first day."""
    out = []
    for season, periods in session.execute(
        select(SeasonPlan.season_id, SeasonPlan.key_periods).where(SeasonPlan.status == "approved")
    ):
        for kp in periods or []:
            out.append(
                KeyPeriodRef(
                    season=season,
                    name=str(kp["name"]),
                    start=dt.date.fromisoformat(str(kp["start"])),
                    end=dt.date.fromisoformat(str(kp["end"])),
                    level=str(kp["level"]),
                )
            )
    return sorted(out, key=lambda k: (k.start, k.end, k.name))


def _stricter(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if LEVEL_RANK.get(a, 0) >= LEVEL_RANK.get(b, 0) else b


def floor_level(periods: list[KeyPeriodRef], day: dt.date) -> str | None:
    """The strictest key-period level on ``day`` (None outside key periods)."""
    level = None
    for kp in periods:
        if kp.start <= day <= kp.end:
            level = _stricter(level, kp.level)
    return level


def floored_days(session: Session, days: list[tuple[dt.date, str]]) -> list[tuple[dt.date, str]]:
    """``days`` with each day's level raised to the key period's, where one applies."""
    periods = key_periods(session)
    out = []
    for day, level in days:
        floor = floor_level(periods, day)
        out.append((day, _stricter(level, floor) or level))
    return out


def key_period_of(session: Session, response: Response) -> KeyPeriodRef | None:
    """The key period that opened ``response`` (None: a forecast opened it)."""
    if not response.key_period:
        return None
    return next((k for k in key_periods(session) if k.ident == response.key_period), None)


def response_days(
    session: Session, response: Response | None, warning: WarningDecision, first: dt.date
) -> list[tuple[dt.date, str]]:
    """The days a consultation plans from ``first``: the warning's, at least at the key
    periods' levels, and for a key-period response up to the key period's end."""
    assert warning.level is not None and warning.end is not None
    last = warning.end
    own = key_period_of(session, response) if response is not None else None
    if own is not None:
        last = max(last, own.end)
    periods = key_periods(session)
    out = []
    for day in date_range(first, last):
        level = warning.level if day <= warning.end else None
        level = _stricter(level, floor_level(periods, day))
        if level is not None:
            out.append((day, level))
    return out


def holds(session: Session, response: Response, warning: WarningDecision, today: dt.date) -> bool:
    """A key-period response is held at its level until the key period ends: a forecast
    of a lower level, or none, changes nothing on its days."""
    own = key_period_of(session, response)
    if own is None or own.end < today:
        return False
    if warning.level is None:
        return True
    milder = LEVEL_RANK.get(warning.level, 0) <= LEVEL_RANK.get(own.level, 0)
    inside = (warning.start is None or warning.start >= own.start) and (
        warning.end is None or warning.end <= response.end
    )
    return milder and inside


def open_due_key_period(session: Session, actor: Actor) -> Response | None:
    """Open the next key period's response if none is open and its first day is at most
    :data:`LEAD_DAYS` ahead (no commit). None when nothing opened."""
    config = store_of(session).config
    today = config.today()
    if open_response(session) is not None:
        return None
    used = set(session.scalars(select(Response.key_period).where(Response.key_period.is_not(None))))
    due = [
        k
        for k in key_periods(session)
        if k.end >= today
        and k.start <= today + dt.timedelta(days=LEAD_DAYS)
        and k.ident not in used
    ]
    if not due:
        return None
    kp = due[0]
    start = max(kp.start, today)
    city = loaded_data(session).dataset.city
    warning = WarningDecision(
        level=kp.level,
        start=start,
        end=kp.end,
        rule_set=city.rule_set,
        reason=kp.reason,
        reason_zh=kp.reason_zh,
    )
    days = floored_days(session, [(d, kp.level) for d in date_range(start, kp.end)])
    plan = solve(session, warning, days, before=None, effective_from=start, overrides=[])
    response = insert_response(
        session, actor, warning, plan, start=start, reason="key period", key_period=kp.ident
    )
    record(
        session,
        actor,
        "response.opened",
        f"response:{response.id}",
        None,
        {
            "status": response.status,
            "level": response.level,
            "start": response.start.isoformat(),
            "end": response.end.isoformat(),
            "key_period": kp.name,
            "reason": kp.reason,
        },
    )
    return response


def floor_open_response(session: Session, actor: Actor) -> tuple[Response, Issued] | None:
    """Re-plan the open response's days from today on where a key period raises their
    level (no commit); orders already out follow at once. None when nothing changes."""
    response = open_response(session)
    if response is None or response.plan_number == 0:
        return None
    today = store_of(session).config.today()
    plan = current_plan(session, response)
    if plan is None:
        return None
    periods = key_periods(session)
    days = [(d.date, d.level) for d in plan.days if d.date >= today]
    raised = [(day, _stricter(level, floor_level(periods, day)) or level) for day, level in days]
    if raised == days:
        return None
    eff = next(day for (day, a), (_, b) in zip(days, raised, strict=True) if a != b)
    names = sorted({k.name for k in periods for day, _ in raised if k.start <= day <= k.end})
    reason = "key period: " + ", ".join(names)
    reason_zh = "重点时段：" + "、".join(names)
    warning = WarningDecision.model_validate(response.warning)
    both = {"reason": f"{warning.reason}; {reason}"}
    both["reason_zh"] = f"{warning.reason_zh}；{reason_zh}" if warning.reason_zh else reason_zh
    warning = warning.model_copy(update=both)
    later = [(day, level) for day, level in raised if day >= eff]
    overrides = active_overrides(session, response.id)
    new = solve(session, warning, later, before=plan, effective_from=eff, overrides=overrides)
    response.warning = warning.model_dump(mode="json")
    row = add_plan_version(session, actor, response, new, reason="key period", effective_from=eff)
    done = Issued()
    if response.approved_plan is not None:
        done = approve_version(session, actor, response, row, by="season")
    warning_event(session, response, "upgraded")  # the outbox: a key period raises days
    record(
        session,
        actor,
        "response.key_period",
        f"response:{response.id}",
        None,
        {"plan_version": row.number, "from": eff.isoformat(), "reason": reason},
    )
    return response, done
