"""The dispatcher: claims due notifications, POSTs them signed, records every attempt.

Claiming marks a notification ``sending`` with a claim token and moves its
``next_attempt_at`` a lease ahead (``notify_lease_s``); a dispatcher that dies mid-delivery
leaves it ``sending``, and once the lease is over any dispatcher claims it again — so every
notification is delivered at least once, and a receiver deduplicates on
``X-Emergency-Delivery`` (the body of one id never changes). PostgreSQL: the due rows are
locked ``FOR UPDATE SKIP LOCKED`` while they are claimed, so several dispatchers share the
work and never claim one row together; SQLite: one atomic ``UPDATE … WHERE id IN (SELECT …)``.

The result of a delivery is written only by the claim that holds it (``claim`` compared):
2xx → ``delivered``; otherwise ``pending`` again after an exponential backoff with jitter,
or ``failed`` with the last error once the notification is ``notify_max_age_hours`` old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, select, update

from emergency import __version__
from emergency.notify.channels import (
    EMAIL,
    MAX_ERROR,
    SMS,
    Answer,
    Lookup,
    Sender,
    http_post,
    looked_up,
    send_email,
    send_sms,
    system_lookup,
)
from emergency.notify.outbox import DELIVERED, FAILED, PENDING, SENDING
from emergency.notify.overdue import sweep_overdue
from emergency.notify.subscriptions import not_public
from emergency.notify.texts import email_message, sms_text
from emergency.store.db import Store
from emergency.store.models import DeliveryAttempt, Notification, Subscription

log = logging.getLogger("emergency.notify")


def body_of(payload: dict[str, Any]) -> bytes:
    """The raw body of a notification: the same bytes on every attempt."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``<timestamp>.<raw body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver checks (constant-time); the age of ``timestamp`` is its own rule."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, header)


@dataclass(frozen=True)
class Claimed:
    """A notification this dispatcher holds, with what it needs to send it."""

    id: int
    message_id: str
    event: str
    claim: str
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime
    channel: str
    target: str
    secret: str
    active: bool


def public_only(send: Sender, lookup: Lookup = system_lookup) -> Sender:
    """``send``, but refusing a target whose host is, or resolves to, an address that is
    not public (:func:`emergency.notify.subscriptions.not_public`): a webhook cannot make
    the server call into its own network. The host is looked up once, within the
    delivery's time-out, and the connection goes to the addresses checked — a name that
    answers a public address to the check and a private one a moment later (DNS
    rebinding) cannot turn the delivery inward."""

    def guarded(
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        *,
        addresses: Sequence[str] | None = None,
    ) -> Answer:
        host = urlsplit(url).hostname or ""
        if not_public(host):
            return Answer(None, f"refused: {host} is not a public address")
        began = time.monotonic()
        found = looked_up(host, timeout, lookup) if addresses is None else list(addresses)
        if isinstance(found, Answer):
            return found
        for address in found:
            if not_public(address):
                return Answer(None, f"refused: {host} resolves to {address}, not public")
        left = timeout - (time.monotonic() - began)
        if left <= 0:
            return Answer(None, f"timed out after {timeout:g} s")
        return send(url, body, headers, left, addresses=found)

    return guarded


def backoff(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from
    ``base_s``, capped at ``max_s``, the upper half drawn at random (jitter)."""
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


class Dispatcher:
    """Delivers the store's due notifications; :meth:`run_once` until none is due."""

    def __init__(
        self, store: Store, *, send: Sender = http_post, rng: random.Random | None = None
    ) -> None:
        self.store = store
        self.config = store.config
        self.send = send if self.config.notify_private_targets else public_only(send)
        self.rng = rng or random.Random()
        self.postgres = store.engine.dialect.name == "postgresql"

    # ------------------------------------------------------------------ claiming

    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Claim up to ``limit`` due notifications (pending, or sending past the lease)."""
        limit = limit or self.config.notify_batch
        now = self.config.now()
        until = now + dt.timedelta(seconds=self.config.notify_lease_s)
        token = uuid.uuid4().hex
        due = (
            select(Notification.id)
            .where(Notification.status.in_([PENDING, SENDING]))
            .where(Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
        take = update(Notification).values(status=SENDING, claim=token, next_attempt_at=until)
        with self.store.session() as session, session.begin():
            if self.postgres:
                ids = list(session.scalars(due.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                session.execute(take.where(Notification.id.in_(ids)))
            else:  # one statement: SQLite runs it alone, no other writer between
                session.execute(take.where(Notification.id.in_(due.scalar_subquery())))
            rows = session.execute(
                select(Notification, Subscription)
                .outerjoin(Subscription, Subscription.id == Notification.subscription_id)
                .where(Notification.claim == token, Notification.status == SENDING)
                .order_by(Notification.id)
            ).all()
            return [
                Claimed(
                    id=n.id,
                    message_id=n.message_id,
                    event=n.event,
                    claim=token,
                    payload=n.payload,
                    attempts=n.attempts,
                    created_at=n.created_at,
                    channel=n.channel,
                    target=n.target or (s.target if s is not None else ""),
                    secret=s.secret if s is not None else "",
                    active=s is None or s.deleted_at is None,
                )
                for n, s in rows
            ]

    # ------------------------------------------------------------------ delivering

    def headers(self, item: Claimed, body: bytes) -> dict[str, str]:
        timestamp = int(self.config.now().timestamp())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"emergency/{__version__}",
            "X-Emergency-Delivery": item.message_id,
            "X-Emergency-Event": item.event,
            "X-Emergency-Attempt": str(item.attempts + 1),
            "X-Emergency-Timestamp": str(timestamp),
            "X-Emergency-Signature": signature(item.secret, timestamp, body),
        }

    def deliver(self, item: Claimed) -> str:
        """Send one claimed notification and record the outcome; returns its new status."""
        started = time.monotonic()
        at = self.config.now()
        if not item.active:
            answer = Answer(None, "subscription deleted")
        else:
            try:
                answer = self._send(item)
            except Exception as exc:  # a sender must never lose the claim's record
                answer = Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
        took = (time.monotonic() - started) * 1000
        return self._record(item, at, answer, took)

    def _send(self, item: Claimed) -> Answer:
        """Out through the notification's channel."""
        if item.channel == EMAIL:
            message = email_message(
                item.payload,
                message_id=item.message_id,
                sender=self.config.smtp_from,
                to=item.target,
                at=item.created_at,  # the same Date on every attempt
            )
            return send_email(self.config, message)
        if item.channel == SMS:
            return send_sms(self.config, item.target, sms_text(item.payload, self.config.sms_sign))
        body = body_of(item.payload)
        return self.send(item.target, body, self.headers(item, body), self.config.notify_timeout_s)

    def _record(self, item: Claimed, at: dt.datetime, answer: Answer, took_ms: float) -> str:
        now = self.config.now()
        attempts = item.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "claim": None}
        if answer.ok:
            status = DELIVERED
            values.update(status=status, delivered_at=now, last_error=None)
        else:
            error = answer.error or f"HTTP {answer.status}"
            oldest = item.created_at + dt.timedelta(hours=self.config.notify_max_age_hours)
            if not item.active or now >= oldest:
                status = FAILED
                values.update(status=status, last_error=error)
            else:
                status = PENDING
                wait = backoff(
                    attempts,
                    self.config.notify_retry_base_s,
                    self.config.notify_retry_max_s,
                    self.rng,
                )
                retry = min(now + dt.timedelta(seconds=wait), oldest)
                values.update(status=status, last_error=error, next_attempt_at=retry)
        with self.store.session() as session, session.begin():
            # write first (SQLite takes its write lock at once), and only while still ours
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Notification)
                .where(Notification.id == item.id, Notification.claim == item.claim)
                .values(**values)
            )
            held = result.rowcount
            session.add(
                DeliveryAttempt(
                    notification_id=item.id,
                    at=at,
                    outcome=DELIVERED if answer.ok else ("retry" if status == PENDING else FAILED),
                    http_status=answer.status,
                    error=None if answer.ok else (answer.error or f"HTTP {answer.status}"),
                    duration_ms=round(took_ms, 1),
                )
            )
        if not held:
            log.warning("notification %s: claim lost (lease over) before its result", item.id)
        return status

    # ------------------------------------------------------------------ loops

    def run_once(self, stop: threading.Event | None = None) -> dict[str, int]:
        """Deliver every notification due now; returns the count per resulting status.

        A pipeline, not batches: it claims only as many notifications as it has free
        workers, and claims again as each delivery ends — so every claimed notification is
        being sent within its lease (``notify_lease_s`` > ``notify_timeout_s``: no other
        dispatcher can take it meanwhile), and a slow webhook holds up one worker, not
        everyone else's deliveries."""
        counts = {DELIVERED: 0, PENDING: 0, FAILED: 0}
        sweep_overdue(self.store)  # its notifications are due at once
        workers = max(1, self.config.notify_workers)
        running: set[Future[str]] = set()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify") as pool:
            while True:
                free = workers - len(running)
                if free > 0 and (stop is None or not stop.is_set()):
                    batch = self.claim(min(free, self.config.notify_batch))
                    running |= {pool.submit(self.deliver, item) for item in batch}
                if not running:
                    break
                # a delivery ending frees a worker; new work is looked for at least
                # every poll while slow deliveries hold the others
                done, running = wait(
                    running, timeout=self.config.notify_poll_s, return_when=FIRST_COMPLETED
                )
                for future in done:
                    status = future.result()
                    counts[status] = counts.get(status, 0) + 1
        return counts

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, looking every ``notify_poll_s``."""
        while not stop.is_set():
            try:
                self.run_once(stop)
            except Exception:  # the database away for a moment: try again later
                log.exception("notification dispatcher")
            stop.wait(self.config.notify_poll_s)


class Background:
    """The dispatcher on a thread of the server process (started in the app's lifespan)."""

    def __init__(self, store: Store) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Dispatcher(store).run, args=(self.stop,), name="notify-dispatcher", daemon=True
        )

    def start(self) -> Background:
        self.thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        self.stop.set()
        self.thread.join(timeout)
