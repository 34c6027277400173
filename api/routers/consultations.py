"""``POST /consultations``: the forecast in, the warning decision and the response out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.deps import MAX_ID, CanConsult, CanReadConsultations, SessionDep
from emergency.service.consult import consult, list_consultations
from emergency.service.views import ConsultationResult, ConsultationView

router = APIRouter(tags=["consultation"])

FORECAST_EXAMPLE = {
    "issued_at": "2016-12-15T16:00:00+08:00",
    "issued_by": ["environment", "meteorology"],
    "rule_set": "henan-2019",
    "regional_order": None,
    "days": [
        {"date": "2016-12-16", "aqi": [210, 260], "primary": "pm25"},
        {"date": "2016-12-17", "aqi": [240, 290], "primary": "pm25"},
        {"date": "2016-12-18", "aqi": [250, 300], "primary": "pm25"},
        {
            "date": "2016-12-19",
            "concentrations": {"pm25": 180, "pm10": 250, "so2": 60, "no2": 90, "co": 3.2},
        },
        {"date": "2016-12-20", "aqi": 120},
    ],
}
RELEASE_EXAMPLE = {
    "issued_at": "2016-12-19T16:00:00+08:00",
    "days": [
        {"date": "2016-12-20", "aqi": [60, 90]},
        {"date": "2016-12-21", "aqi": [50, 70]},
    ],
}


@router.post(
    "/consultations",
    response_model=ConsultationResult,
    summary="Set the level from a consultation forecast",
    responses={400: {"description": "the forecast is not valid (names the field)"}},
)
def post_consultation(
    session: SessionDep,
    actor: CanConsult,
    forecast: Annotated[
        dict[str, Any],
        Body(
            description="the consultation forecast (docs/FORMATS.md): each day an `aqi` value, an "
            "`aqi` range [low, high] or `concentrations`",
            openapi_examples={
                "orange": {"summary": "a four-day episode", "value": FORECAST_EXAMPLE},
                "release": {"summary": "air clears: release", "value": RELEASE_EXAMPLE},
            },
        ),
    ],
) -> ConsultationResult:
    """Assess the forecast under the rule set in force; open, upgrade, downgrade or release
    the city's response accordingly (`action`), re-planning the remaining days."""
    return consult(session, actor, forecast)


@router.get(
    "/consultations",
    response_model=list[ConsultationView],
    summary="Consultations received, newest first",
)
def get_consultations(
    session: SessionDep,
    actor: CanReadConsultations,
    response: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only this response's")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ConsultationView]:
    """The timeline of decisions: each forecast, its warning and the action taken."""
    return list_consultations(session, actor, response_id=response, limit=limit)
