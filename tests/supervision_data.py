"""Inspection tasks and photos straight in the store, for the tests that walk every route
(the task routes need a task, and a photo, to act on)."""

from __future__ import annotations

import hashlib

from emergency.settings import utc_now
from emergency.store.db import Store
from emergency.store.models import InspectionTask, TaskPhoto

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
"""Enough of a PNG for the photo route (it knows an image by its first bytes)."""


def open_task(store: Store, response_id: int, key: str, enterprise: str = "JY-P001") -> int:
    """An open task of ``response_id`` following anomaly ``key``; its id."""
    with store.session() as session:
        task = InspectionTask(
            response_id=response_id,
            enterprise_id=enterprise,
            anomaly_kind="load",
            anomaly_key=key,
            status="open",
            created_at=utc_now(),
            created_by="test",
            finding="",
        )
        session.add(task)
        session.commit()
        return task.id


def add_photo(store: Store, task_id: int) -> int:
    """A photo (:data:`PNG`) of task ``task_id``; its id."""
    with store.session() as session:
        photo = TaskPhoto(
            task_id=task_id,
            content_type="image/png",
            data=PNG,
            sha256=hashlib.sha256(PNG).hexdigest(),
            uploaded_at=utc_now(),
            uploaded_by="test",
        )
        session.add(photo)
        session.commit()
        return photo.id
