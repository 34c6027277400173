"""The public's pages, no sign-in, no JavaScript: ``/public`` the warning in force (level,
period, forecast per day, health advice, the measures that touch the public, episodes to
come, this winter's warnings) and ``/public/notice/{id}`` the formal warning notice
(预警发布通知), printable. Both read :mod:`emergency.service.public`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import Id, SessionDep
from api.pages.errors import PageRoute
from api.pages.render import render
from emergency.service.public import primary_label, public_page, warning_notice

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/public", response_class=HTMLResponse, name="public_page")
def public_warning_page(request: Request, session: SessionDep) -> HTMLResponse:
    """重污染天气预警 The public warning page."""
    view = public_page(session)
    return render(request, "public.html", {"view": view, "primary": primary_label})


@router.get("/public/notice/{response_id}", response_class=HTMLResponse, name="public_notice")
def notice_page(request: Request, session: SessionDep, response_id: Id) -> HTMLResponse:
    """预警发布通知 The formal notice of a warning, printable."""
    notice = warning_notice(session, response_id)
    return render(request, "notice.html", {"notice": notice, "primary": primary_label})
