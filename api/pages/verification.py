"""预报检验 Forecast verification page: the consultations' forecasts against the observed
AQI — forecast range against observation per day, scores by lead day (table and plot), the
heavy-day and warning-level tables, per party. The same service call as
``GET /api/v1/verification``; the plots are matplotlib SVG drawn here (docs/VERIFY.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.pages.auth import Need
from api.pages.errors import PageRoute
from api.pages.render import render
from emergency.service.access import Action, Actor
from emergency.verification.plots import data_uri, lead_plot, range_plot
from emergency.verification.service import stored_forecasts, stored_verification

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanVerify = Annotated[Actor, Depends(Need(Action.read_verification))]
Text = Annotated[str, Query(max_length=200)]


def _day(value: str, name: str) -> tuple[dt.date | None, str | None]:
    """A date field of the filter form: (date, None), (None, None) when empty, or
    (None, the problem)."""
    if not value.strip():
        return None, None
    try:
        return dt.date.fromisoformat(value.strip()), None
    except ValueError:
        return None, f"{name}：不是日期 not a date (YYYY-MM-DD): {value!r}"


@router.get("/verification", response_class=HTMLResponse)
def verification_page(
    request: Request,
    session: SessionDep,
    actor: CanVerify,
    first: Annotated[str, Query(alias="from", max_length=40)] = "",
    last: Annotated[str, Query(alias="to", max_length=40)] = "",
    party: Text = "",
) -> HTMLResponse:
    """预报检验 Forecast verification, over the days ``from..to`` and one party or all."""
    start, problem = _day(first, "起 from")
    end, problem_end = _day(last, "止 to")
    error = problem or problem_end
    if error is None and start is not None and end is not None and start > end:
        error = f"起始日期晚于截止日期 from {start} is after to {end}"
    parties = sorted({p for _row, read in stored_forecasts(session) for p in read.parties})
    if error is not None:
        start = end = None
    result = stored_verification(session, actor, start, end, party or None)
    ranges = range_plot(result.pairs.pairs)
    leads = lead_plot(result.view.by_lead)
    observed_days = sorted({(p.date, p.observed) for p in result.pairs.pairs})
    return render(
        request,
        "verification.html",
        {
            "nav": "verification",
            "v": result.view,
            "pairs": sorted(result.pairs.pairs, key=lambda p: (p.date, p.lead_days)),
            "observed_days": observed_days,
            "range_svg": data_uri(ranges) if ranges else None,
            "lead_svg": data_uri(leads) if leads else None,
            "parties": parties,
            "filters": {"from": first, "to": last, "party": party},
            "error": error,
        },
        status_code=400 if error else 200,
    )
