"""Fixtures of the page tests: a small city with an open orange response, an app with the
pages, signed-in clients per role; for the browser tests, Chromium and a live server.

Browser tests need ``/usr/bin/chromium`` (Debian's; ``.ci/chromium.sh`` installs it).
Without it they are skipped locally and FAIL in CI (``CI=true``): a CI run never passes
without having driven a browser.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.pages import install
from emergency.service.enterprises import open_store
from emergency.settings import Settings
from emergency.store.db import Store
from tests.datafiles import small_rows, write_small_dataset
from tests.pages.live import LiveServer, Seeded, make_tokens, open_orange, seed

START = dt.date(2016, 12, 16)
NOW = dt.datetime(2016, 12, 15, 2, 0, tzinfo=dt.UTC)
"""10:00 in the city on the day before the episode."""

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SPREAD = {
    "JY-P001": (112.52, 35.02),
    "JY-P002": (112.57, 35.08),
    "JY-P003": (112.48, 35.14),
    "JY-S001": (112.60, 35.09),
    "JY-Y001": (112.66, 35.05),
    "JY-Q001": (112.35, 35.21),
}


def city_rows() -> list[dict[str, Any]]:
    """The small city with its sources spread out (for the map)."""
    rows = small_rows()
    for row in rows:
        row["lon"], row["lat"] = SPREAD[row["id"]]
    return rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "city", rows=city_rows())


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = open_store(data_dir, None)
    opened.config.now = lambda: NOW
    yield opened
    opened.dispose()


@pytest.fixture
def tokens(store: Store) -> dict[str, str]:
    return make_tokens(store)


@pytest.fixture
def response_id(store: Store, tokens: dict[str, str]) -> int:
    return open_orange(store, tokens["consultation"], START)


@pytest.fixture
def app(store: Store, data_dir: Path) -> FastAPI:
    application = create_app(Settings(data=data_dir), store=store)
    install(application)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def login_csrf(client: TestClient) -> str:
    """The CSRF token of the sign-in form (the client keeps its pre-sign-in cookie)."""
    form = client.get("/login", follow_redirects=False)
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert match, form.text
    return match.group(1)


def sign_in(client: TestClient, token: str) -> TestClient:
    """Sign in as a browser does: open the form, send it back with its CSRF token."""
    data = {"token": token, "next": "/", "csrf": login_csrf(client)}
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def planner(client: TestClient, tokens: dict[str, str]) -> TestClient:
    return sign_in(client, tokens["planner"])


@pytest.fixture
def inspector(client: TestClient, tokens: dict[str, str]) -> TestClient:
    return sign_in(client, tokens["inspector"])


# ----------------------------------------------------------------------------- browser


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(
            f"{reason}: the browser tests must run in CI; install Chromium with .ci/chromium.sh",
            pytrace=False,
        )
    pytest.skip(f"{reason} (install it with .ci/chromium.sh; in CI this fails)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no downloaded browser)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live(tmp_path: Path, browser: Any) -> Iterator[tuple[LiveServer, Seeded]]:
    """A uvicorn server on a free port, on a fresh small city with an open response."""
    data = write_small_dataset(tmp_path / "city", rows=city_rows())
    seeded = seed(data)
    server = LiveServer(data, log=tmp_path / "uvicorn.log").start()
    try:
        yield server, seeded
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    context.close()
