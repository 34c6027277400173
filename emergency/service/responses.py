"""Responses as the planner sees them: review, overrides, release, the public warning."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.errors import InputError
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.consult import _state, open_response
from emergency.service.errors import Conflict
from emergency.service.orders import lift_all
from emergency.service.periods import NORMAL
from emergency.service.planning import (
    active_overrides,
    add_plan_version,
    current_plan,
    get_response,
    loaded_data,
    plan_row,
    solve,
)
from emergency.service.uow import commit, raced
from emergency.service.views import (
    OverrideIn,
    OverrideView,
    PlanVersionView,
    PublicWarning,
    ResponseDetail,
    ResponseSummary,
)
from emergency.solution import ResponsePlan, WarningDecision
from emergency.store.db import store_of
from emergency.store.models import Approval, Order, OverrideRow, Response, ResponsePlanRow


def _summary(session: Session, response: Response) -> dict[str, object]:
    plan = current_plan(session, response)
    return {
        "id": response.id,
        "status": response.status,
        "level": response.level,
        "start": response.start,
        "end": response.end,
        "rule_set": response.rule_set,
        "plan_version": response.plan_number,
        "plan_status": plan.status if plan else None,
        "total_cost_yuan": plan.total_cost_yuan if plan else None,
        "approved_plan_version": response.approved_plan,
        "approved": response.approved_plan is not None
        and response.approved_plan == response.plan_number,
        "opened_at": response.opened_at,
        "released_at": response.released_at,
    }


def list_responses(
    session: Session, actor: Actor, *, status: str | None = None
) -> list[ResponseSummary]:
    """All responses, newest first."""
    require(actor, Action.read_responses)
    query = select(Response).order_by(Response.id.desc())
    if status:
        query = query.where(Response.status == status)
    return [ResponseSummary.model_validate(_summary(session, r)) for r in session.scalars(query)]


def get_response_detail(session: Session, actor: Actor, response_id: int) -> ResponseDetail:
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    approved = set(
        session.scalars(select(Approval.plan_id).where(Approval.response_id == response.id))
    )
    plans = []
    for row in session.scalars(
        select(ResponsePlanRow)
        .where(ResponsePlanRow.response_id == response.id)
        .order_by(ResponsePlanRow.number)
    ):
        plan = ResponsePlan.model_validate(row.plan)
        plans.append(
            PlanVersionView(
                number=row.number,
                created_at=row.created_at,
                created_by=row.created_by,
                reason=row.reason,
                effective_from=row.effective_from,
                status=plan.status,
                total_cost_yuan=plan.total_cost_yuan,
                approved=row.id in approved,
            )
        )
    overrides = session.scalars(
        select(OverrideRow).where(OverrideRow.response_id == response.id).order_by(OverrideRow.id)
    )
    statuses = Counter(
        session.scalars(select(Order.status).where(Order.response_id == response.id))
    )
    return ResponseDetail.model_validate(
        {
            **_summary(session, response),
            "warning": WarningDecision.model_validate(response.warning),
            "plans": plans,
            "overrides": [OverrideView.model_validate(o, from_attributes=True) for o in overrides],
            "orders_by_status": dict(sorted(statuses.items())),
        }
    )


def get_plan(
    session: Session, actor: Actor, response_id: int, *, version: int | None = None
) -> ResponsePlan:
    """A plan version of a response (the current one by default), SPEC §5's JSON."""
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    return ResponsePlan.model_validate(plan_row(session, response, version).plan)


def _check_override(session: Session, body: OverrideIn) -> None:
    dataset = loaded_data(session).dataset
    source = dataset.by_id.get(body.source)
    if source is None:
        raise InputError(f"source: {body.source!r} is not in the inventory")
    if body.measure is None or body.measure == NORMAL:
        return
    plan = dataset.plans.get(body.source)
    known: list[str]
    if plan is not None:
        known = plan.measure_ids()
    else:
        defaults = dataset.city.defaults.get(source.kind)
        known = [NORMAL] + ([m.id for m in defaults.measures] if defaults else [])
    if body.measure not in known:
        raise InputError(
            f"measure: {body.source} has no measure {body.measure!r} (known: {', '.join(known)})"
        )


def add_override(
    session: Session, actor: Actor, response_id: int, body: OverrideIn
) -> ResponsePlan:
    """Fix one source (a measure on every remaining day, or exempt) and re-optimise.

    Before approval, the whole response is re-planned; once orders are out, the days from
    today on. A new override of a source replaces the previous one. The new plan still
    needs approval: its orders are issued by :func:`emergency.service.orders.approve`.
    """
    require(actor, Action.override)
    response = get_response(session, response_id)
    if response.status != "open":
        raise Conflict(f"response {response_id} is {response.status}")
    _check_override(session, body)
    before = current_plan(session, response)
    if before is None or not before.days:
        raise Conflict(f"response {response_id} has no plan yet")
    first, last = before.days[0].date, before.days[-1].date
    today = store_of(session).config.today()
    eff = first if response.approved_plan is None else max(first, today)
    if eff > last:
        raise Conflict(f"response {response_id}: its planned days ended on {last}")
    from emergency.respond import Override

    overrides = [o for o in active_overrides(session, response.id) if o.source != body.source]
    overrides.append(
        Override(source=body.source, measure=body.measure, exempt=body.exempt, reason=body.reason)
    )
    warning = WarningDecision.model_validate(response.warning)
    days = [(d.date, d.level) for d in before.days if d.date >= eff]
    plan = solve(session, warning, days, before=before, effective_from=eff, overrides=overrides)
    with raced(session, f"response {response_id} changed meanwhile; reload and retry"):
        old_state = _state(response)
        for row in session.scalars(
            select(OverrideRow).where(
                OverrideRow.response_id == response.id,
                OverrideRow.source == body.source,
                OverrideRow.active.is_(True),
            )
        ):
            row.active = False
        override = OverrideRow(
            response_id=response.id,
            source=body.source,
            measure=body.measure,
            exempt=body.exempt,
            reason=body.reason,
            active=True,
            created_at=store_of(session).config.now(),
            created_by=actor.label,
        )
        session.add(override)
        add_plan_version(session, actor, response, plan, reason="override", effective_from=eff)
        record(
            session,
            actor,
            "response.override",
            f"response:{response.id}",
            old_state,
            {**_state(response), "override": body.model_dump()},
        )
    commit(session)
    return plan


def release(session: Session, actor: Actor, response_id: int, *, note: str = "") -> ResponseDetail:
    """Release a response: every order in force is lifted."""
    require(actor, Action.release)
    response = get_response(session, response_id)
    if response.status != "open":
        raise Conflict(f"response {response_id} is already {response.status}")
    old_state = _state(response)
    config = store_of(session).config
    with raced(session, f"response {response_id} changed meanwhile; reload and retry"):
        lifted = lift_all(
            session, actor, response, note or "released by the planner", config.today()
        )
        response.status = "released"
        response.released_at = config.now()
        response.end = min(response.end, max(response.start, config.today()))
        session.flush()
        record(
            session,
            actor,
            "response.released",
            f"response:{response.id}",
            old_state,
            {**_state(response), "lifted": [o.id for o in lifted]},
        )
    commit(session)
    return get_response_detail(session, actor, response_id)


def public_warning(session: Session) -> PublicWarning:
    """The warning in force for the public: level, period and advice (no credentials)."""
    data = loaded_data(session)
    city = data.dataset.city
    response = open_response(session)
    if response is None:
        return PublicWarning(
            city=city.name, level=None, start=None, end=None, advice="", updated_at=None
        )
    policy = city.levels.get(response.level)
    updated = session.scalar(
        select(ResponsePlanRow.created_at)
        .where(ResponsePlanRow.response_id == response.id)
        .order_by(ResponsePlanRow.number.desc())
        .limit(1)
    )
    return PublicWarning(
        city=city.name,
        level=response.level,
        start=response.start,
        end=response.end,
        advice=policy.advice if policy else "",
        advice_en=policy.advice_en if policy else None,
        updated_at=updated or response.opened_at,
    )
