"""The inventory and the one-plant-one-policy plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.deps import CanReadEnterprises, CanReadPlan, CanWritePlan, SessionDep
from emergency.service.inventory import get_plan_document, list_enterprises, put_plan
from emergency.service.views import EnterpriseView, PlanDocument

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


@router.get("/{enterprise_id}/plan", response_model=PlanDocument, summary="An enterprise's plan")
def get_plan(session: SessionDep, actor: CanReadPlan, enterprise_id: str) -> PlanDocument:
    return get_plan_document(session, actor, enterprise_id)


@router.put(
    "/{enterprise_id}/plan",
    response_model=PlanDocument,
    summary="Replace an enterprise's plan (YAML or JSON), validated like the files",
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
) -> PlanDocument:
    """The plan file `plans/enterprises/<id>.yaml`: checked as a plan, against the
    inventory row, the city plan and the supply graph; on any problem nothing is stored
    and 400 lists them all."""
    return put_plan(session, actor, enterprise_id, body)
