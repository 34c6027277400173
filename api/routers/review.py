"""The after-action review (复盘) of a response: JSON and the XLSX workbook. See
docs/SUPERVISION.md."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import CanReadResponses, Id, SessionDep
from emergency.service.review import ResponseReview, review
from emergency.service.review_book import review_xlsx

router = APIRouter(tags=["supervision"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/responses/{response_id}/review",
    response_model=ResponseReview,
    summary="The after-action review: promised against measured, compliance, cost, timeline",
)
def get_review(session: SessionDep, actor: CanReadResponses, response_id: Id) -> ResponseReview:
    """Per pollutant and day the target, the promise and the cut measured (meters where
    there are meters, reports otherwise, labelled); per source and day the same; the
    compliance rate, the anomalies ranked with their tasks, the enterprises for grade
    review, the cost promised against estimated, the timeline and the forecast against
    the observed AQI. As of the server's clock: days still to come have no measurement."""
    return review(session, actor, response_id)


@router.get(
    "/responses/{response_id}/review.xlsx",
    summary="The after-action review as an XLSX workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def get_review_xlsx(session: SessionDep, actor: CanReadResponses, response_id: Id) -> Response:
    body = review_xlsx(review(session, actor, response_id))
    name = f"response-{response_id}-review.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
