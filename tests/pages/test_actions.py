"""The planner's actions from the pages (TestClient): override, approve, release, download."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.pages.render import number
from emergency.export import to_csv
from emergency.service.orders import acknowledge, add_report, list_orders
from emergency.service.planning import loaded_data
from emergency.service.responses import get_plan, get_response_detail
from emergency.service.tokens import authenticate
from emergency.service.views import ReportIn
from emergency.store.db import Store
from tests.pages.conftest import sign_in
from tests.pages.test_review import rows_of, text


def csrf_of(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def version_of(store: Store, token: str, response_id: int) -> int:
    with store.session() as session:
        return get_response_detail(session, authenticate(session, token), response_id).plan_version


def override(client: TestClient, response_id: int, **form: str) -> Any:
    csrf = csrf_of(client, f"/responses/{response_id}/sources/{form['source']}")
    return client.post(
        f"/responses/{response_id}/overrides", data={"csrf": csrf, **form}, follow_redirects=False
    )


def test_override_reoptimises_and_shows_the_new_totals(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    with store.session() as session:
        before = get_plan(session, authenticate(session, tokens["planner"]), response_id)
    answer = override(
        planner, response_id, source="JY-S001", choice="m:stop-all", reason="city order"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/responses/{response_id}"
    page = planner.get(f"/responses/{response_id}").text
    with store.session() as session:
        after = get_plan(session, authenticate(session, tokens["planner"]), response_id)
    assert after.total_cost_yuan != before.total_cost_yuan
    assert f'<dd id="total-cost">{number(after.total_cost_yuan)}</dd>' in page
    shown = text(page)
    assert f"{number(before.total_cost_yuan)} → {number(after.total_cost_yuan)}" in shown
    assert "方案第 2 版" in shown and "待批准 not approved" in shown
    site = next(r for r in rows_of(page) if r.startswith("JY-S001"))
    assert "stop-all" in site and "人工指定 override" in site
    assert "city order" in shown  # the overrides table


def test_exempting_a_source(planner: TestClient, response_id: int) -> None:
    answer = override(planner, response_id, source="JY-Q001", choice="exempt", reason="hospital")
    assert answer.status_code == 303
    page = text(planner.get(f"/responses/{response_id}/sources/JY-Q001").text)
    assert "exempted by the planner: hospital" in page
    assert "豁免 exempt · hospital" in page


def test_an_override_the_plans_cannot_meet_is_explained(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    # The coke oven feeds the blast furnace: exempting the steel plant breaks the supply edge.
    answer = override(planner, response_id, source="JY-P001", choice="exempt", reason="try")
    assert answer.status_code == 400
    shown = text(answer.text)
    assert "JY-P002/coke-1 → JY-P001/bf-1" in shown
    assert 'value="exempt" checked' in answer.text
    assert version_of(store, tokens["planner"], response_id) == 1  # nothing stored


def test_bad_override_forms_are_refused(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    for form, status, message in [
        ({"choice": "m:no-such", "reason": "x"}, 400, "has no measure 'no-such'"),
        ({"choice": "", "reason": "x"}, 400, "请选择措施或豁免"),
        ({"choice": "exempt", "reason": "  "}, 400, "reason"),
    ]:
        answer = override(planner, response_id, source="JY-S001", **form)
        assert answer.status_code == status, form
        assert message in text(answer.text), form
    forged = planner.post(
        f"/responses/{response_id}/overrides",
        data={"source": "JY-S001", "choice": "exempt", "reason": "x", "csrf": "0" * 64},
    )
    assert forged.status_code == 403
    missing = planner.post(f"/responses/{response_id}/overrides", data={"choice": "exempt"})
    assert missing.status_code == 400
    assert version_of(store, tokens["planner"], response_id) == 1


def test_approve_asks_for_confirmation_then_issues_orders(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    confirm = planner.get(f"/responses/{response_id}/approve")
    assert confirm.status_code == 200
    shown = text(confirm.text)
    assert "确认批准并下达指令 Confirm: approve and issue orders" in shown
    assert 'name="plan_version" value="1"' in confirm.text
    csrf = csrf_of(planner, f"/responses/{response_id}/approve")
    answer = planner.post(
        f"/responses/{response_id}/approve",
        data={"csrf": csrf, "plan_version": "1"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/responses/{response_id}/orders"
    orders_page = planner.get(answer.headers["location"])
    with store.session() as session:
        orders = list_orders(session, authenticate(session, tokens["planner"]))
    assert orders
    shown = text(orders_page.text)
    assert f"下达 {len(orders)} 条指令 orders issued" in shown
    assert orders_page.text.count('class="order-issued"') == len(orders)
    # Approving again issues nothing new.
    again = planner.post(
        f"/responses/{response_id}/approve", data={"csrf": csrf, "plan_version": "1"}
    )
    assert "already approved" in text(again.text)
    assert "已批准 approved" in text(planner.get(f"/responses/{response_id}").text)
    timeline = text(planner.get("/").text)
    assert (
        f"2016-12-15 10:00 下达指令 Orders issued 方案第 1 版 plan version 1: {len(orders)} 条"
        in (timeline)
    )


def test_approving_a_stale_version_is_a_conflict(planner: TestClient, response_id: int) -> None:
    csrf = csrf_of(planner, f"/responses/{response_id}/approve")
    override(planner, response_id, source="JY-Q001", choice="exempt", reason="x")
    answer = planner.post(
        f"/responses/{response_id}/approve", data={"csrf": csrf, "plan_version": "1"}
    )
    assert answer.status_code == 409
    assert "plan version 1 is not current" in answer.text


def test_release_lifts_the_orders(planner: TestClient, response_id: int) -> None:
    csrf = csrf_of(planner, f"/responses/{response_id}/approve")
    planner.post(f"/responses/{response_id}/approve", data={"csrf": csrf})
    assert "确认解除 Confirm: release" in text(
        planner.get(f"/responses/{response_id}/release").text
    )
    answer = planner.post(
        f"/responses/{response_id}/release", data={"csrf": csrf, "note": "air cleared"}
    )
    assert answer.status_code == 200
    shown = text(answer.text)
    assert "响应已解除 Response released" in shown
    assert "已解除 lifted" in shown
    assert "当前无预警 No warning in force" in text(planner.get("/").text)
    again = planner.post(f"/responses/{response_id}/release", data={"csrf": csrf})
    assert again.status_code == 409


def test_compliance_shows_acknowledged_reported_and_anomalies(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    csrf = csrf_of(planner, f"/responses/{response_id}/approve")
    planner.post(f"/responses/{response_id}/approve", data={"csrf": csrf})
    with store.session() as session:
        firm = authenticate(session, tokens["enterprise"])
        order = list_orders(session, firm)[0]
        acknowledge(session, firm, order.id)
        at = dt.datetime(2016, 12, 16, 17, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        store.config.now = lambda: at + dt.timedelta(minutes=30)  # reported the next day
        add_report(session, firm, order.id, ReportIn(at=at, load=0.95, note="running"))
    sign_in(planner, tokens["planner"])  # the next day: yesterday's session has expired
    page = planner.get(f"/responses/{response_id}/compliance")
    assert page.status_code == 200
    shown = text(page.text)
    assert "已确认 Acknowledged 1 /" in shown
    assert "已报告 Reported 1 /" in shown
    assert "负荷超限 load" in shown
    assert "reported load 0.95 above allowed" in shown


def test_downloads_are_the_api_files(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    csv = planner.get(f"/responses/{response_id}/plan.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    with store.session() as session:
        plan = get_plan(session, authenticate(session, tokens["planner"]), response_id)
        assert csv.text == to_csv(plan, loaded_data(session).dataset)
    xlsx = planner.get(f"/responses/{response_id}/plan.xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert "list" in book.sheetnames


def test_the_orders_page_flags_orders_that_have_not_reached_their_enterprise(
    planner: TestClient, store: Store, response_id: int
) -> None:
    # no enterprise has a webhook: just issued, nothing is flagged; eleven minutes later
    # (past notify_unreached_minutes, 10) every order still unacknowledged is
    csrf = csrf_of(planner, f"/responses/{response_id}/approve")
    planner.post(f"/responses/{response_id}/approve", data={"csrf": csrf, "plan_version": "1"})
    page = planner.get(f"/responses/{response_id}/orders").text
    issued = page.count('class="order-issued"')
    assert issued > 0
    assert "未送达 unreached" not in page and "无推送 no notification" in text(page)
    now = store.config.now()
    store.config.now = lambda: now + dt.timedelta(minutes=11)
    late = planner.get(f"/responses/{response_id}/orders").text
    assert late.count("未送达 unreached") == issued
    assert f"{issued} 条指令未送达企业 orders have not reached their enterprise" in text(late)
