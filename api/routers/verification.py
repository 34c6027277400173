"""Forecast verification: observed daily AQI in (``POST /observations``), the scores of
the consultations' forecasts against it out (``GET /verification``); docs/VERIFY.md."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CanReadVerification, CanWriteObservations, SessionDep
from emergency.verification.observed import ObservationIn
from emergency.verification.service import (
    MAX_BATCH,
    ObservationsResult,
    record_observations,
    stored_verification,
)
from emergency.verification.views import VerificationView

router = APIRouter(tags=["verification"])


class ObservationsIn(BaseModel):
    """A batch of observed daily AQI, stored all or nothing."""

    model_config = ConfigDict(extra="forbid")

    observations: list[ObservationIn] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="one item per station and day (a correction names the row in `corrects`)",
    )


EXAMPLE = {
    "observations": [
        {"date": "2016-12-16", "aqi": 232, "primary": "pm25"},
        {"date": "2016-12-17", "aqi": 281},
    ]
}


@router.post(
    "/observations",
    response_model=ObservationsResult,
    summary="Store observed daily AQI (idempotent; corrections name the row)",
    responses={
        400: {"description": "a day after today, or a bad correction (names the item)"},
        409: {"description": "a stored day sent with another value without `corrects`"},
    },
)
def post_observations(
    session: SessionDep,
    actor: CanWriteObservations,
    body: Annotated[
        ObservationsIn, Body(openapi_examples={"two days": {"summary": "", "value": EXAMPLE}})
    ],
) -> ObservationsResult:
    """The city's monitoring stations' daily AQI (`station` default `city`, the city's
    mean). Sent again unchanged: `unchanged`, nothing stored. A different value for a
    stored station and day is a correction: send it with `"corrects": <id>`."""
    return record_observations(session, actor, body.observations)


@router.get(
    "/verification",
    response_model=VerificationView,
    summary="Forecast verification: bias, MAE, heavy-day and level scores",
)
def get_verification(
    session: SessionDep,
    actor: CanReadVerification,
    first: Annotated[
        dt.date | None, Query(alias="from", description="the first day verified (a season)")
    ] = None,
    last: Annotated[dt.date | None, Query(alias="to", description="the last day verified")] = None,
    party: Annotated[
        str | None,
        Query(max_length=200, description="only the forecasts this party issued (issued_by)"),
    ] = None,
) -> VerificationView:
    """Every stored consultation's forecast against the city's observed AQI (the newest
    correction of each day): per lead day the bias and mean absolute error (a range counts
    as its midpoint); heavy days (AQI > 200) and each warning level, hits, misses, false
    alarms, POD, FAR and TS (a range counts as its rule set's `range_end`); per party."""
    return stored_verification(session, actor, first, last, party).view
