"""Tokens that expire: ``token create --expires``, 401 after the expiry, the listing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from emergency.cli import app, cmd_service
from emergency.errors import InputError
from emergency.service.access import SYSTEM
from emergency.service.tokens import TokenView, create_token, list_tokens, parse_duration
from emergency.store.db import Store
from tests.api.conftest import T0, Clock, bearer

API = "/api/v1"
runner = CliRunner()


def make_expiring(store: Store, role: str, expires_in: dt.timedelta) -> tuple[TokenView, str]:
    with store.session() as session:
        view, secret = create_token(session, SYSTEM, role, expires_in=expires_in)
        session.commit()
    return view, secret


def test_an_expired_token_is_401_like_an_unknown_one(
    client: TestClient, store: Store, clock: Clock
) -> None:
    view, secret = make_expiring(store, "planner", dt.timedelta(hours=12))
    assert view.expires_at == T0 + dt.timedelta(hours=12)
    assert client.get(f"{API}/responses", headers=bearer(secret)).status_code == 200
    clock.advance(hours=11, minutes=59)
    assert client.get(f"{API}/responses", headers=bearer(secret)).status_code == 200
    clock.advance(minutes=1)
    expired = client.get(f"{API}/responses", headers=bearer(secret))
    unknown = client.get(f"{API}/responses", headers=bearer("em_not-a-real-token"))
    assert expired.status_code == unknown.status_code == 401
    assert expired.json() == unknown.json()  # the message does not say which
    assert expired.headers["www-authenticate"] == "Bearer"


def test_tokens_without_expiry_keep_working(client: TestClient, store: Store, clock: Clock) -> None:
    with store.session() as session:
        view, secret = create_token(session, SYSTEM, "planner")
        session.commit()
    assert view.expires_at is None
    clock.advance(days=3650)
    assert client.get(f"{API}/responses", headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90d", dt.timedelta(days=90)),
        ("12h", dt.timedelta(hours=12)),
        ("30m", dt.timedelta(minutes=30)),
        (" 7d ", dt.timedelta(days=7)),
    ],
)
def test_durations(text: str, delta: dt.timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "-1d", "1.5h", "90D", "3w", "1y", "٣d"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(InputError, match="--expires"):
        parse_duration(text)


def test_create_refuses_a_past_expiry(store: Store) -> None:
    with store.session() as session, pytest.raises(InputError, match="--expires"):
        create_token(session, SYSTEM, "planner", expires_in=dt.timedelta(0))


# ----------------------------------------------------------------------------- CLI


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def where(data_dir: Path, db_url: str | None) -> list[str]:
    return ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])


@pytest.fixture
def cli_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The commands' stores read this clock (as the service's tests do)."""
    clock = Clock()
    opened = cmd_service._open

    def open_with_clock(*args: Any, **kwargs: Any) -> Store:
        store = opened(*args, **kwargs)
        store.config.now = clock
        return store

    monkeypatch.setattr(cmd_service, "_open", open_with_clock)
    return clock


def test_token_create_expires(data_dir: Path, db_url: str | None, cli_clock: Clock) -> None:
    at = where(data_dir, db_url)
    code, out, err = cli("token", "create", "--role", "planner", "--expires", "90d", *at)
    assert code == 0, err
    expires = T0 + dt.timedelta(days=90)
    assert f"expires {expires:%Y-%m-%d %H:%M} UTC" in out
    assert cli("token", "create", "--role", "inspector", *at)[0] == 0

    code, out, _ = cli("token", "list", "--json", *at)
    listed = json.loads(out)
    assert [
        dt.datetime.fromisoformat(t["expires_at"]) if t["expires_at"] else None for t in listed
    ] == [
        expires,
        None,
    ]
    _code, out, _ = cli("token", "list", *at)
    lines = out.splitlines()
    assert f"(active, expires {expires:%Y-%m-%d %H:%M} UTC)" in lines[0]
    assert lines[1].endswith("(active)")

    cli_clock.advance(days=90)
    _code, out, _ = cli("token", "list", *at)
    assert f"(expired {expires:%Y-%m-%d %H:%M} UTC)" in out.splitlines()[0]


@pytest.mark.parametrize("value", ["90", "ninety days", "0d", "-5h"])
def test_token_create_bad_expires_exits_2(data_dir: Path, db_url: str | None, value: str) -> None:
    code, _out, err = cli(
        "token", "create", "--role", "planner", "--expires", value, *where(data_dir, db_url)
    )
    assert code == 2
    assert "--expires" in err and "90d" in err
    store = Store.open(data_dir, db_url)
    try:
        with store.session() as session:
            assert list_tokens(session) == []  # nothing created
    finally:
        store.dispose()
