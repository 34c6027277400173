"""What reached whom: the notifications of an order, per recipient, and the flag of an
order whose enterprise has not been reached."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency.notify.outbox import DELIVERED
from emergency.service.access import Action, Actor, require
from emergency.service.errors import NotFound
from emergency.store.db import store_of
from emergency.store.models import DeliveryAttempt, Notification, Order, Subscription
from emergency.vocabulary import OrderStatus


class AttemptView(BaseModel):
    at: dt.datetime
    outcome: str
    http_status: int | None
    error: str | None
    duration_ms: float


class DeliveryView(BaseModel):
    """One notification of the order: to one recipient on one channel."""

    message_id: str
    event: str
    recipient: str
    channel: str
    subscription_id: int | None = Field(
        description="none for the contact in the enterprise's plan (email or mobile)"
    )
    target: str = Field(description="the webhook URL, email address or mobile number")
    status: str = Field(description="pending, sending, delivered or failed")
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    history: list[AttemptView]


class OrderDeliveries(BaseModel):
    order_id: int
    enterprise: str
    status: str
    unreached: bool = Field(
        description="issued at least `notify_unreached_minutes` ago, not acknowledged, and "
        "no notification of it delivered"
    )
    delivered: int
    deliveries: list[DeliveryView]


def order_deliveries(session: Session, actor: Actor, order_id: int) -> OrderDeliveries:
    """The order's notifications with every attempt, and whether it reached its enterprise."""
    require(actor, Action.read_responses)
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    rows = session.execute(
        select(Notification, Subscription.target)
        .outerjoin(Subscription, Subscription.id == Notification.subscription_id)
        .where(Notification.order_id == order_id)
        .order_by(Notification.id)
    ).all()
    ids = [n.id for n, _ in rows]
    history: dict[int, list[AttemptView]] = {i: [] for i in ids}
    for attempt in session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.notification_id.in_(ids))
        .order_by(DeliveryAttempt.id)
    ):
        history[attempt.notification_id].append(
            AttemptView.model_validate(attempt, from_attributes=True)
        )
    views = [
        DeliveryView(
            message_id=n.message_id,
            event=n.event,
            recipient=n.recipient,
            channel=n.channel,
            subscription_id=n.subscription_id,
            target=n.target or target or "",
            status=n.status,
            attempts=n.attempts,
            last_error=n.last_error,
            created_at=n.created_at,
            delivered_at=n.delivered_at,
            next_attempt_at=n.next_attempt_at if n.status not in (DELIVERED, "failed") else None,
            history=history[n.id],
        )
        for n, target in rows
    ]
    delivered = sum(1 for v in views if v.status == DELIVERED)
    return OrderDeliveries(
        order_id=order.id,
        enterprise=order.source,
        status=order.status,
        unreached=unreached(session, order, delivered),
        delivered=delivered,
        deliveries=views,
    )


def unreached(session: Session, order: Order, delivered: int) -> bool:
    """Issued long enough ago, still only issued, and nothing of it delivered."""
    return _unreached(session, order.status, order.issued_at, delivered)


def _unreached(session: Session, status: str, issued_at: dt.datetime, delivered: int) -> bool:
    if status != OrderStatus.issued or delivered:
        return False
    config = store_of(session).config
    waited = config.now() - issued_at
    return waited >= dt.timedelta(minutes=config.notify_unreached_minutes)


class DeliverySummary(BaseModel):
    """An order's notifications counted by status, and the unreached flag (the orders
    page's column)."""

    delivered: int = 0
    pending: int = 0
    failed: int = 0
    unreached: bool = False


def delivery_summaries(
    session: Session, orders: list[tuple[int, str, dt.datetime]]
) -> dict[int, DeliverySummary]:
    """Per order (id, status, issued at): its notifications by status, in one query."""
    ids = [order_id for order_id, _, _ in orders]
    counts: dict[int, DeliverySummary] = {i: DeliverySummary() for i in ids}
    if ids:
        rows = session.execute(
            select(Notification.order_id, Notification.status, func.count())
            .where(Notification.order_id.in_(ids))
            .group_by(Notification.order_id, Notification.status)
        ).all()
        for order_id, status, n in rows:
            if order_id is None:  # warning events carry no order
                continue
            summary = counts[order_id]
            if status == DELIVERED:
                summary.delivered += n
            elif status == "failed":
                summary.failed += n
            else:
                summary.pending += n
    for order_id, status, issued_at in orders:
        summary = counts[order_id]
        summary.unreached = _unreached(session, status, issued_at, summary.delivered)
    return counts


class ChannelDeliveries(BaseModel):
    """One recipient's notifications on one channel, counted."""

    recipient: str = Field(description="`enterprise:<id>` or `city`")
    name: str = Field(description="the enterprise's name; 市级订阅 city for `city`")
    channel: str
    notifications: int
    delivered: int
    pending: int = Field(description="pending or being sent")
    failed: int
    attempts: int
    last_error: str | None = Field(description="the newest error of a notification not delivered")


class ResponseDeliveries(BaseModel):
    response_id: int
    notifications: int
    delivered: int
    pending: int
    failed: int
    unreached_orders: list[int] = Field(description="orders flagged unreached (see the order's)")
    recipients: list[ChannelDeliveries]


def response_deliveries(session: Session, actor: Actor, response_id: int) -> ResponseDeliveries:
    """Per recipient and channel, the response's notifications counted (two grouped
    queries and one for the errors, whatever the number of orders)."""
    require(actor, Action.read_responses)
    from emergency.service.planning import get_response, loaded_data

    response = get_response(session, response_id)
    rows = session.execute(
        select(
            Notification.recipient,
            Notification.channel,
            Notification.status,
            func.count(),
            func.sum(Notification.attempts),
        )
        .where(Notification.response_id == response.id)
        .group_by(Notification.recipient, Notification.channel, Notification.status)
    ).all()
    errors = dict(
        session.execute(
            select(Notification.recipient + "|" + Notification.channel, Notification.last_error)
            .where(Notification.response_id == response.id)
            .where(Notification.status != DELIVERED, Notification.last_error.is_not(None))
            .order_by(Notification.id)
        ).all()
    )  # the newest per recipient and channel wins
    names = loaded_data(session).dataset.by_id
    found: dict[tuple[str, str], ChannelDeliveries] = {}
    for recipient, channel, status, n, attempts in rows:
        key = (recipient, channel)
        if key not in found:
            firm = recipient.removeprefix("enterprise:")
            source = names.get(firm)
            found[key] = ChannelDeliveries(
                recipient=recipient,
                name="市级订阅 city" if recipient == "city" else (source.name if source else firm),
                channel=channel,
                notifications=0,
                delivered=0,
                pending=0,
                failed=0,
                attempts=0,
                last_error=errors.get(f"{recipient}|{channel}"),
            )
        row = found[key]
        row.notifications += n
        row.attempts += int(attempts or 0)
        if status == DELIVERED:
            row.delivered += n
        elif status == "failed":
            row.failed += n
        else:
            row.pending += n
    orders = session.execute(
        select(Order.id, Order.status, Order.issued_at)
        .where(Order.response_id == response.id)
        .order_by(Order.id)
    ).all()
    summaries = delivery_summaries(session, [(i, status, at) for i, status, at in orders])
    recipients = sorted(
        found.values(), key=lambda r: (r.recipient != "city", r.recipient, r.channel)
    )
    return ResponseDeliveries(
        response_id=response.id,
        notifications=sum(r.notifications for r in recipients),
        delivered=sum(r.delivered for r in recipients),
        pending=sum(r.pending for r in recipients),
        failed=sum(r.failed for r in recipients),
        unreached_orders=[i for i, s in summaries.items() if s.unreached],
        recipients=recipients,
    )
