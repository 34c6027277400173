"""Missed daily reports: the city plan's ``report_by`` checked against the clock.

Every enterprise under an order sends a daily report (日报) by ``report_by`` (city time,
+08:00; ``"17:00"`` by default) of each day its order is in force. From ``report_by`` plus
one minute, a day without a report dated that day and received by then is the anomaly
``report_missed`` (key ``report:<order id>:<day>``, evidence ``clock``).

A report received after ``report_by`` does not remove that day's anomaly (the duty was the
time): the anomaly stays, its message says the report came late and by how much, and it
names the report. A correction (``corrects``) does not change when a day was reported:
the report it corrects was received first and still counts for the time (the compliance
and the review read the correction in its place). Which days count for an order:

- the days from its start to its last day in force (``end``; today while it is open-ended)
  and not after today;
- only while the order was in force at that day's ``report_by``: an order superseded or
  lifted before then owed no report that day (its successor, if any, does);
- only when the order was issued at least the acknowledgement deadline
  (``ack_deadline_hours``) before that day's ``report_by``: an order issued at 16:30
  cannot be acknowledged and reported on by 17:00.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import ONE_DAY
from emergency.service.deadlines import ack_deadline_hours
from emergency.service.planning import loaded_data
from emergency.service.views import Anomaly
from emergency.settings import CITY_OFFSET
from emergency.store.models import Order, Report, Response

GRACE = dt.timedelta(minutes=1)
"""A day's report is missed from ``report_by`` plus this (17:01 for 17:00)."""


def report_by(session: Session) -> dt.time:
    """The city plan's daily report time."""
    hours, minutes = loaded_data(session).dataset.city.report_by.split(":")
    return dt.time(int(hours), int(minutes))


def deadline(day: dt.date, by: dt.time) -> dt.datetime:
    """``by`` on ``day`` in the city's time."""
    return dt.datetime.combine(day, by, tzinfo=CITY_OFFSET)


def city_day(at: dt.datetime) -> dt.date:
    """The city's day of ``at``; its UTC day at the edge of the calendar (a report stored
    at year 9999 must not break the view)."""
    try:
        return at.astimezone(CITY_OFFSET).date()
    except OverflowError:
        return at.astimezone(dt.UTC).date()


def missed_reports(session: Session, response: Response, now: dt.datetime) -> list[Anomaly]:
    """``report_missed`` anomalies of every order of ``response`` as of ``now``, by order
    then day."""
    by = report_by(session)
    try:
        lead = dt.timedelta(hours=ack_deadline_hours(session))
    except (OverflowError, ValueError):  # a deadline too large for a time
        lead = dt.timedelta.max
    today = city_day(now)
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.response_id == response.id, Order.kind == "response")
            .order_by(Order.id)
        )
    )
    received: dict[tuple[int, dt.date], list[Report]] = {}
    for report in session.scalars(
        select(Report)
        .join(Order, Report.order_id == Order.id)
        .where(Order.response_id == response.id)
        .order_by(Report.received_at, Report.id)
    ):
        day = city_day(report.at)
        received.setdefault((report.order_id, day), []).append(report)
    out: list[Anomaly] = []
    for order in orders:
        for day in _days_owed(order, by, lead, today, now):
            reports = received.get((order.id, day), [])
            due_at = deadline(day, by)
            if any(r.received_at <= due_at for r in reports):
                continue
            out.append(_missed(order, day, by, reports[0] if reports else None))
    return out


def _days_owed(
    order: Order, by: dt.time, lead: dt.timedelta, today: dt.date, now: dt.datetime
) -> list[dt.date]:
    """The days on which ``order`` owed a report whose time has passed at ``now``."""
    if order.end is None and order.closed_at is not None:
        return []  # closed before it came into force: its successor took its days
    last = min(order.end or today, today)
    days: list[dt.date] = []
    day = order.start
    while day <= last:
        due_at = deadline(day, by)
        if now < due_at + GRACE:
            break
        issued_in_time = due_at - order.issued_at >= lead
        open_then = order.closed_at is None or order.closed_at > due_at
        if issued_in_time and open_then:
            days.append(day)
        day += ONE_DAY
    return days


def _missed(order: Order, day: dt.date, by: dt.time, late: Report | None) -> Anomaly:
    at = f"{by:%H:%M}"
    if late is None:
        message = f"no daily report for {day} by {at} (+08:00)"
        message_zh = f"{day} 未在 {at} 前报送日报"
    else:
        hours = (late.received_at - deadline(day, by)).total_seconds() / 3600
        message = f"daily report for {day} received {hours:.1f} h after {at} (+08:00): late"
        message_zh = f"{day} 的日报晚于 {at} 报送（迟 {hours:.1f} 小时）"
    return Anomaly(
        order_id=order.id,
        source=order.source,
        kind="report_missed",
        message=message,
        message_zh=message_zh,
        report_id=late.id if late is not None else None,
        key=f"report:{order.id}:{day}",
        evidence="clock",
        day=day,
    )
