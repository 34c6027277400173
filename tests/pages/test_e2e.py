"""The planner's review in headless Chromium against a real uvicorn server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.pages.live import LiveServer, Seeded

pytestmark = pytest.mark.e2e

Live = tuple[LiveServer, Seeded]


def sign_in(page: Any, server: LiveServer, token: str) -> None:
    page.goto(server.url + "/")
    assert "/login" in page.url  # signed out: the pages ask for a token first
    page.get_by_label("令牌 Token").fill(token)
    page.get_by_role("button", name="登录 Sign in").click()
    page.wait_for_url(server.url + "/")


def money(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_sign_in_then_review_the_list(page: Any, live: Live) -> None:
    server, seeded = live
    sign_in(page, server, seeded.tokens["planner"])
    assert page.get_by_text("已登录 Signed in as test planner").is_visible()
    assert page.locator(".warning-card .badge.level").inner_text() == "橙色 Orange"

    page.get_by_role("link", name="查看减排清单 Review the curtailment list").click()
    page.wait_for_url(f"{server.url}/responses/{seeded.response_id}")
    rows = page.locator("#curtailment-list tbody tr")
    assert rows.count() == 6  # every source of the small city has a measure at orange
    assert money(page.locator("#total-cost").inner_text()) > 0
    assert page.locator("svg.chart").count() == 4  # SO2, NOx, PM, VOCs against targets

    # Filters are a plain form: deepened only keeps the steel plant.
    page.get_by_label("仅加严 Deepened only").check()
    page.get_by_role("button", name="筛选 Filter").click()
    page.wait_for_url(re.compile(r"deepened=1"))
    assert page.locator("#curtailment-list tbody tr").count() == 1
    assert "JY-P001" in page.locator("#curtailment-list tbody").inner_text()


def test_override_changes_the_totals(page: Any, live: Live) -> None:
    server, seeded = live
    sign_in(page, server, seeded.tokens["planner"])
    page.goto(f"{server.url}/responses/{seeded.response_id}")
    before = money(page.locator("#total-cost").inner_text())
    cut_before = page.locator("#list-summary").inner_text()

    page.get_by_role("link", name="JY-S001", exact=True).click()
    page.get_by_label(re.compile("全面停工")).check()
    page.get_by_label("理由 Reason").fill("市政府要求全面停工 city order: stop all works")
    page.get_by_role("button", name="调整并重新优化 Override and re-optimise").click()

    page.wait_for_url(f"{server.url}/responses/{seeded.response_id}")
    assert "Re-optimised" in page.locator(".flash").inner_text()
    after = money(page.locator("#total-cost").inner_text())
    assert after != before
    assert page.locator("#list-summary").inner_text() != cut_before
    assert "方案第 2 版" in page.locator(".response-head").inner_text()
    site = page.locator("#curtailment-list tbody tr", has_text="JY-S001")
    assert "stop-all" in site.inner_text()
    assert "人工指定 override" in site.inner_text()


def test_approve_issues_orders(page: Any, live: Live) -> None:
    server, seeded = live
    sign_in(page, server, seeded.tokens["planner"])
    page.goto(f"{server.url}/responses/{seeded.response_id}/orders")
    assert page.locator("#orders tbody tr").count() == 0

    page.goto(f"{server.url}/responses/{seeded.response_id}")
    page.get_by_role("link", name="批准并下达指令 Approve and issue orders").click()
    assert "确认 Confirm" in page.locator("h2#confirm-title").inner_text()
    page.get_by_role("button", name=re.compile("确认批准并下达指令")).click()

    page.wait_for_url(f"{server.url}/responses/{seeded.response_id}/orders")
    assert "orders issued" in page.locator(".flash").inner_text()
    orders = page.locator("#orders tbody tr")
    assert orders.count() >= 6
    assert "已下达 issued" in orders.first.inner_text()

    page.get_by_role("link", name="合规 Compliance").click()
    assert "0 / " in page.locator(".kpis").inner_text()  # nothing acknowledged yet


def test_keyboard_only_filter_and_sign_out(page: Any, live: Live) -> None:
    server, seeded = live
    sign_in(page, server, seeded.tokens["inspector"])
    page.goto(f"{server.url}/responses/{seeded.response_id}")
    # The first Tab reaches the skip link; Enter moves to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("跳到正文")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # An inspector reviews but may not approve or override.
    assert page.get_by_role("link", name="批准并下达指令 Approve and issue orders").count() == 0

    page.get_by_label("区域 District").focus()
    page.keyboard.press("End")  # last district in the list
    chosen = page.eval_on_selector("#f-district", "el => el.value")
    page.get_by_label("搜索 Search").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("district="))
    districts = page.locator("#curtailment-list tbody tr td:nth-child(3)").all_inner_texts()
    assert districts and set(districts) == {chosen}

    page.get_by_role("button", name="退出 Sign out").press("Enter")
    page.wait_for_url(re.compile("/login"))
    page.goto(f"{server.url}/responses/{seeded.response_id}")
    assert "/login" in page.url


def test_map_dots_link_to_sources(page: Any, live: Live) -> None:
    server, seeded = live
    sign_in(page, server, seeded.tokens["planner"])
    page.goto(f"{server.url}/responses/{seeded.response_id}/map")
    dots = page.locator("svg.map circle.dot")
    assert dots.count() == 6
    assert page.locator("svg.map circle.cat-deepened").count() == 1
    page.locator("svg.map a", has=page.locator("circle.cat-deepened")).click()
    page.wait_for_url(re.compile(r"/sources/JY-P001$"))
    assert "一厂一策 One-plant-one-policy plan" in page.content()
