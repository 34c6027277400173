"""Helpers of the notification crash tests: a live server whose dispatcher thread runs on
short timings, webhook subscriptions made through the API, the outbox read from the database.

- :class:`NotifyServer` is :class:`tests.reliability.live.Server` (``emergency serve`` in its
  own process group, ``kill -9``-able) with the ``EMERGENCY_NOTIFY_*`` settings of
  :data:`NOTIFY_ENV`: loopback targets allowed (the receivers of
  :mod:`tests.webhook_receiver` listen on 127.0.0.1), a lease of 2 s, a time-out of 1.5 s, a
  poll every 0.1 s, retries from 0.2 s.
- :func:`subscribe` registers one webhook per enterprise with an admin token
  (``POST /api/v1/subscriptions``), each with its own receiver and secret.
- :func:`outbox` reads every notification straight from the database (no migration, no
  import), for the checks after a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from emergency.store.models import Notification, Subscription
from tests.reliability.invariants import open_store
from tests.reliability.live import Server
from tests.webhook_receiver import Receiver

NOTIFY_ENV = {
    "EMERGENCY_NOTIFY_DISPATCH": "true",
    "EMERGENCY_NOTIFY_PRIVATE_TARGETS": "true",
    "EMERGENCY_NOTIFY_LEASE_S": "2",
    "EMERGENCY_NOTIFY_TIMEOUT_S": "1.5",
    "EMERGENCY_NOTIFY_POLL_S": "0.1",
    "EMERGENCY_NOTIFY_RETRY_BASE_S": "0.2",
    "EMERGENCY_NOTIFY_RETRY_MAX_S": "1",
    "EMERGENCY_NOTIFY_WORKERS": "2",  # deliveries in flight a few at a time: a kill lands mid-way
}
"""The dispatcher's settings in the server under test (lease > time-out, as required)."""


class NotifyServer(Server):
    """``emergency serve`` with its dispatcher thread on :data:`NOTIFY_ENV`'s timings."""

    def environment(self) -> dict[str, str]:
        return super().environment() | NOTIFY_ENV


def subscribe(server: Server, admin: str, receivers: Mapping[str, Receiver]) -> dict[str, int]:
    """One webhook per enterprise (``{enterprise: receiver}``) registered by an admin;
    returns the subscription id of each enterprise."""
    made: dict[str, int] = {}
    with server.client(admin) as client:
        for enterprise, receiver in receivers.items():
            body = {"target": receiver.url, "secret": receiver.secret, "enterprise": enterprise}
            answer = client.post("/subscriptions", json=body)
            assert answer.status_code == 201, answer.text
            assert answer.json()["secret"] is None  # ours, never shown back
            made[enterprise] = int(answer.json()["id"])
    return made


@dataclass(frozen=True)
class Row:
    """A notification as the database holds it, with its target (its subscription's)."""

    message_id: str
    event: str
    status: str
    attempts: int
    payload: dict[str, Any]
    enterprise: str | None
    target: str


def outbox(data_dir: Path, db_url: str | None) -> list[Row]:
    """Every notification of the database, oldest first."""
    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            rows = session.execute(
                select(Notification, Subscription)
                .outerjoin(Subscription, Subscription.id == Notification.subscription_id)
                .order_by(Notification.id)
            ).all()
            return [
                Row(
                    message_id=n.message_id,
                    event=n.event,
                    status=n.status,
                    attempts=n.attempts,
                    payload=dict(n.payload),
                    enterprise=s.enterprise_id if s is not None else None,
                    target=n.target or (s.target if s is not None else ""),
                )
                for n, s in rows
            ]
    finally:
        store.dispose()


def wait_for(condition: Callable[[], object], timeout_s: float, poll_s: float = 0.02) -> bool:
    """True as soon as ``condition()`` is truthy; False after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return bool(condition())
