"""The "acknowledgement overdue" event: an order still not acknowledged when its deadline
(``ack_deadline_hours`` after issue) has passed is written once into its history, and its
enterprise (and the city's own subscriptions) are told — by whichever dispatcher looks
first: a unique index lets only one of several write it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from emergency.notify.outbox import lock_events, order_history
from emergency.service.deadlines import ack_deadline_hours
from emergency.service.orders import due
from emergency.store.db import Store
from emergency.store.models import Order, OrderEvent
from emergency.vocabulary import OrderStatus

OVERDUE = "ack_overdue"
SYSTEM = "system"
"""The actor of events no person caused."""


def _hours(value: float) -> str:
    return f"{value:g}"


def sweep_overdue(store: Store) -> int:
    """Write the overdue event of every order past its deadline that has none; returns how
    many were written."""
    now = store.config.now()
    written = 0
    told = exists().where(OrderEvent.order_id == Order.id, OrderEvent.event == OVERDUE)
    waiting = (
        select(Order)
        .where(Order.status == OrderStatus.issued, Order.acknowledged_at.is_(None), ~told)
        .order_by(Order.id)
    )
    with store.session() as session, session.begin():
        if session.scalar(waiting.with_only_columns(Order.id).limit(1)) is None:
            return 0  # nothing waits: no need to read the city plan's deadline
        hours = ack_deadline_hours(session)
        latest = now - dt.timedelta(hours=hours)
        orders = session.scalars(waiting.where(Order.issued_at <= latest)).all()
        if orders:
            lock_events(session)  # before the savepoints (see order_history)
        for order in orders:
            session.refresh(order)  # under the lock: an acknowledgement may have come meanwhile
            if order.status != OrderStatus.issued or order.acknowledged_at is not None:
                continue
            if due(order, hours) > now:
                continue
            note = f"not acknowledged within {_hours(hours)} h of issue"
            try:
                with session.begin_nested():
                    order_history(session, order, SYSTEM, OVERDUE, note)
                    session.flush()
            except IntegrityError:  # another dispatcher wrote it first
                continue
            written += 1
    return written


__all__ = ["OVERDUE", "sweep_overdue"]
