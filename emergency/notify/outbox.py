"""The transactional outbox: the notifications of a change, written in its transaction.

The service flows call :func:`order_event` and :func:`warning_event` next to the change
itself (no commit here): when the change commits, so do its notifications; when it rolls
back, nothing is left to send. One notification per recipient and channel, each with its
own stable ``message_id``: every matching subscription (webhook, email or SMS), and for an
order also the contact in its enterprise's plan — its ``email`` when the city has an SMTP
server, its ``mobile`` when it has an SMS gateway — unless a subscription already names
that address or number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.orm import Session

from emergency.notify.channels import EMAIL, SMS
from emergency.store.datafiles import load_stored
from emergency.store.db import store_of
from emergency.store.models import Notification, Order, OrderEvent, Response, Subscription

ORDER_EVENTS = ("issued", "superseded", "lifted", "ack_overdue")
WARNING_EVENTS = ("opened", "upgraded", "downgraded", "extended", "shortened", "released")
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def order_payload(
    order: Order, event: str, note: str, at: dt.datetime, source_name: str | None = None
) -> dict[str, Any]:
    """What an enterprise is told of an order: the order's essentials as they are now."""
    return {
        "event": f"order.{event}",
        "at": at.isoformat(),
        "note": note,
        "order": {
            "id": order.id,
            "source_name": source_name or order.source,
            "kind": order.kind,
            "response_id": order.response_id,
            "season_plan_id": order.season_plan_id,
            "source": order.source,
            "measure": {"id": order.measure_id, "name": order.measure_name},
            "level": order.level,
            "start": _iso(order.start),
            "end": _iso(order.end),
            "planned_end": _iso(order.planned_end),
            "status": str(order.status),
            "superseded_by": order.superseded_by,
            "allowed_load": order.allowed_load,
            "allowed_load_total": order.allowed_load_total,
            "expected_cut_kg_d": order.expected_cut_kg_d,
            "issued_at": _iso(order.issued_at),
        },
    }


def warning_payload(
    response: Response, event: str, at: dt.datetime, city_name: str = ""
) -> dict[str, Any]:
    """What a subscriber is told of the warning: level, period, reason."""
    warning = response.warning or {}
    return {
        "event": f"warning.{event}",
        "at": at.isoformat(),
        "city_name": city_name,
        "warning": {
            "response_id": response.id,
            "status": str(response.status),
            "level": response.level,
            "start": _iso(response.start),
            "end": _iso(response.end),
            "rule_set": response.rule_set,
            "reason": warning.get("reason"),
            "reason_zh": warning.get("reason_zh"),
            "key_period": response.key_period,
            "released_at": _iso(response.released_at),
        },
    }


@dataclass(frozen=True)
class Recipient:
    """Where one notification goes: a subscription, or a plan's contact (no subscription)."""

    channel: str
    target: str
    enterprise_id: str | None
    subscription_id: int | None = None


_CACHE = "emergency.notify.recipients"


def _subscriptions(session: Session) -> list[Subscription]:
    """The active subscriptions, read once per transaction (an approval issues hundreds
    of orders; subscriptions do not change inside it)."""
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] is not transaction:
        query = select(Subscription).where(Subscription.deleted_at.is_(None))
        cached = (transaction, list(session.scalars(query.order_by(Subscription.id))))
        session.info[_CACHE] = cached
    return list(cached[1])


def recipients(session: Session, enterprise_id: str | None) -> list[Recipient]:
    """Who hears of an event: of an enterprise's order, its subscriptions and its plan's
    contact; of a warning (``enterprise_id`` None), every subscription."""
    subs = [
        s
        for s in _subscriptions(session)
        if enterprise_id is None or s.enterprise_id == enterprise_id
    ]
    found = [Recipient(s.channel, s.target, s.enterprise_id, s.id) for s in subs]
    if enterprise_id is not None:
        config = store_of(session).config
        plan = load_stored(session).dataset.plan(enterprise_id)
        contact = plan.contact if plan is not None else {}
        taken = {(r.channel, r.target) for r in found}
        for channel, key, on in (
            (EMAIL, "email", config.smtp_host),
            (SMS, "mobile", config.sms_url),
        ):
            target = str(contact.get(key) or "")
            if on and target and (channel, target) not in taken:
                found.append(Recipient(channel, target, enterprise_id))
    return found


def enqueue(
    session: Session,
    targets: list[Recipient] | list[Subscription],
    payload: dict[str, Any],
    *,
    order_id: int | None = None,
    response_id: int | None = None,
) -> list[Notification]:
    """One pending notification per recipient (or subscription), due now (flushed, no
    commit)."""
    if not targets:
        return []
    now = store_of(session).config.now()
    rows = []
    for each in targets:
        to = (
            each
            if isinstance(each, Recipient)
            else Recipient(each.channel, each.target, each.enterprise_id, each.id)
        )
        message_id = str(uuid.uuid4())
        rows.append(
            Notification(
                message_id=message_id,
                event=str(payload["event"]),
                subscription_id=to.subscription_id,
                channel=to.channel,
                target=None if to.subscription_id is not None else to.target,
                recipient=f"enterprise:{to.enterprise_id}" if to.enterprise_id else "city",
                order_id=order_id,
                response_id=response_id,
                payload={"id": message_id, **payload},
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def order_event(session: Session, order: Order, event: str, note: str = "") -> list[Notification]:
    """Notify the order's enterprise of ``event`` (issued, superseded, lifted, ack_overdue);
    the city's own subscriptions (no enterprise) hear of an overdue acknowledgement too."""
    if event not in ORDER_EVENTS:
        return []
    targets = recipients(session, order.source)
    if event == "ack_overdue":
        targets += [r for r in recipients(session, None) if r.enterprise_id is None]
    if not targets:
        return []
    source = load_stored(session).dataset.by_id.get(order.source)
    payload = order_payload(
        order, event, note, store_of(session).config.now(), source.name if source else None
    )
    return enqueue(session, targets, payload, order_id=order.id, response_id=order.response_id)


EVENTS_LOCK = 0x656D6572  # "emer"
"""PostgreSQL advisory lock taken by a transaction before it writes order events."""


def order_history(
    session: Session, order: Order, actor: str, event: str, note: str = ""
) -> OrderEvent:
    """Add ``event`` to the order's history and notify (:func:`order_event`) — the one
    place order events are written (no commit).

    The events' ids are what ``GET /orders/stream`` resumes from (``Last-Event-ID``), so
    they must become visible in their order: on PostgreSQL a transaction takes an advisory
    lock before its first event and holds it to its end (a sequence hands out ids at
    insert, not at commit; without the lock a later id could commit first and a reader
    that moved past it would never see the earlier one). SQLite has one writer anyway; its
    write lock is taken here, before anything more is read (:func:`lock_events`)."""
    lock_events(session)
    row = OrderEvent(
        order_id=order.id, at=store_of(session).config.now(), actor=actor, event=event, note=note
    )
    session.add(row)
    order_event(session, order, event, note)
    return row


_LOCKED = "emergency.notify.events-locked"


def lock_events(session: Session) -> None:
    """Take the order events' lock for the rest of the transaction (once).

    PostgreSQL: the advisory lock :data:`EVENTS_LOCK`. SQLite: the database's write lock,
    by an update that changes no row, waited for as long as the busy timeout allows. A
    transaction that read first and asked for the write lock only at its first insert
    would fail at once ("database is locked") had another written since its read —
    another worker's dispatcher sweeping for overdue acknowledgements at the same moment."""
    session.connection()  # the transaction begun, if it was not yet
    transaction = session.get_transaction()
    if session.info.get(_LOCKED) is transaction:
        return
    if store_of(session).engine.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))
    else:
        nothing = update(OrderEvent).where(false()).values(id=OrderEvent.id)
        session.execute(nothing.execution_options(synchronize_session=False))
    session.info[_LOCKED] = transaction


def warning_event(session: Session, response: Response, event: str) -> list[Notification]:
    """Notify every subscriber of a warning ``event`` (opened, upgraded, ..., released)."""
    if event not in WARNING_EVENTS:
        return []
    targets = recipients(session, None)
    if not targets:
        return []
    session.flush()  # the response's id and state
    city = load_stored(session).dataset.city.name
    payload = warning_payload(response, event, store_of(session).config.now(), city)
    return enqueue(session, targets, payload, response_id=response.id)


__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "SENDING",
    "Recipient",
    "enqueue",
    "lock_events",
    "order_event",
    "order_history",
    "recipients",
    "warning_event",
]
