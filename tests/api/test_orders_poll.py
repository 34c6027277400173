"""GET /orders in one statement: the statements of a poll are counted, the list is the one
``list_orders`` gives (the pages' and the service's reference), and the token's rules hold
on both paths (the full list and the 304)."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from emergency.notify.overdue import sweep_overdue
from emergency.service.access import SYSTEM
from emergency.service.orders import list_orders
from emergency.service.tokens import authenticate, revoke_token
from emergency.settings import Settings
from emergency.store import db
from emergency.store.db import Store, make_engine
from tests.api.conftest import ORANGE, RED, Clock, at_issue, bearer, make_token
from tests.api.test_season_api import approve as approve_season
from tests.api.test_season_api import post_season
from tests.api.test_tokens_expiry import make_expiring
from tests.databases import DATABASES, PG_ENV

API = "/api/v1"
Auth = dict[str, dict[str, str]]

POLL_STATEMENTS = 1
"""A poll is one statement: the token, its actor and the list (or only the ETag, when an
``If-None-Match`` is sent) in one SELECT. The token check is inside it, not before it."""
CHANGED_POLL_STATEMENTS = 2
"""A poll whose ``If-None-Match`` no longer matches: the ETag's statement, then the list's."""


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    """The server's own dispatcher off: its thread writes an order's overdue event (a new
    history entry, a new ETag) whenever it next looks after the clock passed the order's
    deadline — between two polls that should agree, at random. :func:`busy_city` runs the
    sweep itself."""
    return Settings(
        data=data_dir, database_url=db_url, max_body_bytes=64 * 1024, notify_dispatch=False
    )


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[int, str]]]:
    """Every statement sent to the database meanwhile, with the thread that sent it."""
    seen: list[tuple[int, str]] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((threading.get_ident(), statement))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def counted(
    client: TestClient, store: Store, headers: dict[str, str], etag: str | None = None
) -> tuple[int, str, list[str]]:
    """One poll: its status, its ETag and the statements the request sent (those of the
    thread that checked the token: the service's background readers run on their own)."""
    sent = headers | ({"If-None-Match": etag} if etag else {})
    with statements(store) as seen:
        answer = client.get(f"{API}/orders", headers=sent)
    assert answer.status_code in (200, 304), answer.text
    threads = {thread for thread, sql in seen if "api_tokens" in sql}
    assert len(threads) == 1, seen
    return answer.status_code, answer.headers["etag"], [s for t, s in seen if t in threads]


def busy_city(client: TestClient, auth: Auth, clock: Clock, store: Store) -> int:
    """Orders of every kind and state: a staggered order (season plan), response orders
    issued, one acknowledged and reported on, then superseded by an upgrade; one of the
    upgrade's orders acknowledged. The orders left unacknowledged past their deadline (the
    staggered one, the first response's others) have their overdue event in their history:
    the sweep the dispatcher runs (emergency.notify.overdue) is run here once the clock has
    passed the deadline (the server's own dispatcher is off, see :func:`settings`)."""
    approve_season(client, auth, post_season(client, auth)["id"])
    planner, firm = auth["planner"], auth["enterprise"]
    rid = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=planner)
    rid = rid.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    mine = [o for o in client.get(f"{API}/orders", headers=firm).json() if o["response_id"]]
    assert client.post(f"{API}/orders/{mine[0]['id']}/ack", headers=firm).status_code == 200
    clock.now = dt.datetime(2016, 12, 16, 4, 0, tzinfo=dt.UTC)
    sweep_overdue(store)  # what a dispatcher writes at its next look
    report = {"at": clock().isoformat(), "load": 0.4}
    url = f"{API}/orders/{mine[0]['id']}/reports"
    assert client.post(url, json=report, headers=firm).status_code == 201
    upgraded = client.post(f"{API}/consultations", json=at_issue(clock, RED), headers=planner)
    assert upgraded.json()["orders_superseded"] > 0, upgraded.text
    theirs = client.get(f"{API}/orders", params={"status": "issued"}, headers=auth["enterprise2"])
    ack = client.post(f"{API}/orders/{theirs.json()[0]['id']}/ack", headers=auth["enterprise2"])
    assert ack.status_code == 200
    return int(rid)


def test_a_poll_is_one_statement(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    busy_city(client, auth, clock, store)
    for role in ("enterprise", "planner", "inspector"):
        status, etag, sent = counted(client, store, auth[role])
        assert status == 200 and len(sent) == POLL_STATEMENTS, (role, sent)
        status, again, sent = counted(client, store, auth[role], etag)
        assert (status, again) == (304, etag) and len(sent) == POLL_STATEMENTS, (role, sent)
        status, _, sent = counted(client, store, auth[role], '"stale"')
        assert status == 200 and len(sent) == CHANGED_POLL_STATEMENTS, (role, sent)


def test_an_overdue_event_is_a_change_of_the_list(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    """A change no request makes: a dispatcher's sweep writing the overdue event of the
    orders past their deadline adds to their history, so a poll with the ETag of before
    gets the new list; until then, and after, the same list is a 304."""
    busy_city(client, auth, clock, store)
    planner = auth["planner"]

    def poll(etag: str) -> tuple[int, str]:
        answer = client.get(f"{API}/orders", headers=planner | {"If-None-Match": etag})
        return answer.status_code, answer.headers["etag"]

    before = client.get(f"{API}/orders", headers=planner).headers["etag"]
    clock.advance(hours=3)  # past the deadline of the upgrade's orders: nothing written yet
    assert poll(before) == (304, before)
    assert sweep_overdue(store) > 0
    answer = client.get(f"{API}/orders", headers=planner | {"If-None-Match": before})
    assert answer.status_code == 200 and answer.headers["etag"] != before
    issued = {o["id"] for o in answer.json() if o["status"] == "issued"}
    told = {o["id"] for o in answer.json() if o["history"][-1]["event"] == "ack_overdue"}
    assert issued and told == issued
    after = answer.headers["etag"]
    assert poll(after) == (304, after)


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": "issued"},
    {"status": "superseded"},
    {"kind": "staggered"},
    {"kind": "response"},
    {"source": "JY-P002"},
    {"source": "JY-P001", "status": "acknowledged"},
]


def test_the_poll_lists_what_list_orders_lists(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    rid = busy_city(client, auth, clock, store)
    with store.session() as session:
        for role in ("enterprise", "enterprise2", "planner", "inspector"):
            actor = authenticate(session, auth[role]["Authorization"].removeprefix("Bearer "))
            for filters in [*FILTERS, {"response": rid}, {"response": rid, "kind": "staggered"}]:
                answer = client.get(f"{API}/orders", params=filters, headers=auth[role])
                assert answer.status_code == 200, answer.text
                wanted = {("response_id" if k == "response" else k): v for k, v in filters.items()}
                expected = [
                    v.model_dump(mode="json") for v in list_orders(session, actor, **wanted)
                ]
                assert answer.json() == expected, (role, filters)
    everything = client.get(f"{API}/orders", headers=auth["planner"]).json()
    assert {o["kind"] for o in everything} == {"staggered", "response"}
    assert {o["status"] for o in everything} >= {"issued", "acknowledged", "superseded"}
    assert any(o["reports"] and len(o["history"]) >= 3 for o in everything)
    assert {
        o["source"] for o in client.get(f"{API}/orders", headers=auth["enterprise"]).json()
    } == {"JY-P001"}


def test_no_list_and_no_304_without_a_working_token_of_a_reader(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    busy_city(client, auth, clock, store)
    # no token, a junk one: 401, even for "*" (which matches any list)
    for headers in ({}, bearer("em_" + "x" * 43)):
        for tag in (None, "*"):
            sent = headers | ({"If-None-Match": tag} if tag else {})
            answer = client.get(f"{API}/orders", headers=sent)
            assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
            assert "etag" not in answer.headers
    # roles that do not read orders: 403 before any 304
    for role in ("admin", "consultation"):
        for tag in (None, "*"):
            sent = auth[role] | ({"If-None-Match": tag} if tag else {})
            assert client.get(f"{API}/orders", headers=sent).status_code == 403
    # a revoked token: its own last ETag gets 401, not 304
    secret = make_token(store, "enterprise", "JY-P001")
    etag = client.get(f"{API}/orders", headers=bearer(secret)).headers["etag"]
    sent = bearer(secret) | {"If-None-Match": etag}
    assert client.get(f"{API}/orders", headers=sent).status_code == 304
    with store.session() as session:
        revoke_token(session, SYSTEM, authenticate(session, secret).token_id or 0)
        session.commit()
    assert client.get(f"{API}/orders", headers=sent).status_code == 401
    assert client.get(f"{API}/orders", headers=bearer(secret)).status_code == 401
    # an expired one: 304 until it expires, then 401
    _view, secret = make_expiring(store, "planner", dt.timedelta(hours=1))
    etag = client.get(f"{API}/orders", headers=bearer(secret)).headers["etag"]
    sent = bearer(secret) | {"If-None-Match": etag}
    assert client.get(f"{API}/orders", headers=sent).status_code == 304
    clock.advance(hours=1)
    assert client.get(f"{API}/orders", headers=sent).status_code == 401
    assert client.get(f"{API}/orders", headers=bearer(secret)).status_code == 401


def test_an_etag_is_its_holders_alone(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    """Another enterprise sending the first one's ETag gets its own list, never a 304;
    neither does a second token of the same enterprise (the ETag names the token)."""
    busy_city(client, auth, clock, store)
    etag = client.get(f"{API}/orders", headers=auth["enterprise"]).headers["etag"]
    other = client.get(f"{API}/orders", headers=auth["enterprise2"] | {"If-None-Match": etag})
    assert other.status_code == 200 and {o["source"] for o in other.json()} == {"JY-P002"}
    twin = bearer(make_token(store, "enterprise", "JY-P001"))
    again = client.get(f"{API}/orders", headers=twin | {"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag


@pytest.mark.parametrize("value", ["0", "-1", "2147483648", "x"])
def test_a_bad_filter_is_a_422(client: TestClient, auth: Auth, value: str) -> None:
    answer = client.get(f"{API}/orders", params={"response": value}, headers=auth["enterprise"])
    assert answer.status_code == 422
    answer = client.get(f"{API}/orders", params={"status": "gone"}, headers=auth["enterprise"])
    assert answer.status_code == 422


def cut_connections(store: Store) -> int:
    """End every server connection of the store's schema (as a restart would), from
    outside its pool; how many were ended."""
    name = store.engine.url.query["application_name"]
    admin = make_engine(os.environ[PG_ENV])
    try:
        with admin.begin() as conn:
            ended = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).all()
    finally:
        admin.dispose()
    return len(ended)


if any(p.id == "postgresql" for p in DATABASES):  # generated only with a PostgreSQL server

    @pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
    def test_a_poll_survives_connections_cut_in_use(
        client: TestClient, auth: Auth, clock: Clock, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Pooled connections are checked only after PING_AFTER_IDLE_S idle: one cut while
        in steady use fails its statement, and the poll (a read) runs it again on a fresh
        connection. Idle ones are checked and replaced before use, for any request."""
        busy_city(client, auth, clock, store)
        firm = auth["enterprise"]
        etag = client.get(f"{API}/orders", headers=firm).headers["etag"]
        for tag in (None, etag, '"stale"'):
            assert cut_connections(store) >= 1
            sent = firm | ({"If-None-Match": tag} if tag else {})
            answer = client.get(f"{API}/orders", headers=sent)
            assert answer.status_code == (304 if tag == etag else 200), answer.text
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every connection "idle"
        assert cut_connections(store) >= 1
        assert client.get(f"{API}/responses", headers=auth["planner"]).status_code == 200
