"""The application factory: ``create_app(settings)``; ``app`` for ``uvicorn api.main:app``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import docs, errors, pages
from api.limits import BodyLimit
from api.routers import (
    audit,
    compliance,
    consultations,
    enterprises,
    gates,
    meters,
    names,
    orders,
    plan_versions,
    public,
    responses,
    review,
    season,
    subscriptions,
    supervision,
    verification,
)
from api.streams import hub_of
from emergency import __version__
from emergency.notify.dispatch import Background
from emergency.service.enterprises import open_service
from emergency.settings import Settings
from emergency.store.db import Store

API_PREFIX = "/api/v1"

DESCRIPTION = """
Heavy-pollution weather emergency response (重污染天气应急): the consultation sets the
warning level, the engine plans the least-cost curtailments, planners approve, enterprises
receive their orders and report back.

Authenticate with `Authorization: Bearer <token>`; tokens come from
`emergency token create --role ROLE [--enterprise ID] [--expires 90d]`. Roles: admin,
consultation, planner, inspector, enterprise, meter (a data gateway). Missing, bad,
revoked or expired token → 401; a role without the right → 403; another enterprise's
resource → 404. Every change is written to the audit log.
"""


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    modules = (
        consultations,
        responses,
        orders,
        compliance,
        public,
        names,
        enterprises,
        plan_versions,
        season,
        subscriptions,
        supervision,
        review,
        verification,
        meters,
        gates,
    )
    for module in (*modules, audit):
        router.include_router(module.router)
    return router


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """The FastAPI application.

    Parameters
    ----------
    settings : where the data and the database are (default: from the environment).
    store : an open store to use (tests); otherwise one is opened at start-up, its schema
        migrated and, on first start, the data folder imported.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = getattr(app.state, "store", None) is None
        if own:
            app.state.store = open_service(settings)
        # the notification dispatcher, on a thread (off: `emergency dispatch` runs it)
        dispatcher = Background(app.state.store).start() if settings.notify_dispatch else None
        events = hub_of(app, app.state.store).start()  # the reader behind GET /orders/stream
        try:
            yield
        finally:
            events.stop()
            if dispatcher is not None:
                dispatcher.close()
            if own:
                app.state.store.dispose()
                app.state.store = None

    app = FastAPI(
        title="Emergency response decision engine",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load scripts from a CDN: see api/docs.py
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.store = store
    errors.install(app)
    app.include_router(api_router())
    app.include_router(public.root)  # GET /health (also under /api/v1)
    pages.install(app)  # planner pages at / and their /static files
    if settings.docs:
        docs.install(app)  # Swagger UI at /docs, from local files
    photos = (re.compile(rf"{API_PREFIX}/tasks/[0-9]+/photos"), settings.max_photo_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, larger=(photos,))
    return app


app = create_app()
