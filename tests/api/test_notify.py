"""Notifications: subscriptions, the transactional outbox, the dispatcher against a real
HTTP receiver (HMAC checked by the receiver), retries, deliveries per order, and two
dispatchers sharing one database."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.main import create_app
from emergency.notify.dispatch import Dispatcher, backoff, body_of, verify
from emergency.notify.outbox import enqueue
from emergency.service import consult as consultations
from emergency.service.access import Actor, Role
from emergency.service.orders import approve_version
from emergency.service.planning import get_response, plan_row
from emergency.settings import Settings
from emergency.store.db import Store
from emergency.store.models import DeliveryAttempt, Notification, Subscription
from tests.api.conftest import ORANGE, Clock, at_issue
from tests.databases import DATABASES
from tests.webhook_receiver import Receiver, serving

API = "/api/v1"
SECRET = "s3cret-of-the-test-receiver-0123"
PLANNER = Actor("planner", Role.planner, token_id=1)
Auth = dict[str, dict[str, str]]
POSTGRES = [p for p in DATABASES if p.id == "postgresql"]


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    """The server's own dispatcher off: the tests run the dispatcher themselves."""
    return Settings(
        data=data_dir, database_url=db_url, notify_dispatch=False, notify_private_targets=True
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver(SECRET)) as running:
        yield running


def subscribe(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    answer = client.post(f"{API}/subscriptions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def approve(client: TestClient, auth: Auth, clock: Clock) -> int:
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["planner"])
    assert r.status_code == 200, r.text
    rid = r.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    return int(rid)


def city_subscription(session: Any, target: str, at: Any) -> Subscription:
    """A webhook of the city's (no enterprise) straight in the store, signed with SECRET."""
    sub = Subscription(
        channel="webhook",
        target=target,
        secret=SECRET,
        enterprise_id=None,
        created_at=at,
        created_by="test",
    )
    session.add(sub)
    session.flush()
    return sub


def count(store: Store, *where: Any) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count(Notification.id)).where(*where)) or 0)


def test_an_approved_plan_reaches_the_enterprise_webhook(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    with serving(Receiver("city-wide-secret-0123456789")) as city:
        own = subscribe(client, auth["enterprise"], target=receiver.url, secret=SECRET)
        assert own["enterprise"] == "JY-P001" and own["secret"] is None
        made = subscribe(client, auth["admin"], target=city.url)
        assert made["enterprise"] is None and len(made["secret"]) >= 32  # shown this once
        city.secret = made["secret"]
        approve(client, auth, clock)
        counts = Dispatcher(store).run_once()
        assert counts["failed"] == counts["pending"] == 0 and counts["delivered"] > 0
        assert [g.event for g in city.got] == ["warning.opened"]
        assert all(g.signed for g in city.got + receiver.got)
    orders = client.get(f"{API}/orders", headers=auth["enterprise"]).json()
    assert orders, "JY-P001 has orders"
    issued = [json.loads(g.body) for g in receiver.got if g.event == "order.issued"]
    assert sorted(p["order"]["id"] for p in issued) == sorted(o["id"] for o in orders)
    assert all(p["order"]["source"] == "JY-P001" for p in issued)
    assert {g.event for g in receiver.got} == {"warning.opened", "order.issued"}
    first = json.loads(receiver.got[0].body)
    assert first["id"] == receiver.got[0].message_id  # the body names its message id too
    # the planner sees it delivered, per recipient, with the attempt
    seen = client.get(f"{API}/orders/{orders[0]['id']}/deliveries", headers=auth["planner"])
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["unreached"] is False and view["delivered"] == 1
    (one,) = view["deliveries"]
    assert (one["recipient"], one["status"], one["attempts"]) == (
        "enterprise:JY-P001",
        "delivered",
        1,
    )
    assert one["history"][0]["http_status"] == 200
    assert client.get(f"{API}/orders/1/deliveries", headers=auth["enterprise"]).status_code == 403
    # nothing left to send
    assert Dispatcher(store).run_once() == {"delivered": 0, "pending": 0, "failed": 0}


def test_a_500_is_retried_and_delivered_once_with_two_attempts(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    subscribe(client, auth["enterprise"], target=receiver.url, secret=SECRET)
    approve(client, auth, clock)
    total = count(store)
    receiver.answers = [500] * total  # every first try fails
    first = Dispatcher(store).run_once()
    assert first["pending"] == total and first["delivered"] == 0
    assert Dispatcher(store).run_once()["delivered"] == 0  # not due before the backoff
    clock.advance(seconds=30)  # past the first backoff (10 s at most, with jitter 5–10 s)
    assert Dispatcher(store).run_once()["delivered"] == total
    with store.session() as session:
        rows = session.scalars(select(Notification)).all()
        assert {(n.status, n.attempts, n.last_error) for n in rows} == {("delivered", 2, None)}
        outcomes = session.execute(
            select(DeliveryAttempt.outcome, DeliveryAttempt.http_status, func.count()).group_by(
                DeliveryAttempt.outcome, DeliveryAttempt.http_status
            )
        ).all()
    assert sorted(map(tuple, outcomes)) == [("delivered", 200, total), ("retry", 500, total)]
    bodies: dict[str, set[bytes]] = {}
    for got in receiver.got:
        bodies.setdefault(got.message_id, set()).add(got.body)
    assert len(bodies) == total and all(len(b) == 1 for b in bodies.values())


def test_too_old_is_failed_with_the_last_error(
    client: TestClient, auth: Auth, store: Store, clock: Clock
) -> None:
    subscribe(client, auth["admin"], target="http://127.0.0.1:9/nobody-listens")
    approve(client, auth, clock)
    assert Dispatcher(store).run_once()["pending"] == 1  # warning.opened
    clock.advance(hours=25)  # past notify_max_age_hours (and every order's ack deadline)
    assert Dispatcher(store).run_once()["failed"] == 1
    with store.session() as session:
        (n,) = session.scalars(
            select(Notification).where(Notification.event == "warning.opened")
        ).all()
        assert n.status == "failed" and n.attempts == 2 and n.last_error
        attempts = select(func.count(DeliveryAttempt.id))
        assert session.scalar(attempts.where(DeliveryAttempt.notification_id == n.id)) == 2


def test_nothing_is_written_when_the_change_rolls_back(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    subscribe(client, auth["enterprise"], target=receiver.url, secret=SECRET)
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, ORANGE))
    before = count(store)
    assert before == 1  # the warning opened (every subscriber hears of it); no order yet
    with store.session() as session:
        response = get_response(session, result.response_id or 0)
        done = approve_version(session, PLANNER, response, plan_row(session, response))
        assert done.issued
        inside = session.scalar(select(func.count(Notification.id)))
        own = [o for o in done.issued if o.source == "JY-P001"]
        assert own and inside == before + len(own)
        session.rollback()
    assert count(store) == before
    Dispatcher(store).run_once()
    assert [g.event for g in receiver.got] == ["warning.opened"]


def test_subscriptions_hostile_input_and_secrets_never_shown(
    client: TestClient, auth: Auth, store: Store
) -> None:
    url = "https://hooks.example.cn/emergency"
    forbidden = client.post(
        f"{API}/subscriptions",
        json={"target": url, "enterprise": "JY-P002"},
        headers=auth["enterprise"],
    )
    assert forbidden.status_code == 403, forbidden.text
    for target in (
        "ftp://example.cn/x",
        "javascript:alert(1)",
        "http://",
        "example.cn/hook",
        "http://exa mple.cn/",
        "https://example.cn:99999/",
    ):
        bad = client.post(f"{API}/subscriptions", json={"target": target}, headers=auth["admin"])
        assert bad.status_code in (400, 422), (target, bad.status_code, bad.text)
    short = client.post(
        f"{API}/subscriptions", json={"target": url, "secret": "short"}, headers=auth["admin"]
    )
    assert short.status_code == 422
    unknown = client.post(
        f"{API}/subscriptions", json={"target": url, "enterprise": "NOPE"}, headers=auth["admin"]
    )
    assert unknown.status_code == 400
    mine = subscribe(client, auth["enterprise"], target=url, secret=SECRET)
    other = subscribe(client, auth["admin"], target=url, enterprise="JY-P002")
    assert (
        client.post(
            f"{API}/subscriptions", json={"target": url}, headers=auth["planner"]
        ).status_code
        == 403
    )
    listed = client.get(f"{API}/subscriptions", headers=auth["enterprise"]).json()
    assert [s["id"] for s in listed] == [mine["id"]]
    everything = client.get(f"{API}/subscriptions", headers=auth["admin"]).json()
    assert {s["id"] for s in everything} == {mine["id"], other["id"]}
    assert all(s["secret"] is None for s in listed + everything)
    assert SECRET not in client.get(f"{API}/subscriptions", headers=auth["admin"]).text
    # another enterprise's subscription: not found, and it stays
    gone = client.delete(f"{API}/subscriptions/{mine['id']}", headers=auth["enterprise2"])
    assert gone.status_code == 404
    assert (
        client.delete(f"{API}/subscriptions/{other['id']}", headers=auth["enterprise"]).status_code
        == 404
    )
    assert (
        client.delete(f"{API}/subscriptions/{mine['id']}", headers=auth["enterprise"]).status_code
        == 200
    )
    assert (
        client.delete(f"{API}/subscriptions/{mine['id']}", headers=auth["enterprise"]).status_code
        == 404
    )
    assert client.get(f"{API}/subscriptions", headers=auth["enterprise"]).json() == []


def test_an_order_not_reached_is_flagged(client: TestClient, auth: Auth, clock: Clock) -> None:
    approve(client, auth, clock)  # no subscription: nothing can be delivered
    order = client.get(f"{API}/orders", headers=auth["enterprise"]).json()[0]
    path = f"{API}/orders/{order['id']}/deliveries"
    assert client.get(path, headers=auth["planner"]).json()["unreached"] is False  # just issued
    clock.advance(minutes=11)
    view = client.get(path, headers=auth["planner"]).json()
    assert view["unreached"] is True and view["deliveries"] == []
    assert (
        client.post(f"{API}/orders/{order['id']}/ack", headers=auth["enterprise"]).status_code
        == 200
    )
    assert client.get(path, headers=auth["planner"]).json()["unreached"] is False


def test_warning_release_and_a_deleted_subscription(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    made = subscribe(client, auth["admin"], target=receiver.url, secret=SECRET)
    rid = approve(client, auth, clock)
    released = client.post(f"{API}/responses/{rid}/release", headers=auth["planner"], json={})
    assert released.status_code == 200, released.text
    Dispatcher(store).run_once()
    # (parallel workers: the two may arrive in either order; each carries its time)
    assert sorted(g.event for g in receiver.got) == ["warning.opened", "warning.released"]
    (last,) = [g for g in receiver.got if g.event == "warning.released"]
    assert json.loads(last.body)["warning"]["status"] == "released"
    # pending notifications of a deleted subscription fail, unsent
    with store.session() as session:
        sub = session.get(Subscription, made["id"])
        assert sub is not None
        enqueue(session, [sub], {"event": "warning.test"})
        session.commit()
    assert (
        client.delete(f"{API}/subscriptions/{made['id']}", headers=auth["admin"]).status_code == 200
    )
    assert Dispatcher(store).run_once()["failed"] == 1
    assert len(receiver.got) == 2


def test_the_signature_helpers_agree_with_the_receiver() -> None:
    body = body_of({"b": 1, "a": "预警"})
    assert body == '{"a":"预警","b":1}'.encode()
    import hashlib
    import hmac

    mac = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert verify("k" * 16, "1700000000", body, f"sha256={mac}")
    assert not verify("k" * 16, "1700000001", body, f"sha256={mac}")
    assert not verify("k" * 16, "nope", body, f"sha256={mac}")


class Edge(random.Random):
    """A "random" source that always draws the lower (``low``) or the upper end."""

    def __init__(self, low: bool) -> None:
        super().__init__(0)
        self.low = low

    def uniform(self, a: float, b: float) -> float:
        return a if self.low else b


def test_backoff_doubles_is_capped_and_jitters_in_the_upper_half() -> None:
    base, cap = 10.0, 1800.0
    top = [backoff(n, base, cap, Edge(low=False)) for n in range(1, 11)]
    assert top == [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 1800.0, 1800.0]
    bottom = [backoff(n, base, cap, Edge(low=True)) for n in range(1, 11)]
    assert bottom == [t / 2 for t in top]  # the jitter takes at most half the delay
    assert backoff(0, base, cap, Edge(low=False)) == base  # no failure yet: the first delay
    assert backoff(60, base, cap, Edge(low=False)) == cap  # no overflow far past the cap
    assert backoff(3, 1.0, 3.0, Edge(low=False)) == 3.0  # a cap that is not a power of two
    rng = random.Random(20161215)
    for attempts in (1, 2, 5, 8, 12):
        delay = min(cap, base * 2 ** (attempts - 1))
        draws = [backoff(attempts, base, cap, rng) for _ in range(500)]
        assert all(delay / 2 <= d <= delay for d in draws), attempts
        assert len(set(draws)) > 400  # jittered: the retries of many receivers spread out
        assert min(draws) < delay * 0.6 and max(draws) > delay * 0.9  # over the whole half
    # the same seed draws the same delays (a dispatcher's rng is injectable)
    assert [backoff(4, base, cap, random.Random(7)) for _ in range(3)] == [
        backoff(4, base, cap, random.Random(7))
    ] * 3


def test_the_dispatcher_schedules_each_retry_by_the_backoff(
    store: Store, clock: Clock, receiver: Receiver
) -> None:
    """Three failures in a row: the retry is due 10, 20, then 40 s after the failed try
    (the upper end of the jitter drawn), and not a moment before."""
    receiver.answers = [503, 503, 503]
    with store.session() as session:
        sub = city_subscription(session, receiver.url, clock())
        (row,) = enqueue(session, [sub], {"event": "warning.test"})
        session.commit()
        nid = row.id
    dispatcher = Dispatcher(store, rng=Edge(low=False))
    for wait in (10, 20, 40):
        failed_at = clock()
        assert dispatcher.run_once() == {"delivered": 0, "pending": 1, "failed": 0}
        with store.session() as session:
            n = session.get(Notification, nid)
            assert (
                n is not None
                and n.status == "pending"
                and (n.last_error or "").startswith("HTTP 503")
            )
            due = n.next_attempt_at
        if due.tzinfo is None:  # SQLite keeps naive UTC
            due = due.replace(tzinfo=dt.UTC)
        assert due == failed_at + dt.timedelta(seconds=wait)
        clock.advance(seconds=wait - 1)
        assert dispatcher.run_once()["pending"] == 0  # not due yet: nothing claimed
        clock.advance(seconds=1)
    assert dispatcher.run_once()["delivered"] == 1
    assert len(receiver.got) == 4 and len(set(receiver.ids())) == 1


def test_server_runs_the_dispatcher_in_its_lifespan(
    data_dir: Path, db_url: str | None, store: Store, clock: Clock, receiver: Receiver
) -> None:
    """Default on: the server's own thread delivers without anyone calling it."""
    settings = Settings(
        data=data_dir, database_url=db_url, notify_poll_s=0.05, notify_private_targets=True
    )
    with TestClient(create_app(settings, store=store)):
        with store.session() as session:
            sub = city_subscription(session, receiver.url, clock())
            enqueue(session, [sub], {"event": "warning.test"})
            session.commit()
        deadline = time.monotonic() + 20
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [g.event for g in receiver.got] == ["warning.test"]


def test_two_dispatchers_never_send_one_message_at_once(
    store: Store, clock: Clock, db_url: str | None
) -> None:
    """Two dispatchers (threads, own engines on PostgreSQL) on 40 notifications: each is
    sent exactly once and never while the other holds it."""
    with serving(Receiver(SECRET, delay=0.02)) as slow:
        with store.session() as session:
            sub = city_subscription(session, slow.url, clock())
            for i in range(40):
                enqueue(session, [sub], {"event": "warning.test", "n": i})
            session.commit()
        stores = [store, Store(store.url, store.config)]
        try:
            barrier = threading.Barrier(2)
            results: list[dict[str, int]] = []

            def run(s: Store) -> None:
                barrier.wait()
                results.append(Dispatcher(s).run_once())

            threads = [threading.Thread(target=run, args=(s,)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        finally:
            stores[1].dispose()
        assert slow.overlaps == []
        ids = slow.ids()
        assert len(ids) == len(set(ids)) == 40, (results, len(ids), len(set(ids)))
        assert sum(r["delivered"] for r in results) == 40


def test_a_slow_webhook_holds_one_worker_not_the_others(store: Store, clock: Clock) -> None:
    """One delivery held open at a receiver: a notification written meanwhile for another
    receiver is delivered while the first is still held (the dispatcher claims again as
    workers are free, within a poll)."""

    hold = threading.Event()
    with serving(Receiver(SECRET, hold=hold)) as stuck, serving(Receiver(SECRET)) as quick:
        with store.session() as session:
            enqueue(
                session, [city_subscription(session, stuck.url, clock())], {"event": "warning.test"}
            )
            later = city_subscription(session, quick.url, clock())
            session.commit()
        results: list[dict[str, int]] = []
        worker = threading.Thread(target=lambda: results.append(Dispatcher(store).run_once()))
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while not stuck.ids() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stuck.ids(), "the first delivery is in flight"
            with store.session() as session:
                enqueue(session, [session.get(Subscription, later.id)], {"event": "warning.next"})
                session.commit()
            deadline = time.monotonic() + 5  # the poll is 1 s
            while not quick.ids() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert quick.ids(), "the second waited for the first"
            assert not hold.is_set() and worker.is_alive()
        finally:
            hold.set()
            worker.join(30)
        assert results == [{"delivered": 2, "pending": 0, "failed": 0}]


if POSTGRES:  # no test at all without PostgreSQL (nothing is skipped)

    @pytest.mark.parametrize("db_url", POSTGRES, indirect=True)
    def test_postgres_claims_skip_locked_rows(store: Store, clock: Clock) -> None:
        """Generated only when a PostgreSQL server is named (as CI does)."""
        with store.session() as session:
            sub = city_subscription(session, "http://127.0.0.1:9/x", clock())
            rows = [enqueue(session, [sub], {"event": "warning.test", "n": i})[0] for i in range(3)]
            session.commit()
            held_id = rows[0].id
        with store.engine.connect() as other:
            other.execute(text("SET lock_timeout = '5s'"))
            other.execute(
                text("SELECT id FROM notifications WHERE id = :i FOR UPDATE"), {"i": held_id}
            )
            claimed = Dispatcher(store).claim()  # does not wait for the locked row
            assert held_id not in {c.id for c in claimed} and len(claimed) == 2
            other.rollback()
