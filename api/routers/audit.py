"""``GET /audit``: the append-only audit log (admins only; there is no way to change it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminUser, SessionDep
from emergency.bounds import BoundedDatetime
from emergency.service.audit import AuditView, list_audit

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditView], summary="The audit log, newest first")
def get_audit(
    session: SessionDep,
    actor: AdminUser,
    action: str | None = None,
    target: str | None = None,
    since: Annotated[
        BoundedDatetime | None, Query(description="entries at or after (2000–2100)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditView]:
    return list_audit(session, actor, action=action, target=target, since=since, limit=limit)
