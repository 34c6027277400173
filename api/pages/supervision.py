"""Supervision pages: a response's anomalies ranked and on a map (督查), the inspection
tasks (任务) with their forms (open, assign, record the visit, close), and the after-action
review (复盘). Each action is one service call, as the JSON API's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import MAX_ID, Id, SessionDep
from api.pages.auth import CanView, Need, check_csrf, flash
from api.pages.errors import PageRoute
from api.pages.render import render
from api.pages.svgmap import source_map
from emergency.errors import InputError
from emergency.service.access import Action, Actor, allowed
from emergency.service.errors import Conflict
from emergency.service.planning import loaded_data
from emergency.service.responses import get_response_detail
from emergency.service.review import review
from emergency.service.supervision import (
    AssignIn,
    CloseIn,
    TaskIn,
    VisitIn,
    assign_task,
    close_task,
    create_task,
    get_task,
    grade_review,
    list_tasks,
    ranked_anomalies,
    visit_task,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanInspect = Annotated[Actor, Depends(Need(Action.read_supervision))]
CanTask = Annotated[Actor, Depends(Need(Action.manage_tasks))]
FormText = Annotated[str, Form()]

MAP_NAMES = {
    "confirmed": "违规已确认 breach confirmed",
    "task": "核查中 being inspected",
    "anomaly": "有异常 anomaly",
    "normal": "无异常 no anomaly",
}
EVIDENCE = {"meter": "分表计电 meter", "report": "企业报告 report", "unverified": "无佐证 none"}


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/responses/{response_id}/supervision", response_class=HTMLResponse)
def supervision_page(
    request: Request, session: SessionDep, actor: CanInspect, response_id: Id
) -> HTMLResponse:
    """督查 Supervision: the anomalies ranked by estimated excess emission, on a map."""
    detail = get_response_detail(session, actor, response_id)
    ranked = ranked_anomalies(session, actor, response_id)
    confirmed = {g.enterprise for g in grade_review(session, actor, response_id)}
    kinds: dict[str, tuple[str, None]] = {}
    notes: dict[str, str] = {}
    for item in reversed(ranked):  # the largest excess of a source last, so it wins
        a = item.anomaly
        kind = "confirmed" if a.source in confirmed else "task" if item.task_id else "anomaly"
        if kinds.get(a.source, ("",))[0] != "confirmed":
            kinds[a.source] = (kind, None)
        notes[a.source] = a.message_zh or a.message
    svg, legend = source_map(
        loaded_data(session).dataset,
        kinds,
        f"/responses/{response_id}/sources/{{source}}",
        label=f"异常分布 Anomalies of response {response_id}",
        names=MAP_NAMES,
        notes=notes,
    )
    return render(
        request,
        "supervision.html",
        {
            "nav": "supervision",
            "response_id": response_id,
            "detail": detail,
            "ranked": ranked,
            "svg": svg,
            "legend": legend,
            "grade": grade_review(session, actor, response_id),
            "can_task": allowed(actor, Action.manage_tasks),
        },
    )


@router.get("/responses/{response_id}/review", response_class=HTMLResponse)
def review_page(
    request: Request, session: SessionDep, actor: CanView, response_id: Id
) -> HTMLResponse:
    """复盘 The after-action review: promised against measured, compliance, cost, timeline."""
    detail = get_response_detail(session, actor, response_id)
    return render(
        request,
        "review.html",
        {
            "nav": "review",
            "response_id": response_id,
            "detail": detail,
            "review": review(session, actor, response_id),
            "EVIDENCE": EVIDENCE,
        },
    )


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request,
    session: SessionDep,
    actor: CanInspect,
    status: Annotated[str, Query(max_length=20)] = "",
    response: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """任务 Inspection tasks: not closed first, the largest excess first."""
    chosen = status if status in ("open", "assigned", "visited", "closed") else None
    tasks = list_tasks(session, actor, status=chosen, response_id=response)
    return render(
        request,
        "tasks.html",
        {"nav": "tasks", "tasks": tasks, "status": chosen or "", "response": response},
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request, session: SessionDep, actor: CanInspect, task_id: Id
) -> HTMLResponse:
    return _task_page(request, session, actor, task_id)


def _task_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    task_id: int,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "task.html",
        {
            "nav": "tasks",
            "task": get_task(session, actor, task_id),
            "error": error,
            "can_task": allowed(actor, Action.manage_tasks),
        },
        status_code=status_code,
    )


def _refused(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), 400
    if isinstance(exc, Conflict):
        return str(exc.message), 409
    return str(getattr(exc, "message", exc)), 400


@router.post("/responses/{response_id}/tasks")
def open_task(
    request: Request,
    session: SessionDep,
    actor: CanTask,
    response_id: Id,
    anomaly_key: FormText,
    assigned_to: FormText = "",
    csrf: FormText = "",
) -> Response:
    """开任务 Open a task for an anomaly (from the supervision page)."""
    check_csrf(request, csrf)
    try:
        body = TaskIn(
            response_id=response_id,
            anomaly_key=anomaly_key,
            assigned_to=assigned_to.strip() or None,
        )
        task = create_task(session, actor, body)
    except (ValidationError, InputError, Conflict) as exc:
        text, _status = _refused(exc)
        response = _see(f"/responses/{response_id}/supervision")
        flash(request, response, f"未能开任务 Task not opened: {text}", "error")
        return response
    response = _see(f"/tasks/{task.id}")
    flash(request, response, f"已开任务 Task {task.id} opened")
    return response


@router.post("/tasks/{task_id}/{step}")
def task_step(
    request: Request,
    session: SessionDep,
    actor: CanTask,
    task_id: Id,
    step: str,
    assigned_to: FormText = "",
    finding: FormText = "",
    confirmed: FormText = "",
    note: FormText = "",
    csrf: FormText = "",
) -> Response:
    """指派 assign, 检查 visit or 关闭 close a task from its page."""
    check_csrf(request, csrf)
    try:
        if step == "assign":
            assign_task(session, actor, task_id, AssignIn(assigned_to=assigned_to.strip()))
        elif step == "visit":
            if confirmed not in ("yes", "no"):
                raise InputError("请选择是否确认违规 Say whether the breach is confirmed")
            body = VisitIn(confirmed=confirmed == "yes", finding=finding.strip())
            visit_task(session, actor, task_id, body)
        elif step == "close":
            close_task(session, actor, task_id, CloseIn(note=note))
        else:
            return _task_page(request, session, actor, task_id, "未知操作 Unknown step", 404)
    except (ValidationError, InputError, Conflict) as exc:
        text, status = _refused(exc)
        return _task_page(request, session, actor, task_id, text, status)
    response = _see(f"/tasks/{task_id}")
    flash(request, response, f"已保存 Saved: {step}")
    return response
