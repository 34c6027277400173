"""A dispatcher killed mid-delivery (``kill -9`` of ``emergency dispatch``): after a
restart every notification is delivered at least once, and no message id ever carried two
different bodies."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from emergency.notify.outbox import enqueue
from emergency.store.db import Store
from emergency.store.models import Notification, Subscription
from tests.api.conftest import Clock
from tests.webhook_receiver import Receiver, serving

REPO = Path(__file__).resolve().parents[2]
EMERGENCY = [sys.executable, "-c", "from emergency.cli import main; main()"]
SECRET = "crash-test-secret-0123456789abcdef"
N = 12


def dispatcher(data_dir: Path, db_url: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "EMERGENCY_NOTIFY_LEASE_S": "2",
        "EMERGENCY_NOTIFY_PRIVATE_TARGETS": "1",
        "EMERGENCY_NOTIFY_TIMEOUT_S": "1.5",
        "EMERGENCY_NOTIFY_POLL_S": "0.1",
        "EMERGENCY_NOTIFY_RETRY_BASE_S": "0.2",
    }
    args = ["dispatch", "--data", str(data_dir)] + (["--db", db_url] if db_url else [])
    return subprocess.Popen(
        [*EMERGENCY, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_killed_dispatcher_then_restart_delivers_everything(
    store: Store, clock: Clock, data_dir: Path, db_url: str | None
) -> None:
    clock.now = dt.datetime.now(dt.UTC)  # the subprocess runs on the real clock
    with serving(Receiver(SECRET, hold=threading.Event())) as receiver:
        with store.session() as session:
            sub = Subscription(
                channel="webhook",
                target=receiver.url,
                secret=SECRET,
                enterprise_id="JY-P001",
                created_at=clock(),
                created_by="test",
            )
            session.add(sub)
            session.flush()
            ids = [
                enqueue(session, [sub], {"event": "order.issued", "n": i})[0].message_id
                for i in range(N)
            ]
            session.commit()
        first = dispatcher(data_dir, db_url)
        try:
            assert wait_for(lambda: receiver.got, 60), "the dispatcher sent nothing"
            time.sleep(0.2)  # more in flight, some done
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # mid-delivery: the first request is held
            first.wait(10)
        assert receiver.hold is not None
        receiver.hold.set()
        with store.session() as session:
            left = session.scalars(
                select(Notification.message_id).where(Notification.status != "delivered")
            ).all()
        assert left, "the kill came after everything was delivered"
        second = dispatcher(data_dir, db_url)
        try:
            assert wait_for(lambda: set(receiver.ids()) >= set(ids), 60), "not all delivered"
            assert wait_for(lambda: _all_delivered(store), 30)
        finally:
            second.terminate()
            second.wait(20)
        bodies: dict[str, set[bytes]] = {}
        for got in receiver.got:
            assert got.signed
            bodies.setdefault(got.message_id, set()).add(got.body)
        assert set(bodies) == set(ids)
        assert all(len(b) == 1 for b in bodies.values()), "an id with two different bodies"


def _all_delivered(store: Store) -> bool:
    with store.session() as session:
        return set(session.scalars(select(Notification.status))) == {"delivered"}
