"""What the review pages show (TestClient): warning, list, source, map, orders, compliance."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

from fastapi.testclient import TestClient

from api.pages.render import number
from emergency.service.responses import get_plan
from emergency.service.tokens import authenticate
from emergency.solution import ResponsePlan
from emergency.store.db import Store
from tests.pages.conftest import NOW, START, sign_in
from tests.pages.live import orange_forecast


def text(html: str) -> str:
    """The visible text, roughly: tags dropped, entities decoded, spaces squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def plan_of(store: Store, token: str, response_id: int) -> ResponsePlan:
    with store.session() as session:
        return get_plan(session, authenticate(session, token), response_id)


def rows_of(html: str) -> list[str]:
    table = html.split('id="curtailment-list">')[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [text(r).strip() for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def test_dashboard_shows_warning_period_advice_and_timeline(
    planner: TestClient, response_id: int
) -> None:
    page = planner.get("/")
    assert page.status_code == 200
    shown = text(page.text)
    assert "当前预警 Current warning" in shown
    assert "橙色 Orange" in shown
    assert "2016-12-16 – 2016-12-19" in shown
    assert "停止户外活动" in shown  # the city plan's advice at orange
    assert "启动 Opened" in shown  # the consultation that opened the response
    assert "AQI 300" in shown
    assert f'href="/responses/{response_id}"' in page.text


def test_dashboard_without_any_response(planner: TestClient) -> None:
    shown = text(planner.get("/").text)
    assert "当前无预警 No warning in force" in shown
    assert "尚无响应 No response yet" in shown


def test_list_shows_costs_targets_and_every_row(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    plan = plan_of(store, tokens["planner"], response_id)
    page = planner.get(f"/responses/{response_id}")
    assert page.status_code == 200
    shown = text(page.text)
    assert f'<dd id="total-cost">{number(plan.total_cost_yuan)}</dd>' in page.text
    assert f'<dd id="floor-cost">{number(plan.floor_cost_yuan)}</dd>' in page.text
    assert f'<dd id="bound">{number(plan.bound_yuan)}</dd>' in page.text
    assert "最优 optimal" in shown
    assert "边际成本 Marginal cost" in shown
    # One chart per target row, drawn server-side, each with the days' values described.
    assert page.text.count('<svg class="chart"') == len(plan.days[0].rows) == 4
    assert "12-16 cut" in page.text
    rows = rows_of(page.text)
    assert len(rows) == len({a.source for a in plan.assignments}) == 6
    steel = next(r for r in rows if "JY-P001" in r)
    assert "加严 deepened" in steel and "预案 floor" in steel
    assert "deepened from stop-sinter to deep" in steel  # why, from the optimiser
    assert 'href="/responses/1/sources/JY-P001"' in page.text


def test_list_filters(planner: TestClient, response_id: int) -> None:
    url = f"/responses/{response_id}"
    by_district = rows_of(planner.get(url, params={"district": "克井镇"}).text)
    assert len(by_district) == 1 and "JY-P003" in by_district[0]
    by_industry = rows_of(planner.get(url, params={"industry": "coking"}).text)
    assert len(by_industry) == 1 and "JY-P002" in by_industry[0]
    by_grade = rows_of(planner.get(url, params={"grade": "B"}).text)
    assert [r.split()[0] for r in by_grade] == ["JY-P001"]
    by_kind = rows_of(planner.get(url, params={"kind": "site"}).text)
    assert [r.split()[0] for r in by_kind] == ["JY-S001"]
    deepened = rows_of(planner.get(url, params={"deepened": "1"}).text)
    assert [r.split()[0] for r in deepened] == ["JY-P001"]
    searched = rows_of(planner.get(url, params={"q": "石料"}).text)
    assert [r.split()[0] for r in searched] == ["JY-Q001"]
    one_day = planner.get(url, params={"day": "2016-12-17"}).text
    assert all("12-17" in r and "1 天" in r for r in rows_of(one_day))
    none = planner.get(url, params={"district": "nowhere"}).text
    assert "没有符合条件的行 No rows match" in text(none)
    # Unknown values fall back instead of failing.
    assert planner.get(url, params={"sort": "drop table", "day": "x"}).status_code == 200


def test_list_sorting(planner: TestClient, response_id: int) -> None:
    url = f"/responses/{response_id}"

    def order(**params: str) -> list[str]:
        return [r.split()[0] for r in rows_of(planner.get(url, params=params).text)]

    ids = order(sort="source", order="asc")
    assert ids == sorted(ids)
    assert order(sort="source", order="desc") == sorted(ids, reverse=True)
    assert order()[0] == "JY-P001"  # default: largest cost first
    assert order(sort="cut_vocs")[0] == "JY-P002"  # the coke oven cuts most VOCs
    page = planner.get(url, params={"sort": "cost"}).text
    assert 'aria-sort="descending"' in page
    assert "sort=cost&amp;order=asc" in page  # the header flips the order


def test_an_old_plan_version_can_be_viewed(
    planner: TestClient, response_id: int, store: Store, tokens: dict[str, str]
) -> None:
    from emergency.service.overrides import add_override
    from emergency.service.views import OverrideIn

    with store.session() as session:
        actor = authenticate(session, tokens["planner"])
        add_override(
            session, actor, response_id, OverrideIn(source="JY-Q001", exempt=True, reason="t")
        )
    old = planner.get(f"/responses/{response_id}", params={"version": 1}).text
    assert "您正在查看第 1 版（非当前）" in old
    assert "批准并下达指令" not in old  # approving is for the current version only
    assert planner.get(f"/responses/{response_id}", params={"version": 9}).status_code == 404


def test_source_page_shows_plan_lines_measures_levels_and_why(
    planner: TestClient, response_id: int
) -> None:
    page = planner.get(f"/responses/{response_id}/sources/JY-P001")
    assert page.status_code == 200
    shown = text(page.text)
    assert "一厂一策 One-plant-one-policy plan" in shown
    assert "1#烧结机 sinter-1" in shown and "1#高炉 bf-1" in shown  # lines
    assert "烧结停产、高炉减半 deep" in shown  # measures with their loads
    assert "负荷 load sinter-1" in shown and "50 %" in shown
    assert "红色 Red" in shown  # the level each measure is committed at
    assert "deepened from stop-sinter to deep" in shown
    assert "含重启 incl. restart 400,000" in shown  # the first stop's restart cost
    assert "调整 Override" in shown


def test_source_without_plan_shows_city_defaults(planner: TestClient, response_id: int) -> None:
    shown = text(planner.get(f"/responses/{response_id}/sources/JY-S001").text)
    assert "城市默认措施 City default measures" in shown
    assert "停止土石方作业 stop-earthwork" in shown and "全面停工 stop-all" in shown


def test_inspector_sees_why_but_not_the_plan_or_the_form(
    inspector: TestClient, response_id: int
) -> None:
    page = inspector.get(f"/responses/{response_id}/sources/JY-P001")
    assert page.status_code == 200
    shown = text(page.text)
    assert "deepened from stop-sinter to deep" in shown
    assert "无权查看企业预案" in shown
    assert "调整并重新优化" not in shown
    assert "批准并下达指令" not in text(inspector.get(f"/responses/{response_id}").text)


def test_map_draws_every_source_coloured_by_measure(planner: TestClient, response_id: int) -> None:
    page = planner.get(f"/responses/{response_id}/map")
    assert page.status_code == 200
    assert page.text.count("<circle") == 6
    assert page.text.count("cat-deepened") >= 2  # one dot, one legend swatch
    assert page.text.count('href="/responses/1/sources/') == 6
    assert "虎岭产业集聚区" in page.text  # district labels
    assert "km</text>" in page.text  # the scale bar
    other = planner.get(f"/responses/{response_id}/map", params={"day": "2016-12-18"})
    assert 'value="2016-12-18" selected' in other.text


def test_orders_and_compliance_before_approval(planner: TestClient, response_id: int) -> None:
    orders = text(planner.get(f"/responses/{response_id}/orders").text)
    assert "尚无指令 No orders yet" in orders
    compliance = planner.get(f"/responses/{response_id}/compliance")
    assert compliance.status_code == 200
    assert "尚无指令 No orders yet" in text(compliance.text)


def test_pages_need_no_inline_script_or_style(planner: TestClient, response_id: int) -> None:
    """The CSP forbids inline script and style; no page may depend on them."""
    for path in ["/", f"/responses/{response_id}", f"/responses/{response_id}/map"]:
        page = planner.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        # the list is revalidated (ETag, tests/pages/test_list_cache.py); the others not kept
        kept = "private, no-cache" if path == f"/responses/{response_id}" else "no-store"
        assert page.headers["cache-control"] == kept
        assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None
        assert " style=" not in page.text and "<style" not in page.text
        assert "https://" not in page.text and "http://" not in page.text.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        )


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/pages.css")
    assert css.status_code == 200 and "focus-visible" in css.text
    assert client.get("/static/pages.js").status_code == 200


def test_timeline_follows_upgrade_and_release(
    planner: TestClient, store: Store, tokens: dict[str, str], response_id: int
) -> None:
    from emergency.service.consult import consult

    red = orange_forecast(START, NOW)
    for day, aqi in zip(
        red["days"], [(280, 320), (300, 350), (300, 330), (220, 260)], strict=False
    ):
        day["aqi"] = list(aqi)
    with store.session() as session:
        actor = authenticate(session, tokens["consultation"])
        assert consult(session, actor, red).action == "upgraded"
    shown = text(planner.get("/").text)
    assert "升级 Upgraded" in shown and "红色 Red" in shown
    assert "中小学停课" in shown  # the advice at red
    clean = {
        "issued_at": "2016-12-18T16:00:00+08:00",
        "days": [{"date": "2016-12-19", "aqi": [60, 90]}, {"date": "2016-12-20", "aqi": [50, 70]}],
    }
    store.config.now = lambda: dt.datetime(2016, 12, 18, 8, 0, tzinfo=dt.UTC)  # when it is issued
    with store.session() as session:
        actor = authenticate(session, tokens["consultation"])
        assert consult(session, actor, clean).action == "released"
    sign_in(planner, tokens["planner"])  # three days later: the session has expired
    shown = text(planner.get("/").text)
    assert "当前无预警 No warning in force" in shown
    assert "最近的响应 Latest response" in shown
    assert shown.index("启动 Opened") < shown.index("升级 Upgraded") < shown.index("解除 Released")


def test_a_form_sent_after_signing_out_comes_back_to_its_page(
    client: TestClient, response_id: int
) -> None:
    answer = client.post(
        f"/responses/{response_id}/approve",
        headers={"referer": f"http://testserver/responses/{response_id}/approve"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/login?next=%2Fresponses%2F{response_id}%2Fapprove"
    elsewhere = client.post(
        f"/responses/{response_id}/approve",
        headers={"referer": "http://evil.example/x"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/login"
