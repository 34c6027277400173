"""Access: the role matrix walked over the app's own route table, tokens, logs, audit log.

The matrix test is generated: the routes come from ``app.routes`` (each with the action its
``Allow`` dependency declares), the expectations from ``PERMISSIONS``, and each route runs
against a fresh city for every role, for an enterprise both on its own resources and on
another enterprise's. A route must have an entry in :data:`ROUTES` (how its resource
belongs to an enterprise, and a valid body): a new route without one fails
:func:`test_every_route_has_an_entry_and_an_action`.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import String, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import JSON

from api.deps import Declares
from api.main import create_app
from emergency.service.access import PERMISSIONS, SYSTEM, Action, Role
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token
from emergency.settings import Settings, utc_now
from emergency.store.db import Store
from emergency.store.models import (
    AuditEntry,
    Base,
    Order,
    Report,
    Subscription,
)
from tests.api.conftest import STREAM_MINUTES
from tests.api.test_gates import gates_now
from tests.api.test_meters import readings_now
from tests.api.test_season_api import season_around
from tests.api.test_verification import observations_now
from tests.reliability.conftest import ServerFactory
from tests.reliability.invariants import open_store as open_existing
from tests.reliability.live import (
    API,
    OVERRIDES,
    bearer,
    city_today,
    cli_token,
    orange,
    orange_today,
    report_now,
    run_cli,
    where,
)
from tests.supervision_data import PNG, add_photo, open_task

Scope = Literal["public", "city", "listed", "owned", "streamed"]
"""How a route's resource belongs to an enterprise: ``public`` needs no token; ``city``
belongs to no enterprise; ``listed`` is a list an enterprise sees only its part of;
``owned`` is one enterprise's (another enterprise gets 404); ``streamed`` is a stream of
events an enterprise gets only its own of."""


def report_body(city: City, whose: str) -> Any:
    """A report dated now on the order, acknowledged first — straight in the store, as the
    acknowledgement has its own row in the matrix (a report before it is 409)."""
    with city.store.session() as session:
        order = session.get(Order, city.orders[whose])
        assert order is not None
        if order.acknowledged_at is None:
            order.status, order.acknowledged_at = "acknowledged", utc_now()
            session.commit()
    return report_now()


def task_body(city: City, whose: str) -> Any:
    """A task for a fresh anomaly: a report above the order's allowed load, straight in
    the store (each call makes a new one, so each task is the first of its anomaly)."""
    with city.store.session() as session:
        order = session.get(Order, city.orders["own"])
        assert order is not None
        at = utc_now()
        report = Report(order_id=order.id, at=at, load=1.0, received_at=at, actor="test")
        session.add(report)
        session.commit()
        return {"response_id": city.response_id, "anomaly_key": f"load:{order.id}:{report.id}"}


def plan_body(city: City, whose: str) -> Any:
    """The enterprise's plan as stored, with a comment that makes it a change."""
    city.writes += 1
    return city.plan_texts[city.firms[whose]] + f"\n# reviewed ({city.writes})\n"


Body = Callable[["City", str], Any] | None
ROUTES: dict[tuple[str, str], tuple[Scope, Body]] = {
    ("POST", "/consultations"): ("city", lambda _c, _w: orange()),
    ("GET", "/consultations"): ("city", None),
    ("GET", "/responses"): ("city", None),
    ("GET", "/responses/{response_id}"): ("city", None),
    ("GET", "/responses/{response_id}/plan"): ("city", None),
    ("GET", "/responses/{response_id}/plan.csv"): ("city", None),
    ("GET", "/responses/{response_id}/plan.xlsx"): ("city", None),
    ("GET", "/responses/{response_id}/plan-report.xlsx"): ("city", None),
    ("POST", "/responses/{response_id}/overrides"): ("city", lambda _c, _w: OVERRIDES[1]),
    ("DELETE", "/responses/{response_id}/overrides/{override_id}"): ("city", None),
    ("POST", "/responses/{response_id}/approve"): ("city", lambda _c, _w: {}),
    ("POST", "/responses/{response_id}/release"): ("city", lambda _c, _w: {"note": "air clear"}),
    ("GET", "/orders"): ("listed", None),
    ("GET", "/orders/stream"): ("streamed", None),
    ("GET", "/orders/{order_id}"): ("owned", None),
    ("POST", "/orders/{order_id}/ack"): ("owned", None),
    ("POST", "/orders/{order_id}/reports"): ("owned", report_body),
    ("GET", "/orders/{order_id}/reports"): ("owned", None),
    ("GET", "/compliance"): ("city", None),
    ("GET", "/public/warning"): ("public", None),
    ("GET", "/public/cap"): ("public", None),
    ("GET", "/public/cap/{identifier}"): ("public", None),
    ("GET", "/public/feed.atom"): ("public", None),
    ("GET", "/names"): ("public", None),
    ("GET", "/health"): ("public", None),
    ("GET", "/enterprises"): ("city", None),
    ("GET", "/enterprises/{enterprise_id}/plan"): ("owned", None),
    ("PUT", "/enterprises/{enterprise_id}/plan"): ("owned", plan_body),
    ("GET", "/enterprises/{enterprise_id}/plan/versions"): ("owned", None),
    ("GET", "/enterprises/{enterprise_id}/plan/versions/{number}"): ("owned", None),
    ("POST", "/enterprises/{enterprise_id}/plan/versions/{number}/approve"): (
        "city",
        lambda _c, _w: {"note": "checked"},
    ),
    ("POST", "/enterprises/{enterprise_id}/plan/versions/{number}/reject"): (
        "city",
        lambda _c, _w: {"note": "floors too weak"},
    ),
    ("GET", "/plan-versions/pending"): ("city", None),
    ("GET", "/audit"): ("city", None),
    ("POST", "/season-plans"): ("city", lambda _c, _w: {"season": season_around(city_today())}),
    ("GET", "/season-plans"): ("city", None),
    ("GET", "/season-plans/{season_plan_id}"): ("city", None),
    ("POST", "/season-plans/{season_plan_id}/approve"): ("city", lambda _c, _w: {"note": "ok"}),
    ("POST", "/season-plans/{season_plan_id}/reject"): ("city", lambda _c, _w: {"note": "no"}),
    ("POST", "/season-plans/{season_plan_id}/replan"): ("city", lambda _c, _w: {}),
    ("POST", "/subscriptions"): ("city", lambda _c, _w: {"target": "http://127.0.0.1:9/hook"}),
    ("GET", "/subscriptions"): ("city", None),
    ("DELETE", "/subscriptions/{subscription_id}"): ("owned", None),
    ("GET", "/orders/{order_id}/deliveries"): ("city", None),
    ("GET", "/responses/{response_id}/deliveries"): ("city", None),
    ("GET", "/supervision/anomalies"): ("city", None),
    ("POST", "/meters/readings"): ("city", lambda _c, _w: readings_now()),
    ("GET", "/meters/lines"): ("city", None),
    ("POST", "/observations"): ("city", lambda _c, _w: observations_now()),
    ("POST", "/gates/records"): ("city", lambda c, w: gates_now(c.firms[w])),
    ("GET", "/gates/records"): ("city", None),
    ("GET", "/verification"): ("city", None),
    ("GET", "/responses/{response_id}/review"): ("city", None),
    ("GET", "/responses/{response_id}/review.xlsx"): ("city", None),
    ("GET", "/supervision/grade-review"): ("city", None),
    ("POST", "/tasks"): ("city", task_body),
    ("GET", "/tasks"): ("city", None),
    ("GET", "/tasks/{task_id}"): ("city", None),
    ("POST", "/tasks/{task_id}/assign"): ("city", lambda _c, _w: {"assigned_to": "王检查"}),
    ("POST", "/tasks/{task_id}/visit"): (
        "city",
        lambda _c, _w: {"confirmed": False, "finding": "现场停产，电表读数正常"},
    ),
    ("POST", "/tasks/{task_id}/close"): ("city", lambda _c, _w: {"note": "已核实 checked"}),
    ("POST", "/tasks/{task_id}/photos"): ("city", lambda _c, _w: PNG),
    ("GET", "/tasks/{task_id}/photos/{photo_id}"): ("city", None),
}
"""Every API route (path under /api/v1): its scope and, for writes, a valid body."""

QUERIES = {
    "/compliance": {"response": "{response_id}"},
    "/supervision/anomalies": {"response": "{response_id}"},
    "/meters/lines": {"response": "{response_id}"},
}
"""Required query parameters."""


def declared_action(route: APIRoute) -> Action | None:
    """The action a route's ``Allow`` (or ``BearerFor``) dependency declares (None: a public
    route)."""
    actions = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, Declares):
            actions.add(dependency.call.action)
        stack.extend(dependency.dependencies)
    assert len(actions) <= 1, f"{route.path} declares {actions}"
    return actions.pop() if actions else None


def route_table(app: FastAPI) -> list[tuple[str, str, Action | None]]:
    """(method, path under /api/v1, action) of every API route, from ``app.routes``."""
    try:  # FastAPI ≥ 0.160 keeps included routers lazily: flatten them
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover
        contexts = list(app.routes)
    table = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        path = getattr(context, "path", "")
        if not isinstance(route, APIRoute) or not path.startswith(f"{API}/"):
            continue
        for method in sorted(getattr(context, "methods", None) or route.methods or ()):
            table.append((method, path.removeprefix(API), declared_action(route)))
    return table


TABLE = route_table(create_app())


def test_every_route_has_an_entry_and_an_action() -> None:
    assert len(TABLE) >= 20
    listed = {(method, path) for method, path, _ in TABLE}
    assert listed == set(ROUTES), (
        f"routes without an entry: {sorted(listed - set(ROUTES))}; "
        f"entries without a route: {sorted(set(ROUTES) - listed)}"
    )
    for method, path, action in TABLE:
        scope = ROUTES[method, path][0]
        assert (action is None) == (scope == "public"), (method, path, action)
        assert action is None or action in PERMISSIONS, (method, path)
    assert {a for _, _, a in TABLE if a} == set(PERMISSIONS), "an action without a route"


@dataclass
class City:
    """A fresh small city: an approved response with orders for two enterprises, an
    override; one token per role and one for a second enterprise."""

    app: FastAPI
    client: TestClient
    store: Store
    tokens: dict[str, str]
    response_id: int
    override_id: int
    orders: dict[str, int]  # whose → an order id ("own": JY-P001's, "other": JY-P002's)
    firms: dict[str, str]
    plan_texts: dict[str, str]
    pending: dict[str, int]  # whose → the number of a pending plan version of the firm
    seasons: dict[str, int]  # "pending" / "approved" → a season plan id
    writes: int = 0
    last_task: int = 0

    def path_value(self, name: str, whose: str, path: str = "") -> str:
        if name == "identifier":  # the current CAP message's (docs/PUBLIC.md)
            alert = ET.fromstring(self.client.get(f"{API}/public/cap").content)
            return str(alert.findtext("{urn:oasis:names:tc:emergency:cap:1.2}identifier"))
        if name == "subscription_id":  # a fresh one of the firm's: deleting it is a change
            return str(self.subscription(self.firms[whose]))
        if name == "task_id":  # a fresh open task: closing or visiting it is a change
            self.last_task = self.task()
            return str(self.last_task)
        if name == "photo_id":  # a photo of the task just made
            return str(self.photo(self.last_task))
        values = {
            "season_plan_id": self.seasons["approved" if path.endswith("/replan") else "pending"],
            "response_id": self.response_id,
            "override_id": self.override_id,
            "order_id": self.orders[whose],
            "enterprise_id": self.firms[whose],
            "number": self.pending[whose],
        }
        assert name in values, f"no value for path parameter {name!r}: add it to City"
        return str(values[name])

    def subscription(self, firm: str) -> int:
        with self.store.session() as session:
            sub = Subscription(
                channel="webhook",
                target="http://127.0.0.1:9/hook",
                secret="s" * 32,
                enterprise_id=firm,
                created_at=utc_now(),
                created_by="test",
            )
            session.add(sub)
            session.commit()
            return sub.id

    def task(self) -> int:
        return open_task(self.store, self.response_id, f"test:{uuid.uuid4().hex}")

    def photo(self, task_id: int) -> int:
        return add_photo(self.store, task_id)

    def url(self, path: str, whose: str) -> str:
        def fill(template: str) -> str:
            return re.sub(
                r"\{(\w+)\}", lambda m: self.path_value(m.group(1), whose, path), template
            )

        query = "&".join(f"{k}={fill(v)}" for k, v in QUERIES.get(path, {}).items())
        return API + fill(path) + (f"?{query}" if query else "")


FIRMS = {"own": "JY-P001", "other": "JY-P002"}


@pytest.fixture
def city(data_dir: Path, db_url: str | None) -> Iterator[City]:
    store = open_store(  # an order event stream ends after 0.3 s (the walk reads each route)
        data_dir,
        db_url,
        solver_time_limit_s=10.0,
        notify_private_targets=True,
        stream_max_minutes=STREAM_MINUTES,
    )
    tokens = {}
    with store.session() as session:
        for role in Role:
            firm = FIRMS["own"] if role is Role.enterprise else None
            _view, tokens[role.value] = create_token(session, SYSTEM, role, enterprise_id=firm)
        _view, tokens["enterprise-other"] = create_token(
            session, SYSTEM, "enterprise", enterprise_id=FIRMS["other"]
        )
        session.commit()
    app = create_app(
        Settings(data=data_dir, database_url=db_url, notify_private_targets=True), store=store
    )
    try:
        with TestClient(app) as client:
            planner = bearer(tokens["planner"])
            today = orange_today()  # orders in force now: an enterprise can report on them
            opened = client.post(f"{API}/consultations", json=today, headers=planner).json()
            rid = opened["response_id"]
            assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
            # a pending version: approving it in the matrix is a change, not a no-op
            client.post(f"{API}/responses/{rid}/overrides", json=OVERRIDES[0], headers=planner)
            detail = client.get(f"{API}/responses/{rid}", headers=planner).json()
            orders = client.get(f"{API}/orders", headers=planner).json()
            first, texts, pending = {}, {}, {}
            for whose, firm in FIRMS.items():
                first[whose] = min(o["id"] for o in orders if o["source"] == firm)
                url = f"{API}/enterprises/{firm}/plan"
                texts[firm] = client.get(url, headers=planner).json()["text"]
                yaml = planner | {"content-type": "application/yaml"}
                put = client.put(url, content=texts[firm] + "\n# pending\n", headers=yaml)
                assert put.status_code == 202, put.text
                pending[whose] = put.json()["number"]
            override_id = detail["overrides"][0]["id"]
            seasons = {}
            for status in ("approved", "pending"):
                body = {"season": season_around(city_today())}
                posted = client.post(f"{API}/season-plans", json=body, headers=planner)
                assert posted.status_code == 202, posted.text
                seasons[status] = posted.json()["id"]
                if status == "approved":
                    url = f"{API}/season-plans/{seasons[status]}/approve"
                    assert client.post(url, headers=planner).status_code == 200
            yield City(
                app,
                client,
                store,
                tokens,
                rid,
                override_id,
                first,
                dict(FIRMS),
                texts,
                pending,
                seasons,
            )
    finally:
        store.dispose()


def request(city: City, method: str, path: str, role: str | None, whose: str) -> Any:
    _scope, body = ROUTES[method, path]
    headers = bearer(city.tokens[role]) if role else {}
    payload = body(city, whose) if body else None
    if isinstance(payload, str):
        headers |= {"content-type": "application/yaml"}
        return city.client.request(method, city.url(path, whose), content=payload, headers=headers)
    if isinstance(payload, bytes):
        headers |= {"content-type": "image/png"}
        return city.client.request(method, city.url(path, whose), content=payload, headers=headers)
    return city.client.request(method, city.url(path, whose), json=payload, headers=headers)


def audit_count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.mark.parametrize(("method", "path", "action"), TABLE, ids=[f"{m} {p}" for m, p, _ in TABLE])
def test_role_matrix(city: City, method: str, path: str, action: Action | None) -> None:
    """One route: no token → 401; every role → 403 unless the matrix allows it; allowed
    roles are served (GET: 200); an enterprise gets its own resources and 404 for another's;
    every write that is served adds to the audit log."""
    scope = ROUTES[method, path][0]
    if action is None:
        for role in (None, *city.tokens):
            assert request(city, method, path, role, "own").status_code == 200
        return
    r = request(city, method, path, None, "own")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
    r = city.client.request(method, city.url(path, "own"), headers=bearer("em_" + "x" * 43))
    assert r.status_code == 401
    for role in Role:
        allowed = role in PERMISSIONS[action]
        holders = ["enterprise", "enterprise-other"] if role is Role.enterprise else [role.value]
        for holder in holders:
            # whose resources are the holder's own: JY-P001's, or JY-P002's for the other
            mine, theirs = ("other", "own") if holder == "enterprise-other" else ("own", "other")
            before = audit_count(city.store)
            if allowed and role is Role.enterprise and scope == "owned":
                r = request(city, method, path, holder, theirs)
                assert r.status_code == 404, (holder, "another's", method, path, r.status_code)
                assert audit_count(city.store) == before
            r = request(city, method, path, holder, mine)
            seen = (holder, method, path, r.status_code, r.text[:300])
            assert r.status_code < 500, seen
            if not allowed:
                assert r.status_code == 403, seen
                assert audit_count(city.store) == before, "a refused request was audited"
                continue
            assert r.status_code not in (401, 403, 404), seen
            if method == "GET":
                assert r.status_code == 200, seen
            else:
                assert r.status_code in (200, 201, 202), seen
                assert audit_count(city.store) > before, f"{method} {path} left no audit entry"
            if role is Role.enterprise and scope == "listed":
                assert r.json() and {o["source"] for o in r.json()} == {FIRMS[mine]}, seen
                widened = city.client.get(
                    city.url(path, mine),
                    params={"source": FIRMS[theirs]},
                    headers=bearer(city.tokens[holder]),
                )
                assert widened.json() == []
            if role is Role.enterprise and scope == "streamed":  # its own orders' events only
                whole = city.client.get(
                    city.url(path, mine), params={"after": 0}, headers=bearer(city.tokens[holder])
                )
                sources = set(re.findall(r'"source":"([^"]+)"', whole.text))
                assert whole.status_code == 200 and sources == {FIRMS[mine]}, seen


# ----------------------------------------------------------------------------- tokens


def text_columns() -> list[tuple[str, str]]:
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | JSON)
    ]


@pytest.mark.slow
def test_tokens_are_hashed_at_rest(data_dir: Path, db_url: str | None) -> None:
    """Tokens from the real command: no column of any table holds a secret, or a part of
    one; the stored hash is the SHA-256 of the secret; the command's other output and
    ``token list`` never show it."""
    secrets = [cli_token(data_dir, db_url, role) for role in ("planner", "admin")]
    secrets.append(cli_token(data_dir, db_url, "enterprise", "JY-P001"))
    listed = run_cli("token", "list", "--json", *where(data_dir, db_url))
    store = open_existing(data_dir, db_url)
    try:
        with store.engine.connect() as conn:
            dump = []
            for table, column in text_columns():
                dump += [
                    str(v)
                    for v in conn.execute(text(f'SELECT "{column}" FROM "{table}"')).scalars()
                ]
            hashes = set(conn.execute(text("SELECT token_hash FROM api_tokens")).scalars())
    finally:
        store.dispose()
    everything = "\n".join(dump)
    if db_url is None:  # and not in the bytes of the file (or its write-ahead log)
        for path in data_dir.glob("emergency.sqlite*"):
            everything += path.read_bytes().decode("latin-1")
    for secret in secrets:
        assert secret not in everything and secret[3:20] not in everything
        assert secret not in listed.stdout + listed.stderr
    assert hashes == {hashlib.sha256(s.encode()).hexdigest() for s in secrets}


@pytest.mark.slow
def test_no_token_in_the_logs(
    server_factory: ServerFactory, data_dir: Path, db_url: str | None
) -> None:
    """A whole flow against ``uvicorn --log-level debug`` (and ``emergency serve``):
    neither log holds a token, good or bad, nor an Authorization header."""
    tokens = {role: cli_token(data_dir, db_url, role) for role in ("planner", "inspector")}
    tokens["enterprise"] = cli_token(data_dir, db_url, "enterprise", "JY-P001")
    bad = "em_" + "BadTokenThatMustNotBeLogged" * 2
    logs: list[str] = []
    for server in (server_factory(workers=1, log_level="debug"), server_factory()):
        server.log_path = data_dir.parent / f"server-{len(logs)}.log"
        server.start()
        with server.client(tokens["planner"]) as planner:
            r = planner.post("/consultations", json=orange())
            rid = r.json()["response_id"]
            planner.post(f"/responses/{rid}/approve")
            planner.get(f"/responses/{rid}/plan")
        with server.client(tokens["enterprise"]) as firm:
            order = firm.get("/orders").json()[0]["id"]
            firm.post(f"/orders/{order}/ack")
            firm.post(f"/orders/{order}/reports", json=report_now())
        with server.client(bad) as intruder:
            assert intruder.get("/orders").status_code == 401
        with server.client(tokens["inspector"]) as inspector:
            inspector.get("/compliance", params={"response": rid})
            inspector.post(f"/responses/{rid}/release")  # 403
        server.stop()
        logs.append(server.log())
    assert "GET /api/v1/orders" in logs[0] and "POST /api/v1/consultations" in logs[1]
    for log in logs:
        for secret in [*tokens.values(), bad]:
            assert secret not in log and secret[3:20] not in log
        assert "authorization" not in log.lower() and "bearer em_" not in log.lower()


# ----------------------------------------------------------------------------- audit log


def test_the_audit_log_has_no_route_that_changes_it(city: City) -> None:
    audit_routes = [(m, p) for m, p, _ in TABLE if "audit" in p]
    assert audit_routes == [("GET", "/audit")]
    admin = bearer(city.tokens["admin"])
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert city.client.request(method, f"{API}/audit", headers=admin).status_code == 405
        assert city.client.request(method, f"{API}/audit/1", headers=admin).status_code in (
            404,
            405,
        )


def test_the_database_refuses_to_change_the_audit_log(city: City) -> None:
    assert audit_count(city.store) > 3
    statements = ["UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"]
    if city.store.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), city.store.engine.begin() as conn:
            conn.execute(text(statement))
    with city.store.session() as session:  # through the ORM too
        entry = session.scalars(select(AuditEntry).limit(1)).one()
        session.delete(entry)
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with city.store.session() as session:
        entry = session.scalars(select(AuditEntry).limit(1)).one()
        entry.after = {"forged": True}
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with city.store.session() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.actor == "nobody")) == 0


def test_every_change_names_its_actor_in_the_audit_log(city: City) -> None:
    """The seeded flow (consultation, override, approval) and an enterprise's ack and
    report: one entry each, naming the token's role and the target."""
    order = city.orders["own"]
    firm = bearer(city.tokens["enterprise"])
    assert city.client.post(f"{API}/orders/{order}/ack", headers=firm).status_code == 200
    r = city.client.post(f"{API}/orders/{order}/reports", json=report_now(), headers=firm)
    assert r.status_code == 201
    entries = city.client.get(f"{API}/audit", headers=bearer(city.tokens["admin"])).json()
    by_action = {e["action"]: e for e in entries}
    for action in (
        "response.opened",
        "response.override",
        "response.approve",
        "order.ack",
        "order.report",
    ):
        assert action in by_action, sorted(by_action)
    assert by_action["order.ack"]["actor"].startswith("enterprise:")
    assert by_action["order.ack"]["target"] == f"order:{order}"
    assert by_action["response.approve"]["actor"].startswith("planner:")
    assert json.dumps(entries).count(city.tokens["planner"]) == 0
