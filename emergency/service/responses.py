"""Responses as the planner sees them: review, overrides, release, the public warning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency.notify.outbox import warning_event
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict
from emergency.service.keyperiods import open_due_key_period
from emergency.service.orders import lift_all
from emergency.service.periods import ends_at, starts_at
from emergency.service.planning import (
    get_response,
    loaded_data,
    open_response,
    plan_row,
)
from emergency.service.stored_plans import PlanFacts, plan_facts
from emergency.service.uow import commit, raced
from emergency.service.views import (
    OverrideView,
    PlanVersionView,
    PublicWarning,
    ResponseDetail,
    ResponseSummary,
)
from emergency.solution import EpisodeView, ResponsePlan, WarningDecision
from emergency.store.db import store_of
from emergency.store.models import (
    Approval,
    Consultation,
    Order,
    OverrideRow,
    Response,
    ResponsePlanRow,
)
from emergency.vocabulary import ResponseStatus


def response_state(response: Response) -> dict[str, Any]:
    """What the audit log keeps of a response before and after a change."""
    return {
        "status": response.status,
        "level": response.level,
        "start": response.start.isoformat(),
        "end": response.end.isoformat(),
        "plan_version": response.plan_number,
    }


def release_response(
    session: Session,
    actor: Actor,
    response: Response,
    note: str,
    *,
    decision: WarningDecision | None = None,
) -> list[Order]:
    """End a response today: every order in force is lifted; audited (no commit).

    ``decision``: the consultation's warning decision that released it, kept with the
    response; None for a planner's release.
    """
    config = store_of(session).config
    before = response_state(response)
    today = config.today()
    lifted = lift_all(session, actor, response, note, today)
    response.status = ResponseStatus.released
    response.released_at = config.now()
    response.end = min(response.end, max(response.start, today))
    if decision is not None:
        response.warning = {**response.warning, "release": decision.model_dump(mode="json")}
    session.flush()
    after = {**response_state(response), "lifted": [o.id for o in lifted]}
    record(session, actor, "response.released", f"response:{response.id}", before, after)
    warning_event(session, response, "released")  # the outbox: in this transaction
    return lifted


def _summary(response: Response, facts: Mapping[int, PlanFacts] | None = None) -> dict[str, object]:
    """``facts``: the facts of the response's current plan version, by its number."""
    plan = (facts or {}).get(response.plan_number)
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
        "start_at": starts_at(response.start, response.warning),
        "end_at": ends_at(response.end),
    }


def _current_facts(session: Session, responses: list[Response]) -> dict[int, PlanFacts]:
    """The facts of each response's current plan version, by response id."""
    rows = session.execute(
        select(ResponsePlanRow.response_id, ResponsePlanRow.id)
        .join(Response, Response.id == ResponsePlanRow.response_id)
        .where(
            ResponsePlanRow.response_id.in_([r.id for r in responses]),
            ResponsePlanRow.number == Response.plan_number,
        )
    ).all()
    facts = plan_facts(session, [row_id for _, row_id in rows])
    return {response_id: facts[row_id] for response_id, row_id in rows if row_id in facts}


def list_responses(
    session: Session, actor: Actor, *, status: str | None = None
) -> list[ResponseSummary]:
    """All responses, newest first."""
    require(actor, Action.read_responses)
    query = select(Response).order_by(Response.id.desc())
    if status:
        query = query.where(Response.status == status)
    rows = list(session.scalars(query))
    facts = _current_facts(session, rows)
    return [
        ResponseSummary.model_validate(
            _summary(r, {r.plan_number: facts[r.id]} if r.id in facts else None)
        )
        for r in rows
    ]


def get_response_detail(session: Session, actor: Actor, response_id: int) -> ResponseDetail:
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    approved = set(
        session.scalars(select(Approval.plan_id).where(Approval.response_id == response.id))
    )
    versions = session.execute(
        select(
            ResponsePlanRow.id,
            ResponsePlanRow.number,
            ResponsePlanRow.created_at,
            ResponsePlanRow.created_by,
            ResponsePlanRow.reason,
            ResponsePlanRow.effective_from,
        )
        .where(ResponsePlanRow.response_id == response.id)
        .order_by(ResponsePlanRow.number)
    ).all()
    facts = plan_facts(session, [v.id for v in versions])
    plans = [
        PlanVersionView(
            number=v.number,
            created_at=v.created_at,
            created_by=v.created_by,
            reason=v.reason,
            effective_from=v.effective_from,
            status=facts[v.id].status,
            total_cost_yuan=facts[v.id].total_cost_yuan,
            approved=v.id in approved,
            data_key=facts[v.id].data_key,
        )
        for v in versions
    ]
    overrides = session.scalars(
        select(OverrideRow).where(OverrideRow.response_id == response.id).order_by(OverrideRow.id)
    )
    statuses = session.execute(
        select(Order.status, func.count(Order.id))
        .where(Order.response_id == response.id)
        .group_by(Order.status)
    ).all()
    by_number = {v.number: facts[v.id] for v in versions}
    return ResponseDetail.model_validate(
        {
            **_summary(response, by_number),
            "warning": WarningDecision.model_validate(response.warning),
            "plans": plans,
            "overrides": [OverrideView.model_validate(o, from_attributes=True) for o in overrides],
            "orders_by_status": {status: int(n) for status, n in sorted(statuses)},
        }
    )


def get_plan(
    session: Session, actor: Actor, response_id: int, *, version: int | None = None
) -> ResponsePlan:
    """A plan version of a response (the current one by default): docs/FORMATS.md's plan."""
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    return ResponsePlan.model_validate(plan_row(session, response, version).plan)


def release(session: Session, actor: Actor, response_id: int, *, note: str = "") -> ResponseDetail:
    """Release a response: every order in force is lifted."""
    require(actor, Action.release)
    response = get_response(session, response_id)
    if response.status != ResponseStatus.open:
        raise Conflict(f"response {response_id} is already {response.status}")
    with raced(session, f"response {response_id} changed meanwhile; reload and retry"):
        release_response(session, actor, response, note or "released by the planner")
        open_due_key_period(session, actor)  # a key period under way opens its response
    commit(session)
    return get_response_detail(session, actor, response_id)


def public_warning(session: Session) -> PublicWarning:
    """The warning in force for the public: level, period and advice (no credentials)."""
    data = loaded_data(session)
    city = data.dataset.city
    response = open_response(session)
    after = response.end if response is not None else store_of(session).config.today()
    coming = coming_episodes(session, after)
    if response is None:
        return PublicWarning(
            city=city.name,
            level=None,
            start=None,
            end=None,
            advice="",
            updated_at=None,
            coming=coming,
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
        coming=coming,
        start_at=starts_at(response.start, response.warning),
        late=bool(response.warning.get("late")),
        late_reason=str(response.warning.get("late_reason") or ""),
    )


def coming_episodes(session: Session, after: dt.date) -> list[EpisodeView]:
    """The episodes with a level that the latest consultation forecasts after ``after``."""
    latest = session.scalar(select(Consultation).order_by(Consultation.id.desc()).limit(1))
    if latest is None:
        return []
    warning = WarningDecision.model_validate(latest.warning)
    return [e for e in warning.episodes if e.level is not None and e.start > after]


__all__ = [
    "get_plan",
    "get_response_detail",
    "list_responses",
    "open_response",
    "public_warning",
    "release",
    "release_response",
    "response_state",
]
