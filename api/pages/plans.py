"""方案审核 Plan reviews: the planner reads a submitted plan version and approves or rejects it.

The queue lists every pending version; a version's page shows its differences from the plan
in force (lines, measures, level floors, supply edges, the YAML diff) and their effect at
each level (floor cut and cost before and after), with the warnings a reviewer must weigh.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import Id, SessionDep
from api.pages.auth import Need, check_csrf, flash
from api.pages.errors import PageRoute
from api.pages.render import render
from emergency.errors import InputError, ValidationErrors
from emergency.service.access import Action, Actor
from emergency.service.errors import Conflict
from emergency.service.plan_review import (
    approve_plan_version,
    get_plan_version,
    pending_plan_versions,
    reject_plan_version,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanReview = Annotated[Actor, Depends(Need(Action.review_plan))]
FormText = Annotated[str, Form()]


@router.get("/plans", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, actor: CanReview) -> Response:
    """待审核方案 Plan versions waiting for review, oldest first."""
    pending = pending_plan_versions(session, actor)
    return render(request, "plans.html", {"nav": "plans", "pending": pending})


def _version_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    enterprise: str,
    number: int,
    *,
    error: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    version = get_plan_version(session, actor, enterprise, number)
    context = {"nav": "plans", "v": version, "error": error, "errors": errors or []}
    return render(request, "plan_version.html", context, status_code=status_code)


@router.get("/plans/{enterprise}/versions/{number}", response_class=HTMLResponse)
def version_page(
    request: Request, session: SessionDep, actor: CanReview, enterprise: str, number: Id
) -> Response:
    """一个方案版本 One version: differences, effect per level, approve or reject."""
    return _version_page(request, session, actor, enterprise, number)


@router.post("/plans/{enterprise}/versions/{number}/{decision}")
def review_action(
    request: Request,
    session: SessionDep,
    actor: CanReview,
    enterprise: str,
    number: Id,
    decision: str,
    note: FormText = "",
    csrf: FormText = "",
) -> Response:
    check_csrf(request, csrf)
    if decision not in ("approve", "reject"):
        return _version_page(
            request, session, actor, enterprise, number, error="unknown decision", status_code=404
        )
    try:
        if decision == "approve":
            done = approve_plan_version(session, actor, enterprise, number, note=note.strip())
            text = f"已批准 {enterprise} 第 {number} 版方案 Approved: new lists use it"
        else:
            done = reject_plan_version(session, actor, enterprise, number, note=note.strip())
            text = f"已退回 {enterprise} 第 {number} 版方案 Rejected: the plan in force stays"
    except (ValidationErrors, InputError, Conflict) as exc:
        return _version_page(
            request,
            session,
            actor,
            enterprise,
            number,
            error=str(exc.message),
            errors=exc.errors if isinstance(exc, ValidationErrors) else [],
            status_code=409 if isinstance(exc, Conflict) else 400,
        )
    response = RedirectResponse(f"/plans/{enterprise}/versions/{done.number}", status_code=303)
    flash(request, response, text)
    return response
