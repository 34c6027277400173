"""``GET /compliance?response=ID``: acknowledgements, reports and anomalies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import MAX_ID, CanReadCompliance, SessionDep
from emergency.service.compliance import compliance
from emergency.service.views import ComplianceView

router = APIRouter(tags=["supervision"])


@router.get("/compliance", response_model=ComplianceView, summary="Compliance of a response")
def get_compliance(
    session: SessionDep,
    actor: CanReadCompliance,
    response: Annotated[int, Query(ge=1, le=MAX_ID, description="the response id")],
) -> ComplianceView:
    """Per order: acknowledged (and when), reported, and anomalies — load or electricity
    above what the order allows, acknowledgement overdue or late."""
    return compliance(session, actor, response)
