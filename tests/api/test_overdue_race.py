"""Several dispatchers sweeping for overdue acknowledgements at the same moment (one per
server worker, each with its own connections): none fails, and each overdue order gets
its event exactly once — on SQLite as on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from emergency.notify.overdue import OVERDUE, sweep_overdue
from emergency.service.enterprises import open_store
from emergency.settings import Settings
from emergency.store.db import Store
from emergency.store.models import Order, OrderEvent
from tests.api.conftest import ORANGE, Clock, at_issue

API = "/api/v1"
SWEEPERS = 4
"""Dispatchers sweeping at once: two workers' stores, two threads each."""


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    """The server's own dispatcher off: the test's sweepers are the only ones."""
    return Settings(data=data_dir, database_url=db_url, notify_dispatch=False)


def test_sweeps_at_once_write_each_overdue_event_once(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    clock: Clock,
    store: Store,
    data_dir: Path,
    db_url: str | None,
) -> None:
    planner = auth["planner"]
    rid = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=planner)
    rid = rid.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    with store.session() as session:
        issued = session.scalar(select(func.count()).select_from(Order))
    assert issued, "the approval issued no orders"
    clock.advance(hours=72)  # every deadline passed, none acknowledged
    other = open_store(data_dir, db_url, now=clock)  # a second worker's connections
    try:
        stores = [store, other] * (SWEEPERS // 2)
        start = threading.Barrier(SWEEPERS)
        written: list[int] = []
        failed: list[BaseException] = []

        def sweep(mine: Store) -> None:
            start.wait()
            try:
                written.append(sweep_overdue(mine))
            except BaseException as exc:  # reported below, in the test's thread
                failed.append(exc)

        threads = [threading.Thread(target=sweep, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a sweep still waits after 60 s"
    finally:
        other.dispose()
    assert not failed, f"a sweep failed: {failed[0]!r}"
    with store.session() as session:
        events = session.execute(
            select(OrderEvent.order_id, func.count())
            .where(OrderEvent.event == OVERDUE)
            .group_by(OrderEvent.order_id)
        ).all()
    assert len(events) == issued and all(n == 1 for _, n in events), events
    assert sum(written) == issued
