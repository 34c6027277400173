"""Conditional GETs: a strong ``ETag``, ``Cache-Control: private, no-cache`` and 304.

A route that answers with an ETag first checks the caller's right to the resource (its
dependency and the service's lookup), then compares the ETag with ``If-None-Match``: a 304
is only ever given to whoever would get the 200. ``private, no-cache``: a browser or client
may keep the answer but must revalidate it on every use; no shared cache keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import Request, Response

REVALIDATE = "private, no-cache"
NOT_MODIFIED = {"description": "unchanged since the `ETag` sent in `If-None-Match`"}
"""The 304 of a route's OpenAPI ``responses``."""


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (or ``*``); weak tags compare as strong."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def tag(response: Response, etag: str) -> Response:
    """``response`` with its ETag and the revalidation rule."""
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = REVALIDATE
    return response


def not_modified(
    etag: str, vary: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """The 304 of an answer whose ETag the client holds: no body, the same ETag (and
    ``headers``, those the 200 would have carried)."""
    sent = {**(headers or {}), "ETag": etag, "Cache-Control": REVALIDATE}
    if vary:
        sent["Vary"] = vary
    return Response(status_code=304, headers=sent)


def conditional(
    request: Request, etag: str | None, answer: Callable[[], Response], vary: str | None = None
) -> Response:
    """304 if the request's ``If-None-Match`` names ``etag``; else ``answer()`` with the
    ETag (``etag`` None: ``answer()`` as it is, no ETag). Call it only once the caller may
    see the resource."""
    if etag is None:
        return answer()
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag, vary)
    response = tag(answer(), etag)
    if vary:
        response.headers["Vary"] = vary
    return response
