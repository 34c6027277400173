"""The body of ``GET /api/v1/orders/stream``: backlog first, then live events, with
keep-alive comments, a bounded lifetime and the token checked again as it goes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request

from emergency.notify.stream import (
    EventHub,
    StreamEvent,
    events_after,
    keep_alive,
    sees,
)
from emergency.service.access import Actor
from emergency.service.errors import Unauthorized
from emergency.service.tokens import token_actor
from emergency.store.db import Store

KEEP_ALIVE_S = 15.0
"""An SSE comment this often on an idle stream."""
RECHECK_S = 60.0
"""The token is checked again this often (revoked or expired: the stream ends)."""
RETRY_MS = 3000
"""What the stream asks a browser to wait before it reconnects."""


def hub_of(app: FastAPI, store: Store) -> EventHub:
    """The app's one reader of order events (made on first use)."""
    hub: EventHub | None = getattr(app.state, "events", None)
    if hub is None or hub.store is not store:
        hub = app.state.events = EventHub(store)
    return hub


def _still_valid(store: Store, actor: Actor) -> bool:
    if actor.token_id is None:
        return True
    with store.session() as session:
        try:
            token_actor(session, actor.token_id)
        except Unauthorized:
            return False
    return True


async def order_stream(
    request: Request, store: Store, actor: Actor, after: int | None
) -> AsyncIterator[str]:
    """The stream's frames: the events after ``after`` (None: from now) that ``actor``
    may see, then each new one as the hub reads it."""
    hub = hub_of(request.app, store)
    queue = await hub.open()
    own = actor.enterprise_id if actor.is_enterprise else None
    ends = time.monotonic() + store.config.stream_max_minutes * 60
    checked = time.monotonic()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        last = await asyncio.to_thread(hub.latest) if after is None else after
        while True:  # the backlog, read until it is caught up
            batch = await asyncio.to_thread(_backlog, store, last, own)
            for old in batch:
                yield old.frame()
                last = old.id
            if not batch:
                break
        while time.monotonic() < ends:
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                if not await asyncio.to_thread(_still_valid, store, actor):
                    return
            try:
                wait = min(KEEP_ALIVE_S, max(0.0, ends - time.monotonic()))
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if time.monotonic() < ends:
                    yield keep_alive(store.config.now())
                continue
            if event is None:
                return  # fell too far behind: the client resumes from `last`
            if event.id > last and sees(actor, event):
                yield event.frame()
                last = event.id
    finally:
        hub.close(queue)


def _backlog(store: Store, after: int, enterprise: str | None) -> list[StreamEvent]:
    with store.session() as session:
        return events_after(session, after, enterprise)
