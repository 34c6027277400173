"""The supervision pages (TestClient, signed in as a browser is): the anomalies ranked and
on a map, a task opened from a form, visited and closed from its page, the grade review;
the after-action review page; and both pages in Chromium without a script or style the
page's policy refuses."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emergency.service.orders import acknowledge, add_report, approve, list_orders
from emergency.service.tokens import authenticate
from emergency.service.views import ReportIn
from emergency.store.db import Store
from tests.pages.conftest import sign_in
from tests.pages.live import LiveServer, Seeded
from tests.pages.test_actions import csrf_of
from tests.pages.test_review import text

DAY1 = dt.datetime(2016, 12, 16, 10, 0, tzinfo=dt.UTC)
"""18:00 in the city on the episode's first day."""


def over_the_limit(store: Store, tokens: dict[str, str], response_id: int) -> int:
    """Approve the list; on day 1 JY-P001 reports full load (its order allows less).
    Returns the order's id."""
    with store.session() as session:
        approve(session, authenticate(session, tokens["planner"]), response_id)
    store.config.now = lambda: DAY1
    with store.session() as session:
        firm = authenticate(session, tokens["enterprise"])
        order = next(
            o for o in list_orders(session, firm) if o.start <= DAY1.date() <= (o.end or o.start)
        )
        acknowledge(session, firm, order.id)
        report = ReportIn(at=DAY1, load=1.0, note="全负荷 full load")
        add_report(session, firm, order.id, report)
    return order.id


def test_an_inspector_follows_an_anomaly_from_the_map_to_the_grade_review(
    client: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    order_id = over_the_limit(store, tokens, response_id)
    inspector = sign_in(client, tokens["inspector"])
    url = f"/responses/{response_id}/supervision"
    page = inspector.get(url)
    assert page.status_code == 200, page.text
    shown = text(page.text)
    assert "负荷超限 load" in shown and "报告负荷 1.00 高于允许负荷" in shown
    assert re.search(r'class="dot cat-anomaly[^"]*"', page.text), "JY-P001 marked on the map"
    key = re.search(r'name="anomaly_key" value="(load:[^"]+)"', page.text)
    assert key and key.group(1).startswith(f"load:{order_id}:")
    opened = inspector.post(
        f"/responses/{response_id}/tasks",
        data={
            "csrf": csrf_of(inspector, url),
            "anomaly_key": key.group(1),
            "assigned_to": "王检查",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303 and re.fullmatch(r"/tasks/\d+", opened.headers["location"])
    task_url = opened.headers["location"]
    task_page = text(inspector.get(task_url).text)
    assert "王检查" in task_page and "assigned" in task_page
    # a visit without saying whether the breach is confirmed is refused, nothing saved
    csrf = csrf_of(inspector, task_url)
    refused = inspector.post(f"{task_url}/visit", data={"csrf": csrf, "finding": "看了 seen"})
    assert refused.status_code == 400 and "Say whether the breach is confirmed" in refused.text
    visit = {"csrf": csrf, "confirmed": "yes", "finding": "烧结机全负荷运行 sinter at full load"}
    done = inspector.post(f"{task_url}/visit", data=visit, follow_redirects=False)
    assert done.status_code == 303
    assert "烧结机全负荷运行" in text(inspector.get(task_url).text)
    again = text(inspector.get(url).text)
    assert "降级审查 Grade review" in again and "JY-P001" in again
    closed = inspector.post(f"{task_url}/close", data={"csrf": csrf}, follow_redirects=False)
    assert closed.status_code == 303
    listing = text(inspector.get("/tasks?status=closed").text)
    assert task_url.rsplit("/", 1)[1] in listing and "是 yes" in listing
    # a form without the page's CSRF token does nothing
    forged = inspector.post(
        f"/responses/{response_id}/tasks",
        data={"anomaly_key": key.group(1)},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_the_review_page_shows_measured_against_promised(
    client: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    over_the_limit(store, tokens, response_id)
    planner = sign_in(client, tokens["planner"])
    page = planner.get(f"/responses/{response_id}/review")
    assert page.status_code == 200, page.text
    table = page.text.split('id="cuts">')[1].split("</table>")[0]
    rows = [text(r).strip() for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)]
    day1 = [r for r in rows if r.startswith("2016-12-16")]
    later = [r for r in rows if r.startswith("2016-12-17")]
    assert len(day1) == 4 and all("尚未到来" not in r for r in day1)
    assert later and all("尚未到来 still to come" in r for r in later)
    assert "review.xlsx" in page.text
    enterprise = sign_in(TestClient(client.app), tokens["enterprise"])
    assert enterprise.get(f"/responses/{response_id}/review").status_code == 403
    assert enterprise.get("/tasks").status_code == 403


@pytest.mark.e2e
def test_supervision_and_review_pages_in_chromium(
    page: Any, live: tuple[LiveServer, Seeded]
) -> None:
    from tests.pages.test_e2e import sign_in as browser_sign_in

    server, seeded = live
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: refused.append(str(exc)))
    import httpx

    planner = {"Authorization": f"Bearer {seeded.tokens['planner']}"}
    approved = httpx.post(
        f"{server.url}/api/v1/responses/{seeded.response_id}/approve", headers=planner, timeout=60
    )
    assert approved.status_code == 200, approved.text
    browser_sign_in(page, server, seeded.tokens["inspector"])
    page.goto(f"{server.url}/responses/{seeded.response_id}/supervision")
    assert page.locator("svg.map").count() == 1
    assert page.get_by_role("heading", name=re.compile("Anomalies")).count() == 1
    page.get_by_role("link", name="复盘 Review").click()
    page.wait_for_url(re.compile(r"/review$"))
    assert page.locator("#cuts tbody tr").count() > 0
    page.get_by_role("link", name="核查任务 Tasks").click()
    page.wait_for_url(f"{server.url}/tasks")
    assert "没有任务 No tasks" in page.locator("main").inner_text()
    assert not [p for p in refused if "Content Security Policy" in p or "Error" in p], refused
