"""Domain errors on a page become a page: sign-in redirect, 403, 404, 409 or 400.

The JSON API maps the same errors to JSON in :mod:`api.errors`; the pages use their own
route class so that a browser gets HTML and never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from api.pages.auth import SignInRequired, login_url
from api.pages.render import render
from emergency.errors import InputError, ValidationErrors
from emergency.service.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized

TITLES = {
    400: "输入有误 Bad input",
    403: "无权访问 Forbidden",
    404: "未找到 Not found",
    409: "状态冲突 Conflict",
}


def error_page(
    request: Request, status: int, message: str, errors: list[str] | None = None
) -> HTMLResponse:
    context = {
        "status": status,
        "title": TITLES.get(status, "错误 Error"),
        "message": message,
        "errors": errors or [],
    }
    return render(request, "error.html", context, status_code=status)


def problem_page(request: Request, exc: Exception) -> Response:
    """The page for a domain error raised while serving ``request``."""
    if isinstance(exc, SignInRequired | Unauthorized):
        return RedirectResponse(login_url(request), status_code=303)
    if isinstance(exc, Forbidden):
        return error_page(request, 403, exc.message)
    if isinstance(exc, NotFound):
        return error_page(request, 404, exc.message)
    if isinstance(exc, Conflict):
        return error_page(request, 409, exc.message)
    if isinstance(exc, ValidationErrors):
        return error_page(request, 400, exc.message, exc.errors)
    if isinstance(exc, InputError):
        return error_page(request, 400, exc.message)
    if isinstance(exc, ServiceError):
        return error_page(request, 400, exc.message)
    raise exc


OUT_OF_RANGE = ("greater_than_equal", "less_than_equal", "greater_than", "less_than")


def _names_nothing(error: Any) -> bool:
    """A bad path value, or a query number out of range (``?version=99999999999999999999``):
    no such thing can exist, so the page is 404 (other bad values: 400)."""
    where = error.get("loc", ("",))[0]
    return where == "path" or (where == "query" and error.get("type") in OUT_OF_RANGE)


class PageRoute(APIRoute):
    """A route whose domain errors (and bad path or form values) render as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, ServiceError, InputError) as exc:
                return problem_page(request, exc)
            except RequestValidationError as exc:
                fields = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()
                ]
                status = 404 if any(_names_nothing(e) for e in exc.errors()) else 400
                return error_page(request, status, "请求参数有误 Bad request", fields)

        return guarded
