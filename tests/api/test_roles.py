"""The role matrix, walked over every route and every role; and authentication."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.deps import route_actions
from api.main import create_app
from emergency.service.access import PERMISSIONS, Action, Role
from emergency.store.db import Store
from tests.api.conftest import ORANGE, ROLES, bearer, make_token
from tests.api.test_season_api import SEASON
from tests.supervision_data import add_photo, open_task

API = "/api/v1"
PUBLIC = {
    ("GET", f"{API}/public/warning"),
    ("GET", f"{API}/public/cap"),
    ("GET", f"{API}/public/cap/{{identifier}}"),
    ("GET", f"{API}/public/feed.atom"),
    ("GET", f"{API}/names"),
    ("GET", f"{API}/health"),
}
PATH_VALUES = {
    "response_id": "1",
    "order_id": "1",
    "enterprise_id": "JY-P001",
    "override_id": "1",
    "number": "1",
    "season_plan_id": "1",
    "subscription_id": "1",
    "task_id": "1",
    "photo_id": "1",
}
"""Order 1 is JY-P001's (orders are issued by source), the enterprise tokens' own."""


def api_routes() -> list[tuple[str, str, Action | None]]:
    return [r for r in route_actions(create_app()) if r[1].startswith(API)]


def concrete(path: str) -> str:
    path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
    needs_response = path.endswith(("/compliance", "/supervision/anomalies"))
    return path + "?response=1" if needs_response else path


def test_every_route_declares_an_action_from_the_matrix() -> None:
    routes = api_routes()
    assert len(routes) >= 20
    for method, path, action in routes:
        if (method, path) in PUBLIC:
            assert action is None, path
        else:
            assert action in PERMISSIONS, f"{method} {path} declares no action"
    used = {action for _m, _p, action in routes}
    assert set(PERMISSIONS) <= used, "an action of the matrix has no route"


def test_the_matrix_follows_the_spec() -> None:
    assert PERMISSIONS[Action.consult] == {Role.consultation, Role.planner}
    assert PERMISSIONS[Action.approve] == {Role.planner}
    assert PERMISSIONS[Action.read_audit] == {Role.admin}
    assert Role.enterprise in PERMISSIONS[Action.write_plan]
    assert Role.enterprise not in PERMISSIONS[Action.read_responses]


def test_role_matrix(client: TestClient, store: Store) -> None:
    """Every role on every route: forbidden roles get 403, allowed ones never 401/403.

    An approved response with orders exists, so allowed reads answer 200.
    """
    headers = {
        role: bearer(make_token(store, role, "JY-P001" if role == "enterprise" else None))
        for role in ROLES
    }
    planner = headers["planner"]
    rid = client.post(f"{API}/consultations", json=ORANGE, headers=planner).json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    season = client.post(f"{API}/season-plans", json={"season": SEASON}, headers=planner)
    assert season.status_code == 202, season.text
    add_photo(store, open_task(store, rid, "test:1"))  # task 1 with photo 1
    checked = 0
    for method, path, action in api_routes():
        if action is None:
            continue
        for role in ROLES:
            r = client.request(method, concrete(path), headers=headers[role], json={})
            if Role(role) in PERMISSIONS[action]:
                assert r.status_code not in (401, 403), (role, method, path, r.text)
                assert r.status_code < 500
                if method == "GET":
                    assert r.status_code == 200, (role, path, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)
            checked += 1
    assert checked == (len(api_routes()) - len(PUBLIC)) * len(ROLES)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwdw==", "Bearer em_not-a-real-token"],
)
def test_missing_or_bad_token_is_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path, action in api_routes():
        if action is None:
            continue
        r = client.request(method, concrete(path), headers=headers, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_401(client: TestClient, store: Store) -> None:
    from emergency.service.access import SYSTEM
    from emergency.service.tokens import list_tokens, revoke_token

    secret = make_token(store, "planner")
    assert client.get(f"{API}/responses", headers=bearer(secret)).status_code == 200
    with store.session() as session:
        token = list_tokens(session)[-1]
        revoke_token(session, SYSTEM, token.id)
        session.commit()
    assert client.get(f"{API}/responses", headers=bearer(secret)).status_code == 401


def test_public_routes_need_no_token(client: TestClient) -> None:
    assert client.get(f"{API}/public/warning").status_code == 200
    assert client.get(f"{API}/health").json() == {"status": "ok"}


def test_health_at_the_root_too(client: TestClient) -> None:
    """``GET /health`` (where one looks first) answers like ``/api/v1/health``, no token."""
    answer = client.get("/health")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok"}
    assert client.post("/health").status_code == 405


def test_tokens_are_stored_hashed(store: Store) -> None:
    from sqlalchemy import select

    from emergency.store.models import ApiToken

    secret = make_token(store, "inspector")
    with store.session() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert secret not in stored and all(len(h) == 64 for h in stored)


def test_enterprise_token_needs_a_listed_enterprise(store: Store) -> None:
    from emergency.errors import InputError

    with pytest.raises(InputError, match="required"):
        make_token(store, "enterprise")
    with pytest.raises(InputError, match="not in the inventory"):
        make_token(store, "enterprise", "JY-X999")
    with pytest.raises(InputError, match="only tokens of role 'enterprise'"):
        make_token(store, "planner", "JY-P001")


def test_docs_list_the_matrix() -> None:
    """docs/API.md's role table says what the code does."""
    from emergency.paths import REPO_ROOT

    documented: dict[str, set[str]] = {}
    for line in (REPO_ROOT / "docs" / "API.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([a-z.]+)` \|[^|]*\| ([^|]+) \|$", line)
        if match:
            roles = {r.strip().split(" ")[0] for r in match.group(2).split(",")}
            documented[match.group(1)] = roles
    expected = {a.value: {r.value for r in roles} for a, roles in PERMISSIONS.items()}
    assert documented == expected
