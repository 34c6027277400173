"""Gate records (门禁, vehicles): a gateway, an admin or an enterprise for itself sends
them; planners and inspectors read them. See docs/VEHICLES.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.deps import CanSupervise, CanWriteGates, SessionDep
from emergency.bounds import BoundedDate
from emergency.vehicles.records import (
    GateBatchIn,
    GateBatchResult,
    GateRecordView,
    add_records,
    list_records,
)

router = APIRouter(prefix="/gates", tags=["supervision"])

EXAMPLE = {
    "records": [
        {
            "enterprise": "JY-P001",
            "gate": "east-1",
            "plate": "豫U12345",
            "time": "2016-12-17T08:15:00+08:00",
            "direction": "in",
            "vehicle": "heavy_truck",
            "standard": "5",
            "fuel": "diesel",
        },
        {
            "enterprise": "JY-P001",
            "gate": "east-1",
            "plate": "豫UD12345",
            "time": "2016-12-17T08:20:00+08:00",
            "direction": "in",
            "vehicle": "heavy_truck",
            "standard": "electric",
            "fuel": "electric",
        },
    ]
}


@router.post(
    "/records",
    response_model=GateBatchResult,
    status_code=201,
    summary="Store gate records, all or nothing (an enterprise: its own)",
)
def post_records(
    session: SessionDep,
    actor: CanWriteGates,
    body: Annotated[GateBatchIn, Body(openapi_examples={"two trucks": {"value": EXAMPLE}})],
) -> GateBatchResult:
    """Every record is checked before any is stored (400 listing every problem, 422 for
    a malformed field). A record sent again as it is stored is `new: false`; the same
    enterprise, gate, plate and time with other values is 409: send a correction
    (`corrects`: the id of the record in effect). An enterprise token naming another
    enterprise: 403."""
    return add_records(session, actor, body.records)


@router.get(
    "/records",
    response_model=list[GateRecordView],
    summary="Gate records of an enterprise or all, oldest first",
)
def get_records(
    session: SessionDep,
    actor: CanSupervise,
    enterprise: Annotated[str | None, Query(max_length=100, description="only this one's")] = None,
    from_: Annotated[
        BoundedDate | None, Query(alias="from", description="first city day (+08:00)")
    ] = None,
    to: Annotated[BoundedDate | None, Query(description="last city day (+08:00)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many")] = 1000,
) -> list[GateRecordView]:
    """Every record, corrections included; `current` marks those in effect (a corrected
    record is replaced by the end of its chain of corrections)."""
    return list_records(session, actor, enterprise=enterprise, first=from_, last=to, limit=limit)
