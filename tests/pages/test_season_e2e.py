"""The heating season in headless Chromium against a real uvicorn server: a planner posts a
season file, reads the calendar and the quotas, approves; the enterprise then lists its
staggered order through the HTTP API with its token and acknowledges it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from emergency.settings import CITY_OFFSET
from tests.pages.live import ENTERPRISE, LiveServer, Seeded
from tests.pages.test_e2e import sign_in

pytestmark = pytest.mark.e2e

Live = tuple[LiveServer, Seeded]


def season_from(today: dt.date) -> str:
    """Two weeks from ``today``: the sinter machine stops 3 days, where the risk is (days
    5–7); the server's clock is the real one, so the season is dated from it."""
    day = [(today + dt.timedelta(days=i)).isoformat() for i in range(14)]
    return (
        f"id: e2e-season\nstart: {day[0]}\nend: {day[13]}\n"
        "quotas:\n  - {id: sinter, industry: steel, lines: ['sinter-*'], stop_days: 3}\n"
        f"risk:\n  {day[5]}: 5\n  {day[6]}: 5\n  {day[7]}: 5\n"
    )


def test_plan_approve_then_the_enterprise_acknowledges(page: Any, live: Live) -> None:
    server, seeded = live
    today = dt.datetime.now(CITY_OFFSET).date()
    sign_in(page, server, seeded.tokens["planner"])

    page.get_by_role("link", name="错峰生产 Season").click()
    page.wait_for_url(f"{server.url}/season")
    page.get_by_label("季节方案 Season file (YAML)").fill(season_from(today))
    page.get_by_role("button", name="编制 Plan").click()
    page.wait_for_url(re.compile(r"/season/\d+$"))
    assert "waiting for approval" in page.locator(".flash").inner_text()
    assert "待审核 pending" in page.locator("#season-summary").inner_text()

    # the quota, met; the calendar: the steel plant's sinter machine stops on the risky days
    quota = page.locator("#season-quotas tbody tr", has_text="sinter")
    assert "达标 met" in quota.inner_text()
    rows = page.locator("#cal-rows tr")
    assert rows.count() == 1
    stop = page.locator('#cal-rows tr[data-source="JY-P001"] td.m-part')
    assert stop.count() == 1 and stop.get_attribute("colspan") == "3"
    title = stop.get_attribute("title") or ""
    first, last = (today + dt.timedelta(days=5)).isoformat(), (today + dt.timedelta(days=7))
    assert f"{first} – {last}" in title and "stop-sinter" in title
    # the open response (from tomorrow) is marked in the header; the risk too
    assert page.locator("#cal-responses td.resp").count() >= 1
    assert page.locator("#cal-risk td.risk-4").count() == 3

    approve = page.get_by_role("button", name=re.compile("^批准并下达错峰指令 Approve"))
    with page.expect_navigation():
        approve.click()
    assert "1 staggered orders issued" in page.locator(".flash").inner_text()
    assert "已批准 approved" in page.locator("#season-summary").inner_text()

    # the enterprise, with its own token, over HTTP
    headers = {"Authorization": f"Bearer {seeded.tokens['enterprise']}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30) as api:
        listed = api.get("/orders", params={"kind": "staggered"})
        assert listed.status_code == 200, listed.text
        orders = listed.json()
        assert [(o["kind"], o["source"], o["start"], o["status"]) for o in orders] == [
            ("staggered", ENTERPRISE, first, "issued")
        ]
        acked = api.post(f"/orders/{orders[0]['id']}/ack")
        assert acked.status_code == 200, acked.text
        assert acked.json()["status"] == "acknowledged"

    # the planner's page shows the order acknowledged
    page.reload()
    page.get_by_text("查看指令 Show the orders").click()
    order = page.locator("#season-orders tbody tr")
    assert order.count() == 1 and "已签收 acknowledged" in order.inner_text()
