"""The one place where domain errors become HTTP answers (no tracebacks to users)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from emergency.errors import InputError, ValidationErrors
from emergency.messages import preferred_language, translate, translate_all
from emergency.names import Lang
from emergency.service.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized

STATUS: dict[type[Exception], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}


def message_language(request: Request) -> Lang:
    """The language of validation messages: Chinese unless the client's
    ``Accept-Language`` prefers English (docs/API.md, "Errors")."""
    return preferred_language(request.headers.get("accept-language"))


def _other(lang: Lang) -> Lang:
    return "en" if lang == "zh" else "zh"


def message_body(request: Request, message: str) -> dict[str, Any]:
    """``detail`` in the language of :func:`message_language`, ``detail_en`` /
    ``detail_zh`` in the other."""
    lang = message_language(request)
    other = _other(lang)
    return {"detail": translate(message, lang), f"detail_{other}": translate(message, other)}


def problems_body(request: Request, exc: InputError) -> dict[str, Any]:
    """``detail`` (and ``errors``, every problem) in the language of
    :func:`message_language`; ``detail_en`` / ``detail_zh`` (``errors_en`` /
    ``errors_zh``) in the other."""
    lang = message_language(request)
    other = _other(lang)
    body = message_body(request, exc.message)
    if isinstance(exc, ValidationErrors):
        body["errors"] = translate_all(exc.errors, lang)
        body[f"errors_{other}"] = translate_all(exc.errors, other)
    return body


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    """InputError → 400 (with every error listed); Unauthorized 401, Forbidden 403,
    NotFound 404, Conflict 409.

    The problems of a 400 are in the language of :func:`message_language` under
    ``detail`` (and ``errors``), and in the other language under ``detail_en`` /
    ``detail_zh`` (``errors_en`` / ``errors_zh``); so is the ``detail`` of the others."""
    if isinstance(exc, InputError):
        return JSONResponse(problems_body(request, exc), status_code=400)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(message_body(request, str(exc)), status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's own 401, 403, 404 and 409 (an unknown path: ``Not
    Found``) with their ``detail`` in both languages, as :func:`domain_error` answers;
    any other status as FastAPI answers it."""
    if not isinstance(exc, StarletteHTTPException):  # installed for these only
        raise exc
    if exc.status_code in STATUS.values() and isinstance(exc.detail, str):
        body = message_body(request, exc.detail)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    return await http_exception_handler(request, exc)


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


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """A request that fails validation → 422 listing the errors (FastAPI's shape), whose
    echoed inputs are always valid JSON: ``{"load": NaN}`` or ``1e309`` (JSON's infinity)
    made FastAPI's own handler fail while writing its answer, a 500.

    Each error's ``msg`` is in the language of :func:`message_language`, and in the other
    language under ``msg_en`` / ``msg_zh``."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    lang = message_language(request)
    other = _other(lang)
    shown = []
    for error in json_safe(jsonable_encoder(errors)):
        msg = error.get("msg")
        if isinstance(msg, str):
            error = {**error, "msg": translate(msg, lang), f"msg_{other}": translate(msg, other)}
        shown.append(error)
    return JSONResponse({"detail": shown}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(InputError, domain_error)
    app.add_exception_handler(ServiceError, domain_error)
    app.add_exception_handler(DataError, unstorable)
