"""The database schema (SQLAlchemy 2 declarative models).

The schema is created and migrated by Alembic (``emergency/store/migrations``); a test
checks that the migrations and these models agree. Times are stored in UTC and always come
back timezone-aware. JSON columns hold the pydantic models of :mod:`emergency.solution`
and the bodies the API received, so a response can be explained later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPEN_ORDER = "status IN ('issued', 'acknowledged')"
"""SQL condition of an order that is in force (used by a partial unique index)."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored as UTC (SQLite keeps no offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class DataFile(Base):
    """One file of the data folder (inventory, city plan, rule sets, enterprise plans)."""

    __tablename__ = "data_files"

    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(200))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie holds a random id, the database only its hash.

    Ended by signing out, by revoking the token it was opened with, after ``idle`` without
    a request and at ``expires_at`` whatever happens.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class PlanVersion(Base):
    """One submitted version of an enterprise's plan, and its review.

    A PUT creates a ``pending`` version; only a planner's approval copies its text into
    the data files the engine plans with. Versions are never edited after review:
    ``pending`` → ``approved`` | ``rejected`` | ``withdrawn`` (a newer submission).
    """

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("enterprise_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    base_sha256: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime]
    submitted_by: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Response(Base):
    """The city's response to one warning episode, from opening to release."""

    __tablename__ = "responses"
    __table_args__ = (
        # At most one open response per city: a second concurrent opening fails here.
        Index(
            "uq_responses_open_city",
            "city",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    rule_set: Mapped[str] = mapped_column(String(100))
    warning: Mapped[dict[str, Any]]
    plan_number: Mapped[int] = mapped_column(Integer, default=0)
    approved_plan: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime]
    released_at: Mapped[dt.datetime | None]
    key_period: Mapped[str | None] = mapped_column(String(300), index=True)
    """``season/name/start`` of the key period that opened it (None: a forecast did)."""
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (optimistic locking)


class ResponsePlanRow(Base):
    """One version of a response's plan: the whole timeline, past days included."""

    __tablename__ = "response_plans"
    __table_args__ = (UniqueConstraint("response_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(40))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    plan: Mapped[dict[str, Any]]
    data_key: Mapped[str | None] = mapped_column(String(64))
    """Content address of the data files (inventory, city plan, approved plans) it was made with."""


class SeasonPlan(Base):
    """One version of a heating-season plan (the season file, its schedule) and its review.

    A planner's post (or re-plan) stores a ``pending`` version; approval makes it
    ``approved`` and the previous approved version of the same season ``superseded``
    (``pending`` → ``approved`` | ``rejected``; ``approved`` → ``superseded``). At most one
    approved version per season (a partial unique index).
    """

    __tablename__ = "season_plans"
    __table_args__ = (
        UniqueConstraint("season_id", "number"),
        Index(
            "uq_season_plans_approved",
            "season_id",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    season_id: Mapped[str] = mapped_column(String(100), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)
    risk_csv: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[dict[str, Any]]
    key_periods: Mapped[list[Any]]
    """The season's key periods: [{name, start, end, level}]."""
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A re-plan's state: the loads held on the days before ``effective_from``."""
    effective_from: Mapped[dt.date] = mapped_column(Date)
    based_on: Mapped[int | None] = mapped_column(Integer)
    """The approved version a re-plan starts from."""
    data_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_note: Mapped[str] = mapped_column(Text, default="")
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Consultation(Base):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    forecast: Mapped[dict[str, Any]]
    warning: Mapped[dict[str, Any]]
    action: Mapped[str] = mapped_column(String(20))
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))


class OverrideRow(Base):
    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    source: Mapped[str] = mapped_column(String(100))
    measure: Mapped[str | None] = mapped_column(String(100))
    exempt: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class Approval(Base):
    """A plan version approved; unique, so concurrent approvals issue each order once."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("response_plans.id"), unique=True)
    approved_at: Mapped[dt.datetime]
    approved_by: Mapped[str] = mapped_column(String(200))


class Order(Base):
    """One order to one source for one period (consecutive days, same measure and level).

    ``kind``: ``response`` (a response's plan version: ``response_id``, ``plan_id``) or
    ``staggered`` (a run of an approved season plan: ``season_plan_id``).
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("plan_id", "source", "start"),
        UniqueConstraint("season_plan_id", "source", "start"),
        # At most one staggered order in force per source and start.
        Index(
            "uq_orders_staggered_in_force",
            "source",
            "start",
            unique=True,
            sqlite_where=text(f"kind = 'staggered' AND {OPEN_ORDER}"),
            postgresql_where=text(f"kind = 'staggered' AND {OPEN_ORDER}"),
        ),
        # At most one order in force per source and period start within a response.
        Index(
            "uq_orders_in_force",
            "response_id",
            "source",
            "start",
            unique=True,
            sqlite_where=text(OPEN_ORDER),
            postgresql_where=text(OPEN_ORDER),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="response", server_default="response")
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("response_plans.id"))
    season_plan_id: Mapped[int | None] = mapped_column(ForeignKey("season_plans.id"), index=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    measure_id: Mapped[str] = mapped_column(String(100))
    measure_name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date)
    planned_end: Mapped[dt.date] = mapped_column(Date)
    fixed: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20))
    expected_cut_kg_d: Mapped[dict[str, Any]]
    allowed_load: Mapped[dict[str, Any]]
    allowed_load_total: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OrderEvent(Base):
    """The history of an order: issued, acknowledged, reported, superseded, lifted."""

    __tablename__ = "order_events"
    __table_args__ = (
        Index(
            "uq_order_events_ack_overdue",
            "order_id",
            unique=True,
            sqlite_where=text("event = 'ack_overdue'"),
            postgresql_where=text("event = 'ack_overdue'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")


class Report(Base):
    """What an enterprise reports it did under an order."""

    __tablename__ = "reports"
    __table_args__ = (Index("uq_reports_corrects", "corrects", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[dt.datetime]
    load: Mapped[float] = mapped_column(Float)
    electricity_kwh: Mapped[float | None] = mapped_column(Float)
    baseline_electricity_kwh: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    line_loads: Mapped[dict[str, Any] | None]
    """Per line of the plan, the load reported (1.0 = normal); None: the plant as a whole."""
    corrects: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    """The report this one corrects (same order, day and lines); append-only: the report
    corrected stays stored and no longer counts. A report is corrected at most once."""


class AuditEntry(Base):
    """Append-only: database triggers refuse UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Subscription(Base):
    """Where an enterprise (or the city, ``enterprise_id`` None) wants its events sent.

    ``secret`` signs the webhook bodies (HMAC-SHA256); it is never shown back. Deleting a
    subscription sets ``deleted_at``: its notifications stay traceable.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[dt.datetime | None]


class Notification(Base):
    """The transactional outbox: one message to one recipient on one channel, written in
    the transaction of the change it tells of; the dispatcher delivers it.

    ``status``: ``pending`` → ``sending`` (claimed until ``next_attempt_at``) →
    ``delivered`` | ``pending`` (a retry) | ``failed``. ``message_id`` is the stable id a
    receiver deduplicates on (``X-Emergency-Delivery``); the payload never changes.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    """None for a contact from the enterprise's plan (its email or mobile)."""
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(2000))
    """Where it goes when no subscription says so (a plan contact's address or number)."""
    recipient: Mapped[str] = mapped_column(String(200))
    """``enterprise:<id>`` or ``city``."""
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claim: Mapped[str | None] = mapped_column(String(32))
    """The token of the dispatcher that holds it while ``sending``."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]


class DeliveryAttempt(Base):
    """One try to deliver a notification: its outcome, the HTTP status, the error."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[dt.datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    """``delivered``, ``retry`` or ``failed``."""
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)


# ---------------------------------------------------------------------- supervision data
# Meter readings, gate records and observations are append-only: a correction is a new row
# that names the row it corrects (``corrects``); the unique partial indexes make a resent
# original a no-op (idempotent by meter and time, gate record, station and date).


class MeterReading(Base):
    """15-minute electricity of one sub-meter (分表计电): ``kwh`` drawn in the interval
    that begins at ``at``."""

    __tablename__ = "meter_readings"
    __table_args__ = (
        Index("ix_meter_readings_meter_at", "meter", "at"),
        Index(
            "uq_meter_readings_original",
            "meter",
            "at",
            unique=True,
            sqlite_where=text("corrects IS NULL"),
            postgresql_where=text("corrects IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    kwh: Mapped[float] = mapped_column(Float)
    corrects: Mapped[int | None] = mapped_column(ForeignKey("meter_readings.id"))
    received_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))


class GateRecord(Base):
    """A vehicle through an enterprise's gate (门禁): plate, time, emission standard, fuel."""

    __tablename__ = "gate_records"
    __table_args__ = (
        Index("ix_gate_records_enterprise_at", "enterprise_id", "at"),
        Index(
            "uq_gate_records_original",
            "enterprise_id",
            "gate",
            "plate",
            "at",
            unique=True,
            sqlite_where=text("corrects IS NULL"),
            postgresql_where=text("corrects IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(100))
    gate: Mapped[str] = mapped_column(String(100))
    plate: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime]
    direction: Mapped[str] = mapped_column(String(10), default="in")
    """``in`` or ``out``."""
    vehicle: Mapped[str] = mapped_column(String(20), default="heavy_truck")
    """``heavy_truck``, ``light_truck``, ``machinery`` …"""
    standard: Mapped[str] = mapped_column(String(10))
    """China emission standard: ``3`` … ``6`` (国III … 国VI), ``electric``."""
    fuel: Mapped[str] = mapped_column(String(20))
    """``diesel``, ``gas``, ``lng``, ``cng``, ``electric``, ``hydrogen`` …"""
    corrects: Mapped[int | None] = mapped_column(ForeignKey("gate_records.id"))
    received_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))


class Observation(Base):
    """An observed daily AQI (the city's monitoring stations) for forecast verification."""

    __tablename__ = "observations"
    __table_args__ = (
        Index(
            "uq_observations_original",
            "station",
            "date",
            unique=True,
            sqlite_where=text("corrects IS NULL"),
            postgresql_where=text("corrects IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(100), default="city")
    """``city`` for the city's mean of its stations."""
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    aqi: Mapped[int] = mapped_column(Integer)
    primary: Mapped[str | None] = mapped_column(String(20))
    corrects: Mapped[int | None] = mapped_column(ForeignKey("observations.id"))
    received_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))


class InspectionTask(Base):
    """An inspector's visit to check an anomaly: open → assigned → visited → closed.

    ``anomaly_key`` is the anomaly's stable key (one open task per key and response); ``confirmed``
    after the visit: True marks the enterprise for grade review (降级)."""

    __tablename__ = "inspection_tasks"
    __table_args__ = (
        Index(
            "uq_inspection_tasks_open_key",
            "response_id",
            "anomaly_key",
            unique=True,
            sqlite_where=text("status <> 'closed'"),
            postgresql_where=text("status <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    enterprise_id: Mapped[str] = mapped_column(String(100), index=True)
    anomaly_kind: Mapped[str] = mapped_column(String(40))
    anomaly_key: Mapped[str] = mapped_column(String(300))
    excess_kg: Mapped[float | None] = mapped_column(Float)
    """The anomaly's estimated excess emission, all pollutants (its rank)."""
    status: Mapped[str] = mapped_column(String(20), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    visited_at: Mapped[dt.datetime | None]
    finding: Mapped[str] = mapped_column(Text, default="")
    confirmed: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TaskPhoto(Base):
    """A photo taken at an inspection (JPEG or PNG), kept with its digest."""

    __tablename__ = "task_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("inspection_tasks.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime]
    uploaded_by: Mapped[str] = mapped_column(String(200))
