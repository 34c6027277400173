"""Planner overrides: fix a source's measure (or exempt it), or withdraw that, and re-plan.

Before approval the whole response is re-planned; once orders are out, the days from
today on (the days behind cannot change). The new plan version still needs approval:
its orders are issued by :func:`emergency.service.orders.approve`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import NORMAL
from emergency.errors import InputError
from emergency.measures import source_measures
from emergency.respond import Override
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict, NotFound
from emergency.service.planning import (
    active_overrides,
    add_plan_version,
    current_plan,
    get_response,
    loaded_data,
    solve,
)
from emergency.service.responses import response_state
from emergency.service.uow import commit, raced
from emergency.service.views import OverrideIn
from emergency.solution import ResponsePlan, WarningDecision
from emergency.store.db import store_of
from emergency.store.models import OverrideRow, Response
from emergency.vocabulary import ResponseStatus


def _check(session: Session, body: OverrideIn) -> None:
    dataset = loaded_data(session).dataset
    if body.source not in dataset.by_id:
        raise InputError(f"source: {body.source!r} is not in the inventory")
    if body.measure is None or body.measure == NORMAL:
        return
    known = source_measures(dataset, body.source).ids()
    if body.measure not in known:
        raise InputError(
            f"measure: {body.source} has no measure {body.measure!r} (known: {', '.join(known)})"
        )


def _replan(
    session: Session, actor: Actor, response: Response, overrides: list[Override]
) -> tuple[ResponsePlan, Any]:
    """Plan the remaining days under ``overrides``; returns the plan and its first day."""
    if response.status != ResponseStatus.open:
        raise Conflict(f"response {response.id} is {response.status}")
    before = current_plan(session, response)
    if before is None or not before.days:
        raise Conflict(f"response {response.id} has no plan yet")
    first, last = before.days[0].date, before.days[-1].date
    today = store_of(session).config.today()
    eff = max(first, today)  # days behind are never re-planned, approved or not
    if eff > last:
        raise Conflict(f"response {response.id}: its planned days ended on {last}")
    warning = WarningDecision.model_validate(response.warning)
    days = [(d.date, d.level) for d in before.days if d.date >= eff]
    plan = solve(session, warning, days, before=before, effective_from=eff, overrides=overrides)
    return plan, eff


def _active_rows(session: Session, response_id: int, source: str) -> list[OverrideRow]:
    return list(
        session.scalars(
            select(OverrideRow).where(
                OverrideRow.response_id == response_id,
                OverrideRow.source == source,
                OverrideRow.active.is_(True),
            )
        )
    )


def add_override(
    session: Session, actor: Actor, response_id: int, body: OverrideIn
) -> ResponsePlan:
    """Fix one source (a measure on every remaining day, or exempt) and re-optimise.

    A new override of a source replaces its previous one. The plan shows the source's
    assignments with ``fixed`` = ``override`` or ``exempt`` and the reason in ``why``.
    """
    require(actor, Action.override)
    response = get_response(session, response_id)
    _check(session, body)
    overrides = [o for o in active_overrides(session, response.id) if o.source != body.source]
    overrides.append(
        Override(source=body.source, measure=body.measure, exempt=body.exempt, reason=body.reason)
    )
    plan, eff = _replan(session, actor, response, overrides)
    with raced(session, f"response {response_id} changed meanwhile; reload and retry"):
        old_state = response_state(response)
        for row in _active_rows(session, response.id, body.source):
            row.active = False
        session.add(
            OverrideRow(
                response_id=response.id,
                source=body.source,
                measure=body.measure,
                exempt=body.exempt,
                reason=body.reason,
                active=True,
                created_at=store_of(session).config.now(),
                created_by=actor.label,
            )
        )
        add_plan_version(session, actor, response, plan, reason="override", effective_from=eff)
        after = {**response_state(response), "override": body.model_dump()}
        record(session, actor, "response.override", f"response:{response.id}", old_state, after)
    commit(session)
    return plan


def remove_override(
    session: Session, actor: Actor, response_id: int, override_id: int
) -> ResponsePlan:
    """Withdraw an override in force: the source is optimised again; re-planned."""
    require(actor, Action.override)
    response = get_response(session, response_id)
    row = session.get(OverrideRow, override_id)
    if row is None or row.response_id != response.id:
        raise NotFound(f"override {override_id} of response {response_id} not found")
    if not row.active:
        raise Conflict(f"override {override_id} is no longer in force")
    overrides = [o for o in active_overrides(session, response.id) if o.source != row.source]
    plan, eff = _replan(session, actor, response, overrides)
    with raced(session, f"response {response_id} changed meanwhile; reload and retry"):
        old_state = response_state(response)
        row.active = False
        add_plan_version(
            session, actor, response, plan, reason="override withdrawn", effective_from=eff
        )
        after = {**response_state(response), "withdrawn": override_id, "source": row.source}
        record(
            session,
            actor,
            "response.override_withdrawn",
            f"response:{response.id}",
            old_state,
            after,
        )
    commit(session)
    return plan
