"""API tokens: random, shown once, stored as a SHA-256 hash; one role each.

A token of role ``enterprise`` is bound to one enterprise id of the inventory. A token may
expire (``expires_at``); an expired or revoked token authenticates nothing, and revoking a
token also ends the browser sessions opened with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from emergency.errors import InputError
from emergency.service.access import Actor, Role
from emergency.service.audit import record
from emergency.service.enterprises import enterprise_ids
from emergency.service.errors import NotFound, Unauthorized
from emergency.store.db import store_of
from emergency.store.models import ApiToken, WebSession

TOKEN_PREFIX = "em_"
INVALID_TOKEN = "invalid or revoked token"
"""The one message for an unknown, revoked or expired token (it does not say which)."""
MISSING_TOKEN = "missing bearer token"
DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class TokenView(BaseModel):
    """A token as listed: never the secret, never the hash."""

    id: int
    name: str
    role: str
    enterprise_id: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None = None


def parse_duration(text: str, option: str = "--expires") -> dt.timedelta:
    """``90d``, ``12h`` or ``30m`` as a time span.

    Raises
    ------
    InputError
        Not a positive whole number followed by ``d``, ``h`` or ``m`` (the message names
        ``option``).
    """
    match = re.fullmatch(r"\s*([0-9]{1,6})\s*([dhm])\s*", text or "")
    if match is None or int(match.group(1)) == 0:
        raise InputError(
            f"{option}: {text!r} is not a duration: a positive number of days, hours or "
            "minutes such as 90d, 12h or 30m"
        )
    unit = DURATION_UNITS[match.group(2)]
    return dt.timedelta(**{unit: int(match.group(1))})


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InputError(f"--role: unknown role {role!r} (known: {known})") from None


def create_token(
    session: Session,
    actor: Actor,
    role: str,
    *,
    enterprise_id: str | None = None,
    name: str = "",
    expires_in: dt.timedelta | None = None,
) -> tuple[TokenView, str]:
    """Create a token; returns its view and the secret (shown once, never stored).

    Parameters
    ----------
    expires_in : the token stops working this long after now (the store's clock); None:
        it works until revoked.

    Raises
    ------
    InputError
        Unknown role, an enterprise token without ``enterprise_id`` or naming an enterprise
        not in the inventory, ``enterprise_id`` given for another role, or ``expires_in``
        not positive.
    """
    kind = _role(role)
    if kind is Role.enterprise:
        if not enterprise_id:
            raise InputError("--enterprise: required for a token of role 'enterprise'")
        if enterprise_id not in enterprise_ids(session):
            raise InputError(f"--enterprise: {enterprise_id!r} is not in the inventory")
    elif enterprise_id:
        raise InputError(f"--enterprise: only tokens of role 'enterprise' name one, not {role!r}")
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise InputError("--expires: the token must expire after it is created")
    now = store_of(session).config.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name or (f"{kind.value}-{enterprise_id}" if enterprise_id else kind.value),
        role=kind.value,
        enterprise_id=enterprise_id,
        token_hash=hash_token(secret),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    session.add(row)
    session.flush()
    view = TokenView.model_validate(row, from_attributes=True)
    record(session, actor, "token.create", f"token:{row.id}", None, view.model_dump(mode="json"))
    return view, secret


def list_tokens(session: Session) -> list[TokenView]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [TokenView.model_validate(row, from_attributes=True) for row in rows]


def revoke_token(session: Session, actor: Actor, token_id: int) -> TokenView:
    """Revoke a token and end its browser sessions (idempotent: revoking twice keeps the
    first time)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    before = TokenView.model_validate(row, from_attributes=True)
    now = store_of(session).config.now()
    session.execute(
        update(WebSession)
        .where(WebSession.token_id == token_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        after = TokenView.model_validate(row, from_attributes=True)
        record(
            session,
            actor,
            "token.revoke",
            f"token:{row.id}",
            before.model_dump(mode="json"),
            after.model_dump(mode="json"),
        )
        return after
    return before


def authenticate(session: Session, secret: str | None) -> Actor:
    """The actor a bearer token stands for.

    Raises
    ------
    Unauthorized
        No token, an unknown one, a revoked one or an expired one (the message does not say
        which).
    """
    if not secret:
        raise Unauthorized(MISSING_TOKEN)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    return _actor(session, row)


def token_actor(session: Session, token_id: int) -> Actor:
    """The actor of the token ``token_id`` (a browser session's), if it still works.

    Raises
    ------
    Unauthorized
        The token is gone, revoked or expired.
    """
    return _actor(session, session.get(ApiToken, token_id))


class TokenRow(Protocol):
    """What deciding on a token reads: a stored :class:`ApiToken`, or the same columns
    selected with the same names (a statement that checks the token on its way)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def enterprise_id(self) -> str | None: ...
    @property
    def revoked_at(self) -> dt.datetime | None: ...
    @property
    def expires_at(self) -> dt.datetime | None: ...


def _actor(session: Session, row: TokenRow | None) -> Actor:
    return token_holder(row, store_of(session).config.now())


def token_holder(row: TokenRow | None, now: dt.datetime) -> Actor:
    """The actor of a stored token at ``now``.

    Raises
    ------
    Unauthorized
        No such token, or it is revoked or expired at ``now`` (one message for all).
    """
    if row is None or row.revoked_at is not None:
        raise Unauthorized(INVALID_TOKEN)
    if row.expires_at is not None and now >= row.expires_at:
        raise Unauthorized(INVALID_TOKEN)
    return Actor(
        name=row.name, role=Role(row.role), enterprise_id=row.enterprise_id, token_id=row.id
    )
