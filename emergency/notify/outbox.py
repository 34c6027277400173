"""The transactional outbox: the notifications of a change, written in its transaction.

The service flows call :func:`order_event` and :func:`warning_event` next to the change
itself (no commit here): when the change commits, so do its notifications; when it rolls
back, nothing is left to send. One notification per matching subscription (recipient and
channel), each with its own stable ``message_id``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.store.db import store_of
from emergency.store.models import Notification, Order, Response, Subscription

ORDER_EVENTS = ("issued", "superseded", "lifted")
WARNING_EVENTS = ("opened", "upgraded", "downgraded", "extended", "shortened", "released")
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def order_payload(order: Order, event: str, note: str, at: dt.datetime) -> dict[str, Any]:
    """What an enterprise is told of an order: the order's essentials as they are now."""
    return {
        "event": f"order.{event}",
        "at": at.isoformat(),
        "note": note,
        "order": {
            "id": order.id,
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


def warning_payload(response: Response, event: str, at: dt.datetime) -> dict[str, Any]:
    """What a subscriber is told of the warning: level, period, reason."""
    warning = response.warning or {}
    return {
        "event": f"warning.{event}",
        "at": at.isoformat(),
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


def _subscriptions(session: Session, enterprise_id: str | None) -> list[Subscription]:
    """Active subscriptions: of one enterprise (its orders), or all of them (warnings)."""
    query = select(Subscription).where(Subscription.deleted_at.is_(None))
    if enterprise_id is not None:
        query = query.where(Subscription.enterprise_id == enterprise_id)
    return list(session.scalars(query.order_by(Subscription.id)))


def enqueue(
    session: Session,
    subscriptions: list[Subscription],
    payload: dict[str, Any],
    *,
    order_id: int | None = None,
    response_id: int | None = None,
) -> list[Notification]:
    """One pending notification per subscription, due now (flushed, no commit)."""
    if not subscriptions:
        return []
    now = store_of(session).config.now()
    rows = []
    for sub in subscriptions:
        message_id = str(uuid.uuid4())
        rows.append(
            Notification(
                message_id=message_id,
                event=str(payload["event"]),
                subscription_id=sub.id,
                channel=sub.channel,
                recipient=f"enterprise:{sub.enterprise_id}" if sub.enterprise_id else "city",
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
    """Notify the order's enterprise of ``event`` (issued, superseded, lifted)."""
    if event not in ORDER_EVENTS:
        return []
    subs = _subscriptions(session, order.source)
    if not subs:
        return []
    payload = order_payload(order, event, note, store_of(session).config.now())
    return enqueue(session, subs, payload, order_id=order.id, response_id=order.response_id)


def warning_event(session: Session, response: Response, event: str) -> list[Notification]:
    """Notify every subscriber of a warning ``event`` (opened, upgraded, ..., released)."""
    if event not in WARNING_EVENTS:
        return []
    subs = _subscriptions(session, None)
    if not subs:
        return []
    session.flush()  # the response's id and state
    payload = warning_payload(response, event, store_of(session).config.now())
    return enqueue(session, subs, payload, response_id=response.id)


__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "SENDING",
    "enqueue",
    "order_event",
    "warning_event",
]
