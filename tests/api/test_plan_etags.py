"""Plans answered with an ETag: a response's plan (JSON, CSV, XLSX) and an enterprise's plan
(in force, versions, one version). 304 on a matching ``If-None-Match``, 200 with a new ETag
once what the answer depends on changed, and never a 304 to someone who may not see it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ORANGE, Clock, at_issue, bearer
from tests.api.test_trust import as_json
from tests.datafiles import small_plans

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def get(
    client: TestClient, url: str, headers: dict[str, str], etag: str | None = None, **params: Any
) -> Any:
    sent = headers | ({"If-None-Match": etag} if etag else {})
    answer = client.get(url, headers=sent, params=params)
    if answer.status_code in (200, 304):
        assert answer.headers["cache-control"] == "private, no-cache", answer.headers
        assert answer.headers["etag"].startswith('"')
    if answer.status_code == 304:
        assert answer.content == b""
    return answer


def opened(client: TestClient, auth: Auth, clock: Clock) -> int:
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["planner"])
    assert r.status_code == 200, r.text
    return int(r.json()["response_id"])


def test_a_plan_version_keeps_its_etag_and_the_current_plan_follows_the_versions(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = opened(client, auth, clock)
    plan, planner = f"{API}/responses/{rid}/plan", auth["planner"]
    first = get(client, plan, planner)
    assert first.status_code == 200 and first.json()["assignments"]
    v1 = first.headers["etag"]
    assert get(client, plan, planner, v1).status_code == 304
    assert get(client, plan, auth["inspector"], v1).status_code == 304  # a reader too
    assert get(client, plan, planner, v1, version=1).status_code == 304
    # an override makes version 2: the current plan has a new ETag, version 1 keeps its own
    body = {"source": "JY-P002", "measure": "min-load", "reason": "coke for the district heating"}
    assert client.post(f"{API}/responses/{rid}/overrides", json=body, headers=planner).is_success
    changed = get(client, plan, planner, v1)
    assert changed.status_code == 200 and changed.headers["etag"] != v1
    v2 = changed.headers["etag"]
    assert changed.json() != first.json()
    assert get(client, plan, planner, v1, version=1).status_code == 304
    assert get(client, plan, planner, v2, version=2).status_code == 304
    # approving version 2 changes nothing of it: still 304, and so for ever
    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    assert get(client, plan, planner, v2).status_code == 304
    assert get(client, plan, planner, v2, version=2).status_code == 304
    assert get(client, plan, planner, '"other", ' + v2).status_code == 304  # one of a list


def test_no_304_of_a_plan_without_the_right_to_it(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = opened(client, auth, clock)
    plan = f"{API}/responses/{rid}/plan"
    etag = get(client, plan, auth["planner"]).headers["etag"]
    for tag in (etag, "*"):
        assert get(client, plan, {}, tag).status_code == 401
        assert get(client, plan, bearer("em_" + "x" * 43), tag).status_code == 401
        for role in ("enterprise", "consultation", "admin"):
            assert get(client, plan, auth[role], tag).status_code == 403, role
        assert get(client, f"{API}/responses/99/plan", auth["planner"], tag).status_code == 404
        assert get(client, plan, auth["planner"], tag, version=7).status_code == 404
        for route in ("plan.csv", "plan.xlsx"):
            url = f"{API}/responses/{rid}/{route}"
            assert get(client, url, auth["enterprise"], tag).status_code == 403


def test_downloads_have_an_etag_per_language(client: TestClient, auth: Auth, clock: Clock) -> None:
    rid = opened(client, auth, clock)
    for route in ("plan.csv", "plan.xlsx"):
        url = f"{API}/responses/{rid}/{route}"
        english = get(client, url, auth["planner"])
        chinese = get(client, url, auth["planner"] | {"Accept-Language": "zh-CN"})
        assert english.status_code == chinese.status_code == 200
        assert english.headers["vary"] == "Accept-Language"
        assert english.headers["etag"] != chinese.headers["etag"]
        assert english.content != chinese.content
        tag = english.headers["etag"]
        assert get(client, url, auth["planner"], tag).status_code == 304
        zh = auth["planner"] | {"Accept-Language": "zh-CN"}
        assert get(client, url, zh, tag).status_code == 200


def p001_plan(updated: dt.date) -> dict[str, Any]:
    plan = small_plans()["JY-P001"]
    plan["updated"] = updated
    return as_json(plan)


def test_an_enterprises_plan_answers_304_until_it_changes(client: TestClient, auth: Auth) -> None:
    firm, planner = auth["enterprise"], auth["planner"]
    base = f"{API}/enterprises/JY-P001/plan"
    in_force = get(client, base, firm)
    versions = get(client, f"{base}/versions", firm)
    assert in_force.status_code == versions.status_code == 200
    tags = {"plan": in_force.headers["etag"], "versions": versions.headers["etag"]}
    assert get(client, base, firm, tags["plan"]).status_code == 304
    assert get(client, f"{base}/versions", firm, tags["versions"]).status_code == 304
    assert get(client, base, planner, tags["plan"]).status_code == 304  # the same file
    # a pending version: the plan in force is the same (304), the versions are not
    put = client.put(base, json=p001_plan(dt.date(2016, 12, 1)), headers=firm)
    assert put.status_code == 202, put.text
    number = put.json()["number"]
    assert get(client, base, firm, tags["plan"]).status_code == 304
    listed = get(client, f"{base}/versions", firm, tags["versions"])
    assert listed.status_code == 200 and listed.json()[0]["status"] == "pending"
    one = f"{base}/versions/{number}"
    pending = get(client, one, firm)
    as_planner = get(client, one, planner)
    assert pending.headers["etag"] != as_planner.headers["etag"]  # the planner is told more
    assert get(client, one, firm, pending.headers["etag"]).status_code == 304
    # approved: the plan in force, the versions and the version itself all change
    approved = client.post(f"{one}/approve", json={"note": "ok"}, headers=planner)
    assert approved.status_code == 200, approved.text
    now_in_force = get(client, base, firm, tags["plan"])
    assert now_in_force.status_code == 200 and "2016-12-01" in now_in_force.json()["text"]
    assert get(client, f"{base}/versions", firm, listed.headers["etag"]).status_code == 200
    settled = get(client, one, firm, pending.headers["etag"])
    assert settled.status_code == 200 and settled.json()["status"] == "approved"
    assert get(client, one, firm, settled.headers["etag"]).status_code == 304


def test_no_304_of_another_enterprises_plan(client: TestClient, auth: Auth) -> None:
    base = f"{API}/enterprises/JY-P001/plan"
    tags = {
        url: get(client, url, auth["enterprise"]).headers["etag"]
        for url in (base, f"{base}/versions")
    }
    for url, tag in tags.items():
        for sent in (tag, "*"):
            assert get(client, url, auth["enterprise2"], sent).status_code == 404
            assert get(client, url, auth["consultation"], sent).status_code == 403
            assert get(client, url, {}, sent).status_code == 401
    for sent in ("*", '"x"'):
        unknown = get(client, f"{API}/enterprises/JY-NONE/plan", auth["planner"], sent)
        assert unknown.status_code == 404
        missing = get(client, f"{base}/versions/9", auth["enterprise"], sent)
        assert missing.status_code == 404
