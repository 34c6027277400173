"""Season plans (错峰生产): post, review, approve or reject, re-plan (planners)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CanApproveSeason, CanPlanSeason, Id, SessionDep
from api.errors import problems_body
from emergency.service.season import (
    SeasonFileErrors,
    approve_season_plan,
    get_season_plan,
    list_season_plans,
    post_season_plan,
    reject_season_plan,
    replan_season,
)
from emergency.service.views import (
    SeasonApproval,
    SeasonPlanDetail,
    SeasonPlanIn,
    SeasonPlanSummary,
    SeasonReplanIn,
)

router = APIRouter(prefix="/season-plans", tags=["season"])

SEASON_EXAMPLE = {
    "season": (
        "id: winter-2026\nstart: 2026-11-15\nend: 2027-03-15\nquotas:\n"
        "  - {id: clinker, industry: cement, lines: ['kiln-*'], stop_days: 60}\n"
        "risk: season-risk.csv\n"
        "key_periods:\n  - {name: 元旦, start: 2026-12-31, end: 2027-01-02, level: orange}\n"
    ),
    "risk_csv": "date,risk\n2026-12-24,3\n",
}


class SeasonFileProblems(BaseModel):
    """A 422: the season file's problems (``errors``), or a body of the wrong shape."""

    detail: Any
    errors: list[str] = Field(default_factory=list, description="file:line: field: problem")


UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {
        "model": SeasonFileProblems,
        "description": "the season file has problems (each names the line and the field); "
        "nothing is stored",
    }
}


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000, description="the reason (required to reject)")


def _unprocessable(request: Request, exc: SeasonFileErrors) -> JSONResponse:
    """422 with every problem, in the language of ``Accept-Language`` (and the other)."""
    return JSONResponse(problems_body(request, exc), status_code=422)


@router.post(
    "",
    response_model=SeasonPlanDetail,
    status_code=202,
    summary="Post a season plan: validated, scheduled, stored pending",
    responses=UNPROCESSABLE,
)
def post_season(
    request: Request,
    session: SessionDep,
    actor: CanPlanSeason,
    body: Annotated[SeasonPlanIn, Body(openapi_examples={"winter": {"value": SEASON_EXAMPLE}})],
) -> SeasonPlanDetail | JSONResponse:
    """The season file as text (`season`) and, when its `risk:` names a CSV, that CSV's
    text (`risk_csv`). The answer is the pending version with its schedule."""
    try:
        return post_season_plan(session, actor, body)
    except SeasonFileErrors as exc:
        return _unprocessable(request, exc)


@router.get("", response_model=list[SeasonPlanSummary], summary="Season plan versions")
def get_seasons(
    session: SessionDep,
    actor: CanPlanSeason,
    season: Annotated[str | None, Query(max_length=100, description="a season id")] = None,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected|superseded)$")] = None,
) -> list[SeasonPlanSummary]:
    """Newest first."""
    return list_season_plans(session, actor, season=season, status=status)


@router.get("/{season_plan_id}", response_model=SeasonPlanDetail, summary="One season plan version")
def get_season(session: SessionDep, actor: CanPlanSeason, season_plan_id: Id) -> SeasonPlanDetail:
    """The file, the schedule (`emergency season plan --json`) and the quotas met or short."""
    return get_season_plan(session, actor, season_plan_id)


@router.post(
    "/{season_plan_id}/approve",
    response_model=SeasonApproval,
    summary="Approve: staggered orders issued, key periods open responses",
)
def post_approve(
    session: SessionDep,
    actor: CanApproveSeason,
    season_plan_id: Id,
    body: Annotated[ReviewIn | None, Body()] = None,
) -> SeasonApproval:
    """409 if not pending, if the data in force changed since it was planned (re-plan),
    or if the checker rejects the schedule."""
    note = body.note if body is not None else ""
    return approve_season_plan(session, actor, season_plan_id, note=note)


@router.post(
    "/{season_plan_id}/reject", response_model=SeasonPlanSummary, summary="Reject with a reason"
)
def post_reject(
    session: SessionDep, actor: CanApproveSeason, season_plan_id: Id, body: ReviewIn
) -> SeasonPlanSummary:
    return reject_season_plan(session, actor, season_plan_id, note=body.note)


@router.post(
    "/{season_plan_id}/replan",
    response_model=SeasonPlanDetail,
    status_code=202,
    summary="Re-plan the approved version from a date (a new pending version)",
    responses=UNPROCESSABLE,
)
def post_replan(
    request: Request,
    session: SessionDep,
    actor: CanPlanSeason,
    season_plan_id: Id,
    body: Annotated[SeasonReplanIn | None, Body()] = None,
) -> SeasonPlanDetail | JSONResponse:
    """`from` (default and earliest: the server's today); the days before keep the
    approved schedule's loads, overlaid with the response orders of those days (stop days
    ordered during warnings count toward stop quotas); `risk` or `risk_csv`: a new risk
    series on the days it gives."""
    try:
        return replan_season(session, actor, season_plan_id, body or SeasonReplanIn())
    except SeasonFileErrors as exc:
        return _unprocessable(request, exc)
