"""Fuzzing the API from its own OpenAPI schema, with every role's token.

For every operation of ``/openapi.json``, schemathesis generates requests (valid ones,
invalid ones, and valid ones aimed at the ids that exist), and each is sent once per
token — admin, consultation, planner, inspector, the enterprise of the orders and another
enterprise — and once with a junk token. No answer may be a 5xx, break the schema the
operation declares for it, or be an error without a ``detail``. The city behind the app
has an approved response with orders, an override and a report, so requests reach real
resources. Generation is derandomised and bounded: the same examples on every run.

Hand-written cases follow: body limits (413), path traversal, SQL-looking and unicode
text in ids, queries and bodies, and a forecast naming a file as its rule set.
"""

from __future__ import annotations

import json
import posixpath
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, openapi
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import func, select

from api.main import create_app
from emergency.service.access import SYSTEM
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token
from emergency.settings import Settings
from emergency.store.db import Store
from emergency.store.models import Base
from tests.api.conftest import STREAM_MINUTES
from tests.api.test_season_api import season_around
from tests.reliability.live import (
    API,
    OVERRIDES,
    bearer,
    city_today,
    orange,
    orange_today,
    report_now,
)
from tests.supervision_data import add_photo, open_task

SCHEMA = openapi.from_asgi("/openapi.json", create_app())
OPERATIONS = {
    result.ok().label: result.ok()
    for result in SCHEMA.get_all_operations()
    if isinstance(result, Ok)  # an Err (a broken operation) fails the test below
}
MAX_EXAMPLES = 20
ROLES = ("admin", "consultation", "planner", "inspector", "enterprise", "enterprise2")
BODY_LIMIT = 16 * 1024


def test_the_schema_loads_every_operation() -> None:
    results = list(SCHEMA.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), [r for r in results if not isinstance(r, Ok)]
    assert len(OPERATIONS) == len(results) >= 20


def error_has_detail(_ctx: CheckContext, response: Response, _case: Case) -> bool | None:
    """A 4xx answer is JSON with a ``detail`` (no HTML, no stack trace)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and "detail" in body, response.text[:300]
        assert "Traceback" not in response.text
    return None


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@dataclass
class City:
    """An app on a small city with an approved response, orders, an override, a report."""

    app: FastAPI
    client: TestClient
    store: Store
    tokens: dict[str, str]
    ids: dict[str, Any]

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.tokens[role])


@pytest.fixture
def city(data_dir: Path, db_url: str | None) -> Iterator[City]:
    store = open_store(  # an order event stream ends after 0.3 s (the fuzzer reads it whole)
        data_dir,
        db_url,
        solver_time_limit_s=10.0,
        notify_private_targets=True,
        stream_max_minutes=STREAM_MINUTES,
    )
    tokens = {}
    with store.session() as session:
        for role in ROLES:
            firm = {"enterprise": "JY-P001", "enterprise2": "JY-P002"}.get(role)
            _view, tokens[role] = create_token(
                session, SYSTEM, role.rstrip("2"), enterprise_id=firm
            )
        session.commit()
    app = create_app(
        Settings(
            data=data_dir,
            database_url=db_url,
            max_body_bytes=BODY_LIMIT,
            max_photo_bytes=BODY_LIMIT,  # the photo route's own limit, as low
            notify_dispatch=False,
            notify_private_targets=True,
        ),
        store=store,
    )
    try:
        with TestClient(app, headers={"Accept-Language": "en"}) as client:  # English problems
            planner = bearer(tokens["planner"])
            today = orange_today()  # orders in force now: an enterprise can report on them
            rid = client.post(f"{API}/consultations", json=today, headers=planner).json()[
                "response_id"
            ]
            client.post(f"{API}/responses/{rid}/overrides", json=OVERRIDES[0], headers=planner)
            assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
            detail = client.get(f"{API}/responses/{rid}", headers=planner).json()
            orders = client.get(f"{API}/orders", headers=bearer(tokens["enterprise"])).json()
            order_id = orders[0]["id"]
            company = bearer(tokens["enterprise"])
            assert client.post(f"{API}/orders/{order_id}/ack", headers=company).status_code == 200
            report = client.post(
                f"{API}/orders/{order_id}/reports", json=report_now(note="报告"), headers=company
            )
            assert report.status_code == 201, report.text
            body = {"season": season_around(city_today())}
            season = client.post(f"{API}/season-plans", json=body, headers=planner)
            assert season.status_code == 202, season.text
            plan_url = f"{API}/enterprises/JY-P001/plan"
            text = client.get(plan_url, headers=planner).json()["text"] + "\n# pending\n"
            yaml_type = planner | {"content-type": "application/yaml"}
            pending = client.put(plan_url, content=text, headers=yaml_type)
            assert pending.status_code == 202, pending.text
            hook = {"target": "http://127.0.0.1:9/hook"}  # a webhook of JY-P001's
            webhook = client.post(f"{API}/subscriptions", json=hook, headers=company)
            assert webhook.status_code == 201, webhook.text
            task_id = open_task(store, rid, "fuzz:1")  # a task with a photo
            photo_id = add_photo(store, task_id)
            ids = {
                "task_id": task_id,
                "photo_id": photo_id,
                "response_id": rid,
                "order_id": order_id,
                "override_id": detail["overrides"][0]["id"],
                "enterprise_id": "JY-P001",
                "number": pending.json()["number"],
                "season_plan_id": season.json()["id"],
                "subscription_id": webhook.json()["id"],
                "identifier": ET.fromstring(client.get(f"{API}/public/cap").content).findtext(
                    "{urn:oasis:names:tc:emergency:cap:1.2}identifier"
                ),
            }
            yield City(app, client, store, tokens, ids)
    finally:
        store.dispose()


def strategy(label: str, ids: dict[str, Any]) -> st.SearchStrategy[Case]:
    operation = OPERATIONS[label]
    names = [p.name for p in operation.path_parameters]
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if names:
        known = {name: ids[name] for name in names}
        strategies.append(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=known)
        )
    return st.one_of(strategies)


@pytest.mark.slow
@pytest.mark.parametrize("label", list(OPERATIONS))
def test_fuzz_every_operation_with_every_role(city: City, label: str) -> None:
    seen: set[tuple[str, int]] = set()
    count = 0

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy(label, city.ids))
    def run(case: Case) -> None:
        for role in (*ROLES, None):
            headers = city.headers(role) if role else {"Authorization": "Bearer em_junk"}
            response = case.call(app=city.app, headers=headers)
            case.validate_response(
                response, checks=CHECKS, additional_checks=[error_has_detail], headers=headers
            )
            seen.add((role or "-", response.status_code))
            nonlocal count
            count += 1

    run()
    assert count >= len(ROLES) + 1
    for role in ROLES:  # each token was really used (schemathesis drops it in some cases)
        assert any(r == role and status != 401 for r, status in seen), (role, sorted(seen))


# ------------------------------------------------------------------ hand-written hostile input


def row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
            for table in Base.metadata.sorted_tables
        }


def api_routes(app: FastAPI, *, with_body: bool = False) -> list[tuple[str, str]]:
    """(method, path template) of every operation the app documents under /api/v1
    (``with_body``: only those that take a request body)."""
    paths = app.openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if path.startswith(API) and (not with_body or "requestBody" in operation)
    ]


def concrete(path: str, ids: dict[str, Any], **values: str) -> str:
    for name, value in {**{k: str(v) for k, v in ids.items()}, **values}.items():
        path = path.replace(f"{{{name}}}", value)
    return path


def test_bodies_over_the_limit_are_413_and_change_nothing(city: City) -> None:
    before = row_counts(city.store)
    big = json.dumps({"note": "x" * BODY_LIMIT}).encode()

    def chunks() -> Iterator[bytes]:
        for _ in range(BODY_LIMIT // 1024 + 2):
            yield b" " * 1024

    writes = [(m, p) for m, p in api_routes(city.app) if m in ("POST", "PUT", "PATCH", "DELETE")]
    with_body = api_routes(city.app, with_body=True)
    refused: Counter[bool] = Counter()
    assert len(writes) >= 8 and len(with_body) >= 6
    for method, template in writes:
        path = concrete(template, city.ids)
        for headers in (city.headers("planner"), city.headers("enterprise"), {}):
            declared = city.client.request(
                method, path, content=big, headers=headers | {"content-type": "application/json"}
            )
            assert declared.status_code == 413, (method, path, declared.status_code)
            assert "detail" in declared.json()
            if (method, template) in with_body:  # the others never read a body
                # chunked, no length: refused once the limit is passed while reading
                # (or 401/403 first where the body is read after the role check)
                streamed = city.client.request(method, path, content=chunks(), headers=headers)
                assert streamed.status_code in (413, 401, 403), (method, path, streamed)
                assert "detail" in streamed.json()
                refused[streamed.status_code == 413] += 1
    assert row_counts(city.store) == before
    assert refused[True] >= len(with_body), refused


HOSTILE = [
    "..",
    "../",
    "..%2F..%2Fplans%2Fcity",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc",
    "' OR 1=1 --",
    "1 OR 1=1",
    "1;DROP TABLE orders",
    "JY-P001' OR '1'='1",
    "济源钢铁",
    "JY-P001%00",
    "%00",
    "\u202eJY-P001",
    "🌫️",
    "2147483648",
    "-1",
    "0x1",
]


def test_hostile_ids_in_paths_are_4xx(city: City) -> None:
    """Traversal, SQL and unicode in every path parameter of every route, for two roles:
    never a 5xx, never a 200 (no file read, no row matched by a trick)."""
    before = row_counts(city.store)
    checked = 0
    for method, template in api_routes(city.app):
        names = [n for n in city.ids if f"{{{n}}}" in template]
        for name in names:
            for value in HOSTILE:
                path = concrete(template, city.ids, **{name: value})
                # ".." climbs out of the parameter: the client asks for the parent resource
                # (e.g. /plan/versions/.. is /plan), which the role may well read
                parent = ".." in value.split("/") and posixpath.normpath(path) != path.rstrip("/")
                for role in ("planner", "enterprise", "admin"):
                    r = city.client.request(method, path, headers=city.headers(role), json={})
                    seen = (role, method, path, r.status_code, r.text)
                    assert r.status_code < 500 if parent else 400 <= r.status_code < 500, seen
                    checked += 1
    assert checked > 300
    assert row_counts(city.store) == before


SQLISH = ["' OR 1=1 --", "x' OR '1'='1", "1; DROP TABLE orders; --", '" OR ""="', "%' OR 1=1 --"]


def test_sql_looking_queries_match_nothing(city: City) -> None:
    planner, admin = city.headers("planner"), city.headers("admin")
    c = city.client
    for text in SQLISH:
        assert c.get(f"{API}/orders", params={"source": text}, headers=planner).json() == []
        assert c.get(f"{API}/responses", params={"status": text}, headers=planner).json() == []
        r = c.get(f"{API}/audit", params={"action": text, "target": text}, headers=admin)
        assert r.json() == []
        r = c.get(f"{API}/enterprises", params={"district": text, "kind": text}, headers=admin)
        assert r.json() == []
        r = c.get(f"{API}/orders", params={"source": text}, headers=city.headers("enterprise"))
        assert r.json() == []
    own = c.get(f"{API}/orders", headers=city.headers("enterprise")).json()
    other = c.get(f"{API}/orders", params={"source": "JY-P002"}, headers=city.headers("enterprise"))
    assert own and other.json() == []  # an enterprise cannot widen its view with ?source=


def test_sql_and_unicode_text_is_stored_verbatim(city: City) -> None:
    """Notes and reasons that look like SQL or carry any script come back exactly."""
    c, rid, order_id = city.client, city.ids["response_id"], city.ids["order_id"]
    firm = city.headers("enterprise")
    for text in [*SQLISH, "济源钢铁厂 🌫️ \u202eRTL\u202c", "Robert'); DROP TABLE reports;--"]:
        report = report_now(load=0.3, note=text)
        r = c.post(f"{API}/orders/{order_id}/reports", json=report, headers=firm)
        assert r.status_code == 201, r.text
        assert c.get(f"{API}/orders/{order_id}/reports", headers=firm).json()[-1]["note"] == text
        override = {"source": "JY-S001", "measure": "stop-all", "reason": text}
        r = c.post(
            f"{API}/responses/{rid}/overrides", json=override, headers=city.headers("planner")
        )
        assert r.status_code == 200, r.text
        overrides = c.get(f"{API}/responses/{rid}", headers=city.headers("planner")).json()
        assert [o["reason"] for o in overrides["overrides"] if o["active"]] == [text]
    assert min(row_counts(city.store).values()) >= 0  # every table still there


def test_text_the_database_refuses_is_a_4xx_and_stores_nothing(city: City) -> None:
    """NUL (\\u0000) in bodies and queries: PostgreSQL refuses it (400), SQLite keeps it."""
    c, rid, order_id = city.client, city.ids["response_id"], city.ids["order_id"]
    before = row_counts(city.store)
    answers = [
        c.post(
            f"{API}/orders/{order_id}/reports",
            json=report_now(load=0.3, note="a\u0000b"),
            headers=city.headers("enterprise"),
        ),
        c.post(
            f"{API}/responses/{rid}/overrides",
            json={"source": "JY-S001", "exempt": True, "reason": "a\u0000b"},
            headers=city.headers("planner"),
        ),
        c.get(f"{API}/orders", params={"source": "a\u0000b"}, headers=city.headers("planner")),
        c.get(f"{API}/audit", params={"action": "a\u0000b"}, headers=city.headers("admin")),
    ]
    for r in answers:
        assert r.status_code in (200, 201, 400), (r.request.url, r.status_code, r.text)
    if city.store.engine.dialect.name == "postgresql":
        assert [r.status_code for r in answers] == [400] * 4
        assert row_counts(city.store) == before


@pytest.mark.parametrize(
    "rule_set",
    ["/etc/passwd", "../../../../etc/hostname", "plans/city.yaml", "henan-2019.yaml", "a/../b"],
)
def test_a_forecast_cannot_name_a_file_as_its_rule_set(city: City, rule_set: str) -> None:
    forecast = {**orange(), "rule_set": rule_set}
    r = city.client.post(f"{API}/consultations", json=forecast, headers=city.headers("planner"))
    assert r.status_code == 400 and "rule_set" in r.json()["detail"], r.text
    assert "root" not in r.text and "localhost" not in r.text


def test_plans_that_would_poison_orders_or_eat_the_cpu_are_refused(city: City) -> None:
    """An enterprise writes its own plan: an alias bomb, a recursive alias and a measure
    name no order can hold are 400 at once, and the stored plan stays as it was."""
    c, firm = city.client, city.headers("enterprise")
    path = f"{API}/enterprises/JY-P001/plan"
    stored = c.get(path, headers=firm).json()["text"]
    laughs = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    yaml_type = {"content-type": "application/yaml"}
    for body in (laughs + "enterprise: JY-P001\nlines: *i\n", "enterprise: &e [JY-P001, *e]\n"):
        r = c.put(path, content=body.encode(), headers=firm | yaml_type)
        assert r.status_code == 400 and "alias" in r.json()["detail"], r.text
    plan = yaml_plan = c.get(path, headers=firm).json()["plan"]
    plan["measures"][0]["name"] = "很长的措施名称" * 50
    r = c.put(path, json=json.loads(json.dumps(plan, default=str)), headers=firm)
    assert r.status_code == 400 and "measures[0].name" in r.json()["detail"], r.text
    assert c.get(path, headers=firm).json()["text"] == stored
    assert yaml_plan is plan
