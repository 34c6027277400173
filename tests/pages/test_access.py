"""Signing in and out, and who may see which page (TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emergency.service.access import SYSTEM
from emergency.service.responses import get_response_detail
from emergency.service.tokens import authenticate, list_tokens, revoke_token
from emergency.store.db import Store
from tests.pages.conftest import login_csrf, sign_in

PAGES = [
    "/",
    "/responses",
    "/responses/{id}",
    "/responses/{id}/map",
    "/responses/{id}/orders",
    "/responses/{id}/compliance",
    "/responses/{id}/sources/JY-P001",
    "/responses/{id}/approve",
    "/responses/{id}/release",
    "/responses/{id}/plan.csv",
    "/responses/{id}/plan.xlsx",
    "/responses/{id}/plan-report.xlsx",
]
ACTIONS = ["/responses/{id}/overrides", "/responses/{id}/approve", "/responses/{id}/release"]
REVIEW_PAGES = [p for p in PAGES if p != "/"]
PLANNER_ONLY = ["/responses/{id}/approve", "/responses/{id}/release"]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(
    client: TestClient, response_id: int, path: str
) -> None:
    url = path.format(id=response_id)
    answer = client.get(url, follow_redirects=False)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/login")
    if url != "/":
        assert "next=" in location
        form = client.get(location)
        assert form.status_code == 200
        assert 'name="next"' in form.text


@pytest.mark.parametrize("path", ACTIONS)
def test_signed_out_actions_change_nothing(
    client: TestClient, store: Store, tokens: dict[str, str], response_id: int, path: str
) -> None:
    url = path.format(id=response_id)
    form = {"source": "JY-S001", "choice": "exempt", "reason": "x"}
    answer = client.post(url, data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    with store.session() as session:
        detail = get_response_detail(session, authenticate(session, tokens["planner"]), response_id)
    assert (detail.status, detail.plan_version, detail.approved) == ("open", 1, False)


def test_sign_in_sets_a_strict_http_only_cookie(client: TestClient, tokens: dict[str, str]) -> None:
    form = {"token": tokens["planner"], "next": "/responses", "csrf": login_csrf(client)}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/responses"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("emergency_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    page = client.get("/responses")
    assert page.status_code == 200
    assert "已登录 Signed in as test planner" in page.text  # the one-time message
    assert "已登录" not in client.get("/responses").text


def test_bad_token_is_refused_without_a_cookie(client: TestClient) -> None:
    csrf = login_csrf(client)
    form = {"token": "em_not-a-token", "csrf": csrf}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 401
    assert "令牌无效或已撤销 Invalid or revoked token" in answer.text
    assert "emergency_session" not in answer.headers.get("set-cookie", "")
    assert client.post("/login", data={"csrf": csrf}, follow_redirects=False).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil"])
def test_sign_in_never_redirects_off_site(
    client: TestClient, tokens: dict[str, str], target: str
) -> None:
    form = {"token": tokens["planner"], "next": target, "csrf": login_csrf(client)}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_signed_in_login_page_moves_on(planner: TestClient) -> None:
    answer = planner.get("/login?next=/responses", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/responses"


def test_sign_out_clears_the_cookie(planner: TestClient, response_id: int) -> None:
    page = planner.get(f"/responses/{response_id}")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    refused = planner.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    answer = planner.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert planner.get("/responses", follow_redirects=False).status_code == 303


def test_a_revoked_token_signs_the_browser_out(
    planner: TestClient, store: Store, response_id: int
) -> None:
    assert planner.get(f"/responses/{response_id}").status_code == 200
    with store.session() as session:
        token = next(t for t in list_tokens(session) if t.role == "planner")
        revoke_token(session, SYSTEM, token.id)
        session.commit()
    answer = planner.get(f"/responses/{response_id}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ["enterprise", "consultation", "admin"])
@pytest.mark.parametrize("path", REVIEW_PAGES)
def test_roles_without_review_rights_get_403(
    client: TestClient, tokens: dict[str, str], response_id: int, role: str, path: str
) -> None:
    sign_in(client, tokens[role])
    answer = client.get(path.format(id=response_id))
    assert answer.status_code == 403
    assert "无权访问 Forbidden" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("role", ["enterprise", "consultation", "admin"])
def test_other_roles_see_the_public_warning_only(
    client: TestClient, tokens: dict[str, str], response_id: int, role: str
) -> None:
    page = sign_in(client, tokens[role]).get("/")
    assert page.status_code == 200
    assert "橙色 Orange" in page.text
    assert "无权查看响应" in page.text
    assert f"/responses/{response_id}" not in page.text


@pytest.mark.parametrize("path", PLANNER_ONLY)
def test_inspectors_may_not_open_planner_actions(
    inspector: TestClient, response_id: int, path: str
) -> None:
    assert inspector.get(path.format(id=response_id)).status_code == 403


def test_inspector_posts_are_forbidden(inspector: TestClient, response_id: int) -> None:
    page = inspector.get(f"/responses/{response_id}")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    for path, data in [
        ("overrides", {"source": "JY-S001", "choice": "exempt", "reason": "x", "csrf": csrf}),
        ("approve", {"csrf": csrf}),
        ("release", {"csrf": csrf}),
    ]:
        answer = inspector.post(f"/responses/{response_id}/{path}", data=data)
        assert answer.status_code == 403, path


def test_unknown_things_are_404_pages(planner: TestClient, response_id: int) -> None:
    for path in [
        "/responses/999",
        "/responses/999/map",
        "/responses/999/orders",
        "/responses/999/compliance",
        f"/responses/{response_id}/sources/NOPE",
        "/responses/not-a-number",
    ]:
        answer = planner.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "Traceback" not in answer.text


def test_pages_stay_out_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/v1") for p in paths)
