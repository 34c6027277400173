"""Orders: issued on approval, acknowledged and reported on by enterprises.

Approving a plan version turns its periods into orders. Orders already in force that the
plan still wants are kept; those it no longer wants are superseded (by the source's new
order) or lifted (the source is back to normal). Approval is idempotent — a plan version
is approved once, guarded by a unique row — so approving twice, even concurrently, issues
nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from emergency import ONE_DAY
from emergency.errors import InputError
from emergency.notify.outbox import order_history
from emergency.service.access import Action, Actor, require, require_own
from emergency.service.audit import record
from emergency.service.errors import Conflict, NotFound
from emergency.service.periods import OrderKey, Period, ends_at, periods, starts_at
from emergency.service.planning import get_response, loaded_data, plan_row
from emergency.service.reports_due import city_day
from emergency.service.uow import RACE_MESSAGE, commit, raced
from emergency.service.views import (
    ApprovalResult,
    MeasureRef,
    OrderEventView,
    OrderView,
    ReportIn,
    ReportView,
)
from emergency.settings import CITY_OFFSET
from emergency.solution import PollutantAmounts, ResponsePlan
from emergency.store.db import store_of
from emergency.store.models import (
    Approval,
    Order,
    OrderEvent,
    Report,
    Response,
    ResponsePlanRow,
    SeasonPlan,
)
from emergency.vocabulary import IN_FORCE, OrderStatus, ResponseStatus


@dataclass
class Issued:
    """What one round of issuing did."""

    issued: list[Order] = field(default_factory=list)
    superseded: list[Order] = field(default_factory=list)
    lifted: list[Order] = field(default_factory=list)
    kept: int = 0


def _key(order: Order) -> OrderKey:
    return (order.source, order.measure_id, order.level, order.start, order.end)


def _event(session: Session, order: Order, actor: Actor, event: str, note: str = "") -> None:
    order_history(session, order, actor.label, event, note)  # the outbox: in this transaction


def _new_order(session: Session, response: Response, row: ResponsePlanRow, p: Period) -> Order:
    return Order(
        kind="response",
        response_id=response.id,
        plan_id=row.id,
        source=p.source,
        measure_id=p.measure_id,
        measure_name=p.measure_name,
        level=p.level,
        start=p.start,
        end=p.end,
        planned_end=p.last,
        fixed=p.fixed,
        status=OrderStatus.issued,
        expected_cut_kg_d=p.cut_kg_d,
        allowed_load=p.allowed_load,
        allowed_load_total=p.allowed_load_total,
        issued_at=store_of(session).config.now(),
    )


def orders_in_force(session: Session, response_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(Order.response_id == response_id, Order.status.in_(IN_FORCE))
            .order_by(Order.id)
        )
    )


def issue(session: Session, actor: Actor, response: Response, row: ResponsePlanRow) -> Issued:
    """Bring the orders in force in line with plan version ``row`` (no commit).

    Nothing dated before the server's today is issued or superseded: a plan version
    approved late issues its orders from today on, and an order whose days are all behind
    stays as it was.
    """
    plan = ResponsePlan.model_validate(row.plan)
    first_day = max(row.effective_from, store_of(session).config.today())
    wanted = [p for p in periods(plan, loaded_data(session).dataset) if p.last >= first_day]
    wanted_keys = {p.key for p in wanted}
    done = Issued()
    in_force = orders_in_force(session, response.id)
    have = {_key(o): o for o in in_force}
    starts = {(p.source, max(p.start, first_day)) for p in wanted}
    stale = [
        o
        for o in in_force
        if _key(o) not in wanted_keys
        and (not _finished(o, first_day) or (o.source, o.start) in starts)
    ]
    now = store_of(session).config.now()
    for order in stale:  # first, so that a new order may take the same start
        order.status = OrderStatus.superseded
        order.closed_at = now
        if order.end is None and order.start < first_day:
            order.end = first_day - ONE_DAY  # its last day in force
    session.flush()
    for p in wanted:
        kept = have.get(p.key)
        if kept is not None:
            kept.planned_end = p.last
            done.kept += 1
            continue
        if p.start < first_day:  # its days behind were never ordered: from today on
            p = replace(p, start=first_day)
        order = _new_order(session, response, row, p)
        session.add(order)
        done.issued.append(order)
    session.flush()
    hand_over(session, actor, done, stale, f"plan version {row.number} ({row.reason})")
    return done


def hand_over(session: Session, actor: Actor, done: Issued, stale: list[Order], note: str) -> None:
    """Record the orders ``done`` issued, then close each ``stale`` order: superseded by its
    source's first new order, else lifted (back to normal operation); flushed."""
    for order in done.issued:
        _event(session, order, actor, "issued", note)
    successor: dict[str, int] = {}
    for order in done.issued:
        successor.setdefault(order.source, order.id)
    for order in stale:
        if order.source in successor:
            order.superseded_by = successor[order.source]
            done.superseded.append(order)
            _event(session, order, actor, "superseded", f"by order {order.superseded_by}: {note}")
        else:
            order.status = OrderStatus.lifted
            done.lifted.append(order)
            _event(session, order, actor, "lifted", f"back to normal operation: {note}")
    session.flush()


def _finished(order: Order, first_day: dt.date) -> bool:
    """An order whose period ended before ``first_day`` stays as it is."""
    return order.end is not None and order.end < first_day


def lift_all(
    session: Session, actor: Actor, response: Response, note: str, today: dt.date
) -> list[Order]:
    """Lift every order in force of a response (release on ``today``); no commit."""
    now = store_of(session).config.now()
    lifted = orders_in_force(session, response.id)
    for order in lifted:
        order.status = OrderStatus.lifted
        order.closed_at = now
        if order.end is None and order.start <= today:
            order.end = min(order.planned_end, today)  # its last day in force
        _event(session, order, actor, "lifted", note)
    session.flush()
    return lifted


def approve_version(
    session: Session, actor: Actor, response: Response, row: ResponsePlanRow, *, by: str = ""
) -> Issued:
    """Approve plan version ``row`` and issue its orders; audited (no commit).

    The one approval, whoever makes it: a planner, or a consultation whose change must
    reach orders already out (``by="consultation"``). A second approval of the same version
    fails on the unique approval row (``IntegrityError`` at the flush).
    """
    previous = response.approved_plan
    session.add(
        Approval(
            response_id=response.id,
            plan_id=row.id,
            approved_at=store_of(session).config.now(),
            approved_by=actor.label,
        )
    )
    response.approved_plan = row.number
    session.flush()
    done = issue(session, actor, response, row)
    before: dict[str, object] = {"approved_plan": previous}
    if by:
        before["by"] = by
    record(
        session,
        actor,
        "response.approve",
        f"response:{response.id}",
        before,
        _summary(row.number, done),
    )
    return done


def approve(
    session: Session, actor: Actor, response_id: int, *, plan_version: int | None = None
) -> ApprovalResult:
    """Approve the current plan version of a response and issue its orders (idempotent).

    Parameters
    ----------
    plan_version : when given, must be the current version (the one the planner reviewed);
        otherwise :class:`Conflict`.
    """
    require(actor, Action.approve)
    response = get_response(session, response_id)
    if response.status != ResponseStatus.open:
        raise Conflict(f"response {response_id} is {response.status}")
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan to approve")
    if plan_version is not None and plan_version != response.plan_number:
        raise Conflict(
            f"plan version {plan_version} is not current (current: {response.plan_number})"
        )
    row = plan_row(session, response)
    if _approval(session, row.id) is not None:
        return _already(session, response_id, row.number)
    try:
        done = approve_version(session, actor, response, row)
    except (IntegrityError, StaleDataError):
        # Lost a race: another approval of this version committed first, or the plan changed.
        session.rollback()
        if _approval(session, row.id) is not None:
            return _already(session, response_id, row.number)
        raise Conflict(f"response {response_id} changed meanwhile; reload and retry") from None
    commit(session)
    return ApprovalResult(
        response_id=response.id,
        plan_version=row.number,
        already_approved=False,
        issued=order_views(session, done.issued),
        superseded=[o.id for o in done.superseded],
        lifted=[o.id for o in done.lifted],
        kept=done.kept,
    )


def _summary(number: int, done: Issued) -> dict[str, object]:
    return {
        "plan_version": number,
        "issued": [o.id for o in done.issued],
        "superseded": [o.id for o in done.superseded],
        "lifted": [o.id for o in done.lifted],
        "kept": done.kept,
    }


def _approval(session: Session, plan_id: int) -> Approval | None:
    return session.scalar(select(Approval).where(Approval.plan_id == plan_id))


def _already(session: Session, response_id: int, number: int) -> ApprovalResult:
    kept = len(orders_in_force(session, response_id))
    return ApprovalResult(
        response_id=response_id,
        plan_version=number,
        already_approved=True,
        issued=[],
        superseded=[],
        lifted=[],
        kept=kept,
    )


# ----------------------------------------------------------------------------- reading


def order_view(session: Session, order: Order) -> OrderView:
    return order_views(session, [order])[0]


def order_views(session: Session, rows: list[Order]) -> list[OrderView]:
    """Views of many orders in four queries, whatever their number."""
    if not rows:
        return []
    ids = [o.id for o in rows]
    history: dict[int, list[OrderEventView]] = {i: [] for i in ids}
    for event in session.scalars(
        select(OrderEvent).where(OrderEvent.order_id.in_(ids)).order_by(OrderEvent.id)
    ):
        history[event.order_id].append(OrderEventView.model_validate(event, from_attributes=True))
    reports = dict(
        session.execute(
            select(Report.order_id, func.count(Report.id))
            .where(Report.order_id.in_(ids))
            .group_by(Report.order_id)
        ).all()
    )
    plan_ids = {o.plan_id for o in rows if o.plan_id is not None}
    numbers = dict(
        session.execute(
            select(ResponsePlanRow.id, ResponsePlanRow.number).where(
                ResponsePlanRow.id.in_(plan_ids)
            )
        ).all()
    )
    season_ids = {o.season_plan_id for o in rows if o.season_plan_id is not None}
    seasons: dict[int, tuple[str, int]] = {
        i: (season, number)
        for i, season, number in session.execute(
            select(SeasonPlan.id, SeasonPlan.season_id, SeasonPlan.number).where(
                SeasonPlan.id.in_(season_ids)
            )
        ).all()
    }
    by_id = loaded_data(session).dataset.by_id
    warnings: dict[int, dict[str, Any]] = dict(
        session.execute(
            select(Response.id, Response.warning).where(
                Response.id.in_({o.response_id for o in rows if o.response_id is not None})
            )
        ).all()
    )
    return [
        view_of(
            o,
            plan_version=numbers.get(o.plan_id, 0)
            if o.plan_id is not None
            else seasons.get(o.season_plan_id or 0, ("", 0))[1],
            season=seasons[o.season_plan_id][0] if o.season_plan_id in seasons else None,
            source_name=by_id[o.source].name if o.source in by_id else o.source,
            warning=warnings.get(o.response_id or 0) or {},
            reports=reports.get(o.id, 0),
            history=history[o.id],
        )
        for o in rows
    ]


class OrderRow(Protocol):
    """The columns of an order a view shows: a stored :class:`Order`, or the same columns
    selected with the same names (emergency.service.order_poll)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def response_id(self) -> int | None: ...
    @property
    def season_plan_id(self) -> int | None: ...
    @property
    def source(self) -> str: ...
    @property
    def measure_id(self) -> str: ...
    @property
    def measure_name(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def start(self) -> dt.date: ...
    @property
    def end(self) -> dt.date | None: ...
    @property
    def planned_end(self) -> dt.date: ...
    @property
    def status(self) -> str: ...
    @property
    def superseded_by(self) -> int | None: ...
    @property
    def fixed(self) -> str: ...
    @property
    def expected_cut_kg_d(self) -> dict[str, Any]: ...
    @property
    def allowed_load(self) -> dict[str, Any]: ...
    @property
    def allowed_load_total(self) -> float: ...
    @property
    def issued_at(self) -> dt.datetime: ...
    @property
    def acknowledged_at(self) -> dt.datetime | None: ...
    @property
    def closed_at(self) -> dt.datetime | None: ...


def view_of(
    o: OrderRow,
    *,
    plan_version: int,
    season: str | None,
    source_name: str,
    warning: Mapping[str, Any],
    reports: int,
    history: list[OrderEventView],
) -> OrderView:
    """The view of one order, given what it shows from elsewhere: its plan version's
    number, its season, its source's name, its response's warning (the start hour), the
    number of its reports and its history."""
    return OrderView(
        id=o.id,
        kind="staggered" if o.kind == "staggered" else "response",
        response_id=o.response_id,
        season_plan_id=o.season_plan_id,
        season=season,
        plan_version=plan_version,
        source=o.source,
        source_name=source_name,
        measure=MeasureRef(id=o.measure_id, name=o.measure_name),
        level=o.level,
        start=o.start,
        end=o.end,
        planned_end=o.planned_end,
        start_at=starts_at(o.start, warning),
        end_at=ends_at(o.end),
        status=OrderStatus(o.status),
        current=o.status in IN_FORCE,
        superseded_by=o.superseded_by,
        fixed=o.fixed,
        expected_cut_kg_d=PollutantAmounts(**o.expected_cut_kg_d),
        allowed_load=o.allowed_load,
        allowed_load_total=o.allowed_load_total,
        issued_at=o.issued_at,
        acknowledged_at=o.acknowledged_at,
        closed_at=o.closed_at,
        reports=reports,
        history=history,
    )


def issued_per_version(
    session: Session, actor: Actor, response_id: int
) -> list[tuple[int, dt.datetime, int]]:
    """(plan version, first issue time, number of orders) per version that issued orders."""
    require(actor, Action.read_orders)
    rows = session.execute(
        select(ResponsePlanRow.number, func.min(Order.issued_at), func.count(Order.id))
        .join(ResponsePlanRow, Order.plan_id == ResponsePlanRow.id)
        .where(Order.response_id == response_id)
        .group_by(ResponsePlanRow.number)
        .order_by(ResponsePlanRow.number)
    )
    return [(number, _aware(first), count) for number, first, count in rows]


def _aware(value: dt.datetime) -> dt.datetime:
    """Aggregates bypass the column type: SQLite hands back naive UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _own_order(session: Session, actor: Actor, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    require_own(actor, order.source, f"order {order_id}")
    return order


def list_orders(
    session: Session,
    actor: Actor,
    *,
    response_id: int | None = None,
    source: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    season_plan_id: int | None = None,
) -> list[OrderView]:
    """Orders, oldest first; an enterprise sees only its own."""
    require(actor, Action.read_orders)
    query = _orders_query(
        actor,
        response_id=response_id,
        source=source,
        status=status,
        kind=kind,
        season_plan_id=season_plan_id,
    )
    return order_views(session, list(session.scalars(query.order_by(Order.id))))


def _orders_query(
    actor: Actor,
    *,
    response_id: int | None,
    source: str | None,
    status: str | None,
    kind: str | None,
    season_plan_id: int | None = None,
) -> Select[Order]:
    query = select(Order)
    if kind:
        query = query.where(Order.kind == kind)
    if season_plan_id is not None:
        query = query.where(Order.season_plan_id == season_plan_id)
    if actor.is_enterprise:
        query = query.where(Order.source == actor.enterprise_id)
    if response_id is not None:
        query = query.where(Order.response_id == response_id)
    if source:
        query = query.where(Order.source == source)
    if status:
        query = query.where(Order.status == status)
    return query


def get_order(session: Session, actor: Actor, order_id: int) -> OrderView:
    require(actor, Action.read_orders)
    return order_view(session, _own_order(session, actor, order_id))


def acknowledge(session: Session, actor: Actor, order_id: int) -> OrderView:
    """The enterprise confirms it received the order (idempotent)."""
    require(actor, Action.ack_order)
    order = _own_order(session, actor, order_id)
    if order.status == OrderStatus.acknowledged:
        return order_view(session, order)
    if order.status != OrderStatus.issued:
        current = f"; the current order is {order.superseded_by}" if order.superseded_by else ""
        raise Conflict(f"order {order_id} is {order.status}{current}")
    before = {"status": order.status}
    order.status = OrderStatus.acknowledged
    order.acknowledged_at = store_of(session).config.now()
    _event(session, order, actor, "acknowledged")
    record(session, actor, "order.ack", f"order:{order.id}", before, {"status": order.status})
    commit(session)
    return order_view(session, order)


CLOCK_SKEW = dt.timedelta(minutes=5)
"""A report may be dated this far after the server's clock (the enterprise's clock runs
ahead a little); any later, it reports what has not happened yet."""


def report_period(order: Order, grace_hours: float) -> tuple[dt.datetime, dt.datetime]:
    """When a report on ``order`` may be dated: from its first day's 00:00 in the city
    (+08:00) to the end of its last day plus ``grace_hours`` (the report deadline).

    The last day is ``end``; while the order is open-ended, ``planned_end`` (the last day
    its plan foresees); for an order closed before it came into force, the day it was
    closed.
    """
    if order.end is not None:
        last = order.end
    elif order.closed_at is not None:
        last = order.closed_at.astimezone(CITY_OFFSET).date()
    else:
        last = order.planned_end
    first = dt.datetime.combine(order.start, dt.time(0), tzinfo=CITY_OFFSET)
    after = dt.datetime.combine(last + ONE_DAY, dt.time(0), tzinfo=CITY_OFFSET)
    return first, after + dt.timedelta(hours=grace_hours)


def _local(at: dt.datetime) -> str:
    return f"{at.astimezone(CITY_OFFSET):%Y-%m-%d %H:%M}+08:00"


def _check_report_time(session: Session, order: Order, at: dt.datetime) -> None:
    """A report is tied to its order: acknowledged first, dated within the order's period
    (:func:`report_period`) and not after the server's clock (plus :data:`CLOCK_SKEW`)."""
    if order.acknowledged_at is None:
        raise Conflict(
            f"order {order.id} is not acknowledged: acknowledge the order first, then report"
        )
    config = store_of(session).config
    first, until = report_period(order, config.report_grace_hours)
    if not first <= at <= until:
        raise Conflict(
            f"at: {_local(at)} is outside order {order.id}'s period: reports on it are "
            f"dated from {_local(first)} to {_local(until)}"
        )
    now = config.now()
    if at > now + CLOCK_SKEW:
        raise InputError(
            f"at: {_local(at)} is in the future (server time {_local(now)}); report what "
            f"happened, from {_local(first)} to now"
        )


CORRECTED_MEANWHILE = "was corrected meanwhile by another request: correct the latest report"


def add_report(session: Session, actor: Actor, order_id: int, body: ReportIn) -> ReportView:
    """The enterprise reports its load and electricity under an order.

    Raises
    ------
    Conflict
        The order was superseded or lifted before ``at``; it is not acknowledged yet (a
        report is refused until the enterprise has confirmed it received the order: what
        it reports on is then known to be that order); or ``at`` lies outside the order's
        period (:func:`report_period`); ``corrects`` names a report corrected already
        (or meanwhile).
    InputError
        ``at`` is after the server's clock (more than :data:`CLOCK_SKEW` ahead);
        ``line_loads`` names a line the order's plan does not have; neither ``load`` nor
        every line's load is given (:func:`_plant_load`); ``corrects`` names no report of
        this order, or one of another day or other lines (:func:`_check_correction`).
    """
    require(actor, Action.report_order)
    order = _own_order(session, actor, order_id)
    if order.closed_at is not None and body.at > order.closed_at:
        current = f"; report under order {order.superseded_by}" if order.superseded_by else ""
        raise Conflict(
            f"order {order_id} was {order.status} before {body.at:%Y-%m-%d %H:%M}{current}"
        )
    _check_report_time(session, order, body.at)
    load = _plant_load(session, order, body)
    _check_correction(session, order, body)
    report = Report(
        order_id=order.id,
        at=body.at,
        load=load,
        line_loads=dict(body.line_loads) if body.line_loads is not None else None,
        electricity_kwh=body.electricity_kwh,
        baseline_electricity_kwh=body.baseline_electricity_kwh,
        note=body.note,
        received_at=store_of(session).config.now(),
        actor=actor.label,
        corrects=body.corrects,
    )
    session.add(report)
    lost = f"corrects: report {body.corrects} {CORRECTED_MEANWHILE}" if body.corrects else None
    with raced(session, lost or RACE_MESSAGE):
        session.flush()  # the unique index: two corrections of one report, one wins
    what = f"report {report.id}" + (f" (corrects {body.corrects})" if body.corrects else "")
    _event(session, order, actor, "reported", f"{what}: load {load:.2f}")
    view = ReportView.model_validate(report, from_attributes=True)
    record(session, actor, "order.report", f"order:{order.id}", None, view.model_dump(mode="json"))
    commit(session)
    return view


def _check_correction(session: Session, order: Order, body: ReportIn) -> None:
    """A correction (``corrects``) names a report of the same order that no report
    corrects yet (the latest of its chain), of the same city day, and — when that report
    gave a load per line — gives the load of the same lines. Reports are append-only: the
    report corrected stays stored; it no longer counts (:func:`in_effect`).

    Raises
    ------
    InputError
        No such report of this order (another order's or enterprise's report is not
        named: it is not this order's), another day, other lines.
    Conflict
        The report is corrected already: correct the correction.
    """
    if body.corrects is None:
        return
    target = session.get(Report, body.corrects)
    if target is None or target.order_id != order.id:
        raise InputError(f"corrects: no report {body.corrects} of order {order.id} to correct")
    newer = session.scalar(select(Report.id).where(Report.corrects == target.id))
    if newer is not None:
        raise Conflict(
            f"corrects: report {target.id} was corrected already by report {newer}: "
            "correct that one"
        )
    day, given = city_day(target.at), city_day(body.at)
    if day != given:
        raise InputError(
            f"corrects: report {target.id} is of {day} (+08:00), not {given}: a correction "
            "is of the same day"
        )
    if target.line_loads is not None and set(target.line_loads) != set(body.line_loads or {}):
        lines = ", ".join(sorted(target.line_loads))
        raise InputError(
            f"corrects: report {target.id} gives the load of lines {lines}: its correction "
            "gives the load of the same lines (line_loads)"
        )


def in_effect() -> ColumnElement[bool]:
    """Reports in effect: those no later report corrects (a correction counts in place of
    the report it corrects; the chain's latest counts)."""
    later = aliased(Report)
    return ~exists().where(later.corrects == Report.id)


def _plant_load(session: Session, order: Order, body: ReportIn) -> float:
    """The plant's load of a report: ``load`` as given; else the mean of ``line_loads``
    weighted by each line's value added (the weights of the order's allowed load, so the
    two compare like with like; equal weights when no line has a value added).

    The lines are those the order allows a load for (its plan's lines when it was issued):
    a line it does not name is refused, as is a report that gives neither ``load`` nor
    every line's load."""
    given = body.line_loads
    if given is None:
        if body.load is None:
            raise InputError("load: missing: give load, or line_loads with every line's load")
        return body.load
    lines = order.allowed_load
    unknown = sorted(k for k in given if k not in lines)
    if unknown:
        known = ", ".join(sorted(lines)) or "none: the source has no plan lines"
        raise InputError(
            f"line_loads: unknown line {', '.join(unknown)} of order {order.id} (lines: {known})"
        )
    if body.load is not None:
        return body.load
    missing = sorted(k for k in lines if k not in given)
    if missing or not given:
        raise InputError(
            f"load: missing: give load, or line_loads with every line's load "
            f"(missing: {', '.join(missing) or 'every line'})"
        )
    plan = loaded_data(session).dataset.plans.get(order.source)
    weights = {
        k: plan.lines_by_id[k].value_added_yuan_d if plan and k in plan.lines_by_id else 0.0
        for k in lines
    }
    total = sum(weights.values())
    if total <= 0:
        return round(sum(given.values()) / len(given), 6)
    return round(sum(given[k] * w for k, w in weights.items()) / total, 6)


def list_reports(session: Session, actor: Actor, order_id: int) -> list[ReportView]:
    require(actor, Action.read_orders)
    order = _own_order(session, actor, order_id)
    rows = session.scalars(select(Report).where(Report.order_id == order.id).order_by(Report.id))
    return [ReportView.model_validate(r, from_attributes=True) for r in rows]


def due(order: Order, hours: float) -> dt.datetime:
    """When the acknowledgement of an order is due."""
    return order.issued_at + dt.timedelta(hours=hours)
