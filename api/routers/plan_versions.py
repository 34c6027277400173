"""The planners' review queue: plan versions waiting for approval."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CanReviewPlan, SessionDep
from emergency.service.plan_review import pending_plan_versions
from emergency.service.views import PlanSubmission

router = APIRouter(prefix="/plan-versions", tags=["inventory"])


@router.get(
    "/pending",
    response_model=list[PlanSubmission],
    summary="Plan versions waiting for a planner's review, oldest first",
)
def get_pending(session: SessionDep, actor: CanReviewPlan) -> list[PlanSubmission]:
    return pending_plan_versions(session, actor)
