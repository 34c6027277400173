"""The unit of work: each state-changing flow commits once, at its end.

A concurrent change shows up at flush or commit as a stale version (optimistic locking)
or a unique-constraint violation; both become :class:`Conflict` (HTTP 409) after the
session is rolled back, so a client can reload and retry. Nothing is acknowledged to a
client before its commit returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from emergency.service.errors import Conflict

RACE_MESSAGE = "changed by a concurrent request meanwhile; reload and retry"


@contextmanager
def raced(session: Session, message: str = RACE_MESSAGE) -> Iterator[None]:
    """Turn a lost race inside the block into :class:`Conflict` (after a rollback)."""
    try:
        yield
    except (StaleDataError, IntegrityError):
        session.rollback()
        raise Conflict(message) from None


def commit(session: Session) -> None:
    """Commit the flow's changes; a lost race becomes :class:`Conflict`."""
    with raced(session):
        session.commit()
