"""Supervision: which orders were acknowledged and reported on, and what looks wrong.

Anomalies:

- ``load``: a report's load is above the load the order allows (whole source,
  value-added weighted, the same weights as the cost); a report that gave a load per line
  is checked line by line against each line's allowed load, and its plant load only when
  no line is above (a plant load above while every line is within contradicts itself);
- ``electricity``: metered electricity above what the order allows — the allowed load
  times the baseline (normal daily) electricity, taken from the report or the source's
  latest earlier report that gave one;
- ``ack_overdue`` / ``ack_late``: no acknowledgement within the deadline
  (``city.ack_deadline_hours``, or the service's setting).

Only the reports in effect count: a report a later report corrects (``corrects``) is
replaced by its correction, here and in the review.

The view is computed from whatever is stored: a report dated at the edge of year 9999
(accepted before reports were held to their order's period) or a deadline too large for
a date must not make it fail — the compliance page is everyone's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.meters.analysis import meter_anomalies
from emergency.plans import Plan
from emergency.service.access import Action, Actor, require
from emergency.service.deadlines import ack_deadline_hours
from emergency.service.orders import due, in_effect
from emergency.service.planning import get_response, loaded_data
from emergency.service.reports_due import city_day, missed_reports
from emergency.service.views import Anomaly, AnomalyKind, ComplianceRow, ComplianceView, MeasureRef
from emergency.store.db import store_of
from emergency.store.models import Order, Report
from emergency.vehicles.breaches import vehicle_anomalies
from emergency.vocabulary import OrderStatus

LOAD_TOLERANCE = 0.02
"""Reported load may exceed the allowed load by this much (metering and rounding)."""
ELECTRICITY_TOLERANCE = 0.05
"""Electricity may exceed allowed load × baseline by this fraction of the baseline."""


def compliance(session: Session, actor: Actor, response_id: int) -> ComplianceView:
    """The compliance view of one response: every order it issued, with its anomalies."""
    require(actor, Action.read_compliance)
    response = get_response(session, response_id)
    now = store_of(session).config.now()
    hours = ack_deadline_hours(session)
    dataset = loaded_data(session).dataset
    orders = list(
        session.scalars(select(Order).where(Order.response_id == response.id).order_by(Order.id))
    )
    reports: dict[int, list[Report]] = {o.id: [] for o in orders}
    for report in session.scalars(
        select(Report)
        .join(Order, Report.order_id == Order.id)
        .where(Order.response_id == response.id, in_effect())
        .order_by(Report.at, Report.id)
    ):
        reports[report.order_id].append(report)
    baselines = _baselines(session, {o.source for o in orders})
    anomalies: list[Anomaly] = []
    rows: list[ComplianceRow] = []
    for order in orders:
        found = _ack_anomalies(order, hours, now) + _report_anomalies(
            order, reports[order.id], baselines, dataset.plans.get(order.source)
        )
        anomalies += found
        source = dataset.by_id.get(order.source)
        rows.append(
            ComplianceRow(
                order_id=order.id,
                source=order.source,
                source_name=source.name if source is not None else order.source,
                measure=MeasureRef(id=order.measure_id, name=order.measure_name),
                status=OrderStatus(order.status),
                start=order.start,
                end=order.end,
                acknowledged=order.acknowledged_at is not None,
                acknowledged_at=order.acknowledged_at,
                ack_due=_due(order, hours),
                reported=bool(reports[order.id]),
                reports=len(reports[order.id]),
                last_report_at=reports[order.id][-1].at if reports[order.id] else None,
                anomalies=sorted({a.kind for a in found}),
            )
        )
    anomalies += missed_reports(session, response, now)
    anomalies += vehicle_anomalies(session, response)
    anomalies += meter_anomalies(session, response)
    kinds: dict[int, set[AnomalyKind]] = {row.order_id: set() for row in rows}
    for anomaly in anomalies:  # each row names every kind its order has, of any evidence
        kinds.setdefault(anomaly.order_id, set()).add(anomaly.kind)
    for row in rows:
        row.anomalies = sorted(kinds[row.order_id])
    return ComplianceView(
        response_id=response.id,
        checked_at=now,
        ack_deadline_hours=hours,
        orders=len(orders),
        acknowledged=sum(r.acknowledged for r in rows),
        reported=sum(r.reported for r in rows),
        anomalies=anomalies,
        rows=rows,
    )


def _due(order: Order, hours: float) -> dt.datetime:
    """When the acknowledgement is due; the last representable time if that lies beyond
    it (a huge or non-finite deadline must not break the view for everyone)."""
    try:
        return due(order, hours)
    except (OverflowError, ValueError):
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def _ack_anomalies(order: Order, hours: float, now: dt.datetime) -> list[Anomaly]:
    deadline = _due(order, hours)
    if order.acknowledged_at is not None:
        if order.acknowledged_at > deadline:
            late = order.acknowledged_at - deadline
            return [
                _anomaly(
                    order,
                    "ack_late",
                    f"acknowledged {_hours(late)} after the deadline",
                    f"签收晚于时限 {_hours(late, '小时')}",
                )
            ]
        return []
    # An order superseded or lifted before its deadline needed no acknowledgement.
    until = order.closed_at or now
    if until > deadline:
        return [
            _anomaly(
                order,
                "ack_overdue",
                f"not acknowledged within {hours:g} h of issue",
                f"下达后 {hours:g} 小时内未签收",
            )
        ]
    return []


def _report_anomalies(
    order: Order,
    reports: list[Report],
    baselines: dict[str, list[Report]],
    plan: Plan | None = None,
) -> list[Anomaly]:
    out: list[Anomaly] = []
    allowed = order.allowed_load_total
    for r in reports:
        lines = _line_anomalies(order, r, plan)
        out += lines
        if not lines and r.load > allowed + LOAD_TOLERANCE:
            out.append(
                _anomaly(
                    order,
                    "load",
                    f"reported load {r.load:.2f} above allowed {allowed:.2f}",
                    f"报告负荷 {r.load:.2f} 高于允许负荷 {allowed:.2f}",
                    r.id,
                )
            )
        baseline = r.baseline_electricity_kwh or _baseline_before(baselines, order.source, r)
        if r.electricity_kwh is not None and baseline:
            limit = (allowed + ELECTRICITY_TOLERANCE) * baseline
            if r.electricity_kwh > limit:
                out.append(
                    _anomaly(
                        order,
                        "electricity",
                        f"electricity {r.electricity_kwh:g} kWh above allowed {limit:g} kWh"
                        f" (load {allowed:.2f} of baseline {baseline:g} kWh)",
                        f"用电量 {r.electricity_kwh:g} kWh 高于允许值 {limit:g} kWh"
                        f"（允许负荷 {allowed:.2f} × 基准用电量 {baseline:g} kWh）",
                        r.id,
                    )
                )
    return out


def _line_anomalies(order: Order, r: Report, plan: Plan | None) -> list[Anomaly]:
    """``load`` anomalies of a report that gave a load per line: one per line above the
    load the order allows it (key ``load:<order>:<report>:<line>``), with the excess emission
    (the excess load times the line's normal daily emission, from the plan in force)."""
    out: list[Anomaly] = []
    for line, load in sorted((r.line_loads or {}).items()):
        allowed = float(order.allowed_load.get(line, 1.0))
        if load <= allowed + LOAD_TOLERANCE:
            continue
        found = _anomaly(
            order,
            "load",
            f"line {line}: reported load {load:.2f} above allowed {allowed:.2f}",
            f"生产线 {line} 报告负荷 {load:.2f} 高于允许负荷 {allowed:.2f}",
            r.id,
        )
        found.key, found.line = f"load:{order.id}:{r.id}:{line}", line
        found.day = city_day(r.at)
        if plan is not None and line in plan.lines_by_id:
            emissions = plan.lines_by_id[line].emissions()
            found.excess_kg = {
                p: round((load - allowed) * e, 3) for p, e in emissions.items() if e > 0
            }
        out.append(found)
    return out


def _baselines(session: Session, sources: set[str]) -> dict[str, list[Report]]:
    """Reports that gave a baseline, per source, oldest first (across responses)."""
    out: dict[str, list[Report]] = {s: [] for s in sources}
    for report, source in session.execute(
        select(Report, Order.source)
        .join(Order, Report.order_id == Order.id)
        .where(
            Order.source.in_(sources),
            Report.baseline_electricity_kwh.is_not(None),
            in_effect(),
        )
        .order_by(Report.at, Report.id)
    ):
        out[source].append(report)
    return out


def _baseline_before(baselines: dict[str, list[Report]], source: str, r: Report) -> float | None:
    given = [b.baseline_electricity_kwh for b in baselines.get(source, []) if b.at <= r.at]
    return given[-1] if given else None


def _anomaly(
    order: Order, kind: AnomalyKind, message: str, message_zh: str, report_id: int | None = None
) -> Anomaly:
    """An anomaly worded in English (``message``) and Chinese (``message_zh``), keyed by
    its kind, order and report (an inspection task follows the key)."""
    key = f"{kind}:{order.id}" + (f":{report_id}" if report_id is not None else "")
    return Anomaly(
        order_id=order.id,
        source=order.source,
        kind=kind,
        message=message,
        message_zh=message_zh,
        report_id=report_id,
        key=key,
        evidence="report" if report_id is not None else "clock",
    )


def _hours(delta: dt.timedelta, unit: str = "h") -> str:
    return f"{delta.total_seconds() / 3600:.1f} {unit}"
