"""Forecast verification in the service: observations in, scores over the stored
consultations out, and each response's forecast against what was observed.

- :func:`record_observations`: ``POST /observations`` and ``emergency observations
  import``. Append-only and all-or-nothing: a batch is checked whole before anything is
  written. A station and date sent again with the same value is unchanged (idempotent);
  with another value it is refused (409) unless sent as a correction naming the row it
  corrects (``corrects``): a new row, the newest of a day being its value.
- :func:`stored_verification`: ``GET /verification``: every consultation's forecast (as
  stored, under the rule set that decided it) against the city's observations.
- :func:`forecast_vs_observed`: per day of a response, the latest forecast issued before
  that day, its lead and the observed AQI (the after-action review's table).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.errors import InputError, ValidationErrors
from emergency.forecast import parse_forecast
from emergency.rules import RuleSet, choose_rule_set, load_rule_set
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict
from emergency.service.planning import loaded_data
from emergency.service.uow import commit, raced
from emergency.settings import CITY_OFFSET
from emergency.store.db import store_of
from emergency.store.models import Consultation, Observation, Response
from emergency.verification import Verification, verify
from emergency.verification.observed import CITY, ObservationIn
from emergency.verification.pairs import ForecastRead, read_forecast

MAX_BATCH = 5000
"""Observations in one request (a season of a dozen stations fits)."""


class ObservationView(BaseModel):
    """An observation as stored, and what the request did with it."""

    id: int = Field(description="the stored row (name it in `corrects` to correct it)")
    station: str
    date: dt.date
    aqi: int
    primary: str | None
    corrects: int | None = Field(description="the row this one corrects, if a correction")
    status: Literal["stored", "unchanged"] = Field(
        description="stored: a new row; unchanged: the same value was stored already"
    )


class ObservationsResult(BaseModel):
    """What ``POST /observations`` did."""

    stored: int = Field(description="new rows (originals and corrections)")
    unchanged: int = Field(description="items whose value was stored already")
    observations: list[ObservationView] = Field(description="one per item, in order")


def _rows_of(
    session: Session, items: list[ObservationIn]
) -> dict[tuple[str, dt.date], list[Observation]]:
    """The stored rows of the batch's stations and dates, oldest first."""
    stations = {o.station for o in items}
    dates = {o.date for o in items}
    rows: dict[tuple[str, dt.date], list[Observation]] = defaultdict(list)
    query = (
        select(Observation)
        .where(Observation.station.in_(stations), Observation.date.in_(dates))
        .order_by(Observation.id)
    )
    for row in session.scalars(query):
        rows[row.station, row.date].append(row)
    return rows


def _same(item: ObservationIn, row: Observation) -> bool:
    return item.aqi == row.aqi and item.primary == row.primary


def record_observations(
    session: Session, actor: Actor, items: list[ObservationIn]
) -> ObservationsResult:
    """Store a batch of observed daily AQI, all or nothing.

    Raises
    ------
    ValidationErrors
        (400) every item dated after the server's today, correcting a row that does not
        exist or is of another station or date, or repeating another item of the batch
        with another value; ``observations[i].field: what``.
    Conflict
        (409) an item without ``corrects`` whose station and date are stored with another
        value (the message names the row to correct).
    """
    require(actor, Action.write_observations)
    config = store_of(session).config
    today = config.today()
    stored = _rows_of(session, items)
    errors: list[str] = []
    first_of: dict[tuple[str, dt.date, int | None], int] = {}
    for i, item in enumerate(items):
        at = f"observations[{i}]"
        if item.date > today:
            errors.append(f"{at}.date: {item.date} is after today ({today}): not observed yet")
        key = (item.station, item.date, item.corrects)
        if key in first_of:
            j = first_of[key]
            if not (items[j].aqi == item.aqi and items[j].primary == item.primary):
                errors.append(
                    f"{at}: {item.station} {item.date} differs from observations[{j}] of the "
                    "same request"
                )
        else:
            first_of[key] = i
        if item.corrects is not None:
            target = session.get(Observation, item.corrects)
            if target is None:
                errors.append(f"{at}.corrects: no observation {item.corrects}")
            elif (target.station, target.date) != (item.station, item.date):
                errors.append(
                    f"{at}.corrects: observation {item.corrects} is of {target.station} "
                    f"{target.date}, not {item.station} {item.date}"
                )
    if errors:
        raise ValidationErrors(errors, what="observations")
    plan: list[tuple[ObservationIn, Observation | None]] = []  # None: to store
    for i, item in enumerate(items):
        rows = stored[item.station, item.date]
        newest = rows[-1] if rows else None
        original = next((r for r in rows if r.corrects is None), None)
        if newest is None or _same(item, newest):
            plan.append((item, newest))
        elif item.corrects is None and original is not None and _same(item, original):
            plan.append((item, newest))  # the original sent again after a correction
        elif item.corrects is None:
            raise Conflict(
                f"observations[{i}]: {item.station} {item.date} is stored with AQI "
                f"{newest.aqi} (id {newest.id}); to change it send a correction with "
                f'"corrects": {newest.id}'
            )
        else:
            plan.append((item, None))
    now = config.now()
    views: list[ObservationView] = []
    final: dict[tuple[str, dt.date, int | None], Observation] = {}
    added: list[Observation] = []
    with raced(session, "observations: sent concurrently by another request; send them again"):
        for item, row in plan:
            key = (item.station, item.date, item.corrects)
            status: Literal["stored", "unchanged"] = "unchanged"
            if key in final:  # a repeat of an item of this request
                row = final[key]
            elif row is None:
                row = Observation(
                    station=item.station,
                    date=item.date,
                    aqi=item.aqi,
                    primary=item.primary,
                    corrects=item.corrects,
                    received_at=now,
                    actor=actor.label,
                )
                session.add(row)
                session.flush()
                added.append(row)
                status = "stored"
            final[key] = row
            views.append(
                ObservationView(
                    id=row.id,
                    station=row.station,
                    date=row.date,
                    aqi=row.aqi,
                    primary=row.primary,
                    corrects=row.corrects,
                    status=status,
                )
            )
    if added:
        ids = [r.id for r in added]
        corrections = sum(1 for r in added if r.corrects is not None)
        record(
            session,
            actor,
            "observations.recorded",
            "observations",
            None,
            {"stored": ids, "corrections": corrections},
        )
        commit(session)
    return ObservationsResult(
        stored=len(added), unchanged=len(views) - len(added), observations=views
    )


def city_observations(session: Session, station: str = CITY) -> dict[dt.date, int]:
    """The observed daily AQI of ``station`` by date: the newest row of each day (the
    latest correction, else the original)."""
    query = select(Observation).where(Observation.station == station).order_by(Observation.id)
    return {row.date: row.aqi for row in session.scalars(query)}


def stored_forecasts(session: Session) -> list[tuple[Consultation, ForecastRead]]:
    """Every stored consultation's forecast, read for verification under the rule set
    that decided it (the city plan's, if that rule set is no longer in the data)."""
    data = loaded_data(session)
    standard = data.dataset.city.aqi_standard
    rule_sets: dict[str, RuleSet] = {}
    out: list[tuple[Consultation, ForecastRead]] = []
    for row in session.scalars(select(Consultation).order_by(Consultation.id)):
        name = f"consultation {row.id}"
        try:
            forecast = parse_forecast(row.forecast, name)
            rule_id = str(row.warning.get("rule_set") or "")
            if rule_id not in rule_sets:
                try:
                    rule_sets[rule_id] = load_rule_set(rule_id, data.folder)
                except InputError:
                    rule_sets[rule_id] = choose_rule_set(None, None, data.folder)
            read = read_forecast(
                forecast,
                rule_sets[rule_id],
                name=name,
                standard=standard,
                issued_at=row.received_at,
            )
        except InputError:  # stored before a stricter check: not verifiable, left out
            continue
        out.append((row, read))
    return out


def stored_verification(
    session: Session,
    actor: Actor,
    first: dt.date | None = None,
    last: dt.date | None = None,
    party: str | None = None,
) -> Verification:
    """The scores of the stored consultations against the city's observations, over the
    days ``first..last`` and, with ``party``, that party's forecasts only.

    Raises
    ------
    InputError
        ``first`` after ``last``.
    """
    require(actor, Action.read_verification)
    if first is not None and last is not None and first > last:
        raise InputError(f"from: {first} is after to ({last})")
    forecasts: Iterable[ForecastRead] = (read for _row, read in stored_forecasts(session))
    if party is not None:
        forecasts = [f for f in forecasts if party in f.parties]
    return verify(forecasts, city_observations(session), first, last)


class ForecastVsObserved(BaseModel):
    """One day of a response: the latest forecast issued before it, and what was observed."""

    date: dt.date
    consultation_id: int | None = Field(
        description="the latest consultation issued before the day whose forecast holds it"
    )
    issued_at: dt.datetime | None = Field(description="when that forecast was issued")
    lead_days: int | None = Field(description="the day − the issue date (the city's time)")
    low: float | None = Field(description="the forecast AQI (a range's low end)")
    high: float | None = Field(description="the forecast AQI (a range's high end)")
    mid: float | None = Field(description="the range's midpoint (the value for one value)")
    observed: int | None = Field(description="the observed daily AQI; null: not yet observed")
    error: float | None = Field(description="mid − observed; null without both")


def forecast_vs_observed(session: Session, response: Response) -> list[ForecastVsObserved]:
    """Per day of ``response`` (``start..end``), the forecast of the latest consultation
    issued before that day (before its 00:00 in the city) that forecast the day, its lead,
    and the observed AQI (None when not yet observed). The caller checks access."""
    observed = city_observations(session)
    reads = stored_forecasts(session)
    out: list[ForecastVsObserved] = []
    day = response.start
    while day <= response.end:
        begins = dt.datetime.combine(day, dt.time(0), CITY_OFFSET)
        best: tuple[Consultation, ForecastRead] | None = None
        for row, read in reads:
            if read.issued_at >= begins or not any(d.date == day for d in read.days):
                continue
            if best is None or (read.issued_at, row.id) >= (best[1].issued_at, best[0].id):
                best = (row, read)
        seen = observed.get(day)
        if best is None:
            out.append(
                ForecastVsObserved(
                    date=day,
                    consultation_id=None,
                    issued_at=None,
                    lead_days=None,
                    low=None,
                    high=None,
                    mid=None,
                    observed=seen,
                    error=None,
                )
            )
        else:
            row, read = best
            forecast_day = next(d for d in read.days if d.date == day)
            out.append(
                ForecastVsObserved(
                    date=day,
                    consultation_id=row.id,
                    issued_at=read.issued_at,
                    lead_days=read.lead(day),
                    low=float(forecast_day.low),
                    high=float(forecast_day.high),
                    mid=float(forecast_day.mid),
                    observed=seen,
                    error=None if seen is None else float(forecast_day.mid - seen),
                )
            )
        day += dt.timedelta(days=1)
    return out
