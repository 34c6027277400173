"""Order events as a stream: what ``GET /api/v1/orders/stream`` pushes (server-sent events).

Every entry of an order's history (``order_events``: issued, acknowledged, reported,
superseded, lifted, ack_overdue) is an event whose SSE ``id`` is the history row's id, so a
client that reconnects with ``Last-Event-ID`` gets exactly what it missed. Ids become
visible in their order (:func:`emergency.notify.outbox.order_history`), so reading "after
the last id seen" misses nothing.

:class:`EventHub` is the one reader per server: it looks for new events every
``notify_poll_s`` with one query, whatever the number of open streams, and hands each to
the streams that may see it (an enterprise: its own orders; planners and inspectors: all).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency.notify.outbox import order_payload
from emergency.service.access import Actor
from emergency.store.datafiles import load_stored
from emergency.store.db import Store
from emergency.store.models import Order, OrderEvent

log = logging.getLogger("emergency.notify")

BATCH = 500
"""Events read at once."""
QUEUE = 10_000
"""Events a slow stream may fall behind before it is closed (it resumes by its last id)."""


@dataclass(frozen=True)
class StreamEvent:
    """One event of the stream: its id, name (``order.issued``…), enterprise and data."""

    id: int
    event: str
    enterprise: str
    data: str

    def frame(self) -> str:
        """The event in the SSE wire format."""
        return f"id: {self.id}\nevent: {self.event}\ndata: {self.data}\n\n"


def sees(actor: Actor, event: StreamEvent) -> bool:
    """An enterprise sees its own orders' events; the other readers of orders, all."""
    return not actor.is_enterprise or event.enterprise == actor.enterprise_id


def last_event_id(session: Session) -> int:
    """The newest event's id (0 when there is none): where a stream without
    ``Last-Event-ID`` starts."""
    return int(session.scalar(select(func.max(OrderEvent.id))) or 0)


def events_after(
    session: Session, after: int, enterprise: str | None = None, limit: int = BATCH
) -> list[StreamEvent]:
    """Events with an id above ``after``, oldest first (of one enterprise, or all)."""
    query = (
        select(OrderEvent, Order)
        .join(Order, Order.id == OrderEvent.order_id)
        .where(OrderEvent.id > after)
        .order_by(OrderEvent.id)
        .limit(limit)
    )
    if enterprise is not None:
        query = query.where(Order.source == enterprise)
    rows = session.execute(query).all()
    if not rows:
        return []
    names = load_stored(session).dataset.by_id
    events = []
    for event, order in rows:
        source = names.get(order.source)
        payload = order_payload(
            order, event.event, event.note, event.at, source.name if source else None
        )
        payload["event_id"] = event.id
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        events.append(StreamEvent(event.id, str(payload["event"]), order.source, data))
    return events


class Closed(Exception):
    """A stream fell too far behind and was closed; the client reconnects."""


class EventHub:
    """One reader of new order events per server, handing them to the open streams."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.streams: set[asyncio.Queue[StreamEvent | None]] = set()
        self.last = 0
        """Every event up to this id has been handed to the streams open at the time."""
        self.task: asyncio.Task[None] | None = None

    def _read(self, after: int) -> tuple[int, list[StreamEvent]]:
        with self.store.session() as session:
            events = events_after(session, after)
            return (events[-1].id if events else after), events

    def latest(self) -> int:
        """The newest event's id in the database now."""
        with self.store.session() as session:
            return last_event_id(session)

    async def start(self) -> None:
        """Note the newest event, then read on from it (the app's start-up).

        A stream opened after this gets every event above ``last`` through its queue, and
        reads what lies at or below it (all committed by then) itself."""
        if self.task is None:
            self.last = await asyncio.to_thread(self.latest)
            self.task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        poll = self.store.config.notify_poll_s
        while True:
            try:
                self.last, events = await asyncio.to_thread(self._read, self.last)
            except Exception:  # the database away for a moment: the streams wait
                log.exception("order event stream")
                events = []
            for event in events:
                for queue in list(self.streams):
                    try:
                        queue.put_nowait(event)
                    except asyncio.QueueFull:
                        self.streams.discard(queue)
                        queue.get_nowait()
                        queue.put_nowait(None)  # closed: it resumes from its last id
            if len(events) < BATCH:
                await asyncio.sleep(poll)

    async def open(self) -> asyncio.Queue[StreamEvent | None]:
        """A queue of every event above :attr:`last` from now on."""
        await self.start()
        queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(QUEUE)
        self.streams.add(queue)
        return queue

    def close(self, queue: asyncio.Queue[StreamEvent | None]) -> None:
        self.streams.discard(queue)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


def keep_alive(at: dt.datetime) -> str:
    """An SSE comment: keeps proxies from closing an idle stream."""
    return f": {at.isoformat()}\n\n"


__all__ = ["EventHub", "StreamEvent", "events_after", "keep_alive", "last_event_id", "sees"]
