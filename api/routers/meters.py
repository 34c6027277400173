"""Electricity sub-meters (分表计电): the utility's gateway posts readings; planners and
inspectors read each line's baseline, load and anomalies (docs/METERS.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.deps import MAX_ID, CanSupervise, CanWriteMeters, SessionDep
from emergency.meters.analysis import LineDay, read_lines
from emergency.meters.ingest import ReadingsIn, ReadingsResult, add_readings

router = APIRouter(prefix="/meters", tags=["meters"])

READINGS_EXAMPLE = {
    "readings": [
        {"meter": "JY-P001-sinter-1-E1", "time": "2016-12-16T08:00:00+08:00", "kwh": 812.5},
        {"meter": "JY-P001-sinter-1-E1", "time": "2016-12-16T08:15:00+08:00", "kwh": 806.0},
        {
            "meter": "JY-P001-sinter-1-E1",
            "time": "2016-12-16T07:45:00+08:00",
            "kwh": 799.0,
            "corrects": True,
        },
    ]
}


@router.post("/readings", response_model=ReadingsResult, summary="Post 15-minute meter readings")
def post_readings(
    session: SessionDep,
    actor: CanWriteMeters,
    body: Annotated[ReadingsIn, Body(openapi_examples={"batch": {"value": READINGS_EXAMPLE}})],
) -> ReadingsResult:
    """Up to 10,000 readings, stored all or nothing. Each is the kWh a meter drew in the
    quarter hour beginning at `time` (with a UTC offset, on :00/:15/:30/:45, not ahead of
    the server's clock by more than `clock_skew_minutes`). An unknown meter, a time ahead,
    two values for one meter and time → 400 naming each reading by its index. A reading
    already stored with the same value is a no-op (`unchanged`): resend freely. Another
    value for a stored meter and time → 409, unless sent as a correction (`corrects`: the
    id of the reading corrected, or `true` for the one in effect)."""
    return add_readings(session, actor, body.readings)


@router.get("/lines", response_model=list[LineDay], summary="Metered lines: baseline and load")
def get_lines(
    session: SessionDep,
    actor: CanSupervise,
    response: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the response; default: the newest")
    ] = None,
    source: Annotated[str | None, Query(max_length=100, description="only this source")] = None,
    day: Annotated[dt.date | None, Query(description="only this city day")] = None,
) -> list[LineDay]:
    """Every metered line of every source under one of the response's orders, per city day
    the order was in force up to now: the baseline (mean daily kWh of the two days before
    the warning), the kWh, the observed load against the allowed load, the excess kWh and
    estimated kg, and the anomaly seen (`meter_stopped_draws`, `meter_over_limit`,
    `meter_missing`) with its key."""
    return read_lines(session, actor, response, source=source, day=day)
