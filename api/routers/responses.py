"""Responses: review (JSON, CSV, XLSX), overrides, approval and release."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.caching import NOT_MODIFIED, conditional
from api.deps import MAX_ID, CanApprove, CanOverride, CanReadResponses, CanRelease, Id, SessionDep
from api.downloads import XLSX, download_language, plan_download, report_download
from emergency.service.etags import response_plan_etag
from emergency.service.orders import approve
from emergency.service.overrides import add_override, remove_override
from emergency.service.responses import (
    get_response_detail,
    list_responses,
    release,
)
from emergency.service.stored_plans import plan_json, plan_ref
from emergency.service.views import (
    ApprovalResult,
    OverrideIn,
    ResponseDetail,
    ResponseSummary,
)
from emergency.solution import ResponsePlan

router = APIRouter(prefix="/responses", tags=["responses"])

Version = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="a plan version (default: the current one)")
]
AcceptLanguage = Annotated[
    str | None,
    Header(description="zh… for Chinese headers and names in the file (default: English)"),
]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="the version reviewed; 409 if it is no longer current",
    )


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


@router.get("", response_model=list[ResponseSummary], summary="All responses, newest first")
def get_responses(
    session: SessionDep, actor: CanReadResponses, status: str | None = None
) -> list[ResponseSummary]:
    return list_responses(session, actor, status=status)


@router.get("/{response_id}", response_model=ResponseDetail, summary="One response")
def get_response(session: SessionDep, actor: CanReadResponses, response_id: Id) -> ResponseDetail:
    """The response with its warning, plan versions, overrides and order counts."""
    return get_response_detail(session, actor, response_id)


@router.get(
    "/{response_id}/plan",
    response_model=ResponsePlan,
    summary="The curtailment list",
    responses={304: NOT_MODIFIED},
)
def get_response_plan(
    request: Request,
    session: SessionDep,
    actor: CanReadResponses,
    response_id: Id,
    version: Version = None,
) -> Response:
    """The plan object (docs/FORMATS.md) of the whole response; days already behind a
    change are kept as they were planned. The answer carries an `ETag` of the stored plan
    version (`Cache-Control: private, no-cache`): `If-None-Match` with it is answered 304
    while the version asked for is the same — for `?version=N`, always (a stored version
    never changes)."""
    ref = plan_ref(session, actor, response_id, version)
    # the JSON of a stored version, cached: no per-request validation and serialisation
    return conditional(
        request,
        response_plan_etag(ref),
        lambda: Response(plan_json(session, ref), media_type="application/json"),
    )


@router.get(
    "/{response_id}/plan.csv",
    summary="The curtailment list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, 304: NOT_MODIFIED},
)
def get_response_plan_csv(
    session: SessionDep,
    actor: CanReadResponses,
    response_id: Id,
    request: Request,
    version: Version = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """With an `ETag` (the stored version, the language): 304 on `If-None-Match`."""
    lang = download_language(accept_language)
    return plan_download(request, session, actor, response_id, "csv", version, lang)


@router.get(
    "/{response_id}/plan.xlsx",
    summary="The curtailment list as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}, 304: NOT_MODIFIED},
)
def get_response_plan_xlsx(
    session: SessionDep,
    actor: CanReadResponses,
    response_id: Id,
    request: Request,
    version: Version = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """With an `ETag` (the stored version, the language): 304 on `If-None-Match`."""
    lang = download_language(accept_language)
    return plan_download(request, session, actor, response_id, "xlsx", version, lang)


@router.get(
    "/{response_id}/plan-report.xlsx",
    summary="The approved curtailment list in the layout reported upward (上报表)",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def get_response_plan_report(
    session: SessionDep, actor: CanReadResponses, response_id: Id, version: Version = None
) -> Response:
    """Sheets 减排清单 (one row per enterprise and line, per day the decision, its reason,
    cuts and cost), 汇总 (counts, cuts against targets, cost) and 说明 (docs/FORMATS.md).
    The approved plan version by default (the current one while none is approved)."""
    return report_download(session, actor, response_id, version)


@router.post(
    "/{response_id}/overrides",
    response_model=ResponsePlan,
    summary="Fix a source's measure (or exempt it) and re-optimise",
)
def post_override(
    session: SessionDep,
    actor: CanOverride,
    response_id: Id,
    body: Annotated[
        OverrideIn,
        Body(
            openapi_examples={
                "measure": {
                    "summary": "fix a measure",
                    "value": {"source": "JY-P001", "measure": "stop-sinter", "reason": "order"},
                },
                "exempt": {
                    "summary": "exempt a source",
                    "value": {"source": "JY-S001", "exempt": True, "reason": "hospital works"},
                },
            }
        ),
    ],
) -> ResponsePlan:
    """The re-optimised plan; the fixed source shows `fixed: "override"` or `"exempt"`.
    The new plan version needs approval before its orders go out."""
    return add_override(session, actor, response_id, body)


@router.delete(
    "/{response_id}/overrides/{override_id}",
    response_model=ResponsePlan,
    summary="Withdraw an override and re-optimise",
)
def delete_override(
    session: SessionDep, actor: CanOverride, response_id: Id, override_id: Id
) -> ResponsePlan:
    """The source is optimised again; the new plan version needs approval."""
    return remove_override(session, actor, response_id, override_id)


@router.post(
    "/{response_id}/approve",
    response_model=ApprovalResult,
    summary="Approve the current plan: one order per source and period (idempotent)",
)
def post_approve(
    session: SessionDep,
    actor: CanApprove,
    response_id: Id,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> ApprovalResult:
    """Issue the plan's orders; orders in force that the plan no longer wants are
    superseded (or lifted). Approving a version twice issues nothing new."""
    return approve(session, actor, response_id, plan_version=body.plan_version if body else None)


@router.post(
    "/{response_id}/release",
    response_model=ResponseDetail,
    summary="Release the response: every order in force is lifted",
)
def post_release(
    session: SessionDep,
    actor: CanRelease,
    response_id: Id,
    body: Annotated[ReleaseIn | None, Body()] = None,
) -> ResponseDetail:
    return release(session, actor, response_id, note=body.note if body else "")
