"""Responses as the planner sees them: review, overrides, release, the public warning."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.notify.outbox import warning_event
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict, NotFound
from emergency.service.keyperiods import open_due_key_period
from emergency.service.orders import lift_all
from emergency.service.periods import ends_at, starts_at
from emergency.service.planning import (
    current_plan,
    get_response,
    loaded_data,
    open_response,
    plan_row,
)
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
        "start_at": starts_at(response.start, response.warning),
        "end_at": ends_at(response.end),
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
                data_key=row.data_key,
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
    """A plan version of a response (the current one by default): docs/FORMATS.md's plan."""
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    return ResponsePlan.model_validate(plan_row(session, response, version).plan)


PLAN_JSON_CACHE = 16
"""Plan versions whose JSON each process keeps (a 400-source city's plan is ~0.5 MB)."""
_plan_json: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_plan_json_lock = threading.Lock()


def get_plan_json(
    session: Session, actor: Actor, response_id: int, *, version: int | None = None
) -> bytes:
    """:func:`get_plan` as JSON, cached per process by plan version.

    A stored plan version never changes, so its JSON is read, validated and serialised
    once, not per request: reading the 0.5 MB plan of the bundled city cost ~45 ms of CPU
    per request, now one small query.
    """
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    wanted = response.plan_number if version is None else version
    row_id = session.scalar(
        select(ResponsePlanRow.id).where(
            ResponsePlanRow.response_id == response.id, ResponsePlanRow.number == wanted
        )
    )
    if row_id is None:
        raise NotFound(f"plan version {wanted} of response {response.id} not found")
    key = (store_of(session).url, row_id)
    with _plan_json_lock:
        cached = _plan_json.get(key)
        if cached is not None:
            _plan_json.move_to_end(key)
            return cached
    row = session.get(ResponsePlanRow, row_id)
    assert row is not None
    data = ResponsePlan.model_validate(row.plan).model_dump_json().encode()
    with _plan_json_lock:
        _plan_json[key] = data
        while len(_plan_json) > PLAN_JSON_CACHE:
            _plan_json.popitem(last=False)
    return data


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
