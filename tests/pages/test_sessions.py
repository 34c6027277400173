"""Browser sessions: sign-in only from our own form, a server-side session, its expiry.

The review found that a page on another site could sign a planner's browser in with the
attacker's token (login CSRF), that the cookie held the API token itself and that it never
ended on the server. These tests pin the fixes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from emergency.service.access import SYSTEM
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token, list_tokens, revoke_token
from emergency.store.db import Store
from emergency.store.models import ApiToken, AuditEntry, WebSession
from tests.api.conftest import Clock
from tests.datafiles import write_small_dataset
from tests.pages.conftest import NOW, city_rows, login_csrf, sign_in
from tests.pages.live import LiveServer, make_tokens

SESSION = "emergency_session"


@pytest.fixture
def clock(store: Store) -> Clock:
    clock = Clock(NOW)
    store.config.now = clock
    return clock


def sessions(store: Store) -> list[WebSession]:
    with store.session() as session:
        return list(session.scalars(select(WebSession).order_by(WebSession.id)))


def count_sessions(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(WebSession)) or 0


def set_cookies(answer: httpx.Response) -> str:
    return ";".join(answer.headers.get_list("set-cookie"))


def page_csrf(client: TestClient, path: str = "/") -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert match
    return match.group(1)


def is_signed_in(client: TestClient) -> bool:
    answer = client.get("/responses", follow_redirects=False)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login")
        return False
    assert answer.status_code == 200
    return True


# ----------------------------------------------------------------------------- login CSRF


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"referer": "https://evil.example/phish.html"},
    ],
)
def test_sign_in_from_another_site_is_refused(
    client: TestClient, store: Store, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    form = {"token": tokens["planner"], "next": "/", "csrf": login_csrf(client)}
    answer = client.post("/login", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert SESSION not in set_cookies(answer)
    assert count_sessions(store) == 0
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://testserver"},
        {"origin": "http://testserver:80"},
        {"referer": "http://testserver/login?next=/"},
    ],
)
def test_sign_in_from_our_own_page_works(
    client: TestClient, store: Store, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    form = {"token": tokens["planner"], "next": "/", "csrf": login_csrf(client)}
    answer = client.post("/login", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 303
    assert count_sessions(store) == 1
    assert is_signed_in(client)


@pytest.mark.parametrize("csrf", [None, "", "0" * 64, "not-hex"])
def test_sign_in_without_the_form_token_is_refused(
    client: TestClient, store: Store, tokens: dict[str, str], csrf: str | None
) -> None:
    login_csrf(client)  # the browser has its pre-sign-in cookie, not the form's token
    form = {"token": tokens["planner"], "next": "/"}
    if csrf is not None:
        form["csrf"] = csrf
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 403
    assert "登录表单已过期" in answer.text  # the form again, with a fresh token
    assert 'name="csrf" value="' in answer.text
    assert SESSION not in set_cookies(answer)
    assert count_sessions(store) == 0


def test_an_attackers_form_token_does_not_fit_the_victims_cookie(
    app: FastAPI, client: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    """Login CSRF: the attacker fetched a form (and token) in their own browser."""
    with TestClient(app) as attacker:
        stolen = login_csrf(attacker)
    form = {"token": tokens["planner"], "next": "/", "csrf": stolen}
    # The victim's browser without a pre-sign-in cookie (never opened the form) ...
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    # ... and with its own one.
    login_csrf(client)
    assert client.post("/login", data=form, follow_redirects=False).status_code == 403
    assert count_sessions(store) == 0


def test_the_sign_in_form_sets_a_strict_pre_sign_in_cookie(client: TestClient) -> None:
    answer = client.get("/login")
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("emergency_login=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/login"} <= flags
    # The form opened again (another tab) keeps the cookie, so both forms work.
    assert "emergency_login=" not in set_cookies(client.get("/login"))


# ----------------------------------------------------------------------------- sessions


def test_the_cookie_holds_a_random_session_id_and_the_database_its_hash(
    client: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    sign_in(client, tokens["planner"])
    value = client.cookies[SESSION]
    assert value != tokens["planner"]
    assert tokens["planner"] not in value
    assert len(value) >= 40
    [row] = sessions(store)
    assert row.session_hash == hashlib.sha256(value.encode()).hexdigest()
    assert row.ended_at is None
    assert row.created_at == row.last_seen_at == NOW
    assert row.expires_at == NOW + dt.timedelta(hours=12)
    with store.session() as session:
        token = session.get(ApiToken, row.token_id)
        assert token is not None and token.name == "test planner"
        for table_row in session.scalars(select(WebSession)):
            assert value not in (table_row.session_hash, str(table_row.id))


def test_the_raw_token_in_the_cookie_signs_nothing_in(
    client: TestClient, tokens: dict[str, str]
) -> None:
    client.cookies.set(SESSION, tokens["planner"])
    assert not is_signed_in(client)


def test_idle_expiry(
    client: TestClient, store: Store, tokens: dict[str, str], clock: Clock
) -> None:
    sign_in(client, tokens["planner"])
    for _ in range(3):  # a request now and then keeps the session open past 2 h
        clock.advance(hours=1, minutes=59)
        assert is_signed_in(client)
    clock.advance(hours=2)
    assert not is_signed_in(client)


def test_idle_expiry_without_a_request(
    client: TestClient, tokens: dict[str, str], clock: Clock
) -> None:
    sign_in(client, tokens["planner"])
    clock.advance(hours=1, minutes=59)
    assert is_signed_in(client)
    clock.advance(hours=2)
    assert not is_signed_in(client)


def test_absolute_expiry(client: TestClient, tokens: dict[str, str], clock: Clock) -> None:
    answer = client.post(
        "/login",
        data={"token": tokens["planner"], "next": "/", "csrf": login_csrf(client)},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION))
    assert "max-age=43200" in cookie.lower()
    for _ in range(11):
        clock.advance(hours=1)
        assert is_signed_in(client)
    clock.advance(minutes=59)
    assert is_signed_in(client)
    clock.advance(minutes=1)  # 12 h after signing in, however busy
    assert not is_signed_in(client)


def test_sign_out_ends_the_session_on_the_server(
    app: FastAPI, planner: TestClient, store: Store
) -> None:
    stolen = planner.cookies[SESSION]
    csrf = page_csrf(planner)
    answer = planner.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    [row] = sessions(store)
    assert row.ended_at == NOW
    with TestClient(app) as replay:
        replay.cookies.set(SESSION, stolen)
        answer = replay.get("/responses", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")
        assert replay.get("/login", follow_redirects=False).status_code == 200


def test_signing_in_and_out_is_audited(planner: TestClient, store: Store) -> None:
    planner.post("/logout", data={"csrf": page_csrf(planner)}, follow_redirects=False)
    [row] = sessions(store)
    with store.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.target == f"web_session:{row.id}")
        ).all()
    assert [e.action for e in entries] == ["session.signed_in", "session.signed_out"]
    assert all(e.actor.startswith("planner:") for e in entries)


def test_revoking_the_token_ends_its_sessions(
    app: FastAPI, planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    with TestClient(app) as other_browser:
        sign_in(other_browser, tokens["planner"])
        sign_in(TestClient(app), tokens["inspector"])  # not this token's
        with store.session() as session:
            ids = {t.role: t.id for t in list_tokens(session)}
            revoke_token(session, SYSTEM, ids["planner"])
            session.commit()
        assert not is_signed_in(planner)
        assert not is_signed_in(other_browser)
    ended = sorted((row.token_id, row.ended_at) for row in sessions(store))
    assert ended == [(ids["planner"], NOW), (ids["planner"], NOW), (ids["inspector"], None)]


def test_an_expiring_token_ends_the_session(client: TestClient, store: Store, clock: Clock) -> None:
    with store.session() as session:
        _view, secret = create_token(
            session, SYSTEM, "planner", name="temp", expires_in=dt.timedelta(hours=1)
        )
        session.commit()
    sign_in(client, secret)
    clock.advance(minutes=59)
    assert is_signed_in(client)
    clock.advance(minutes=1)
    assert not is_signed_in(client)


def test_an_expired_token_cannot_sign_in(client: TestClient, store: Store, clock: Clock) -> None:
    with store.session() as session:
        _view, secret = create_token(
            session, SYSTEM, "planner", name="temp", expires_in=dt.timedelta(minutes=30)
        )
        session.commit()
    clock.advance(minutes=30)
    form = {"token": secret, "next": "/", "csrf": login_csrf(client)}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 401
    assert count_sessions(store) == 0


def test_form_tokens_belong_to_one_session(
    app: FastAPI, client: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    """Two sessions of the same token: each has its own form token."""
    sign_in(client, tokens["planner"])
    mine = page_csrf(client)
    with TestClient(app) as other:
        sign_in(other, tokens["planner"])
        theirs = page_csrf(other)
    assert mine != theirs
    # the CSRF check comes first: no response needs to exist
    answer = client.post("/responses/1/approve", data={"csrf": theirs}, follow_redirects=False)
    assert answer.status_code == 403
    assert client.post("/logout", data={"csrf": theirs}, follow_redirects=False).status_code == 403
    assert is_signed_in(client)
    assert [row.ended_at for row in sessions(store)] == [None, None]


# ----------------------------------------------------------------------------- browser


@pytest.fixture
def served(tmp_path: Path, browser: Any) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A uvicorn server on a small city with one token per role (no response needed)."""
    data = write_small_dataset(tmp_path / "city", rows=city_rows())
    opened = open_store(data, None)
    try:
        made = make_tokens(opened)
    finally:
        opened.dispose()
    with LiveServer(data, log=tmp_path / "uvicorn.log") as server:
        yield server, made


@pytest.mark.e2e
def test_a_browser_signs_in_and_out(page: Any, served: tuple[LiveServer, dict[str, str]]) -> None:
    """Chromium sends its Origin and the form's token: sign-in works; sign-out ends it."""
    server, made = served
    page.goto(server.url + "/responses")
    assert "/login" in page.url
    page.get_by_label("令牌 Token").fill(made["planner"])
    page.get_by_role("button", name="登录 Sign in").click()
    page.wait_for_url(server.url + "/responses")
    assert page.get_by_text("已登录 Signed in as test planner").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[SESSION]["value"] != made["planner"]
    assert cookies[SESSION]["httpOnly"] and cookies[SESSION]["sameSite"] == "Strict"
    assert "emergency_login" not in cookies

    page.get_by_role("button", name="退出 Sign out").click()
    page.wait_for_url(re.compile("/login"))
    page.context.add_cookies([{**cookies[SESSION], "expires": -1}])  # replay the old cookie
    page.goto(server.url + "/responses")
    assert "/login" in page.url
