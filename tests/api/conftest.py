"""Fixtures of the service tests: a small data folder, a store per test, a client, tokens.

Every test that touches the database runs once per available database: SQLite (a temp
file) always, and PostgreSQL when ``EMERGENCY_TEST_DATABASE_URL`` names a server (each
test gets its own schema, dropped afterwards). Nothing is skipped: without the variable
the PostgreSQL cases are simply not generated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from emergency.service.access import SYSTEM
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token
from emergency.settings import Settings
from emergency.store.db import Store
from tests.databases import DATABASES, database_url
from tests.datafiles import write_small_dataset

STREAM_MINUTES = 0.005
"""Test stores end an order event stream after 0.3 s, so a test client reads it whole."""

ROLES = ("admin", "consultation", "planner", "inspector", "enterprise")
T0 = dt.datetime(2016, 12, 15, 8, 0, tzinfo=dt.UTC)
"""16:00 in Jiyuan on 15 Dec 2016: the consultation before the episode."""


class Clock:
    """The service's clock, set by the tests."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the data folder; else a PostgreSQL URL bound to a fresh schema."""
    with database_url(request.param, prefix="t") as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "data")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(data_dir: Path, db_url: str | None, clock: Clock) -> Iterator[Store]:
    # the tests' webhook receivers listen on loopback (docs/NOTIFY.md: private targets);
    # an order event stream ends after 0.3 s, so a test client can read one whole
    opened = open_store(
        data_dir,
        db_url,
        solver_time_limit_s=10.0,
        now=clock,
        notify_private_targets=True,
        stream_max_minutes=STREAM_MINUTES,
    )
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    return Settings(data=data_dir, database_url=db_url, max_body_bytes=64 * 1024)


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    # English problems (validation messages are Chinese without Accept-Language); the
    # tests of the languages send their own header (tests/api/test_message_language.py)
    with TestClient(create_app(settings, store=store), headers={"Accept-Language": "en"}) as (
        test_client
    ):
        yield test_client


def make_token(store: Store, role: str, enterprise: str | None = None) -> str:
    with store.session() as session:
        _view, secret = create_token(session, SYSTEM, role, enterprise_id=enterprise)
        session.commit()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def auth(store: Store) -> dict[str, dict[str, str]]:
    """Headers per role; ``enterprise`` is JY-P001, ``enterprise2`` is JY-P002."""
    headers = {
        role: bearer(make_token(store, role, "JY-P001" if role == "enterprise" else None))
        for role in ROLES
    }
    headers["enterprise2"] = bearer(make_token(store, "enterprise", "JY-P002"))
    return headers


def forecast(
    first: dt.date, aqi: list[Any], issued_at: str = "2016-12-15T16:00:00+08:00"
) -> dict[str, Any]:
    """A consultation forecast: one AQI value or [low, high] range per day from ``first``."""
    return {
        "issued_at": issued_at,
        "issued_by": ["environment", "meteorology"],
        "days": [
            {"date": (first + dt.timedelta(days=i)).isoformat(), "aqi": value}
            for i, value in enumerate(aqi)
        ],
    }


def at_issue(clock: Clock, fc: dict[str, Any]) -> dict[str, Any]:
    """Set the server's clock to the forecast's issue time (the server decides what is past)."""
    clock.now = dt.datetime.fromisoformat(fc["issued_at"]).astimezone(dt.UTC)
    return fc


DEC = dt.date(2016, 12, 16)
ORANGE = forecast(DEC, [[210, 260], [240, 290], [250, 300], [190, 240], [110, 150]])
"""Four days above 200 from 16 Dec (henan-2019: orange, 16–19 Dec)."""
RED = forecast(
    dt.date(2016, 12, 17),
    [[310, 360], [320, 400], [310, 340], [260, 300], [110, 150]],
    issued_at="2016-12-16T16:00:00+08:00",
)
"""Issued on 16 Dec: four days above 200 and three above 300 from 17 Dec (red)."""
YELLOW = forecast(
    dt.date(2016, 12, 17),
    [[200, 230], [205, 240], [100, 150], [90, 120]],
    issued_at="2016-12-16T16:00:00+08:00",
)
"""Issued on 16 Dec: two days above 200 from 17 Dec (yellow)."""
CLEAN = forecast(
    dt.date(2016, 12, 20), [[60, 90], [50, 70], [50, 80]], issued_at="2016-12-19T16:00:00+08:00"
)
"""Issued on 19 Dec: clean air from 20 Dec — release."""
