"""The consultation: a forecast comes in, the warning decision goes out, the response follows.

- no response open and a level → open one and plan it;
- a response open and a higher / lower level → upgrade / downgrade: re-plan the days from
  the change on, from the current state (which lines are stopped and for how long);
- the same level with another end → the remaining days are re-planned (``unchanged``);
- no level and the forecast allows release (``release_ok``) → release: orders are lifted.

Once a response's orders are out, a change decided by the consultation issues the new
orders at once (superseding those in force); before approval, the planner approves.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.errors import InputError
from emergency.forecast import parse_forecast
from emergency.notify.outbox import warning_event
from emergency.rules import LEVEL_RANK, RuleSet, assess, choose_rule_set, held_until_release
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict
from emergency.service.keyperiods import holds, open_due_key_period, response_days
from emergency.service.orders import Issued, approve_version
from emergency.service.planning import (
    active_overrides,
    add_plan_version,
    current_plan,
    insert_response,
    loaded_data,
    open_response,
    solve,
)
from emergency.service.responses import release_response, response_state
from emergency.service.uow import commit, raced
from emergency.service.views import ConsultAction, ConsultationResult, ConsultationView
from emergency.settings import Settings
from emergency.solution import WarningDecision
from emergency.store.db import store_of
from emergency.store.models import Consultation, Response

RULE_SET_ID = re.compile(r"[A-Za-z0-9_-]+")
"""A forecast sent over HTTP names a stored rule set by id, never a file on the server."""


def consult(session: Session, actor: Actor, forecast: Any) -> ConsultationResult:
    """Take a consultation forecast (the decoded JSON of docs/FORMATS.md) and act on it.

    Raises
    ------
    InputError
        The forecast is not valid (the message names the field).
    Conflict
        Another consultation changed the response meanwhile.
    """
    require(actor, Action.consult)
    parsed = parse_forecast(forecast, source="forecast")
    most = store_of(session).config.max_forecast_days
    if len(parsed.days) > most:  # every day is planned: bound the work of one request
        raise InputError(f"forecast: days: {len(parsed.days)} days; at most {most} are taken")
    if parsed.rule_set is not None and not RULE_SET_ID.fullmatch(parsed.rule_set):
        raise InputError("forecast: rule_set: must be the id of a rule set, e.g. 'henan-2019'")
    data = loaded_data(session)
    rule_set = choose_rule_set(parsed, data_dir=data.folder)
    warning = assess(parsed, rule_set, data.dataset.city.aqi_standard)
    config = store_of(session).config
    _check_issued_at(parsed.issued_at, config)
    today = config.today()  # the server's clock decides what is past, never the forecast
    response = open_response(session)
    action: ConsultAction = "none"
    done = Issued()
    if response is None:
        if warning.level is not None and warning.end is not None and warning.end >= today:
            response = _open(session, actor, warning, today)
            action = "opened"
            record(
                session,
                actor,
                "response.opened",
                f"response:{response.id}",
                None,
                response_state(response),
            )
    else:
        action, done = _follow(session, actor, response, warning, rule_set, today)
    if action in ("none", "released"):
        # a key period due (or under way) opens its response once none is open
        open_due_key_period(session, actor)
    row = Consultation(
        received_at=config.now(),
        actor=actor.label,
        forecast=parsed.model_dump(mode="json", exclude_none=True),
        warning=warning.model_dump(mode="json"),
        action=action,
        response_id=response.id if response is not None else None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "consultation",
        f"consultation:{row.id}",
        None,
        {"action": action, "level": warning.level, "response_id": row.response_id},
    )
    commit(session)
    plan = current_plan(session, response) if response is not None else None
    return ConsultationResult(
        consultation_id=row.id,
        action=action,
        response_id=response.id if response is not None else None,
        warning=warning,
        plan_version=response.plan_number if response is not None else None,
        plan_status=plan.status if plan is not None else None,
        orders_issued=len(done.issued),
        orders_superseded=len(done.superseded),
        orders_lifted=len(done.lifted),
    )


def _check_issued_at(issued_at: dt.datetime | None, config: Settings) -> None:
    """Refuse a forecast dated ahead of the server's clock, or too old to act on.

    Raises
    ------
    Conflict
        ``issued_at`` more than ``clock_skew_minutes`` ahead of now, or older than
        ``consultation_max_age_hours``: a replayed or late forecast must not change orders.
    """
    if issued_at is None:
        return
    now = config.now()
    ahead = issued_at - now
    if ahead > dt.timedelta(minutes=config.clock_skew_minutes):
        raise Conflict(
            f"forecast: issued_at {issued_at.isoformat()} is ahead of the server's clock "
            f"({now.isoformat()}); 会商时间晚于服务器时间"
        )
    if now - issued_at > dt.timedelta(hours=config.consultation_max_age_hours):
        raise Conflict(
            f"forecast: issued_at {issued_at.isoformat()} is more than "
            f"{config.consultation_max_age_hours:g} h before the server's clock "
            f"({now.isoformat()}): a late or replayed forecast cannot change the response; "
            "会商已过期"
        )


def list_consultations(
    session: Session, actor: Actor, *, response_id: int | None = None, limit: int = 100
) -> list[ConsultationView]:
    """Consultations received, newest first (optionally those of one response)."""
    require(actor, Action.read_consultations)
    query = select(Consultation).order_by(Consultation.id.desc()).limit(max(1, min(limit, 1000)))
    if response_id is not None:
        query = query.where(Consultation.response_id == response_id)
    return [
        ConsultationView.model_validate(c, from_attributes=True) for c in session.scalars(query)
    ]


def _follow(
    session: Session,
    actor: Actor,
    response: Response,
    warning: WarningDecision,
    rule_set: RuleSet,
    today: dt.date,
) -> tuple[ConsultAction, Issued]:
    """Make the open response follow the new forecast for the episode in progress.

    The level the forecast supports is taken — upgrade, downgrade, extend, shorten — or,
    when it supports none, the response is released if the rule set's release condition
    holds and otherwise held at the rule set's mildest level until it does. ``unchanged``
    only when level and period stay as they are.
    """
    before = response_state(response)
    done = Issued()
    if holds(session, response, warning, today):  # a key period holds its level
        return "unchanged", done
    if warning.level is None:
        if warning.release_ok:
            done.lifted = release_response(
                session, actor, response, "released by the consultation", decision=warning
            )
            return "released", done
        held = held_until_release(warning, rule_set, today)
        if held is None:  # too short a forecast to tell: the response stays as it is
            return "unchanged", done
        warning = held
    assert warning.level is not None and warning.start is not None and warning.end is not None
    action = _action(response, warning)
    # a response opened ahead (a key period's) follows a forecast of earlier days too
    eff = max(warning.start, today if response.start > today else response.start, today)
    if action == "unchanged" or eff > warning.end:  # nothing changes, or all of it is behind
        return "unchanged", done
    done = _replan(session, actor, response, warning, eff, action)
    after = {**response_state(response), **_touched(done)}
    record(session, actor, f"response.{action}", f"response:{response.id}", before, after)
    warning_event(session, response, action)  # the outbox: in this transaction
    return action, done


def _touched(done: Issued) -> dict[str, list[int]]:
    """The ids of the orders a change issued, superseded and lifted (for the audit log)."""
    return {
        "issued": [o.id for o in done.issued],
        "superseded": [o.id for o in done.superseded],
        "lifted": [o.id for o in done.lifted],
    }


def _action(response: Response, warning: WarningDecision) -> ConsultAction:
    """How a warning with a level changes the open response."""
    assert warning.level is not None and warning.end is not None
    old, new = LEVEL_RANK[response.level], LEVEL_RANK[warning.level]
    if new != old:
        return "upgraded" if new > old else "downgraded"
    if warning.end != response.end:
        return "extended" if warning.end > response.end else "shortened"
    return "unchanged"


def _open(session: Session, actor: Actor, warning: WarningDecision, today: dt.date) -> Response:
    assert warning.level is not None and warning.start is not None and warning.end is not None
    start = max(warning.start, today)  # days already behind are not planned or ordered
    days = response_days(session, None, warning, start)  # key periods raise their days
    # Solve before writing: no write lock is held while the optimiser runs.
    plan = solve(session, warning, days, before=None, effective_from=start, overrides=[])
    return insert_response(session, actor, warning, plan, start=start, reason="opened")


def _replan(
    session: Session,
    actor: Actor,
    response: Response,
    warning: WarningDecision,
    eff: dt.date,
    action: str,
) -> Issued:
    assert warning.level is not None and warning.end is not None
    before = current_plan(session, response)
    days = response_days(session, response, warning, eff)
    overrides = active_overrides(session, response.id)
    plan = solve(session, warning, days, before=before, effective_from=eff, overrides=overrides)
    with raced(session, f"response {response.id} changed meanwhile; send the consultation again"):
        response.level = warning.level
        response.warning = warning.model_dump(mode="json")
        reason = action
        row = add_plan_version(session, actor, response, plan, reason=reason, effective_from=eff)
        done = Issued()
        if response.approved_plan is not None:
            # Orders are out: they must follow the warning now, not after a review.
            done = approve_version(session, actor, response, row, by="consultation")
    return done
