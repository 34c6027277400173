"""The one place where domain errors become HTTP answers (no tracebacks to users)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
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


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float written as a string: ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` (JSON has no such numbers; a body holding one cannot be written)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """A request that fails validation → 422 listing the errors (FastAPI's shape), whose
    echoed inputs are always valid JSON: ``{"load": NaN}`` or ``1e309`` (JSON's infinity)
    made FastAPI's own handler fail while writing its answer, a 500."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": json_safe(jsonable_encoder(errors))}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(InputError, domain_error)
    app.add_exception_handler(ServiceError, domain_error)
    app.add_exception_handler(DataError, unstorable)
