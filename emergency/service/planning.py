"""Planning a response: the dataset in force, the optimiser call and the plan versions.

Every change of a response (opening, upgrade, downgrade, extension, override) re-plans the
remaining days from the current state — which lines are stopped and since how long — and
stores a new plan version holding the whole timeline (past days kept as they were).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from emergency.notify.outbox import warning_event
from emergency.respond import Override, plan_response, state_at
from emergency.service.access import Actor
from emergency.service.errors import Conflict, NotFound
from emergency.service.periods import merge_plans, stamp_loads
from emergency.solution import ResponsePlan, WarningDecision
from emergency.store.datafiles import Loaded, load_stored
from emergency.store.db import store_of
from emergency.store.models import OverrideRow, Response, ResponsePlanRow, SeasonPlan
from emergency.vocabulary import ResponseStatus


def loaded_data(session: Session) -> Loaded:
    """The dataset stored in the database (read once per content, then cached)."""
    return load_stored(session)


def date_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def get_response(session: Session, response_id: int) -> Response:
    row = session.get(Response, response_id)
    if row is None:
        raise NotFound(f"response {response_id} not found")
    return row


def plan_row(session: Session, response: Response, number: int | None = None) -> ResponsePlanRow:
    """A plan version of a response (the current one by default)."""
    wanted = response.plan_number if number is None else number
    row = session.scalar(
        select(ResponsePlanRow).where(
            ResponsePlanRow.response_id == response.id, ResponsePlanRow.number == wanted
        )
    )
    if row is None:
        raise NotFound(f"plan version {wanted} of response {response.id} not found")
    return row


def current_plan(session: Session, response: Response) -> ResponsePlan | None:
    if response.plan_number == 0:
        return None
    return ResponsePlan.model_validate(plan_row(session, response).plan)


def active_overrides(session: Session, response_id: int) -> list[Override]:
    rows = session.scalars(
        select(OverrideRow)
        .where(OverrideRow.response_id == response_id, OverrideRow.active.is_(True))
        .order_by(OverrideRow.id)
    )
    return [
        Override(source=r.source, measure=r.measure, exempt=r.exempt, reason=r.reason) for r in rows
    ]


def solve(
    session: Session,
    warning: WarningDecision,
    days: list[tuple[dt.date, str]],
    *,
    before: ResponsePlan | None,
    effective_from: dt.date,
    overrides: list[Override],
) -> ResponsePlan:
    """Plan ``days`` from the state ``before`` leaves at ``effective_from``; merged timeline."""
    data = loaded_data(session)
    state = state_at(before, data.dataset, effective_from) if before is not None else None
    plan = plan_response(
        data.dataset,
        warning,
        days=days,
        state=state,
        overrides=overrides,
        time_limit_s=store_of(session).config.solver_time_limit_s,
        season_floor=season_floors(session, [d for d, _ in days]),
    )
    if before is not None:
        stamp_loads(before, data.dataset)  # a list stored before assignments carried loads
    return merge_plans(before, stamp_loads(plan, data.dataset), effective_from, data.dataset)


def season_floors(
    session: Session, dates: list[dt.date]
) -> dict[tuple[str, dt.date], dict[str, float]]:
    """The approved season schedules' line loads per (source, date) on ``dates``: the
    floor of a response's list on those days (the stricter per line where two apply)."""
    out: dict[tuple[str, dt.date], dict[str, float]] = {}
    if not dates:
        return out
    wanted = set(dates)
    first, last = min(dates), max(dates)
    rows = session.scalars(
        select(SeasonPlan.schedule).where(
            SeasonPlan.status == "approved", SeasonPlan.start <= last, SeasonPlan.end >= first
        )
    )
    for schedule in rows:
        for run in schedule.get("assignments") or []:
            start = dt.date.fromisoformat(str(run["start"]))
            end = dt.date.fromisoformat(str(run["end"]))
            day = max(start, first)
            while day <= min(end, last):
                if day in wanted:
                    loads = out.setdefault((str(run["source"]), day), {})
                    for line, load in (run.get("line_loads") or {}).items():
                        loads[line] = min(loads.get(line, 1.0), float(load))
                day += dt.timedelta(days=1)
    return out


def add_plan_version(
    session: Session,
    actor: Actor,
    response: Response,
    plan: ResponsePlan,
    *,
    reason: str,
    effective_from: dt.date,
) -> ResponsePlanRow:
    """Store ``plan`` as the response's next plan version and make it current."""
    number = response.plan_number + 1
    row = ResponsePlanRow(
        response_id=response.id,
        number=number,
        created_at=store_of(session).config.now(),
        created_by=actor.label,
        reason=reason,
        effective_from=effective_from,
        plan=plan.model_dump(mode="json"),
        data_key=loaded_data(session).key,
    )
    session.add(row)
    response.plan_number = number
    if plan.days:
        response.start = min(response.start, plan.days[0].date)
        response.end = plan.days[-1].date
    session.flush()
    return row


def open_response(session: Session) -> Response | None:
    """The city's open response, if any."""
    city = store_of(session).config.city
    return session.scalar(
        select(Response).where(Response.city == city, Response.status == ResponseStatus.open)
    )


def insert_response(
    session: Session,
    actor: Actor,
    warning: WarningDecision,
    plan: ResponsePlan,
    *,
    start: dt.date,
    reason: str,
    key_period: str | None = None,
) -> Response:
    """Open a response for ``warning`` from ``start`` with ``plan`` as its first version.

    Raises
    ------
    Conflict
        A response is already open (the unique index of open responses: a concurrent
        opening won).
    """
    assert warning.level is not None and warning.end is not None
    config = store_of(session).config
    response = Response(
        city=config.city,
        status=ResponseStatus.open,
        level=warning.level,
        start=start,
        end=warning.end,
        rule_set=warning.rule_set,
        warning=warning.model_dump(mode="json"),
        plan_number=0,
        opened_at=config.now(),
        key_period=key_period,
    )
    session.add(response)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("a response is already open (opened by a concurrent request)") from None
    add_plan_version(session, actor, response, plan, reason=reason, effective_from=start)
    warning_event(session, response, "opened")  # the outbox: in this transaction
    return response
