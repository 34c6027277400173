"""The append-only audit log: who did what, when, with the state before and after.

Entries are only ever added (the database refuses UPDATE and DELETE on the table); there is
no function here that changes or removes one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require
from emergency.store.db import store_of
from emergency.store.models import AuditEntry


class AuditView(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the audit log, in the caller's transaction (committed with it)."""
    session.add(
        AuditEntry(
            at=store_of(session).config.now(),
            actor=actor.label,
            action=action,
            target=target,
            before=before,
            after=after,
        )
    )


def list_audit(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    target: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
) -> list[AuditView]:
    """Audit entries, newest first (admins only)."""
    require(actor, Action.read_audit)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 5000)))
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    if since:
        query = query.where(AuditEntry.at >= since)
    return [AuditView.model_validate(row, from_attributes=True) for row in session.scalars(query)]
