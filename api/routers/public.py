"""``GET /public/warning``: the warning in force, for anyone (no token)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from emergency.service.responses import public_warning
from emergency.service.views import PublicWarning

router = APIRouter(tags=["public"])


@router.get("/public/warning", response_model=PublicWarning, summary="The warning in force")
def get_public_warning(session: SessionDep) -> PublicWarning:
    """Current level, period and the city plan's advice to the public (level null: none)."""
    return public_warning(session)


@router.get("/health", summary="Liveness and database check")
def health(session: SessionDep) -> dict[str, str]:
    from sqlalchemy import text

    session.execute(text("SELECT 1"))
    return {"status": "ok"}
