"""``/docs`` in headless Chromium: Swagger UI runs under the pages' CSP, all from this host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.datafiles import write_small_dataset
from tests.pages.live import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path, browser: Any) -> Iterator[LiveServer]:
    """A uvicorn server on a fresh small city (the docs need no response)."""
    data = write_small_dataset(tmp_path / "city")
    with LiveServer(data, log=tmp_path / "uvicorn.log") as running:
        yield running


def test_swagger_ui_renders_from_local_files(page: Any, server: LiveServer) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    answer = page.goto(f"{server.url}/docs")
    assert answer is not None and answer.ok
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary", timeout=30_000)  # the operations are listed
    assert page.locator(".opblock-summary").count() > 10
    assert "Emergency response decision engine" in page.locator(".info .title").inner_text()

    assert requested and all(url.startswith(server.url) for url in requested), requested
    assert not [p for p in problems if "Content Security Policy" in p], problems
