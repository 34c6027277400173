"""Signing in to the pages: a server-side session opened with an API token.

Signing in (``POST /login``) checks that the form came from our own sign-in page: a
present ``Origin`` (else ``Referer``) must name this host, and the form's CSRF token must
match the pre-sign-in cookie ``emergency_login`` (a random value; the form carries its
HMAC, compared in constant time). A sign-in opens a session
(:mod:`emergency.service.sessions`): the cookie ``emergency_session`` holds a random
session id, the database only its SHA-256 hash. The session ends at sign-out, when its
token is revoked or expires, after ``session_idle_hours`` without a request and
``session_max_hours`` after signing in. The cookie is ``HttpOnly`` (no script reads it),
``SameSite=Strict`` (no other site's page sends it) and ``Secure`` over HTTPS. Each form
also carries a CSRF token derived from the session id (HMAC), checked on every POST as a
second line behind SameSite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from api.deps import SessionDep
from emergency.service.access import Action, Actor, require
from emergency.service.errors import Forbidden, Unauthorized
from emergency.service.sessions import session_actor

SESSION_COOKIE = "emergency_session"
LOGIN_COOKIE = "emergency_login"
FLASH_COOKIE = "emergency_flash"
LOGIN_MAX_AGE_S = 3600
"""The sign-in form works for an hour (then it is shown again, with a new token)."""
CSRF_CONTEXT = b"emergency-pages-csrf-v2"
LOGIN_CSRF_CONTEXT = b"emergency-login-csrf-v1"
DEFAULT_PORTS = {"http": ":80", "https": ":443"}


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
    """The signed-in actor (the session in the cookie); else sign in first."""
    session_id = request.cookies.get(SESSION_COOKIE)
    try:
        actor = session_actor(session, session_id)
    except Unauthorized:
        raise SignInRequired from None
    request.state.actor = actor
    request.state.session_id = session_id
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


def _mac(key: str, context: bytes) -> str:
    return hmac.new(key.encode("utf-8"), context, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token of the signed-in session ('' when signed out)."""
    session_id = getattr(request.state, "session_id", None)
    if not session_id:
        return ""
    return _mac(session_id, CSRF_CONTEXT)


def check_csrf(request: Request, token: str) -> None:
    """Refuse a form that did not come from one of our pages."""
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected, token or ""):
        raise Forbidden("表单已过期，请刷新后重试 The form has expired: reload the page and retry")


def _netloc(scheme: str, netloc: str) -> str:
    """``host[:port]`` in lower case, without the scheme's default port."""
    netloc = netloc.lower()
    default = DEFAULT_PORTS.get(scheme.lower())
    return netloc.removesuffix(default) if default else netloc


def check_origin(request: Request) -> None:
    """Refuse a form sent by another site's page.

    The browser's ``Origin`` header (else ``Referer``), when present, must name this host;
    ``Origin: null`` (a sandboxed or privacy-redirected page) is refused too.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return
    sent = urlsplit(source)
    if _netloc(sent.scheme, sent.netloc) != _netloc(request.url.scheme, request.url.netloc):
        raise Forbidden("来源不符 This form was sent from another site")


def login_nonce(request: Request) -> tuple[str, bool]:
    """The pre-sign-in value of this browser: (value, whether the cookie must be set)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if re.fullmatch(r"[A-Za-z0-9_-]{43}", nonce):
        return nonce, False
    return secrets.token_urlsafe(32), True


def login_csrf_token(nonce: str) -> str:
    """The sign-in form's CSRF token: an HMAC of the pre-sign-in cookie's value."""
    return _mac(nonce, LOGIN_CSRF_CONTEXT)


def check_login_csrf(request: Request, token: str) -> bool:
    """Whether the sign-in form's token matches this browser's pre-sign-in cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce:
        return False
    return hmac.compare_digest(login_csrf_token(nonce), token or "")


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    """Every cookie of the pages: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    _set_cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_MAX_AGE_S, path="/login")


def sign_in(request: Request, response: Response, session_id: str, max_age_s: int) -> None:
    """Hand the browser its new session (and drop the pre-sign-in cookie)."""
    _set_cookie(request, response, SESSION_COOKIE, session_id, max_age_s)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def flash(request: Request, response: Response, text: str, kind: str = "ok") -> None:
    """A one-time message shown by the next page (after a redirect)."""
    # base64 without padding: a cookie value that needs no quoting
    value = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).rstrip(b"=")
    _set_cookie(request, response, FLASH_COOKIE, value.decode("ascii"), 120)


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
