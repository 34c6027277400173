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
import datetime as dt
import json
import logging
import threading
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


Queue = asyncio.Queue[StreamEvent | None]


class EventHub:
    """One reader of new order events per server (a thread), handing them to the open
    streams, each on its own event loop (``call_soon_threadsafe``).

    A stream registers its queue first and then reads what it must catch up on (or the
    newest id, "from now") itself: every event the hub reads after the registration
    reaches the queue, every one read before is committed by then and in the stream's
    own read. Ids it has already sent, the stream skips."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.streams: dict[Queue, asyncio.AbstractEventLoop] = {}
        self.lock = threading.Lock()
        self.last = 0
        """Every event up to this id has been handed to the streams open at the time."""
        self.halt = threading.Event()
        self.thread: threading.Thread | None = None

    def latest(self) -> int:
        """The newest event's id in the database now."""
        with self.store.session() as session:
            return last_event_id(session)

    def start(self) -> EventHub:
        """Note the newest event, then read on from it every ``notify_poll_s``."""
        with self.lock:
            if self.thread is None:
                self.last = self.latest()
                self.thread = threading.Thread(target=self._run, name="order-events", daemon=True)
                self.thread.start()
        return self

    def _run(self) -> None:
        while not self.halt.is_set():
            try:
                more = self._once()
            except Exception:  # the database away for a moment: the streams wait
                log.exception("order event stream")
                more = False
            if not more:
                self.halt.wait(self.store.config.notify_poll_s)

    def _once(self) -> bool:
        """Read and hand out the next events; whether there may be more right away."""
        if not self.streams:  # nobody listens: only move on
            latest = self.latest()
            with self.lock:  # unless a stream opened meanwhile: it must get what follows
                if not self.streams:
                    self.last = latest
                    return False
        with self.store.session() as session:
            events = events_after(session, self.last)
        if not events:
            return False
        self.last = events[-1].id
        with self.lock:
            streams = list(self.streams.items())
        for queue, loop in streams:
            try:
                loop.call_soon_threadsafe(self._hand, queue, events)
            except RuntimeError:  # its loop is closed: the stream is gone
                self.close(queue)
        return len(events) == BATCH

    def _hand(self, queue: Queue, events: list[StreamEvent]) -> None:
        """On the stream's loop: queue the events, or close a stream too far behind."""
        for event in events:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.close(queue)
                queue.get_nowait()
                queue.put_nowait(None)  # closed: the client resumes from its last id
                return

    async def open(self) -> Queue:
        """A queue that gets every event the hub reads from now on."""
        if self.thread is None:
            await asyncio.to_thread(self.start)
        queue: Queue = asyncio.Queue(QUEUE)
        with self.lock:
            self.streams[queue] = asyncio.get_running_loop()
        return queue

    def close(self, queue: Queue) -> None:
        with self.lock:
            self.streams.pop(queue, None)

    def stop(self, timeout: float = 10.0) -> None:
        self.halt.set()
        if self.thread is not None:
            self.thread.join(timeout)


def keep_alive(at: dt.datetime) -> str:
    """An SSE comment: keeps proxies from closing an idle stream."""
    return f": {at.isoformat()}\n\n"


__all__ = ["EventHub", "StreamEvent", "events_after", "keep_alive", "last_event_id", "sees"]
