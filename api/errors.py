"""The one place where domain errors become HTTP answers (no tracebacks to users)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from emergency.errors import InputError, ValidationErrors
from emergency.service.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized

STATUS: dict[type[Exception], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    """InputError → 400 (with every error listed); Unauthorized 401, Forbidden 403,
    NotFound 404, Conflict 409."""
    if isinstance(exc, ValidationErrors):
        return JSONResponse({"detail": exc.message, "errors": exc.errors}, status_code=400)
    if isinstance(exc, InputError):
        return JSONResponse({"detail": exc.message}, status_code=400)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


async def unstorable(_request: Request, _exc: Exception) -> JSONResponse:
    """The database refused a value of the request (PostgreSQL: text holding NUL, a
    number out of range) → 400. The request's transaction is rolled back with its
    session: nothing is stored."""
    detail = "the database refuses a value of this request (text holding NUL \\u0000?)"
    return JSONResponse({"detail": detail}, status_code=400)


def install(app: FastAPI) -> None:
    app.add_exception_handler(InputError, domain_error)
    app.add_exception_handler(ServiceError, domain_error)
    app.add_exception_handler(DataError, unstorable)
