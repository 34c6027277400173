"""预报检验 in headless Chromium against a real uvicorn server: two past consultations (the
hand-made set of tests/test_verify.py) in the store, the observations sent over HTTP with
the consultation's token, then a planner opens the page from the navigation, sees the
scores and both plots drawn, and filters one party."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from emergency.forecast import parse_forecast
from emergency.rules import assess, load_rule_set
from emergency.service.enterprises import open_store
from emergency.store.models import Consultation
from tests.pages.live import LiveServer, Seeded
from tests.pages.test_e2e import sign_in
from tests.verify_cases import FORECAST_A, FORECAST_B, OBSERVED

pytestmark = pytest.mark.e2e

Live = tuple[LiveServer, Seeded]


def store_past_consultations(data_dir: Path) -> None:
    """A and B as the consultation stored them in December 2016 (the live server's clock is
    today's, so it would refuse forecasts issued then: they go into the store directly,
    with the warning the engine decides for them)."""
    rule_set = load_rule_set("henan-2019")
    store = open_store(data_dir, None)
    try:
        with store.session() as session:
            for fc in (FORECAST_A, FORECAST_B):
                parsed = parse_forecast(fc, "forecast")
                session.add(
                    Consultation(
                        received_at=dt.datetime.fromisoformat(fc["issued_at"]),
                        actor="consultation:test",
                        forecast=parsed.model_dump(mode="json", exclude_none=True),
                        warning=assess(parsed, rule_set).model_dump(mode="json"),
                        action="none",
                        response_id=None,
                    )
                )
            session.commit()
    finally:
        store.dispose()


def heavy_cells(page: Any, table: str = "#verify-tables") -> list[str]:
    return [c.strip() for c in page.locator(f"{table} tr.row-heavy td").all_inner_texts()]


def test_planner_reads_the_verification(page: Any, live: Live) -> None:
    server, seeded = live
    store_past_consultations(server.data_dir)
    headers = {"Authorization": f"Bearer {seeded.tokens['consultation']}"}
    body = {"observations": [{"date": d.isoformat(), "aqi": v} for d, v in OBSERVED.items()]}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30) as api:
        sent = api.post("/observations", json=body)
        assert sent.status_code == 200, sent.text
        assert sent.json()["stored"] == 6

    sign_in(page, server, seeded.tokens["planner"])
    page.get_by_role("link", name="预报检验 Verification").click()
    page.wait_for_url(f"{server.url}/verification")
    assert page.locator("#verify-pairs").inner_text() == "9"
    # the hand-computed heavy-day table: 6 hits, 1 miss, 1 false alarm
    assert heavy_cells(page) == ["6", "1", "1", "0.857", "0.143", "0.750"]
    lead3 = page.locator("#verify-leads tbody tr").nth(2).all_inner_texts()[0]
    assert re.sub(r"\s+", " ", lead3).strip() == "3 2 -30.00 80.00"
    # both plots are drawn: the SVG images decode and have a size
    for ident in ("#range-plot", "#lead-plot"):
        image = page.locator(ident)
        assert image.is_visible()
        width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 300, ident
    # one party: environment's four days (A)
    page.get_by_label("会商方 Party").select_option("environment")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选 Filter").click()
    assert "party=environment" in page.url
    assert page.locator("#verify-pairs").inner_text() == "4"
    assert heavy_cells(page) == ["3", "1", "0", "0.750", "0.000", "0.750"]
