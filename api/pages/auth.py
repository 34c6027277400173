"""Signing in to the pages: the API's bearer token, kept in an HttpOnly cookie.

The cookie carries the token itself, so the pages and the API check the same thing with the
same service function (:func:`emergency.service.tokens.authenticate`): a revoked token
signs the browser out at its next request. The cookie is ``HttpOnly`` (no script reads
it), ``SameSite=Strict`` (no other site's page sends it) and ``Secure`` over HTTPS. Each
form also carries a CSRF token derived from the session token (HMAC), checked on every
POST as a second line behind SameSite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from api.deps import SessionDep
from emergency.service.access import Action, Actor, require
from emergency.service.errors import Forbidden, Unauthorized
from emergency.service.tokens import authenticate

SESSION_COOKIE = "emergency_session"
FLASH_COOKIE = "emergency_flash"
SESSION_MAX_AGE_S = 12 * 3600
"""A working day: sign in again the next morning."""
CSRF_CONTEXT = b"emergency-pages-csrf-v1"


class SignInRequired(Exception):
    """No valid session cookie: the page answers with a redirect to the sign-in form."""


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_url(request: Request) -> str:
    """The sign-in form, coming back here afterwards (for a form: to the page it was on)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == request.url.netloc
        here = (referer.path or "/") if same_site else "/"
    return "/login" if here == "/" else f"/login?next={quote(here, safe='')}"


def page_actor(request: Request, session: SessionDep) -> Actor:
    """The signed-in actor (the token in the session cookie); else sign in first."""
    secret = request.cookies.get(SESSION_COOKIE)
    try:
        actor = authenticate(session, secret)
    except Unauthorized:
        raise SignInRequired from None
    request.state.actor = actor
    request.state.session_secret = secret
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


class Need:
    """A dependency: the signed-in actor, if its role may do ``action`` (else 403)."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, actor: PageActor) -> Actor:
        require(actor, self.action)
        return actor


CanView = Annotated[Actor, Depends(Need(Action.read_responses))]
CanOverride = Annotated[Actor, Depends(Need(Action.override))]
CanApprove = Annotated[Actor, Depends(Need(Action.approve))]
CanRelease = Annotated[Actor, Depends(Need(Action.release))]
CanSupervise = Annotated[Actor, Depends(Need(Action.read_compliance))]


def csrf_token(request: Request) -> str:
    """The CSRF token of the signed-in session ('' when signed out)."""
    secret = getattr(request.state, "session_secret", None)
    if not secret:
        return ""
    return hmac.new(secret.encode("utf-8"), CSRF_CONTEXT, hashlib.sha256).hexdigest()


def check_csrf(request: Request, token: str) -> None:
    """Refuse a form that did not come from one of our pages."""
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected, token or ""):
        raise Forbidden("表单已过期，请刷新后重试 The form has expired: reload the page and retry")


def sign_in(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def flash(request: Request, response: Response, text: str, kind: str = "ok") -> None:
    """A one-time message shown by the next page (after a redirect)."""
    # base64 without padding: a cookie value that needs no quoting
    value = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).rstrip(b"=")
    response.set_cookie(
        FLASH_COOKIE,
        value.decode("ascii"),
        max_age=120,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def pop_flash(request: Request) -> dict[str, Any] | None:
    """The pending flash message, if any (the caller deletes the cookie)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    return {"kind": "error" if data.get("kind") == "error" else "ok", "text": data["text"]}
