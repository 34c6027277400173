"""``GET /public/warning``: the warning in force, for anyone (no token); ``GET /health``."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from emergency.service.responses import public_warning
from emergency.service.views import PublicWarning

router = APIRouter(tags=["public"])
root = APIRouter(tags=["public"])
"""Routes at the root, outside ``/api/v1``: ``GET /health`` for load balancers and people."""


@router.get("/public/warning", response_model=PublicWarning, summary="The warning in force")
def get_public_warning(session: SessionDep) -> PublicWarning:
    """Current level, period and the city plan's advice to the public (level null: none)."""
    return public_warning(session)


@router.get("/health", summary="Liveness and database check")
def health(session: SessionDep) -> dict[str, str]:
    from sqlalchemy import text

    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@root.get("/health", summary="Liveness and database check", include_in_schema=False)
def root_health(session: SessionDep) -> dict[str, str]:
    """The same check as ``/api/v1/health``, where a newcomer or a load balancer looks first."""
    return health(session)
