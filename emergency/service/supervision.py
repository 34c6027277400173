"""Supervision: a response's anomalies ranked by their estimated excess emission, and the
inspection tasks that follow them (assign → visit with finding and photos → close).

A task follows one anomaly by its stable key (one open task per key, a unique index); it
copies what the anomaly said when the task was made (kind, enterprise, order, excess), so
the task keeps its meaning when later data change the anomaly. A visit that confirms the
breach marks the enterprise for grade review (降级), listed by :func:`grade_review` and in
the after-action review. Every change is audited; tasks carry a version (two inspectors
changing one task at once: the second gets 409).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from emergency.errors import InputError
from emergency.service.access import Action, Actor, require
from emergency.service.audit import record
from emergency.service.compliance import compliance
from emergency.service.errors import Conflict, NotFound
from emergency.service.planning import get_response, loaded_data
from emergency.service.uow import commit
from emergency.service.views import Anomaly
from emergency.store.db import store_of
from emergency.store.models import InspectionTask, TaskPhoto
from emergency.vehicles.breaches import ENTRY_KEY
from emergency.vehicles.records import originals_of

OPEN, ASSIGNED, VISITED, CLOSED = "open", "assigned", "visited", "closed"
TaskStatus = Literal["open", "assigned", "visited", "closed"]
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
"""What a photo may be, known by its first bytes (not by what the client says)."""


def excess_total(anomaly: Anomaly) -> float:
    """The anomaly's estimated excess emission, all pollutants together (kg)."""
    return float(sum(v for v in anomaly.excess_kg.values() if v > 0))


class RankedAnomaly(BaseModel):
    """An anomaly with its rank and the task that follows it, if any."""

    rank: int
    excess_kg_total: float = Field(description="estimated excess emission, kg, all pollutants")
    anomaly: Anomaly
    task_id: int | None = None
    task_status: str | None = None


def ranked_anomalies(
    session: Session, actor: Actor, response_id: int, anomalies: list[Anomaly] | None = None
) -> list[RankedAnomaly]:
    """The response's anomalies (``anomalies`` when the caller has them: the compliance
    view's), the largest estimated excess emission first (then by kind and key, so the
    order is stable)."""
    require(actor, Action.read_supervision)
    if anomalies is None:
        anomalies = compliance(session, actor, response_id).anomalies
    found = list(
        session.scalars(
            select(InspectionTask)
            .where(InspectionTask.response_id == response_id)
            .order_by(InspectionTask.id)
        )
    )
    keys = followed_keys(session, [t.anomaly_key for t in found])
    tasks = {keys[t.anomaly_key]: t for t in found}  # the newest task of a key wins
    ordered = sorted(anomalies, key=lambda a: (-excess_total(a), a.kind, a.key))
    out = []
    for rank, anomaly in enumerate(ordered, start=1):
        task = tasks.get(anomaly.key)
        out.append(
            RankedAnomaly(
                rank=rank,
                excess_kg_total=round(excess_total(anomaly), 3),
                anomaly=anomaly,
                task_id=task.id if task else None,
                task_status=task.status if task else None,
            )
        )
    return out


def followed_keys(session: Session, keys: list[str]) -> dict[str, str]:
    """Each task key → the anomaly key it follows now. Tasks made before a banned
    vehicle's key followed the entry's original record were stored under the key of the
    correction then in effect (``gate:<correction id>``): those lead back to the original,
    so the task stays with its anomaly; every other key is itself."""
    entries = {
        k: int(k[len(ENTRY_KEY) :])
        for k in keys
        if k.startswith(ENTRY_KEY) and k[len(ENTRY_KEY) :].isdigit()
    }
    first = originals_of(session, entries.values())
    return {k: f"{ENTRY_KEY}{first[entries[k]]}" if k in entries else k for k in keys}


# ---------------------------------------------------------------------- tasks


class TaskIn(BaseModel):
    """Open an inspection task for one anomaly of a response."""

    response_id: int = Field(ge=1, le=2**31 - 1)
    anomaly_key: str = Field(min_length=1, max_length=300, description="the anomaly's `key`")
    assigned_to: str | None = Field(
        default=None, min_length=1, max_length=200, description="the inspector, by name"
    )


class AssignIn(BaseModel):
    assigned_to: str = Field(min_length=1, max_length=200)


class VisitIn(BaseModel):
    """What the inspector found on site."""

    confirmed: bool = Field(description="true: the breach is confirmed (grade review)")
    finding: str = Field(min_length=1, max_length=5000, description="notes of the visit")


class CloseIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class PhotoView(BaseModel):
    id: int
    content_type: str
    bytes: int
    sha256: str
    uploaded_at: dt.datetime
    uploaded_by: str


class TaskView(BaseModel):
    id: int
    response_id: int | None
    order_id: int | None
    enterprise: str
    enterprise_name: str
    anomaly_kind: str
    anomaly_key: str
    excess_kg: float | None
    status: TaskStatus
    assigned_to: str | None
    created_at: dt.datetime
    created_by: str
    visited_at: dt.datetime | None
    finding: str
    confirmed: bool | None = Field(description="null until a visit says")
    closed_at: dt.datetime | None
    closed_by: str | None
    photos: list[PhotoView] = Field(default_factory=list)


def _view(session: Session, task: InspectionTask, photos: bool = True) -> TaskView:
    source = loaded_data(session).dataset.by_id.get(task.enterprise_id)
    shots = []
    if photos:
        shots = [
            PhotoView(
                id=p.id,
                content_type=p.content_type,
                bytes=n,
                sha256=p.sha256,
                uploaded_at=p.uploaded_at,
                uploaded_by=p.uploaded_by,
            )
            for p, n in session.execute(
                select(TaskPhoto, func.length(TaskPhoto.data))
                .where(TaskPhoto.task_id == task.id)
                .order_by(TaskPhoto.id)
            )
        ]
    return TaskView(
        id=task.id,
        response_id=task.response_id,
        order_id=task.order_id,
        enterprise=task.enterprise_id,
        enterprise_name=source.name if source else task.enterprise_id,
        anomaly_kind=task.anomaly_kind,
        anomaly_key=task.anomaly_key,
        excess_kg=task.excess_kg,
        status=task.status,  # type: ignore[arg-type]
        assigned_to=task.assigned_to,
        created_at=task.created_at,
        created_by=task.created_by,
        visited_at=task.visited_at,
        finding=task.finding,
        confirmed=task.confirmed,
        closed_at=task.closed_at,
        closed_by=task.closed_by,
        photos=shots,
    )


def _state(task: InspectionTask) -> dict[str, object]:
    return {
        "status": task.status,
        "assigned_to": task.assigned_to,
        "confirmed": task.confirmed,
        "finding": task.finding,
    }


def _task(session: Session, task_id: int) -> InspectionTask:
    task = session.get(InspectionTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def _open(task: InspectionTask) -> None:
    if task.status == CLOSED:
        raise Conflict(f"task {task.id} is closed")


def _save(
    session: Session, actor: Actor, task: InspectionTask, event: str, before: dict[str, object]
) -> None:
    record(session, actor, f"task.{event}", f"task:{task.id}", before, _state(task))
    try:
        commit(session)
    except StaleDataError:
        session.rollback()
        raise Conflict(f"task {task.id} was changed meanwhile; reload it") from None


def create_task(session: Session, actor: Actor, body: TaskIn) -> TaskView:
    """A task for the anomaly ``body.anomaly_key`` of the response (it must be one of the
    response's anomalies now); 409 while another task of that key is not closed."""
    require(actor, Action.manage_tasks)
    get_response(session, body.response_id)
    found = {a.key: a for a in compliance(session, actor, body.response_id).anomalies}
    anomaly = found.get(body.anomaly_key)
    if anomaly is None:
        raise InputError(f"task: anomaly_key: no anomaly {body.anomaly_key!r} in this response")
    unclosed = session.scalars(
        select(InspectionTask.anomaly_key).where(
            InspectionTask.response_id == body.response_id,
            InspectionTask.status != CLOSED,
            InspectionTask.anomaly_key.like(f"{ENTRY_KEY}%"),
        )
    ).all()
    if anomaly.key in followed_keys(session, list(unclosed)).values():
        # stored under a correction's id, as before keys followed the original record
        raise Conflict(
            f"an open task already follows {body.anomaly_key!r} in response {body.response_id}"
        )
    now = store_of(session).config.now()
    task = InspectionTask(
        response_id=body.response_id,
        order_id=anomaly.order_id,
        enterprise_id=anomaly.source,
        anomaly_kind=anomaly.kind,
        anomaly_key=anomaly.key,
        excess_kg=round(excess_total(anomaly), 3) if anomaly.excess_kg else None,
        status=ASSIGNED if body.assigned_to else OPEN,
        assigned_to=body.assigned_to,
        created_at=now,
        created_by=actor.label,
        finding="",
    )
    session.add(task)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"an open task already follows {body.anomaly_key!r} in response {body.response_id}"
        ) from None
    _save(session, actor, task, "create", {})
    return _view(session, task)


def list_tasks(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    response_id: int | None = None,
    assigned_to: str | None = None,
) -> list[TaskView]:
    """Tasks, the largest excess first within the not-closed, then the closed newest first."""
    require(actor, Action.read_supervision)
    query = select(InspectionTask)
    if status is not None:
        query = query.where(InspectionTask.status == status)
    if response_id is not None:
        query = query.where(InspectionTask.response_id == response_id)
    if assigned_to is not None:
        query = query.where(InspectionTask.assigned_to == assigned_to)
    tasks = list(session.scalars(query.order_by(InspectionTask.id)))
    tasks.sort(key=lambda t: (t.status == CLOSED, -(t.excess_kg or 0.0), -t.id))
    return [_view(session, t, photos=False) for t in tasks]


def get_task(session: Session, actor: Actor, task_id: int) -> TaskView:
    require(actor, Action.read_supervision)
    return _view(session, _task(session, task_id))


def assign_task(session: Session, actor: Actor, task_id: int, body: AssignIn) -> TaskView:
    require(actor, Action.manage_tasks)
    task = _task(session, task_id)
    _open(task)
    before = _state(task)
    task.assigned_to = body.assigned_to
    if task.status == OPEN:
        task.status = ASSIGNED
    _save(session, actor, task, "assign", before)
    return _view(session, task)


def visit_task(session: Session, actor: Actor, task_id: int, body: VisitIn) -> TaskView:
    """Record the visit: the finding and whether the breach is confirmed (a second visit
    replaces the first's finding; the audit log keeps both)."""
    require(actor, Action.manage_tasks)
    task = _task(session, task_id)
    _open(task)
    before = _state(task)
    task.status = VISITED
    task.visited_at = store_of(session).config.now()
    task.finding = body.finding
    task.confirmed = body.confirmed
    if task.assigned_to is None:
        task.assigned_to = actor.name
    _save(session, actor, task, "visit", before)
    return _view(session, task)


def close_task(session: Session, actor: Actor, task_id: int, body: CloseIn) -> TaskView:
    """Close a task; one never visited needs a note saying why."""
    require(actor, Action.manage_tasks)
    task = _task(session, task_id)
    _open(task)
    if task.status != VISITED and not body.note.strip():
        raise InputError("task: note: a task closed without a visit needs a note saying why")
    before = _state(task)
    task.status = CLOSED
    task.closed_at = store_of(session).config.now()
    task.closed_by = actor.label
    if body.note.strip():
        task.finding = (task.finding + "\n" if task.finding else "") + body.note.strip()
    _save(session, actor, task, "close", before)
    return _view(session, task)


def add_photo(session: Session, actor: Actor, task_id: int, data: bytes) -> PhotoView:
    """Keep a JPEG or PNG photo of the visit (known by its first bytes; at most
    ``max_photo_bytes``)."""
    require(actor, Action.manage_tasks)
    task = _task(session, task_id)
    _open(task)
    if not data:
        raise InputError("photo: file: empty")
    limit = store_of(session).config.max_photo_bytes
    if len(data) > limit:
        raise InputError(f"photo: file: larger than {limit} bytes")
    kind = next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise InputError("photo: file: not a JPEG or PNG image")
    digest = hashlib.sha256(data).hexdigest()
    photo = TaskPhoto(
        task_id=task.id,
        content_type=kind,
        data=data,
        sha256=digest,
        uploaded_at=store_of(session).config.now(),
        uploaded_by=actor.label,
    )
    session.add(photo)
    session.flush()
    record(
        session, actor, "task.photo", f"task:{task.id}", None, {"photo": photo.id, "sha256": digest}
    )
    commit(session)
    return PhotoView(
        id=photo.id,
        content_type=kind,
        bytes=len(data),
        sha256=digest,
        uploaded_at=photo.uploaded_at,
        uploaded_by=photo.uploaded_by,
    )


def get_photo(session: Session, actor: Actor, task_id: int, photo_id: int) -> TaskPhoto:
    require(actor, Action.read_supervision)
    photo = session.get(TaskPhoto, photo_id)
    if photo is None or photo.task_id != task_id:
        raise NotFound(f"photo {photo_id} of task {task_id} not found")
    return photo


class GradeReview(BaseModel):
    """An enterprise a confirmed breach marks for grade review (降级)."""

    enterprise: str
    name: str
    grade: str
    tasks: list[int]
    kinds: list[str]
    last_visit: dt.datetime | None


def grade_review(
    session: Session, actor: Actor, response_id: int | None = None
) -> list[GradeReview]:
    """Enterprises with a confirmed breach (of one response, or all), most breaches first."""
    require(actor, Action.read_supervision)
    query = select(InspectionTask).where(InspectionTask.confirmed.is_(True))
    if response_id is not None:
        query = query.where(InspectionTask.response_id == response_id)
    by_firm: dict[str, list[InspectionTask]] = {}
    for task in session.scalars(query.order_by(InspectionTask.id)):
        by_firm.setdefault(task.enterprise_id, []).append(task)
    names = loaded_data(session).dataset.by_id
    out = []
    for firm, tasks in by_firm.items():
        source = names.get(firm)
        visits = [t.visited_at for t in tasks if t.visited_at is not None]
        out.append(
            GradeReview(
                enterprise=firm,
                name=source.name if source else firm,
                grade=(source.grade or "") if source else "",
                tasks=[t.id for t in tasks],
                kinds=sorted({t.anomaly_kind for t in tasks}),
                last_visit=max(visits) if visits else None,
            )
        )
    out.sort(key=lambda g: (-len(g.tasks), g.enterprise))
    return out
