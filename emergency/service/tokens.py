"""API tokens: random, shown once, stored as a SHA-256 hash; one role each.

A token of role ``enterprise`` is bound to one enterprise id of the inventory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.errors import InputError
from emergency.service.access import Actor, Role
from emergency.service.audit import record
from emergency.service.errors import NotFound, Unauthorized
from emergency.store.db import store_of
from emergency.store.models import ApiToken

TOKEN_PREFIX = "em_"


class TokenView(BaseModel):
    """A token as listed: never the secret, never the hash."""

    id: int
    name: str
    role: str
    enterprise_id: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


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
) -> tuple[TokenView, str]:
    """Create a token; returns its view and the secret (shown once, never stored).

    Raises
    ------
    InputError
        Unknown role, an enterprise token without ``enterprise_id`` or naming an enterprise
        not in the inventory, or ``enterprise_id`` given for another role.
    """
    kind = _role(role)
    if kind is Role.enterprise:
        if not enterprise_id:
            raise InputError("--enterprise: required for a token of role 'enterprise'")
        from emergency.service.inventory import enterprise_ids

        if enterprise_id not in enterprise_ids(session):
            raise InputError(f"--enterprise: {enterprise_id!r} is not in the inventory")
    elif enterprise_id:
        raise InputError(f"--enterprise: only tokens of role 'enterprise' name one, not {role!r}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name or (f"{kind.value}-{enterprise_id}" if enterprise_id else kind.value),
        role=kind.value,
        enterprise_id=enterprise_id,
        token_hash=hash_token(secret),
        created_at=store_of(session).config.now(),
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
    """Revoke a token (idempotent: revoking twice keeps the first time)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    before = TokenView.model_validate(row, from_attributes=True)
    if row.revoked_at is None:
        row.revoked_at = store_of(session).config.now()
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
        No token, an unknown one or a revoked one (the message does not say which).
    """
    if not secret:
        raise Unauthorized("missing bearer token")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    return Actor(
        name=row.name, role=Role(row.role), enterprise_id=row.enterprise_id, token_id=row.id
    )
