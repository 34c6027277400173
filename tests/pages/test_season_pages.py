"""错峰生产 The season pages: post a season file, the calendar and its filters, quotas met or
short, running shares, approve (staggered orders) or reject, re-plan; roles and CSRF."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from emergency.service.orders import list_orders
from emergency.service.season import list_season_plans
from emergency.service.tokens import authenticate
from emergency.store.db import Store
from tests.api.test_season_api import SEASON
from tests.pages.conftest import sign_in
from tests.pages.test_actions import csrf_of
from tests.pages.test_review import text

SHORT = (
    SEASON
    + "min_running_share:\n  steel: 0.9\n"
    + "key_periods:\n  - {name: 元旦, start: 2016-12-25, end: 2016-12-26, level: orange}\n"
)
"""An orange key period holds the steel plant at its floor (30 % of its output) on 25–26 Dec,
below the 90 % it must keep running; that 90 % allows no sinter stop outside the key period,
so the sinter machine stops two of its three days: both fall short."""


def post(client: TestClient, season: str = SEASON) -> int:
    """Post a season file from the list page; the new version's id."""
    answer = client.post(
        "/season",
        data={"season": season, "risk_csv": "", "csrf": csrf_of(client, "/season")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(r"/season/(\d+)", answer.headers["location"])
    assert match, answer.headers["location"]
    return int(match.group(1))


def rows(html: str) -> list[str]:
    """The sources listed in the calendar, in order."""
    body = html.split('id="cal-rows"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr data-source="([^"]+)"', body)


def staggered(store: Store, token: str) -> list[tuple[str, str, str, str]]:
    with store.session() as session:
        actor = authenticate(session, token)
        orders = list_orders(session, actor, kind="staggered")
    return [(o.source, o.start.isoformat(), str(o.end), o.status) for o in orders]


def statuses(store: Store, token: str) -> dict[int, str]:
    with store.session() as session:
        return {p.id: p.status for p in list_season_plans(session, authenticate(session, token))}


def test_post_then_the_calendar_quotas_and_marked_days(
    planner: TestClient, response_id: int
) -> None:
    listed = planner.get("/season")
    assert listed.status_code == 200
    assert "编制方案 Plan a season" in text(listed.text)
    assert 'href="/season" aria-current="page"' in listed.text

    plan_id = post(planner)
    page = planner.get(f"/season/{plan_id}")
    assert page.status_code == 200
    shown = text(page.text)
    assert "Planned winter-2016 v1: waiting for approval" in shown  # the flash
    assert "待审核 pending" in shown and "最优 optimal" in shown
    assert re.search(r'id="season-cost">3,520,000<', page.text)
    # the quota, met
    quota = re.search(r'<tr class="quota-met">(.*?)</tr>', page.text, re.S)
    assert quota and "sinter" in quota.group(1) and "达标 met" in quota.group(1)
    # the calendar: only the steel plant has a staggered measure; its sinter machine stops
    # 20–22 Dec (the riskiest days) while the blast furnace runs at 80 %
    assert rows(page.text) == ["JY-P001"]
    steel = page.text.split('<tr data-source="JY-P001">', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td(?: colspan="(\d+)")? class="m-(\w+)" title="([^"]*)"', steel)
    assert [(span or "1", kind) for span, kind, _ in cells] == [
        ("5", "normal"),
        ("3", "part"),
        ("6", "normal"),
    ]
    assert "stop-sinter 烧结机停产" in cells[1][2] and "bf-1 80 %" in cells[1][2]
    # the open orange response's days (16–19 Dec) are marked in the header
    marks = page.text.split('id="cal-responses"', 1)[1].split("</tr>", 1)[0]
    marked = re.findall(r'<td class="resp" title="(\d{4}-\d\d-\d\d)[^"]*response #', marks)
    assert marked == ["2016-12-16", "2016-12-17", "2016-12-18", "2016-12-19"]
    risk = page.text.split('id="cal-risk"', 1)[1].split("</tr>", 1)[0]
    assert len(re.findall(r'class="risk-4"', risk)) == 3  # 20–22 Dec carry the risk
    assert "批准并下达错峰指令 Approve and issue staggered orders" in shown


def test_filter_by_industry_and_district_narrows_the_rows(planner: TestClient) -> None:
    plan_id = post(planner)
    url = f"/season/{plan_id}"
    assert rows(planner.get(url, params={"show": "all"}).text) == [
        "JY-P002",
        "JY-P003",
        "JY-P001",
    ]  # by industry: coking, power, steel
    coking = planner.get(url, params={"show": "all", "industry": "coking"}).text
    assert rows(coking) == ["JY-P002"]
    assert '<option value="coking" selected>' in coking
    # the running-share rows follow the industry filter too
    assert 'data-industry="steel"' not in coking
    district = planner.get(url, params={"show": "all", "district": "克井镇"}).text
    assert rows(district) == ["JY-P003"]
    # without "show all", a filter that keeps only normal sources lists none
    none = planner.get(url, params={"industry": "coking"})
    assert rows(none.text) == [] and "No source matches" in text(none.text)


def test_quota_and_running_share_short_are_shown_short(planner: TestClient) -> None:
    plan_id = post(planner, SHORT)
    page = planner.get(f"/season/{plan_id}")
    assert page.status_code == 200
    shown = text(page.text)
    assert "配额不可达 short" in shown
    quota = re.search(r'<tr class="quota-short">(.*?)</tr>', page.text, re.S)
    assert quota, "the sinter quota is not shown short"
    assert "不足 short" in text(quota.group(1)) and "1 天 days" in text(quota.group(1))
    assert "JY-P001/sinter-1" in quota.group(1)
    # the key period's floors are measures, but not staggered ones: listed on demand
    assert rows(page.text) == []
    floors = planner.get(f"/season/{plan_id}", params={"show": "measures"}).text
    assert rows(floors) == ["JY-P002", "JY-P003", "JY-P001"]
    # the key period's days and the steel row of running shares
    keys = page.text.split('id="cal-keyperiods"', 1)[1].split("</tr>", 1)[0]
    assert keys.count('class="kp level-orange"') == 2
    steel = page.text.split('<tr data-industry="steel">', 1)[1].split("</tr>", 1)[0]
    assert steel.count('class="rs-1 rs-short"') == 2 and steel.count('class="rs-4"') == 12
    assert "≥ 90 %" in steel
    shortfalls = text(page.text.split('id="share-shorts"', 1)[1].split("</table>", 1)[0])
    assert "steel 2016-12-25 – 2016-12-26 (2 天 days) 90.0 % 30.0 %" in shortfalls


def test_approve_issues_the_staggered_orders(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    plan_id = post(planner)
    url = f"/season/{plan_id}"
    assert staggered(store, tokens["planner"]) == []
    form = {"note": "同意", "csrf": csrf_of(planner, url)}
    done = planner.post(f"{url}/approve", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == url
    assert staggered(store, tokens["planner"]) == [
        ("JY-P001", "2016-12-20", "2016-12-22", "issued")
    ]
    # the enterprise sees its order
    assert staggered(store, tokens["enterprise"]) == staggered(store, tokens["planner"])
    page = planner.get(url)
    shown = text(page.text)
    assert "Approved: 1 staggered orders issued" in shown
    assert "已批准 approved" in shown and "同意" in shown
    assert "错峰生产指令 Staggered orders (1)" in shown
    assert "Approve and issue" not in shown  # decided: no more forms
    # approving again: 409 on the page, nothing issued
    again = planner.post(f"{url}/approve", data={"csrf": csrf_of(planner, url)})
    assert again.status_code == 409 and "not pending" in again.text
    assert len(staggered(store, tokens["planner"])) == 1


def test_forms_without_the_token_are_refused(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    refused = planner.post("/season", data={"season": SEASON, "csrf": "0" * 64})
    assert refused.status_code == 403
    assert statuses(store, tokens["planner"]) == {}
    plan_id = post(planner)
    for decision in ("approve", "reject"):
        forged = planner.post(f"/season/{plan_id}/{decision}", data={"note": "x"})
        assert forged.status_code == 403
    assert statuses(store, tokens["planner"]) == {plan_id: "pending"}
    assert staggered(store, tokens["planner"]) == []


def test_reject_needs_a_reason(planner: TestClient, store: Store, tokens: dict[str, str]) -> None:
    plan_id = post(planner)
    url = f"/season/{plan_id}"
    empty = planner.post(f"{url}/reject", data={"note": "  ", "csrf": csrf_of(planner, url)})
    assert empty.status_code == 400 and "reason" in text(empty.text)
    assert statuses(store, tokens["planner"]) == {plan_id: "pending"}
    done = planner.post(
        f"{url}/reject",
        data={"note": "配额偏低 quota too low", "csrf": csrf_of(planner, url)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert statuses(store, tokens["planner"]) == {plan_id: "rejected"}
    shown = text(planner.get(url).text)
    assert "已退回 rejected" in shown and "配额偏低 quota too low" in shown
    assert staggered(store, tokens["planner"]) == []


def test_a_bad_season_file_is_shown_with_line_and_field(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    bad = SEASON.replace("stop_days: 3", "stop_days: -1")
    answer = planner.post("/season", data={"season": bad, "csrf": csrf_of(planner, "/season")})
    assert answer.status_code == 400
    assert "plans/season.yaml:8: quotas[0].stop_days" in text(answer.text)
    assert "stop_days: -1" in answer.text  # the text is kept in the form
    assert statuses(store, tokens["planner"]) == {}


def test_replan_from_a_date(planner: TestClient, store: Store, tokens: dict[str, str]) -> None:
    first = post(planner)
    url = f"/season/{first}"
    planner.post(f"{url}/approve", data={"csrf": csrf_of(planner, url)})
    listed = planner.get("/season")
    assert f'action="/season/{first}/replan"' in listed.text
    csrf = csrf_of(planner, "/season")
    bad = planner.post(f"{url}/replan", data={"from": "18 Dec", "csrf": csrf})
    assert bad.status_code == 400 and "is not a date" in text(bad.text)
    past = planner.post(f"{url}/replan", data={"from": "2016-12-01", "csrf": csrf})
    assert past.status_code == 400 and "before today" in text(past.text)
    done = planner.post(
        f"{url}/replan",
        data={"from": "2016-12-18", "risk_csv": "date,risk\n2016-12-26,9\n", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    second = int(done.headers["location"].rsplit("/", 1)[1])
    assert statuses(store, tokens["planner"]) == {first: "approved", second: "pending"}
    page = text(planner.get(f"/season/{second}").text)
    assert "Re-planned from 2016-12-18" in page and f"(#{first})" in page


@pytest.mark.parametrize("role", ["inspector", "enterprise"])
def test_only_planners_see_and_decide(
    client: TestClient, store: Store, tokens: dict[str, str], role: str
) -> None:
    planner = sign_in(client, tokens["planner"])
    plan_id = post(planner)
    csrf = csrf_of(planner, f"/season/{plan_id}")
    client.cookies.clear()
    other = sign_in(client, tokens[role])
    assert other.get("/season").status_code == 403
    assert other.get(f"/season/{plan_id}").status_code == 403
    other_csrf = csrf_of(other, "/")
    assert other.post(f"/season/{plan_id}/approve", data={"csrf": other_csrf}).status_code == 403
    assert other.post("/season", data={"season": SEASON, "csrf": other_csrf}).status_code == 403
    assert csrf != other_csrf
    assert statuses(store, tokens["planner"]) == {plan_id: "pending"}


def test_signed_out_goes_to_sign_in(client: TestClient) -> None:
    answer = client.get("/season/1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fseason%2F1"


def test_approval_after_the_data_changed_is_409_on_the_page(
    planner: TestClient, store: Store, tokens: dict[str, str]
) -> None:
    from emergency.service.plan_review import approve_plan_version
    from tests.pages.test_plan_review import pending_without_floors

    plan_id = post(planner)
    enterprise, number = pending_without_floors(store, tokens)
    with store.session() as session:
        approve_plan_version(session, authenticate(session, tokens["planner"]), enterprise, number)
    url = f"/season/{plan_id}"
    answer = planner.post(f"{url}/approve", data={"csrf": csrf_of(planner, url)})
    assert answer.status_code == 409
    error = re.search(r'id="season-error">([^<]*)<', answer.text)
    assert error and "re-plan needed" in error.group(1)
    assert statuses(store, tokens["planner"]) == {plan_id: "pending"}
    assert staggered(store, tokens["planner"]) == []
