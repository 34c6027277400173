"""The approved curtailment list for reporting upward (:mod:`emergency.upward`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require
from emergency.service.errors import Conflict
from emergency.service.planning import get_response, loaded_data, plan_row
from emergency.solution import ResponsePlan
from emergency.store.db import store_of
from emergency.store.models import Approval
from emergency.upward import ReportInfo, to_report_xlsx


def report_xlsx(
    session: Session, actor: Actor, response_id: int, *, version: int | None = None
) -> bytes:
    """The report workbook of a plan version: the approved one by default (the current one
    while none is approved); the approval, when there is one, is named in the workbook."""
    require(actor, Action.read_responses)
    response = get_response(session, response_id)
    if response.plan_number == 0:
        raise Conflict(f"response {response_id} has no plan yet")
    number = version or response.approved_plan or response.plan_number
    row = plan_row(session, response, number)
    approval = session.scalar(select(Approval).where(Approval.plan_id == row.id))
    info = ReportInfo(
        generated_at=store_of(session).config.now(),
        response_id=response.id,
        plan_version=row.number,
        approved_by=approval.approved_by if approval else None,
        approved_at=approval.approved_at if approval else None,
    )
    plan = ResponsePlan.model_validate(row.plan)
    return to_report_xlsx(plan, loaded_data(session).dataset, info)
