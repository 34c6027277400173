"""The inventory and the one-plant-one-policy plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, TypeAdapter

from api.caching import NOT_MODIFIED, conditional
from api.deps import (
    CanReadEnterprises,
    CanReadPlan,
    CanReviewPlan,
    CanWritePlan,
    Id,
    SessionDep,
)
from emergency.service.enterprises import get_plan_document, list_enterprises
from emergency.service.etags import enterprise_plan_etag
from emergency.service.plan_review import (
    approve_plan_version,
    get_plan_version,
    list_plan_versions,
    reject_plan_version,
    submit_plan,
)
from emergency.service.views import (
    EnterpriseView,
    PlanDocument,
    PlanReviewIn,
    PlanSubmission,
    PlanSubmissionDetail,
)

router = APIRouter(prefix="/enterprises", tags=["inventory"])

PLAN_YAML_EXAMPLE = """enterprise: JY-P001
updated: 2016-10-15
lines:
  - {id: sinter-1, name: 1# sinter machine, so2_kg_d: 800, nox_kg_d: 1100, pm_kg_d: 300,
     vocs_kg_d: 0, value_added_yuan_d: 800000, can_stop: true, min_load: 0.0,
     restart_cost_yuan: 400000, min_stop_days: 2}
measures:
  - {id: stop-sinter, name: sinter machines stop, loads: {sinter-1: 0.0}}
levels: {orange: stop-sinter, red: stop-sinter}
"""


SUBMISSIONS = TypeAdapter(list[PlanSubmission])


def json_answer(model: BaseModel) -> Response:
    """The JSON FastAPI would write for ``model`` (these routes answer a Response, to carry
    their ETag)."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json")


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.get("", response_model=list[EnterpriseView], summary="The inventory")
def get_enterprises(
    session: SessionDep,
    actor: CanReadEnterprises,
    kind: str | None = None,
    industry: str | None = None,
    district: str | None = None,
    grade: str | None = None,
) -> list[EnterpriseView]:
    return list_enterprises(
        session, actor, kind=kind, industry=industry, district=district, grade=grade
    )


@router.get(
    "/{enterprise_id}/plan",
    response_model=PlanDocument,
    summary="An enterprise's plan in force",
    responses={304: NOT_MODIFIED},
)
def get_plan(
    request: Request, session: SessionDep, actor: CanReadPlan, enterprise_id: str
) -> Response:
    """With an `ETag` of the plan file in force and the data it is read with: 304 on
    `If-None-Match` while neither changed."""
    tag = enterprise_plan_etag(session, actor, enterprise_id, "plan")
    return conditional(
        request, tag, lambda: json_answer(get_plan_document(session, actor, enterprise_id))
    )


@router.put(
    "/{enterprise_id}/plan",
    response_model=PlanSubmission,
    status_code=202,
    summary="Submit a new version of an enterprise's plan (YAML or JSON) for review",
    responses={400: {"description": "every problem of the plan, by line and field"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {
                    "schema": {"type": "string"},
                    "example": PLAN_YAML_EXAMPLE,
                },
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
def put_enterprise_plan(
    session: SessionDep,
    actor: CanWritePlan,
    enterprise_id: str,
    body: Annotated[bytes, Depends(raw_body)],
) -> PlanSubmission:
    """The plan file `plans/enterprises/<id>.yaml`: checked as a plan, against the
    inventory row, the city plan and the supply graph; on any problem nothing is stored
    and 400 lists them all. A valid plan is stored as a **pending** version (202): the
    engine keeps planning with the plan in force until a planner approves it. A pending
    version not yet reviewed is withdrawn by a newer one."""
    return submit_plan(session, actor, enterprise_id, body)


@router.get(
    "/{enterprise_id}/plan/versions",
    response_model=list[PlanSubmission],
    summary="An enterprise's plan versions and their review, newest first",
    responses={304: NOT_MODIFIED},
)
def get_plan_versions(
    request: Request, session: SessionDep, actor: CanReadPlan, enterprise_id: str
) -> Response:
    """With an `ETag` (the versions, their reviews, the plan in force): 304 on
    `If-None-Match` while none changed."""
    tag = enterprise_plan_etag(session, actor, enterprise_id, "versions")
    return conditional(
        request,
        tag,
        lambda: Response(
            SUBMISSIONS.dump_json(list_plan_versions(session, actor, enterprise_id), by_alias=True),
            media_type="application/json",
        ),
    )


@router.get(
    "/{enterprise_id}/plan/versions/{number}",
    response_model=PlanSubmissionDetail,
    summary="One plan version: text, differences from the plan in force, effect per level",
    responses={304: NOT_MODIFIED},
)
def get_enterprise_plan_version(
    request: Request, session: SessionDep, actor: CanReadPlan, enterprise_id: str, number: Id
) -> Response:
    """With an `ETag` (the version and its review, the plan in force and the data the
    effect is computed with): 304 on `If-None-Match` while none changed."""
    tag = enterprise_plan_etag(session, actor, enterprise_id, "version", number)
    return conditional(
        request,
        tag,
        lambda: json_answer(get_plan_version(session, actor, enterprise_id, number)),
    )


@router.post(
    "/{enterprise_id}/plan/versions/{number}/approve",
    response_model=PlanSubmission,
    summary="Approve a pending plan version: new lists use it from now on",
)
def approve_enterprise_plan_version(
    session: SessionDep,
    actor: CanReviewPlan,
    enterprise_id: str,
    number: Id,
    body: PlanReviewIn | None = None,
) -> PlanSubmission:
    """Checked again against the data in force; 409 if it is not pending or the plan in
    force changed since it was submitted. Lists approved before keep their data."""
    note = body.note if body is not None else ""
    return approve_plan_version(session, actor, enterprise_id, number, note=note)


@router.post(
    "/{enterprise_id}/plan/versions/{number}/reject",
    response_model=PlanSubmission,
    summary="Reject a pending plan version, with the reason",
)
def reject_enterprise_plan_version(
    session: SessionDep, actor: CanReviewPlan, enterprise_id: str, number: Id, body: PlanReviewIn
) -> PlanSubmission:
    return reject_plan_version(session, actor, enterprise_id, number, note=body.note)
