"""Notifications of the warning changes a consultation decides (the joint forecast, not a
key period): opened → upgraded → extended → downgraded, each delivered to every subscriber
exactly once, with its level, over a real HTTP receiver that checks the HMAC; and the
staggered (heating-season) orders of an approved season plan reaching the enterprise."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emergency.notify.dispatch import Dispatcher
from emergency.settings import Settings
from emergency.store.db import Store
from tests.api.conftest import ORANGE, RED, Clock, at_issue, forecast
from tests.api.test_notify import SECRET, subscribe
from tests.api.test_season_api import approve as approve_season
from tests.api.test_season_api import post_season
from tests.webhook_receiver import Got, Receiver, serving

API = "/api/v1"
CITY_SECRET = "another-secret-of-the-city-0456"
Auth = dict[str, dict[str, str]]

EXTENDED = forecast(
    dt.date(2016, 12, 17),
    [[310, 360], [320, 400], [310, 340], [260, 300], [250, 300], [110, 150]],
    issued_at="2016-12-17T12:00:00+08:00",
)
"""Issued on 17 Dec: still red, but to 21 Dec instead of 20 Dec (extended)."""
DOWN = forecast(
    dt.date(2016, 12, 18),
    [[210, 240], [220, 250], [100, 150], [90, 120]],
    issued_at="2016-12-18T10:00:00+08:00",
)
"""Issued on 18 Dec: only two days above 200 from the 18th (yellow): downgraded."""


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


def consult(client: TestClient, auth: Auth, clock: Clock, fc: dict[str, Any]) -> dict[str, Any]:
    """POST the forecast as the consultation (the clock at its issue time)."""
    r = client.post(f"{API}/consultations", json=at_issue(clock, fc), headers=auth["consultation"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def warnings(got: list[Got]) -> list[Got]:
    return [g for g in got if g.event.startswith("warning.")]


def delivered(store: Store) -> dict[str, int]:
    counts = Dispatcher(store).run_once()
    assert counts["failed"] == counts["pending"] == 0, counts
    return counts


def check_one(got: list[Got], event: str, level: str, rid: int, start: str, end: str) -> None:
    """Exactly one delivery of ``event``, signed, its id in header and body, its warning."""
    (one,) = [g for g in got if g.event == event]
    assert one.signed
    body = json.loads(one.body)
    assert body["event"] == event
    assert body["id"] == one.message_id and len(one.message_id) == 36  # a UUID
    w = body["warning"]
    assert (w["response_id"], w["level"], w["start"], w["end"], w["status"]) == (
        rid,
        level,
        start,
        end,
        "open",
    )


def test_consultations_open_upgrade_extend_and_downgrade_reach_every_subscriber(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    with serving(Receiver(CITY_SECRET)) as city:
        subscribe(client, auth["enterprise"], target=receiver.url, secret=SECRET)
        subscribe(client, auth["admin"], target=city.url, secret=CITY_SECRET)
        hearers = (city, receiver)

        opened = consult(client, auth, clock, ORANGE)
        assert opened["action"] == "opened"
        rid = int(opened["response_id"])
        r = client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
        assert r.status_code == 200, r.text
        delivered(store)
        for hearer in hearers:
            assert [g.event for g in warnings(hearer.got)] == ["warning.opened"]
            check_one(hearer.got, "warning.opened", "orange", rid, "2016-12-16", "2016-12-19")

        up = consult(client, auth, clock, RED)
        assert (up["action"], up["response_id"]) == ("upgraded", rid)
        delivered(store)
        for hearer in hearers:
            events = [g.event for g in warnings(hearer.got)]
            assert events == ["warning.opened", "warning.upgraded"]
            check_one(hearer.got, "warning.upgraded", "red", rid, "2016-12-16", "2016-12-20")
        # the orders followed the upgrade at once: the enterprise hears of them too
        assert {"order.issued", "order.superseded"} <= {g.event for g in receiver.got}

        # extended: the first try at the city fails, the retry carries the same id and body.
        # First, at the forecast's time, the overdue acknowledgements of the orders the
        # upgrade issued go out (the city hears of them too), so the 500 meets the warning.
        at_issue(clock, EXTENDED)
        delivered(store)
        assert any(g.event == "order.ack_overdue" for g in city.got)
        city.answers = [500]
        longer = consult(client, auth, clock, EXTENDED)
        assert (longer["action"], longer["response_id"]) == ("extended", rid)
        counts = Dispatcher(store).run_once()
        assert counts["pending"] == 1 and counts["failed"] == 0, counts
        clock.advance(seconds=30)  # past the first backoff (at most 10 s)
        delivered(store)
        tries = [g for g in city.got if g.event == "warning.extended"]
        assert len(tries) == 2 and tries[0].message_id == tries[1].message_id
        assert tries[0].body == tries[1].body
        city.got = [g for g in city.got if g is not tries[0]]  # the failed try, answered 500
        for hearer in hearers:
            events = [g.event for g in warnings(hearer.got)]
            assert events == ["warning.opened", "warning.upgraded", "warning.extended"]
            check_one(hearer.got, "warning.extended", "red", rid, "2016-12-16", "2016-12-21")

        down = consult(client, auth, clock, DOWN)
        assert (down["action"], down["response_id"]) == ("downgraded", rid)
        delivered(store)
        for hearer in hearers:
            events = [g.event for g in warnings(hearer.got)]
            assert events == [
                "warning.opened",
                "warning.upgraded",
                "warning.extended",
                "warning.downgraded",
            ]
            check_one(hearer.got, "warning.downgraded", "yellow", rid, "2016-12-16", "2016-12-19")
            # every delivery a distinct message, one id per (subscriber, event)
            ids = [g.message_id for g in warnings(hearer.got)]
            assert len(set(ids)) == len(ids) == 4
        # the two subscribers never share a message id
        assert not {g.message_id for g in city.got} & {g.message_id for g in receiver.got}
        assert all(g.signed for g in city.got + receiver.got)
    assert Dispatcher(store).run_once() == {"delivered": 0, "pending": 0, "failed": 0}


def test_an_unchanged_consultation_notifies_nobody(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    subscribe(client, auth["admin"], target=receiver.url, secret=SECRET)
    assert consult(client, auth, clock, ORANGE)["action"] == "opened"
    assert consult(client, auth, clock, ORANGE)["action"] == "unchanged"
    delivered(store)
    assert [g.event for g in receiver.got] == ["warning.opened"]


def test_the_season_plans_staggered_order_reaches_the_enterprise(
    client: TestClient, auth: Auth, store: Store, clock: Clock, receiver: Receiver
) -> None:
    with serving(Receiver(CITY_SECRET)) as other:
        subscribe(client, auth["enterprise"], target=receiver.url, secret=SECRET)
        subscribe(client, auth["enterprise2"], target=other.url, secret=CITY_SECRET)
        season = post_season(client, auth)
        assert client.get(f"{API}/orders", headers=auth["planner"]).json() == []
        delivered(store)
        assert receiver.got == []  # pending: nothing issued, nothing sent
        done = approve_season(client, auth, season["id"])
        (order,) = done["issued"]
        assert (order["kind"], order["source"]) == ("staggered", "JY-P001")
        delivered(store)
        assert other.got == []  # JY-P002 has no staggered order
    (got,) = receiver.got
    assert got.event == "order.issued" and got.signed
    body = json.loads(got.body)
    assert body["id"] == got.message_id and body["event"] == "order.issued"
    sent = body["order"]
    assert (sent["id"], sent["kind"], sent["source"]) == (order["id"], "staggered", "JY-P001")
    assert (sent["season_plan_id"], sent["response_id"]) == (season["id"], None)
    assert (sent["start"], sent["planned_end"] or sent["end"]) == ("2016-12-20", "2016-12-22")
    assert sent["measure"]["id"] == "stop-sinter"
    assert "season plan winter-2016" in body["note"]
    seen = client.get(f"{API}/orders/{order['id']}/deliveries", headers=auth["planner"]).json()
    assert seen["delivered"] == 1 and seen["unreached"] is False
