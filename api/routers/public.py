"""The public side, for anyone (no token): ``GET /public/warning`` the warning in force;
``GET /public/cap`` the current alert as CAP 1.2 XML, ``GET /public/cap/{identifier}`` any
message of the sequence, ``GET /public/feed.atom`` the Atom feed of them; ``GET /health``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session
from starlette.routing import NoMatchFound

from api.deps import SessionDep
from emergency.cap import ATOM_MEDIA_TYPE, CAP_MEDIA_TYPE, CapContext, alert_xml, atom_feed
from emergency.service.planning import loaded_data
from emergency.service.public import (
    cap_message,
    cap_messages,
    city_area,
    city_names,
    current_cap,
)
from emergency.service.responses import public_warning
from emergency.service.views import PublicWarning
from emergency.store.db import store_of

router = APIRouter(tags=["public"])
root = APIRouter(tags=["public"])
"""Routes at the root, outside ``/api/v1``: ``GET /health`` for load balancers and people."""


@router.get("/public/warning", response_model=PublicWarning, summary="The warning in force")
def get_public_warning(session: SessionDep) -> PublicWarning:
    """Current level, period and the city plan's advice to the public (level null: none)."""
    return public_warning(session)


def cap_context(session: Session, request: Request) -> CapContext:
    """The city's names, plan and area (the city plan's ``notice.area``, else the sources'
    bounding box) for CAP messages."""
    dataset = loaded_data(session).dataset
    names = city_names(dataset.city, store_of(session).config.city)
    polygon = city_area(dataset.city, [(s.lon, s.lat) for s in dataset.sources])
    try:
        web = str(request.url_for("public_page"))
    except NoMatchFound:  # an app without the pages
        web = ""
    return CapContext(names, dataset.city, polygon, web=web)


CAP_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {CAP_MEDIA_TYPE: {}}, "description": "a CAP 1.2 alert message"},
    404: {"description": "no warning has been issued yet (or no such message)"},
}
Identifier = Annotated[str, Path(max_length=300)]


@router.get(
    "/public/cap",
    summary="The current alert as CAP 1.2",
    response_class=Response,
    responses=CAP_RESPONSES,
)
def get_current_cap(session: SessionDep, request: Request) -> Response:
    """The latest message of the warning in force (Alert or Update), or the last Cancel
    when none is in force; 404 before the first warning. docs/PUBLIC.md maps the fields."""
    message = current_cap(session)
    return Response(alert_xml(message, cap_context(session, request)), media_type=CAP_MEDIA_TYPE)


@router.get(
    "/public/cap/{identifier}",
    summary="One CAP 1.2 message by its identifier",
    response_class=Response,
    responses=CAP_RESPONSES,
)
def get_cap_message(session: SessionDep, request: Request, identifier: Identifier) -> Response:
    """Any message of the sequence (the feed links each entry here)."""
    message = cap_message(session, identifier)
    return Response(alert_xml(message, cap_context(session, request)), media_type=CAP_MEDIA_TYPE)


@router.get(
    "/public/feed.atom",
    summary="Atom feed of the CAP messages",
    response_class=Response,
    responses={200: {"content": {ATOM_MEDIA_TYPE: {}}, "description": "an Atom feed"}},
)
def get_feed(session: SessionDep, request: Request) -> Response:
    """Every CAP message, newest first, each inline and linked."""
    body = atom_feed(
        cap_messages(session),
        cap_context(session, request),
        self_url=str(request.url_for("get_feed")),
        cap_url=str(request.url_for("get_current_cap")),
    )
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@router.get("/health", summary="Liveness and database check")
def health(session: SessionDep) -> dict[str, str]:
    from sqlalchemy import text

    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@root.get("/health", summary="Liveness and database check", include_in_schema=False)
def root_health(session: SessionDep) -> dict[str, str]:
    """The same check as ``/api/v1/health``, where a newcomer or a load balancer looks first."""
    return health(session)
