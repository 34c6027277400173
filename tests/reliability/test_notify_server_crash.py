"""The server killed (``kill -9``) while its dispatcher thread is delivering webhooks.

By default the notification dispatcher runs as a thread of the HTTP server process
(``emergency.notify.dispatch.Background``, started in the app's lifespan), so a crash of
the server is a crash of the dispatcher in the middle of its deliveries.
(tests/api/test_notify_crash.py kills the stand-alone ``emergency dispatch`` instead.)

The real server (``emergency serve`` in its own process group) runs on a temp data folder
with SQLite and, when ``EMERGENCY_TEST_DATABASE_URL`` is set (CI), PostgreSQL. An admin
registers one webhook per enterprise through the API, each to its own receiver
(:mod:`tests.webhook_receiver`: real HTTP, the HMAC checked with that subscription's
secret) that takes :data:`DELAY_S` to answer, so deliveries are in flight. A planner's
consultation, approval and second approval (after an override) write the notifications;
the server is killed while some have been received and others not, and restarted on the
same database. Then every notification must end ``delivered`` and be received at least
once, by its own subscription's receiver, with one body per message id (the database's
payload), every body verified; those the receivers were still answering at the kill are
received again (at least once: the lease ran out). The restarted server carries on: the
release's notifications reach everyone too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.reliability.live import OVERRIDES, cli_token, orange
from tests.reliability.notify_live import NotifyServer, Row, outbox, subscribe, wait_for
from tests.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.slow

ENTERPRISES = ("JY-P001", "JY-P002", "JY-P003", "JY-S001", "JY-Y001", "JY-Q001")
"""Every source of the small data folder (tests/datafiles.py): each gets orders at orange."""
DELAY_S = 0.5
"""Each receiver answers after this long: the dispatcher's 4 workers are busy with it."""


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    """One receiver per enterprise, each with its own secret (stopped together after)."""
    stacks = [ExitStack() for _ in ENTERPRISES]
    try:
        yield {
            enterprise: stack.enter_context(
                serving(Receiver(f"secret-of-{enterprise}-0123456789", delay=DELAY_S))
            )
            for enterprise, stack in zip(ENTERPRISES, stacks, strict=True)
        }
    finally:
        with ThreadPoolExecutor(len(stacks)) as pool:
            list(pool.map(ExitStack.close, stacks))


@pytest.fixture
def server(data_dir: Path, db_url: str | None, tmp_path: Path) -> Iterator[NotifyServer]:
    made = NotifyServer(data_dir, db_url, log=tmp_path / "server.log")
    try:
        yield made
    finally:
        made.kill()


def received(receivers: dict[str, Receiver]) -> set[str]:
    return {i for r in receivers.values() for i in r.ids()}


def answering(receivers: dict[str, Receiver], younger_than_s: float) -> set[str]:
    """Message ids whose request a receiver is still answering, the latest of them received
    less than ``younger_than_s`` ago (so still unanswered a moment later)."""
    now = time.monotonic()
    found: set[str] = set()
    for r in receivers.values():
        with r.lock:
            if any(g.message_id in r.in_flight and now - g.at < younger_than_s for g in r.got):
                found |= r.in_flight
    return found


def all_delivered(data_dir: Path, db_url: str | None, receivers: dict[str, Receiver]) -> bool:
    rows = outbox(data_dir, db_url)
    return all(row.status == "delivered" for row in rows) and received(receivers) >= {
        row.message_id for row in rows
    }


def check_deliveries(rows: list[Row], receivers: dict[str, Receiver]) -> dict[str, int]:
    """Everything delivered, each received by its own receiver with one body (the stored
    payload) and verified; returns how many times each message id was received."""
    assert rows and {row.status for row in rows} == {"delivered"}
    by_url = {r.url: r for r in receivers.values()}
    times: dict[str, int] = {}
    for enterprise, receiver in receivers.items():
        with receiver.lock:
            got = list(receiver.got)
        assert got, f"{enterprise} received nothing"
        unverified = [g.message_id for g in got if not g.signed]
        assert unverified == [], f"{enterprise}: bodies that failed the HMAC check"
        for g in got:
            times[g.message_id] = times.get(g.message_id, 0) + 1
    stored = {row.message_id: row for row in rows}
    assert set(times) == set(stored), "received ids differ from the database's"
    for row in rows:
        receiver = by_url[row.target]
        assert row.enterprise is not None and receivers[row.enterprise] is receiver
        bodies = {g.body for g in receiver.got if g.message_id == row.message_id}
        assert len(bodies) == 1, f"{row.message_id} received with {len(bodies)} bodies"
        body = json.loads(bodies.pop())
        assert body == row.payload and body["id"] == row.message_id
        events = {g.event for g in receiver.got if g.message_id == row.message_id}
        assert events == {row.event}
    return times


def test_server_killed_mid_delivery_then_restarted_delivers_everything(
    server: NotifyServer,
    receivers: dict[str, Receiver],
    data_dir: Path,
    db_url: str | None,
) -> None:
    admin = cli_token(data_dir, db_url, "admin")
    planner = cli_token(data_dir, db_url, "planner")
    server.start()
    subscribe(server, admin, receivers)
    with server.client(planner) as client:
        opened = client.post("/consultations", json=orange())
        assert opened.status_code == 200, opened.text
        response_id = opened.json()["response_id"]
        first = client.post(f"/responses/{response_id}/approve")
        assert first.status_code == 200, first.text
        assert {o["source"] for o in first.json()["issued"]} == set(ENTERPRISES)
        override = client.post(f"/responses/{response_id}/overrides", json=OVERRIDES[0])
        assert override.status_code == 200, override.text
        second = client.post(f"/responses/{response_id}/approve")
        assert second.status_code == 200, second.text
        assert second.json()["issued"] and second.json()["superseded"]
    # one notification per subscription of each event: the warning to all, orders to theirs
    changes = [first.json()[k] for k in ("issued", "superseded", "lifted")]
    changes += [second.json()[k] for k in ("issued", "superseded", "lifted")]
    expected = len(ENTERPRISES) + sum(len(c) for c in changes)

    # kill -9 once a few are received, a few are not, and a request is being answered
    def mid_delivery() -> bool:
        got = len(received(receivers))
        return 5 <= got <= expected - 3 and bool(answering(receivers, DELAY_S / 2))

    assert wait_for(mid_delivery, 30), f"no moment mid-delivery:\n{server.log()[-3000:]}"
    server.kill()
    answered_never = answering(receivers, DELAY_S)  # the server died before these answers
    got_then = received(receivers)
    rows = outbox(data_dir, db_url)
    assert len(rows) == expected, [(r.event, r.enterprise) for r in rows]
    assert answered_never, "no delivery was in flight at the kill"
    assert 0 < len(got_then) < len(rows), (len(got_then), len(rows))
    left = {row.message_id for row in rows if row.status != "delivered"}
    assert answered_never <= left, "an unanswered delivery is recorded delivered"
    assert left - got_then, "every notification had reached its receiver before the kill"
    print(f"killed with {len(got_then)}/{len(rows)} received, {len(answered_never)} unanswered")

    server.start()  # the same data folder and database
    done = wait_for(lambda: all_delivered(data_dir, db_url, receivers), 30, poll_s=0.2)
    assert done, f"not everything delivered after the restart:\n{server.log()[-3000:]}"
    times = check_deliveries(outbox(data_dir, db_url), receivers)
    again = {i for i in answered_never if times[i] < 2}
    assert again == set(), "deliveries cut by the kill were not sent again"

    # the restarted server's dispatcher carries on with new events
    before = len(outbox(data_dir, db_url))
    with server.client(planner) as client:
        released = client.post(f"/responses/{response_id}/release", json={"note": "test"})
        assert released.status_code == 200, released.text
    done = wait_for(lambda: all_delivered(data_dir, db_url, receivers), 30, poll_s=0.2)
    assert done, f"the release was not delivered:\n{server.log()[-3000:]}"
    rows = outbox(data_dir, db_url)
    assert {r.event for r in rows[before:]} >= {"warning.released", "order.lifted"}
    check_deliveries(rows, receivers)
