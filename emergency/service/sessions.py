"""Browser sessions of the planner pages: a random id in the cookie, its hash in the database.

Signing in with an API token opens a session (:func:`open_session`): the browser gets a
fresh random id, the table ``web_sessions`` keeps only its SHA-256 hash and the token it
was opened with. A session works (:func:`session_actor`) while

- it has not been ended (signing out, :func:`end_session`; revoking the token,
  :func:`emergency.service.tokens.revoke_token`);
- the last request was less than ``session_idle_hours`` ago (idle expiry);
- it was opened less than ``session_max_hours`` ago (absolute expiry, ``expires_at``);
- its token is neither revoked nor expired.

Every time is read from the store's clock (``store_of(session).config.now()``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.service.access import Actor
from emergency.service.audit import record
from emergency.service.errors import Unauthorized
from emergency.service.tokens import authenticate, token_actor
from emergency.service.uow import commit
from emergency.store.db import store_of
from emergency.store.models import WebSession

TOUCH_EVERY = dt.timedelta(minutes=1)
"""``last_seen_at`` is written at most this often (not on every page of a busy minute)."""
ENDED = "session ended or expired: sign in again"


def hash_session(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def open_session(session: Session, secret: str | None) -> tuple[Actor, str]:
    """Sign in with an API token: the actor and the new session's id (for the cookie).

    The id is random and new at every sign-in; only its hash is stored. Commits.

    Raises
    ------
    Unauthorized
        No token, or an unknown, revoked or expired one.
    """
    actor = authenticate(session, secret)
    if actor.token_id is None:  # pragma: no cover - a token's actor always has its id
        raise Unauthorized(ENDED)
    config = store_of(session).config
    now = config.now()
    session_id = secrets.token_urlsafe(32)
    row = WebSession(
        session_hash=hash_session(session_id),
        token_id=actor.token_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=config.session_max_hours),
        ended_at=None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "session.signed_in",
        f"web_session:{row.id}",
        None,
        {"token": actor.token_id, "expires_at": row.expires_at.isoformat()},
    )
    commit(session)
    return actor, session_id


def _row(session: Session, session_id: str | None) -> WebSession | None:
    if not session_id:
        return None
    return session.scalar(
        select(WebSession).where(WebSession.session_hash == hash_session(session_id))
    )


def session_actor(session: Session, session_id: str | None) -> Actor:
    """The actor a browser session stands for; notes the request (idle expiry).

    Raises
    ------
    Unauthorized
        No session id, an unknown one, or a session that was ended, has been idle too long,
        is past its absolute expiry, or whose token was revoked or has expired.
    """
    row = _row(session, session_id)
    if row is None or row.ended_at is not None:
        raise Unauthorized(ENDED)
    config = store_of(session).config
    now = config.now()
    idle = dt.timedelta(hours=config.session_idle_hours)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        raise Unauthorized(ENDED)
    actor = token_actor(session, row.token_id)
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        commit(session)
    return actor


def end_session(session: Session, session_id: str | None) -> bool:
    """Sign out: end the session (a copy of its cookie no longer works). Commits.

    Returns whether a session that was still open has been ended.
    """
    row = _row(session, session_id)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = store_of(session).config.now()
    try:
        actor = token_actor(session, row.token_id)
    except Unauthorized:  # its token was revoked meanwhile: still note who signed out
        actor = Actor(f"token#{row.token_id}")
    record(session, actor, "session.signed_out", f"web_session:{row.id}", None, None)
    commit(session)
    return True
