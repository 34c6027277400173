"""The public warning page in Chromium at 375 px wide: the level and its colour visible, no
horizontal scroll, and the same page with JavaScript disabled; the notice prints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.live import LiveServer, Seeded

pytestmark = pytest.mark.e2e

ORANGE_RGB = "rgb(239, 125, 0)"  # --orange in api/static/public.css


def phone(browser: Any, *, javascript: bool) -> Any:
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=javascript,
    )
    context.set_default_timeout(30_000)
    return context


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_public_page_on_a_phone(
    browser: Any, live: tuple[LiveServer, Seeded], javascript: bool
) -> None:
    server, seeded = live
    context = phone(browser, javascript=javascript)
    try:
        page = context.new_page()
        answer = page.goto(f"{server.url}/public")
        assert answer is not None and answer.status == 200
        assert "/login" not in page.url  # no sign-in
        level = page.locator("#level")
        assert level.is_visible()
        assert "橙色" in level.inner_text() and "Orange" in level.inner_text()
        colour = level.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == ORANGE_RGB
        box = level.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1] == 375, widths  # no horizontal scroll
        for heading in ("空气质量预报", "健康防护提示", "涉及公众的措施", "本采暖季预警"):
            assert page.get_by_role("heading", name=heading).first.is_visible(), heading
        history = page.locator("ul.history li")
        assert history.count() == 1
        history.get_by_role("link").click()
        page.wait_for_url(f"**/public/notice/{seeded.response_id}")
        assert page.get_by_role("heading", name="关于发布重污染天气橙色预警的通知").is_visible()
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths
    finally:
        context.close()


def test_the_notice_prints_without_the_links(browser: Any, live: tuple[LiveServer, Seeded]) -> None:
    server, seeded = live
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{server.url}/public/notice/{seeded.response_id}")
        back = page.get_by_role("link", name="返回预警页面 Back to the warning page")
        assert back.is_visible()
        page.emulate_media(media="print")
        assert not back.is_visible()
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
    finally:
        context.close()
