"""A source's page: its plan (lines, measures with loads, levels), its measure on each day
of the response and why, and the planner's override form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.pages.render import render
from emergency import NORMAL, POLLUTANTS
from emergency.service.access import Action, Actor, allowed
from emergency.service.enterprises import get_plan_document, source_measure_views
from emergency.service.errors import NotFound
from emergency.service.planning import loaded_data
from emergency.service.responses import get_plan, get_response_detail
from emergency.solution import Assignment


@dataclass
class DayInfo:
    date: Any
    level: str
    assignment: Assignment | None


def source_page(
    request: Request,
    session: Session,
    actor: Actor,
    response_id: int,
    source_id: str,
    *,
    error: str | None = None,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = get_response_detail(session, actor, response_id)
    plan = get_plan(session, actor, response_id)
    dataset = loaded_data(session).dataset
    source = dataset.by_id.get(source_id)
    if source is None:
        raise NotFound(f"source {source_id} not found")
    document = None
    can_read_plan = allowed(actor, Action.read_plan)
    if can_read_plan and source_id in dataset.plans:
        document = get_plan_document(session, actor, source_id)
    lines, infos = source_measure_views(session, actor, source_id)
    by_day = {a.date: a for a in plan.assignments if a.source == source_id}
    days = [DayInfo(d.date, d.level, by_day.get(d.date)) for d in plan.days]
    overrides = [o for o in detail.overrides if o.source == source_id]
    current = next((o for o in reversed(overrides) if o.active), None)
    default_choice = (
        "exempt" if current and current.exempt else f"m:{current.measure}" if current else ""
    )
    context = {
        "nav": "list",
        "response_id": response_id,
        "detail": detail,
        "source": source,
        "document": document,
        "show_plan": can_read_plan or source_id not in dataset.plans,
        "has_plan": source_id in dataset.plans,
        "lines": lines,
        "measures": infos,
        "days": days,
        "overrides": overrides,
        "current_override": current,
        "can_override": allowed(actor, Action.override) and detail.status == "open",
        "error": error,
        "errors": errors or [],
        "form": form or {"choice": default_choice, "reason": ""},
        "NORMAL": NORMAL,
        "pollutants": POLLUTANTS,
    }
    return render(request, "source.html", context, status_code=status_code)
