"""Season plans (错峰生产) in the service: post, review, approve or reject, re-plan.

A planner posts the season file (``plans/season.yaml``, and the risk CSV it names, if any);
it is validated against the data in force (every problem names the line and the field;
nothing is stored on error), scheduled (:func:`emergency.season.schedule.plan_season`, the
solver time limit of the settings) and stored as a *pending* version with the data key it
was planned with. Approval checks the schedule again with the independent checker against
the data in force, supersedes the season's previous approved version, issues one
``staggered`` order per run of the schedule from the server's today on
(:mod:`emergency.service.season_orders`) and lets the key periods open or floor responses
(:mod:`emergency.service.keyperiods`). A re-plan from a date starts from the approved
schedule's loads before it, overlaid with the line loads of the response orders of those
days (the stricter per line), and stores a new pending version.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency.errors import InputError, ValidationErrors
from emergency.season.check import check_season_schedule
from emergency.season.model import Season, SeasonInput, parse_season_text
from emergency.season.schedule import plan_season
from emergency.season.state import SeasonState
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.errors import Conflict, NotFound
from emergency.service.keyperiods import floor_open_response, open_due_key_period
from emergency.service.orders import order_views
from emergency.service.planning import loaded_data
from emergency.service.season_orders import held_loads, issue_staggered
from emergency.service.uow import commit, raced
from emergency.service.views import (
    QuotaView,
    SeasonApproval,
    SeasonPlanDetail,
    SeasonPlanIn,
    SeasonPlanSummary,
    SeasonReplanIn,
)
from emergency.store.db import store_of
from emergency.store.models import SeasonPlan
from emergency.yamlfile import read_yaml

SEASON_NAME = "plans/season.yaml"
NO_SCHEDULE = ("infeasible", "unknown")


class SeasonFileErrors(ValidationErrors):
    """The season file (or its risk CSV) has problems: the API answers 422."""


# ----------------------------------------------------------------------------- input


def parse_season(
    session: Session,
    text: str,
    risk_csv: str | None,
    risk: dict[str, float] | None = None,
) -> SeasonInput:
    """The season file read and checked against the data in force.

    ``risk_csv`` is the text of the CSV the file's ``risk:`` names (written beside it);
    ``risk`` (ISO date → value) replaces the series on the days it gives (a re-plan's
    trend forecast).

    Raises
    ------
    SeasonFileErrors
        Every problem, naming file, line and field.
    """
    dataset = loaded_data(session).dataset
    try:
        data, _node = read_yaml(text, SEASON_NAME)
    except ValidationErrors as exc:
        raise SeasonFileErrors(exc.errors, what=SEASON_NAME) from None
    named = data.get("risk") if isinstance(data, dict) else None
    with tempfile.TemporaryDirectory(prefix="emergency-season-") as tmp:
        folder = Path(tmp) / "plans"
        folder.mkdir()
        if isinstance(named, str):
            rel = PurePosixPath(named)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts or "\\" in named:
                raise SeasonFileErrors(
                    [f"{SEASON_NAME}: risk: {named!r}: name a CSV file beside the season file"]
                )
            if risk_csv is None:
                raise SeasonFileErrors(
                    [f"{SEASON_NAME}: risk: names {named}; send its text as risk_csv"]
                )
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(risk_csv, encoding="utf-8")
        elif risk_csv is not None:
            raise SeasonFileErrors(
                [
                    f"risk_csv: {SEASON_NAME} names no risk CSV (risk: season-risk.csv); "
                    "leave risk_csv out or name it"
                ]
            )
        try:
            inp = parse_season_text(text, SEASON_NAME, dataset, folder)
        except ValidationErrors as exc:
            raise SeasonFileErrors(exc.errors, what=SEASON_NAME) from None
        except InputError as exc:
            raise SeasonFileErrors([exc.message], what=SEASON_NAME) from None
    if risk:
        days = inp.season.days()
        known = {d.isoformat() for d in days}
        outside = sorted(k for k in risk if k not in known)
        if outside:
            raise SeasonFileErrors(
                [f"risk: {outside[0]} is outside the season {days[0]} .. {days[-1]}"]
            )
        bad = sorted(k for k, v in risk.items() if not (math.isfinite(v) and v >= 0))
        if bad:
            raise SeasonFileErrors([f"risk: {bad[0]}: must be a finite number ≥ 0"])
        values = [float(risk.get(d.isoformat(), r)) for d, r in zip(days, inp.risk, strict=True)]
        inp = SeasonInput(inp.season, values, inp.name)
    return inp


def _schedule(session: Session, inp: SeasonInput, state: SeasonState | None) -> dict[str, Any]:
    """Schedule the season (from ``state``, for a re-plan) with the settings' time limit."""
    dataset = loaded_data(session).dataset
    limit = store_of(session).config.solver_time_limit_s
    try:
        result = plan_season(inp, dataset, time_limit_s=limit, state=state).to_json()
    except ValidationErrors as exc:
        raise SeasonFileErrors(exc.errors, what="the re-plan's state") from None
    except InputError as exc:
        raise SeasonFileErrors([exc.message]) from None
    if result["status"] in NO_SCHEDULE:
        raise SeasonFileErrors(
            [f"{SEASON_NAME}: no schedule ({result['status']}): {result.get('message', '')}"]
        )
    return result


def _check(session: Session, inp: SeasonInput, row: SeasonPlan) -> list[str]:
    """The independent checker's violations of the stored schedule (none: it may go)."""
    dataset = loaded_data(session).dataset
    state = _state(row.state) if row.state else None
    return list(check_season_schedule(inp, dataset, row.schedule, state=state).violations)


def _state(stored: dict[str, Any]) -> SeasonState:
    """The core's re-plan state from what a version stores (``from``, ``held``)."""
    held = {
        source: {
            dt.date.fromisoformat(day): {line: float(v) for line, v in loads.items()}
            for day, loads in per_day.items()
        }
        for source, per_day in stored["held"].items()
    }
    return SeasonState(from_date=dt.date.fromisoformat(stored["from"]), held=held)


# ----------------------------------------------------------------------------- views


def _quotas(schedule: dict[str, Any]) -> list[QuotaView]:
    return [
        QuotaView(
            id=str(q["id"]),
            kind=str(q.get("kind", "")),
            required=float(q["required"]),
            achieved=float(q["achieved"]),
            unit=str(q.get("unit", "")),
            short_by=float(q.get("short_by", 0.0)),
            met=float(q.get("short_by", 0.0)) <= 1e-9,
            short=list(q.get("short") or []),
        )
        for q in schedule.get("quotas") or []
    ]


def _summary(row: SeasonPlan) -> SeasonPlanSummary:
    quotas = _quotas(row.schedule)
    return SeasonPlanSummary(
        id=row.id,
        season=row.season_id,
        number=row.number,
        status=row.status,
        start=row.start,
        end=row.end,
        effective_from=row.effective_from,
        based_on=row.based_on,
        schedule_status=str(row.schedule.get("status", "")),
        total_cost_yuan=float(row.schedule.get("total_cost_yuan", 0.0)),
        risk_weighted_cut=float(row.schedule.get("risk_weighted_cut", 0.0)),
        quotas_met=sum(q.met for q in quotas),
        quotas_short=sum(not q.met for q in quotas),
        data_key=row.data_key,
        created_at=row.created_at,
        created_by=row.created_by,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        superseded_by=row.superseded_by,
    )


def _detail(row: SeasonPlan) -> SeasonPlanDetail:
    return SeasonPlanDetail(
        **_summary(row).model_dump(),
        text=row.content,
        risk_csv=row.risk_csv,
        quotas=_quotas(row.schedule),
        key_periods=list(row.key_periods or []),
        min_running_share=_running_shares(row.content),
        schedule=row.schedule,
    )


def _running_shares(text: str) -> dict[str, float]:
    """The minimum running shares of a stored season file (validated when it was posted)."""
    data, _node = read_yaml(text, SEASON_NAME)
    return dict(Season.model_validate(data).min_running_share)


def _row(session: Session, plan_id: int) -> SeasonPlan:
    row = session.get(SeasonPlan, plan_id)
    if row is None:
        raise NotFound(f"season plan {plan_id} not found")
    return row


def list_season_plans(
    session: Session, actor: Actor, *, season: str | None = None, status: str | None = None
) -> list[SeasonPlanSummary]:
    """Season plan versions, newest first (planners)."""
    require(actor, Action.plan_season)
    query = select(SeasonPlan).order_by(SeasonPlan.id.desc())
    if season:
        query = query.where(SeasonPlan.season_id == season)
    if status:
        query = query.where(SeasonPlan.status == status)
    return [_summary(r) for r in session.scalars(query)]


def get_season_plan(session: Session, actor: Actor, plan_id: int) -> SeasonPlanDetail:
    """One version with its file, schedule and quotas met or short (planners)."""
    require(actor, Action.plan_season)
    return _detail(_row(session, plan_id))


# ----------------------------------------------------------------------------- changes


def _store(
    session: Session,
    actor: Actor,
    inp: SeasonInput,
    text: str,
    risk_csv: str | None,
    schedule: dict[str, Any],
    *,
    effective_from: dt.date,
    based_on: int | None,
    state: dict[str, Any] | None,
) -> SeasonPlan:
    season = inp.season
    top = session.scalar(
        select(func.max(SeasonPlan.number)).where(SeasonPlan.season_id == season.id)
    )
    row = SeasonPlan(
        season_id=season.id,
        number=(top or 0) + 1,
        status="pending",
        start=season.start,
        end=season.end,
        content=text,
        risk_csv=risk_csv,
        schedule=schedule,
        key_periods=[kp.model_dump(mode="json") for kp in season.key_periods],
        state=state,
        effective_from=effective_from,
        based_on=based_on,
        data_key=loaded_data(session).key,
        created_at=store_of(session).config.now(),
        created_by=actor.label,
        review_note="",
    )
    with raced(session, f"season {season.id} changed meanwhile; send it again"):
        session.add(row)
        session.flush()
    return row


def post_season_plan(session: Session, actor: Actor, body: SeasonPlanIn) -> SeasonPlanDetail:
    """Validate, schedule and store a season plan as a pending version.

    Raises
    ------
    SeasonFileErrors
        The file (or its risk CSV) has problems, or no schedule exists: nothing stored.
    """
    require(actor, Action.plan_season)
    inp = parse_season(session, body.season, body.risk_csv)
    schedule = _schedule(session, inp, None)
    row = _store(
        session,
        actor,
        inp,
        body.season,
        body.risk_csv,
        schedule,
        effective_from=inp.season.start,
        based_on=None,
        state=None,
    )
    record(
        session,
        actor,
        "season.plan",
        f"season:{row.season_id}",
        None,
        {"season_plan": row.id, "number": row.number, "status": schedule["status"]},
    )
    commit(session)
    return _detail(row)


def replan_season(
    session: Session, actor: Actor, plan_id: int, body: SeasonReplanIn
) -> SeasonPlanDetail:
    """Re-plan the approved version ``plan_id`` from ``body.from_`` (default today).

    The state: per planned source and day before ``from``, the loads of the approved
    schedule, overlaid with the line loads of the response orders of that day (the
    stricter per line: stop days ordered during warnings count toward stop quotas). An
    optional new risk series replaces the old one on the days it gives.
    """
    require(actor, Action.plan_season)
    base = _row(session, plan_id)
    if base.status != "approved":
        raise Conflict(f"season plan {plan_id} is {base.status}: re-plan the approved version")
    today = store_of(session).config.today()
    first = body.from_ or today
    if first < today:
        raise InputError(f"from: {first} is before today ({today}): days behind stay as they were")
    if first > base.end:
        raise InputError(f"from: {first} is after the season's end ({base.end})")
    first = max(first, base.start)
    risk = dict((base.state or {}).get("risk") or {})
    if body.risk:
        risk.update({d.isoformat(): float(v) for d, v in body.risk.items()})
    if body.risk_csv is not None:
        risk.update(_risk_rows(body.risk_csv))
    inp = parse_season(session, base.content, base.risk_csv, risk)
    held = held_loads(session, base, inp, first)
    stored = {
        "from": first.isoformat(),
        "held": {
            source: {day.isoformat(): loads for day, loads in per_day.items()}
            for source, per_day in held.items()
        },
        "risk": risk,
    }
    schedule = _schedule(session, inp, _state(stored))
    row = _store(
        session,
        actor,
        inp,
        base.content,
        base.risk_csv,
        schedule,
        effective_from=first,
        based_on=base.id,
        state=stored,
    )
    record(
        session,
        actor,
        "season.replan",
        f"season:{row.season_id}",
        {"season_plan": base.id},
        {"season_plan": row.id, "number": row.number, "from": first.isoformat()},
    )
    commit(session)
    return _detail(row)


def _risk_rows(text: str) -> dict[str, float]:
    """A ``date,risk`` CSV given with a re-plan (dates checked against the season later)."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"date", "risk"} <= set(reader.fieldnames):
        raise SeasonFileErrors(["risk_csv:1: expected the header date,risk"])
    out: dict[str, float] = {}
    for n, line in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat((line.get("date") or "").strip())
            value = float((line.get("risk") or "").strip())
        except ValueError:
            raise SeasonFileErrors([f"risk_csv:{n}: not a date and a number"]) from None
        if not (math.isfinite(value) and value >= 0):
            raise SeasonFileErrors([f"risk_csv:{n}: risk: must be a finite number ≥ 0"])
        out[day.isoformat()] = value
    return out


def _pending(session: Session, plan_id: int) -> SeasonPlan:
    row = _row(session, plan_id)
    if row.status != "pending":
        raise Conflict(f"season plan {plan_id} is {row.status}, not pending")
    return row


def approve_season_plan(
    session: Session, actor: Actor, plan_id: int, *, note: str = ""
) -> SeasonApproval:
    """Approve a pending version: checked again, in force, staggered orders issued.

    Raises
    ------
    Conflict
        Not pending; the data in force changed since it was planned (re-plan needed);
        the checker rejects its schedule.
    """
    require(actor, Action.approve_season)
    row = _pending(session, plan_id)
    loaded = loaded_data(session)
    if row.data_key != loaded.key:
        raise Conflict(
            f"season plan {plan_id} was planned with data no longer in force: re-plan needed "
            "/ 数据已变更，请重新编制"
        )
    inp = parse_season(session, row.content, row.risk_csv, (row.state or {}).get("risk"))
    violations = _check(session, inp, row)
    if violations:
        raise Conflict(
            f"season plan {plan_id}: the checker rejects the schedule: " + "; ".join(violations[:5])
        )
    now = store_of(session).config.now()
    today = store_of(session).config.today()
    with raced(session, f"season {row.season_id} changed meanwhile; reload and retry"):
        previous = session.scalar(
            select(SeasonPlan).where(
                SeasonPlan.season_id == row.season_id, SeasonPlan.status == "approved"
            )
        )
        if previous is not None:
            previous.status = "superseded"
            previous.superseded_by = row.id
            session.flush()
        row.status = "approved"
        row.reviewed_at, row.reviewed_by, row.review_note = now, actor.label, note
        session.flush()
        done = issue_staggered(session, actor, row, max(row.effective_from, today))
        responses: list[dict[str, Any]] = []
        floored = floor_open_response(session, actor)
        if floored is not None:
            response, _ = floored
            responses.append(
                {
                    "response_id": response.id,
                    "action": "floored",
                    "reason": response.warning.get("reason", ""),
                    "reason_zh": response.warning.get("reason_zh", ""),
                }
            )
        opened = open_due_key_period(session, actor)
        if opened is not None:
            responses.append(
                {
                    "response_id": opened.id,
                    "action": "opened",
                    "reason": opened.warning.get("reason", ""),
                    "reason_zh": opened.warning.get("reason_zh", ""),
                }
            )
        record(
            session,
            actor,
            "season.approve",
            f"season:{row.season_id}",
            {"approved": previous.id if previous is not None else None},
            {
                "season_plan": row.id,
                "number": row.number,
                "note": note,
                "issued": [o.id for o in done.issued],
                "superseded": [o.id for o in done.superseded],
                "lifted": [o.id for o in done.lifted],
                "responses": [r["response_id"] for r in responses],
            },
        )
    commit(session)
    return SeasonApproval(
        season_plan=_summary(row),
        superseded_plan=previous.id if previous is not None else None,
        issued=order_views(session, done.issued),
        superseded=[o.id for o in done.superseded],
        lifted=[o.id for o in done.lifted],
        kept=done.kept,
        responses=responses,
    )


def reject_season_plan(
    session: Session, actor: Actor, plan_id: int, *, note: str
) -> SeasonPlanSummary:
    """Refuse a pending version with a reason; nothing else changes."""
    require(actor, Action.approve_season)
    if not note.strip():
        raise InputError("note: give the reason for rejecting the season plan")
    row = _pending(session, plan_id)
    with raced(session, f"season plan {plan_id} changed meanwhile"):
        row.status = "rejected"
        row.reviewed_at, row.reviewed_by = store_of(session).config.now(), actor.label
        row.review_note = note
        session.flush()
        record(
            session,
            actor,
            "season.reject",
            f"season:{row.season_id}",
            None,
            {"season_plan": row.id, "number": row.number, "note": note},
        )
    commit(session)
    return _summary(row)
