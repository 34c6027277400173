"""The after-action review (复盘) of one response: what the list promised, what was cut as
measured, who did not comply, what it cost, how the warning went, how the forecast did.

The cut achieved is measured per line and day, from the best evidence there is:

1. the line's electricity sub-meters (:mod:`emergency.meters`) — load = the day's kWh
   over the engine's baseline;
2. otherwise the enterprise's report of that day: its per-line loads, else its plant load;
3. otherwise nothing: the line's promised cut is counted apart as ``unverified``.

A line's cut is ``(1 − load) × its normal emission`` (the plan's own arithmetic, see
:meth:`emergency.plans.Plan.cut_kg_d`); a source without a plan (a site, a yard) has one
"line", the source itself. Cost the same way from value added. Days after the server's
today have no measurement yet.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import POLLUTANTS
from emergency.dataset import Dataset
from emergency.meters.analysis import measured_loads
from emergency.service.access import Action, Actor, require
from emergency.service.compliance import compliance
from emergency.service.orders import in_effect
from emergency.service.planning import get_response, loaded_data, plan_row
from emergency.service.reports_due import city_day
from emergency.service.supervision import GradeReview, RankedAnomaly, grade_review, ranked_anomalies
from emergency.solution import Assignment, ResponsePlan
from emergency.store.db import store_of
from emergency.store.models import (
    AuditEntry,
    InspectionTask,
    Order,
    Report,
    Response,
    ResponsePlanRow,
)
from emergency.verification.service import ForecastVsObserved, forecast_vs_observed

Evidence = Literal["meter", "report", "unverified"]
WHOLE = "*"
"""The "line" of a source without a plan: the source as a whole."""

MeasuredLoads = dict[tuple[str, str, dt.date], float]
"""(source, line, city day) → the load measured by the meters (1.0 = normal)."""


class CutRow(BaseModel):
    """One pollutant on one day: the target, the promise, the measured cut."""

    date: dt.date
    level: str
    pollutant: str
    target_kg: float
    promised_kg: float = Field(description="the cut the approved list promised")
    measured_kg: float | None = Field(
        description="the cut achieved, from meters and reports (null: a day still to come)"
    )
    by_meter_kg: float | None
    by_report_kg: float | None
    unverified_kg: float | None = Field(
        description="the promised cut of lines with neither meter nor report that day"
    )
    achieved_share: float | None = Field(description="measured / target (null: no target)")


class SourceDay(BaseModel):
    """One source on one day: promised and measured, and where the measure came from."""

    source: str
    name: str
    date: dt.date
    measure: str
    evidence: Evidence = Field(description="the weakest evidence among its lines")
    promised_kg: dict[str, float]
    measured_kg: dict[str, float]
    by_meter_kg: dict[str, float] = Field(description="the part measured by meters")
    by_report_kg: dict[str, float] = Field(description="the part measured by reports")
    unverified_kg: dict[str, float]
    promised_cost_yuan: float
    estimated_cost_yuan: float


class TimelineEntry(BaseModel):
    at: dt.datetime
    event: str
    actor: str
    detail: str


class TaskOutcome(BaseModel):
    task_id: int
    anomaly_key: str
    enterprise: str
    status: str
    confirmed: bool | None
    finding: str


class ComplianceRate(BaseModel):
    orders: int
    acknowledged: int
    reported: int
    without_anomaly: int
    rate: float | None = Field(description="orders without an anomaly / orders")


class ResponseReview(BaseModel):
    response_id: int
    status: str
    level: str
    start: dt.date
    end: dt.date
    reviewed_at: dt.datetime
    plan_version: int | None = Field(description="the approved version reviewed (null: none)")
    cuts: list[CutRow]
    sources: list[SourceDay]
    compliance: ComplianceRate
    anomalies: list[RankedAnomaly]
    tasks: list[TaskOutcome]
    grade_review: list[GradeReview]
    plan_cost_yuan: float = Field(description="the approved list's cost, all its days")
    promised_cost_yuan: float = Field(
        description="lost value added the list promised on the days measured so far"
    )
    estimated_cost_yuan: float = Field(
        description="lost value added as measured on those days (unverified lines at their promise)"
    )
    timeline: list[TimelineEntry]
    forecast: list[ForecastVsObserved] = Field(
        default_factory=list,
        description="per day: the latest forecast issued before it and the observed AQI",
    )


def _reports(session: Session, response_id: int) -> dict[tuple[str, dt.date], Report]:
    """The last report in effect of each source and city day (orders of the response; a
    corrected report gives way to its correction)."""
    found: dict[tuple[str, dt.date], Report] = {}
    rows = session.execute(
        select(Report, Order.source)
        .join(Order, Report.order_id == Order.id)
        .where(Order.response_id == response_id, in_effect())
        .order_by(Report.at, Report.id)
    )
    for report, source in rows:
        found[source, city_day(report.at)] = report
    return found


def _lines(dataset: Dataset, source: str) -> list[tuple[str, dict[str, float], float]]:
    """(line, normal kg/day per pollutant, value added per day) of a source."""
    plan = dataset.plan(source)
    if plan is not None:
        return [(line.id, line.emissions(), line.value_added_yuan_d) for line in plan.lines]
    row = dataset.by_id[source]
    emissions = {p: float(getattr(row, f"{p}_kg_d")) for p in POLLUTANTS}
    return [(WHOLE, emissions, float(getattr(row, "value_added_yuan_d", 0.0) or 0.0))]


def _planned_load(dataset: Dataset, a: Assignment, line: str) -> float:
    if a.loads and line in a.loads:
        return float(a.loads[line])
    plan = dataset.plan(a.source)
    if plan is not None and line != WHOLE:
        return plan.load(a.measure, line)
    return float(a.load_total) if a.load_total is not None else 1.0


def source_day(
    dataset: Dataset,
    a: Assignment,
    metered: MeasuredLoads,
    report: Report | None,
) -> SourceDay:
    """Promised against measured for one assignment (one source, one day)."""
    promised = dict.fromkeys(POLLUTANTS, 0.0)
    measured = dict.fromkeys(POLLUTANTS, 0.0)
    unverified = dict.fromkeys(POLLUTANTS, 0.0)
    by = {"meter": dict.fromkeys(POLLUTANTS, 0.0), "report": dict.fromkeys(POLLUTANTS, 0.0)}
    cost_promised = cost_measured = 0.0
    seen: set[Evidence] = set()
    for line, emissions, value in _lines(dataset, a.source):
        planned = _planned_load(dataset, a, line)
        load: float | None = metered.get((a.source, line, a.date))
        evidence: Evidence = "meter"
        if load is None and report is not None:
            evidence = "report"
            given = (report.line_loads or {}).get(line)
            load = float(given) if given is not None else float(report.load)
        if load is None:
            evidence = "unverified"
        seen.add(evidence)
        for p, e in emissions.items():
            promised[p] += (1.0 - planned) * e
            if load is None:
                unverified[p] += (1.0 - planned) * e
            else:
                measured[p] += (1.0 - load) * e
                by[evidence][p] += (1.0 - load) * e
        cost_promised += (1.0 - planned) * value
        cost_measured += (1.0 - (planned if load is None else load)) * value
    weakest: Evidence = (
        "unverified" if "unverified" in seen else "report" if "report" in seen else "meter"
    )
    source = dataset.by_id.get(a.source)
    return SourceDay(
        source=a.source,
        name=source.name if source else a.source,
        date=a.date,
        measure=a.measure_name or a.measure,
        evidence=weakest,
        promised_kg={p: round(v, 3) for p, v in promised.items()},
        measured_kg={p: round(v, 3) for p, v in measured.items()},
        by_meter_kg={p: round(v, 3) for p, v in by["meter"].items()},
        by_report_kg={p: round(v, 3) for p, v in by["report"].items()},
        unverified_kg={p: round(v, 3) for p, v in unverified.items()},
        promised_cost_yuan=round(cost_promised, 2),
        estimated_cost_yuan=round(cost_measured, 2),
    )


def _timeline(session: Session, response_id: int) -> list[TimelineEntry]:
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target == f"response:{response_id}")
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    out = []
    for entry in rows:
        after = entry.after or {}
        detail = ", ".join(
            f"{k}={after[k]}"
            for k in ("level", "start", "end", "plan_version", "reason")
            if k in after
        )
        out.append(TimelineEntry(at=entry.at, event=entry.action, actor=entry.actor, detail=detail))
    return out


def metered_loads(session: Session, response: Response) -> MeasuredLoads:
    """The loads the meters measured, per source, line and day of the response (lines
    with a baseline and readings that day; :func:`emergency.meters.analysis.measured_loads`)."""
    return {
        (d.source, d.line, d.day): d.load
        for d in measured_loads(session, response)
        if d.load is not None
    }


def review(session: Session, actor: Actor, response_id: int) -> ResponseReview:
    """The review of a response as of the server's clock."""
    require(actor, Action.read_responses)
    require(actor, Action.read_supervision)
    response = get_response(session, response_id)
    dataset = loaded_data(session).dataset
    today = store_of(session).config.today()
    plan: ResponsePlan | None = None
    if response.approved_plan is not None:
        row: ResponsePlanRow = plan_row(session, response, response.approved_plan)
        plan = ResponsePlan.model_validate(row.plan)
    metered = metered_loads(session, response)
    reports = _reports(session, response.id)
    sources = []
    if plan is not None:
        for a in plan.assignments:
            if a.date > today or all(v <= 0 for v in a.cut_kg.model_dump().values()):
                continue
            sources.append(source_day(dataset, a, metered, reports.get((a.source, a.date))))
    by_day: dict[dt.date, list[SourceDay]] = defaultdict(list)
    for s in sources:
        by_day[s.date].append(s)
    cuts = []
    for day in plan.days if plan is not None else []:
        past = day.date <= today
        for p in POLLUTANTS:
            rows = by_day.get(day.date, [])
            meter = sum(s.by_meter_kg[p] for s in rows)  # line by line, by its evidence
            report = sum(s.by_report_kg[p] for s in rows)
            measured = meter + report
            target = float(getattr(day.target_kg, p))
            cuts.append(
                CutRow(
                    date=day.date,
                    level=day.level,
                    pollutant=p,
                    target_kg=round(target, 3),
                    promised_kg=round(float(getattr(day.cut_kg, p)), 3),
                    measured_kg=round(measured, 3) if past else None,
                    by_meter_kg=round(meter, 3) if past else None,
                    by_report_kg=round(report, 3) if past else None,
                    unverified_kg=round(sum(s.unverified_kg[p] for s in rows), 3) if past else None,
                    achieved_share=round(measured / target, 4) if past and target > 0 else None,
                )
            )
    checked = compliance(session, actor, response.id)
    flagged = {a.order_id for a in checked.anomalies}
    tasks = session.scalars(
        select(InspectionTask)
        .where(InspectionTask.response_id == response.id)
        .order_by(InspectionTask.id)
    )
    return ResponseReview(
        response_id=response.id,
        status=response.status,
        level=response.level,
        start=response.start,
        end=response.end,
        reviewed_at=store_of(session).config.now(),
        plan_version=response.approved_plan,
        cuts=cuts,
        sources=sources,
        compliance=ComplianceRate(
            orders=checked.orders,
            acknowledged=checked.acknowledged,
            reported=checked.reported,
            without_anomaly=checked.orders - len(flagged),
            rate=round((checked.orders - len(flagged)) / checked.orders, 4)
            if checked.orders
            else None,
        ),
        anomalies=ranked_anomalies(session, actor, response.id, checked.anomalies),
        tasks=[
            TaskOutcome(
                task_id=t.id,
                anomaly_key=t.anomaly_key,
                enterprise=t.enterprise_id,
                status=t.status,
                confirmed=t.confirmed,
                finding=t.finding,
            )
            for t in tasks
        ],
        grade_review=grade_review(session, actor, response.id),
        plan_cost_yuan=round(plan.total_cost_yuan, 2) if plan is not None else 0.0,
        promised_cost_yuan=round(sum(s.promised_cost_yuan for s in sources), 2),
        estimated_cost_yuan=round(sum(s.estimated_cost_yuan for s in sources), 2),
        timeline=_timeline(session, response.id),
        forecast=forecast_vs_observed(session, response),
    )
