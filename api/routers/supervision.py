"""Supervision: anomalies ranked by estimated excess emission, inspection tasks (the
inspectors' phones use these routes), their photos, and the enterprises marked for grade
review. See docs/SUPERVISION.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import MAX_ID, CanManageTasks, CanSupervise, Id, SessionDep
from emergency.service.supervision import (
    AssignIn,
    CloseIn,
    GradeReview,
    PhotoView,
    RankedAnomaly,
    TaskIn,
    TaskStatus,
    TaskView,
    VisitIn,
    add_photo,
    assign_task,
    close_task,
    create_task,
    get_photo,
    get_task,
    grade_review,
    list_tasks,
    ranked_anomalies,
    visit_task,
)

router = APIRouter(tags=["supervision"])
ResponseQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="the response")]


@router.get(
    "/supervision/anomalies",
    response_model=list[RankedAnomaly],
    summary="A response's anomalies, the largest estimated excess emission first",
)
def get_ranked(
    session: SessionDep, actor: CanSupervise, response: ResponseQuery
) -> list[RankedAnomaly]:
    """Each anomaly (declared reports, clock, meters, gates) with its rank, its excess
    emission estimate and the task that follows it."""
    return ranked_anomalies(session, actor, response)


@router.get(
    "/supervision/grade-review",
    response_model=list[GradeReview],
    summary="Enterprises a confirmed breach marks for grade review (降级)",
)
def get_grade_review(
    session: SessionDep,
    actor: CanSupervise,
    response: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[GradeReview]:
    return grade_review(session, actor, response)


@router.post("/tasks", response_model=TaskView, status_code=201, summary="Open an inspection task")
def post_task(session: SessionDep, actor: CanManageTasks, body: TaskIn) -> TaskView:
    """For one anomaly of the response (`anomaly_key`); 409 while another task of that
    anomaly is not closed."""
    return create_task(session, actor, body)


@router.get("/tasks", response_model=list[TaskView], summary="Inspection tasks")
def get_tasks(
    session: SessionDep,
    actor: CanSupervise,
    status: TaskStatus | None = None,
    response: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    assigned_to: Annotated[str | None, Query(max_length=200)] = None,
) -> list[TaskView]:
    """Not closed first, the largest excess emission first; then the closed, newest first."""
    return list_tasks(session, actor, status=status, response_id=response, assigned_to=assigned_to)


@router.get("/tasks/{task_id}", response_model=TaskView, summary="One task with its photos")
def get_one_task(session: SessionDep, actor: CanSupervise, task_id: Id) -> TaskView:
    return get_task(session, actor, task_id)


@router.post("/tasks/{task_id}/assign", response_model=TaskView, summary="Assign a task")
def post_assign(
    session: SessionDep, actor: CanManageTasks, task_id: Id, body: AssignIn
) -> TaskView:
    return assign_task(session, actor, task_id, body)


@router.post("/tasks/{task_id}/visit", response_model=TaskView, summary="Record the visit")
def post_visit(session: SessionDep, actor: CanManageTasks, task_id: Id, body: VisitIn) -> TaskView:
    """The finding and whether the breach is confirmed (true: grade review)."""
    return visit_task(session, actor, task_id, body)


@router.post("/tasks/{task_id}/close", response_model=TaskView, summary="Close a task")
def post_close(session: SessionDep, actor: CanManageTasks, task_id: Id, body: CloseIn) -> TaskView:
    """A task closed without a visit needs a note saying why; a closed task is final (409)."""
    return close_task(session, actor, task_id, body)


@router.post(
    "/tasks/{task_id}/photos",
    response_model=PhotoView,
    status_code=201,
    summary="Add a photo of the visit (the raw JPEG or PNG as the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def post_photo(
    request: Request, session: SessionDep, actor: CanManageTasks, task_id: Id
) -> PhotoView:
    """The image is known by its first bytes, whatever `Content-Type` says; at most
    `max_photo_bytes` (8 MiB; larger: 413)."""
    data = await request.body()
    return await run_in_threadpool(add_photo, session, actor, task_id, data)  # off the loop


@router.get(
    "/tasks/{task_id}/photos/{photo_id}",
    response_class=Response,
    summary="A photo of a task",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def get_one_photo(
    session: SessionDep,
    actor: CanSupervise,
    task_id: Id,
    photo_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    photo = get_photo(session, actor, task_id, photo_id)
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "ETag": f'"{photo.sha256}"'},
    )
