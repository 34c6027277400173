"""What the service flows take and return: pydantic models shared by the API and the pages.

Quantities carry their unit in their name (``_kg_d`` kilograms per day, ``_yuan``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emergency.bounds import BoundedAwareDatetime
from emergency.solution import EpisodeView, PollutantAmounts, WarningDecision
from emergency.vocabulary import OrderStatus, PlanVersionStatus, ResponseStatus

ConsultAction = Literal[
    "opened", "upgraded", "downgraded", "extended", "shortened", "unchanged", "released", "none"
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PlanVersionView(BaseModel):
    number: int
    created_at: dt.datetime
    created_by: str
    reason: str
    effective_from: dt.date
    status: str
    total_cost_yuan: float
    approved: bool
    data_key: str | None = Field(
        default=None,
        description="content address of the data (inventory, city plan, approved plans) "
        "the version was planned with",
    )


class OverrideView(BaseModel):
    id: int
    source: str
    measure: str | None
    exempt: bool
    reason: str
    active: bool
    created_at: dt.datetime
    created_by: str


class ResponseSummary(BaseModel):
    id: int
    status: ResponseStatus
    level: str
    start: dt.date
    end: dt.date
    rule_set: str
    plan_version: int
    plan_status: str | None
    total_cost_yuan: float | None
    approved_plan_version: int | None
    approved: bool = Field(description="the current plan version has been approved")
    opened_at: dt.datetime
    released_at: dt.datetime | None
    start_at: dt.datetime | None = Field(
        default=None, description="when it took effect, in the city's time (+08:00)"
    )
    end_at: dt.datetime | None = Field(
        default=None, description="24:00 of its last day, in the city's time"
    )


class ResponseDetail(ResponseSummary):
    warning: WarningDecision
    plans: list[PlanVersionView]
    overrides: list[OverrideView]
    orders_by_status: dict[str, int]


class ConsultationResult(BaseModel):
    """The reply to a consultation: the decision and what it did to the city's response."""

    consultation_id: int
    action: ConsultAction
    response_id: int | None
    warning: WarningDecision
    plan_version: int | None = None
    plan_status: str | None = None
    orders_issued: int = 0
    orders_superseded: int = 0
    orders_lifted: int = 0


class ConsultationView(BaseModel):
    """A consultation received: the forecast, the decision and what it did."""

    id: int
    received_at: dt.datetime
    actor: str
    action: ConsultAction
    response_id: int | None
    warning: WarningDecision
    forecast: dict[str, Any]


class MeasureRef(BaseModel):
    id: str
    name: str


class OrderEventView(BaseModel):
    at: dt.datetime
    actor: str
    event: str
    note: str


class OrderView(BaseModel):
    """An order to one source for one period: of a response, or a staggered-production
    run of an approved season plan."""

    id: int
    kind: Literal["response", "staggered"] = Field(
        default="response",
        description="response: an emergency response's order; staggered: a run of the "
        "approved season plan (错峰生产)",
    )
    response_id: int | None = Field(description="the response (null for staggered orders)")
    season_plan_id: int | None = Field(
        default=None, description="the season plan version a staggered order comes from"
    )
    season: str | None = Field(default=None, description="the season's id (staggered orders)")
    plan_version: int = Field(
        description="the response's plan version, or the season plan's version number"
    )
    source: str
    source_name: str
    measure: MeasureRef
    level: str
    start: dt.date
    end: dt.date | None = Field(description="last day; null while open-ended (until release)")
    planned_end: dt.date = Field(description="the last day the current plan foresees")
    start_at: dt.datetime | None = Field(
        default=None,
        description="when it takes effect, in the city's time (+08:00): the warning's start "
        "hour on its first day, else 00:00",
    )
    end_at: dt.datetime | None = Field(
        default=None, description="24:00 of its last day (null while open-ended)"
    )
    status: OrderStatus
    current: bool = Field(description="in force: issued or acknowledged")
    superseded_by: int | None
    fixed: str = Field(description="'override' or 'exempt' when a planner fixed the measure")
    expected_cut_kg_d: PollutantAmounts
    allowed_load: dict[str, float] = Field(description="allowed load per line, 1.0 = normal")
    allowed_load_total: float = Field(description="allowed load of the whole source")
    issued_at: dt.datetime
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    reports: int
    history: list[OrderEventView]


class ApprovalResult(BaseModel):
    response_id: int
    plan_version: int
    already_approved: bool
    issued: list[OrderView]
    superseded: list[int]
    lifted: list[int]
    kept: int


class OverrideIn(_In):
    """Fix one source: at a measure on every remaining day, or exempt (normal operation)."""

    source: str = Field(min_length=1, max_length=100)
    measure: str | None = Field(default=None, min_length=1, max_length=100)
    exempt: bool = False
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one(self) -> OverrideIn:
        if (self.measure is None) == (not self.exempt):
            raise ValueError("give either `measure` or `exempt: true`, not both or neither")
        return self


MAX_LINE_LOAD = 1.5
"""A line's reported load may reach 150 % of normal (a line catching up); more is a typo."""

LineLoad = Annotated[float, Field(ge=0, le=MAX_LINE_LOAD)]
LineId = Annotated[str, Field(min_length=1, max_length=100)]


class ReportIn(_In):
    """What an enterprise did: its load (fraction of normal) and metered electricity.

    ``at`` carries a UTC offset and lies within 2000–2100 (:mod:`emergency.bounds`); the
    order's own period is checked by :func:`emergency.service.orders.add_report`. Numbers
    are finite (``NaN``, ``Infinity`` are refused). ``line_loads`` names lines of the
    order's plan only (checked by ``add_report``); without ``load`` it must give every
    line, and the plant's load is their value-added weighted mean. ``corrects`` makes it
    a correction of a stored report (checked by ``add_report``)."""

    at: BoundedAwareDatetime
    load: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="production load of the whole plant, fraction of normal; may be left "
        "out when line_loads gives every line (then their value-added weighted mean)",
    )
    line_loads: dict[LineId, LineLoad] | None = Field(
        default=None,
        max_length=200,
        description="load per line of the order's plan, 1.0 = normal (0..1.5)",
    )
    electricity_kwh: float | None = Field(default=None, ge=0)
    baseline_electricity_kwh: float | None = Field(
        default=None, gt=0, description="normal daily electricity; the basis of the check"
    )
    note: str = Field(default="", max_length=4000)
    corrects: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="a correction: the id of the report it corrects (the latest of the "
        "order's reports for that day, not corrected yet; same day and lines); the report "
        "corrected stays stored and no longer counts",
    )


class ReportView(BaseModel):
    id: int
    order_id: int
    at: dt.datetime
    load: float
    line_loads: dict[str, float] | None = Field(
        default=None, description="load per line as reported (null: the plant as a whole)"
    )
    electricity_kwh: float | None
    baseline_electricity_kwh: float | None
    note: str
    received_at: dt.datetime
    actor: str
    corrects: int | None = Field(
        default=None, description="the report this one corrects (null: an original report)"
    )


AnomalyKind = Literal[
    "load",
    "electricity",
    "ack_overdue",
    "ack_late",
    "report_missed",
    "meter_stopped_draws",
    "meter_over_limit",
    "meter_missing",
    "vehicle_banned",
    "vehicle_over_cap",
]


class Anomaly(BaseModel):
    order_id: int
    source: str
    kind: AnomalyKind
    message: str
    message_zh: str = ""
    """``message`` in Chinese (``签收晚于时限 2.5 小时``)."""
    report_id: int | None = None
    key: str = Field(
        default="",
        description="stable id of the anomaly (an inspection task follows one key)",
    )
    evidence: Literal["declared", "meter", "report", "gate", "clock"] = Field(
        default="declared", description="where the anomaly is seen"
    )
    line: str | None = None
    day: dt.date | None = None
    at: dt.datetime | None = Field(default=None, description="when it was seen (hourly data)")
    excess_kwh: float | None = None
    excess_kg: dict[str, float] = Field(
        default_factory=dict, description="estimated excess emission per pollutant, kg"
    )


class ComplianceRow(BaseModel):
    order_id: int
    source: str
    source_name: str
    measure: MeasureRef
    status: OrderStatus
    start: dt.date
    end: dt.date | None
    acknowledged: bool
    acknowledged_at: dt.datetime | None
    ack_due: dt.datetime
    reported: bool
    reports: int
    last_report_at: dt.datetime | None
    anomalies: list[AnomalyKind]


class ComplianceView(BaseModel):
    response_id: int
    checked_at: dt.datetime
    ack_deadline_hours: float
    orders: int
    acknowledged: int
    reported: int
    anomalies: list[Anomaly]
    rows: list[ComplianceRow]


class PublicWarning(BaseModel):
    city: str
    level: str | None
    start: dt.date | None
    end: dt.date | None
    advice: str
    advice_en: str | None = None
    updated_at: dt.datetime | None
    coming: list[EpisodeView] = Field(
        default_factory=list,
        description="episodes the latest forecast shows after the one in force (or the next)",
    )
    start_at: dt.datetime | None = Field(
        default=None, description="when the warning took effect, in the city's time"
    )
    late: bool = Field(default=False, description="issued later than the rule set's lead time")
    late_reason: str = ""


class EnterpriseView(BaseModel):
    id: str
    name: str
    kind: str
    industry: str
    district: str
    lon: float
    lat: float
    grade: str | None
    guarantee: str | None
    so2_kg_d: float
    nox_kg_d: float
    pm_kg_d: float
    vocs_kg_d: float
    value_added_yuan_d: float
    has_plan: bool


class MeasureView(BaseModel):
    """A measure a source may take, with its daily cut and cost (the optimiser's)."""

    id: str
    name: str
    cut_kg_d: dict[str, float]
    cost_yuan_d: float
    loads: dict[str, float] = Field(description="load per line (plans only)")
    levels: list[str] = Field(description="the levels at which it is the source's floor")


class PlanDocument(BaseModel):
    enterprise: str
    path: str
    updated_at: dt.datetime | None
    updated_by: str | None
    text: str = Field(description="the plan file as stored (YAML)")
    plan: dict[str, Any] = Field(description="the plan as read by the engine")


class ImportSummary(BaseModel):
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]


class PlanSubmission(BaseModel):
    """One submitted version of an enterprise's plan and where its review stands."""

    enterprise: str
    number: int
    status: PlanVersionStatus = Field(
        description="pending: waiting for a planner; only an approved version is planned with"
    )
    sha256: str
    submitted_at: dt.datetime
    submitted_by: str
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    review_note: str
    in_force: bool = Field(description="this version is the plan the engine uses now")


class LineChange(BaseModel):
    line: str
    change: Literal["added", "removed", "changed"]
    fields: dict[str, list[Any]] = Field(
        default_factory=dict, description="field → [before, after]"
    )


class MeasureChange(BaseModel):
    measure: str
    change: Literal["added", "removed", "changed"]
    loads: dict[str, list[float | None]] = Field(
        default_factory=dict, description="line → [load before, load after]"
    )


class EdgeChange(BaseModel):
    change: Literal["added", "removed", "changed"]
    line: str
    to_enterprise: str
    to_line: str
    share: list[float | None] = Field(description="[before, after]")
    other_enterprise: bool = Field(description="the edge binds another enterprise's line")


class LevelEffect(BaseModel):
    """What a plan commits to at one level, before and after the change."""

    level: str
    floor_before: str | None
    floor_after: str
    cut_before_kg_d: PollutantAmounts | None
    cut_after_kg_d: PollutantAmounts
    cost_before_yuan_d: float | None
    cost_after_yuan_d: float
    weaker: list[str] = Field(description="pollutants whose floor cut gets smaller")


class PlanSubmissionDetail(PlanSubmission):
    """A version with its text, its differences from the plan in force and their effect."""

    text: str
    base: int | None = Field(description="the version in force it is compared with")
    diff: str = Field(description="unified diff of the YAML against the plan in force")
    lines: list[LineChange]
    measures: list[MeasureChange]
    levels: dict[str, list[str | None]] = Field(description="level → [floor before, after]")
    supplies: list[EdgeChange]
    effect: list[LevelEffect]
    warnings: list[str] = Field(
        description="what a reviewer must look at: weaker floors, edges binding other firms"
    )


class PlanReviewIn(_In):
    """A planner's decision on a pending plan version."""

    note: str = Field(default="", max_length=2000, description="the reason (required to reject)")


class SeasonPlanIn(_In):
    """A season plan to schedule: the season file (YAML) and, optionally, its risk series
    as CSV text (``date,risk``) when the file's ``risk:`` names a CSV."""

    season: str = Field(min_length=1, max_length=200_000, description="plans/season.yaml text")
    risk_csv: str | None = Field(
        default=None,
        max_length=200_000,
        description="the CSV the file's `risk:` names (date,risk); inline risk needs none",
    )


class SeasonReplanIn(_In):
    """Re-plan the approved season from a date, optionally with a new risk series."""

    from_: dt.date | None = Field(
        default=None,
        alias="from",
        description="the first day re-planned (default and earliest: the server's today)",
    )
    risk: dict[dt.date, float] | None = Field(
        default=None, description="a new risk series {date: value} (trend forecast)"
    )
    risk_csv: str | None = Field(default=None, max_length=200_000, description="or as CSV")

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class QuotaView(BaseModel):
    id: str
    kind: str
    required: float
    achieved: float
    unit: str
    short_by: float
    met: bool
    short: list[dict[str, Any]] = Field(default_factory=list)


class SeasonPlanSummary(BaseModel):
    """One version of a season plan and where its review stands."""

    id: int
    season: str
    number: int
    status: str = Field(description="pending | approved | rejected | superseded")
    start: dt.date
    end: dt.date
    effective_from: dt.date = Field(description="the first day it plans (a re-plan's from)")
    based_on: int | None = Field(description="the approved version a re-plan starts from")
    schedule_status: str
    total_cost_yuan: float
    risk_weighted_cut: float
    quotas_met: int
    quotas_short: int
    data_key: str
    created_at: dt.datetime
    created_by: str
    reviewed_at: dt.datetime | None
    reviewed_by: str | None
    review_note: str
    superseded_by: int | None


class SeasonPlanDetail(SeasonPlanSummary):
    """A version with its season file and schedule (``emergency season plan --json``)."""

    text: str
    risk_csv: str | None
    quotas: list[QuotaView]
    key_periods: list[dict[str, Any]]
    min_running_share: dict[str, float]
    """Industry → the share of its normal output that runs every day."""
    schedule: dict[str, Any]


class SeasonApproval(BaseModel):
    """What approving a season plan did."""

    season_plan: SeasonPlanSummary
    superseded_plan: int | None
    issued: list[OrderView]
    superseded: list[int]
    lifted: list[int]
    kept: int
    responses: list[dict[str, Any]] = Field(
        description="responses the key periods opened or floored: {response_id, action, "
        "key_period, reason}"
    )
