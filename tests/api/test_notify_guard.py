"""Webhook targets on the server's own network are refused (docs/NOTIFY.md): when
registered (an address or ``localhost``) and when delivered to (a name resolving to one),
unless the city allows private targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from emergency.notify.dispatch import Dispatcher
from emergency.notify.subscriptions import not_public
from emergency.service.enterprises import open_store
from emergency.settings import Settings
from emergency.store.db import Store
from emergency.store.models import DeliveryAttempt, Notification, Subscription
from tests.api.conftest import ORANGE, Clock, at_issue, bearer, make_token
from tests.webhook_receiver import Receiver, serving

API = "/api/v1"
SECRET = "s3cret-of-the-guard-receiver-0123"


@pytest.fixture
def guarded(data_dir: Path, db_url: str | None, clock: Clock) -> Iterator[Store]:
    """A store with the default settings: private targets refused."""
    opened = open_store(data_dir, db_url, solver_time_limit_s=10.0, now=clock)
    assert opened.config.notify_private_targets is False
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.9", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("[fe80::1]", True),
        ("0.0.0.0", True),
        ("localhost", True),
        ("api.localhost", True),
        ("224.0.0.1", True),
        # IPv6 addresses carrying a private IPv4 one, reached through a gateway
        ("::ffff:10.0.0.1", True),  # mapped
        ("64:ff9b::a00:1", True),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", True),  # the old IPv4-compatible form
        ("64:ff9b::5db8:d822", False),  # NAT64 of a public address
        ("2606:4700::1111", False),
        ("93.184.216.34", False),
        ("hooks.example.com", False),  # a name: checked when resolved, at delivery
    ],
)
def test_what_is_not_public(host: str, private: bool) -> None:
    assert not_public(host) is private


def test_private_targets_are_refused_when_registered(
    data_dir: Path, db_url: str | None, guarded: Store
) -> None:
    settings = Settings(data=data_dir, database_url=db_url, notify_dispatch=False)
    with TestClient(create_app(settings, store=guarded)) as client:
        enterprise = bearer(make_token(guarded, "enterprise", "JY-P001"))
        for target in (
            "http://127.0.0.1:8080/hook",
            "http://10.0.0.5/hook",
            "http://[::1]:9000/hook",
            "http://localhost/hook",
            "https://169.254.169.254/latest/meta-data",
        ):
            r = client.post(f"{API}/subscriptions", json={"target": target}, headers=enterprise)
            assert r.status_code == 400, (target, r.text)
            body = r.json()
            assert "target" in body["detail"] and "不是公网地址" in body["detail"]
            assert "is not a public address" in body["detail_en"]
        plain = client.post(
            f"{API}/subscriptions", json={"target": "http://93.184.216.34/hook"}, headers=enterprise
        )
        assert plain.status_code == 400, plain.text
        assert "须为 https://" in plain.json()["detail"]
        assert "must be https://" in plain.json()["detail_en"]
        ok = client.post(
            f"{API}/subscriptions",
            json={"target": "https://93.184.216.34/hook"},
            headers=enterprise,
        )
        assert ok.status_code == 201, ok.text
    with guarded.session() as session:
        assert len(session.scalars(select(Subscription)).all()) == 1  # nothing else stored


def test_a_loopback_target_stored_earlier_is_not_called_at_delivery(
    data_dir: Path, db_url: str | None, guarded: Store, clock: Clock
) -> None:
    # a subscription stored before the guard (or by a name that resolved elsewhere then):
    # at delivery the name resolves to loopback, the receiver is never called, the attempt
    # is recorded with the reason
    settings = Settings(data=data_dir, database_url=db_url, notify_dispatch=False)
    with serving(Receiver(SECRET)) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        with guarded.session() as session:
            session.add(
                Subscription(
                    channel="webhook",
                    target=f"http://localhost.:{port}/hook",
                    secret=SECRET,
                    enterprise_id=None,
                    created_at=clock(),
                    created_by="test",
                )
            )
            session.commit()
        with TestClient(create_app(settings, store=guarded)) as client:
            planner = bearer(make_token(guarded, "planner"))
            r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=planner)
            assert r.status_code == 200, r.text
        Dispatcher(guarded).run_once()
        assert receiver.got == []
    with guarded.session() as session:
        (note,) = session.scalars(select(Notification)).all()
        assert note.status == "pending" and "not a public address" in (note.last_error or "")
        (attempt,) = session.scalars(select(DeliveryAttempt)).all()
        assert attempt.http_status is None
