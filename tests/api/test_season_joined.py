"""The season joined with responses: key periods open responses (or raise the open one's
days) with their reason; a re-plan counts the stop days responses ordered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from emergency.store.db import Store
from emergency.store.models import Notification
from tests.api.conftest import ORANGE, Clock, at_issue, forecast
from tests.api.test_season_api import JIYUAN, SEASON, approve, post_season

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def with_key_period(name: str, start: str, end: str, level: str) -> str:
    return (
        SEASON + f"key_periods:\n  - {{name: {name}, start: {start}, end: {end}, level: {level}}}\n"
    )


def consult(client: TestClient, auth: Auth, clock: Clock, fc: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{API}/consultations", json=at_issue(clock, fc), headers=auth["consultation"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def levels(client: TestClient, auth: Auth, rid: int) -> dict[str, str]:
    plan = client.get(f"{API}/responses/{rid}/plan", headers=auth["planner"]).json()
    return {d["date"]: d["level"] for d in plan["days"]}


REASON = "key period: 冬至"
REASON_ZH = "重点时段：冬至"


def test_a_key_period_opens_a_response_ahead_and_holds_it(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    season = post_season(
        client, auth, with_key_period("冬至", "2016-12-17", "2016-12-18", "orange")
    )
    assert season["key_periods"] == [
        {"name": "冬至", "start": "2016-12-17", "end": "2016-12-18", "level": "orange"}
    ]
    assert client.get(f"{API}/responses", headers=auth["planner"]).json() == []
    done = approve(client, auth, season["id"])  # today 15 Dec: its first day is 2 days ahead
    assert [(r["action"], r["reason"]) for r in done["responses"]] == [("opened", REASON)]
    rid = done["responses"][0]["response_id"]
    detail = client.get(f"{API}/responses/{rid}", headers=auth["planner"]).json()
    assert detail["level"] == "orange" and detail["warning"]["reason"] == REASON
    assert detail["warning"]["reason_zh"] == REASON_ZH
    assert (detail["start"], detail["end"]) == ("2016-12-17", "2016-12-18")
    assert detail["plans"][0]["reason"] == "key period"
    plan = client.get(f"{API}/responses/{rid}/plan", headers=auth["planner"]).json()
    assert plan["warning"]["reason"] == REASON
    assert levels(client, auth, rid) == {"2016-12-17": "orange", "2016-12-18": "orange"}
    assert client.get(f"{API}/public/warning").json()["level"] == "orange"
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200

    # clean air forecast during the key period: held, not released
    clean = forecast(
        dt.date(2016, 12, 17), [[60, 90], [50, 70], [50, 80]], "2016-12-16T16:00:00+08:00"
    )
    assert consult(client, auth, clock, clean)["action"] == "unchanged"
    assert client.get(f"{API}/responses/{rid}", headers=auth["planner"]).json()["status"] == "open"
    # after it, the same forecast releases it; the key period is not opened again
    after = forecast(
        dt.date(2016, 12, 20), [[60, 90], [50, 70], [50, 80]], "2016-12-19T16:00:00+08:00"
    )
    assert consult(client, auth, clock, after)["action"] == "released"
    assert len(client.get(f"{API}/responses", headers=auth["planner"]).json()) == 1


def test_a_key_period_raises_the_open_response_and_opens_after_its_release(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    rid = consult(client, auth, clock, ORANGE)["response_id"]  # orange 16–19 Dec
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    hook = {"target": "http://127.0.0.1:9/city-office"}  # the city's warning events
    assert client.post(f"{API}/subscriptions", json=hook, headers=auth["admin"]).status_code == 201
    season = post_season(client, auth, with_key_period("冬至", "2016-12-18", "2016-12-21", "red"))
    done = approve(client, auth, season["id"])
    assert [(r["response_id"], r["action"]) for r in done["responses"]] == [(rid, "floored")]
    with store.session() as session:  # the raise is a warning event, with its reason
        (raised,) = session.scalars(
            select(Notification.payload).where(Notification.event == "warning.upgraded")
        ).all()
    assert raised["warning"]["response_id"] == rid
    assert "重点时段：冬至" in raised["warning"]["reason_zh"]
    assert levels(client, auth, rid) == {
        "2016-12-16": "orange",
        "2016-12-17": "orange",
        "2016-12-18": "red",
        "2016-12-19": "red",
    }
    detail = client.get(f"{API}/responses/{rid}", headers=auth["planner"]).json()
    assert "key period: 冬至" in detail["warning"]["reason"]
    assert "重点时段：冬至" in detail["warning"]["reason_zh"]
    # the orders follow at once: the steel plant's order on 18 Dec is at red
    orders = client.get(f"{API}/orders", params={"response": rid}, headers=auth["planner"]).json()
    assert any(o["current"] and o["level"] == "red" and o["start"] == "2016-12-18" for o in orders)

    # released on 19 Dec: the key period opens its own response for its remaining days
    clock.now = dt.datetime(2016, 12, 19, 10, 0, tzinfo=JIYUAN)
    r = client.post(f"{API}/responses/{rid}/release", json={}, headers=auth["planner"])
    assert r.status_code == 200, r.text
    responses = client.get(f"{API}/responses", headers=auth["planner"]).json()
    assert [x["status"] for x in responses] == ["open", "released"]
    opened = responses[0]
    assert (opened["level"], opened["start"], opened["end"]) == ("red", "2016-12-19", "2016-12-21")
    detail = client.get(f"{API}/responses/{opened['id']}", headers=auth["planner"]).json()
    assert detail["warning"]["reason"] == REASON


def replanned(
    client: TestClient, auth: Auth, clock: Clock
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The season approved (the sinter machine stops 20–22 Dec), an orange response that
    stops it 16–19 Dec, then a re-plan on 20 Dec: (the staggered order, the re-plan)."""
    season = post_season(client, auth)
    staggered = approve(client, auth, season["id"])["issued"]
    assert [(o["start"], o["end"]) for o in staggered] == [("2016-12-20", "2016-12-22")]
    rid = consult(client, auth, clock, ORANGE)["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    steel = [
        o
        for o in client.get(
            f"{API}/orders", params={"response": rid}, headers=auth["planner"]
        ).json()
        if o["source"] == "JY-P001"
    ]
    assert steel and all(o["allowed_load"]["sinter-1"] == 0.0 for o in steel)
    clock.now = dt.datetime(2016, 12, 20, 8, 0, tzinfo=JIYUAN)
    url = f"{API}/season-plans/{season['id']}/replan"
    r = client.post(url, json={"from": "2016-12-19"}, headers=auth["planner"])
    assert r.status_code == 400 and "before today" in r.json()["detail"]
    r = client.post(url, json={}, headers=auth["planner"])
    assert r.status_code == 202, r.text
    replan = dict(r.json())
    assert replan["status"] == "pending" and replan["effective_from"] == "2016-12-20"
    assert replan["based_on"] == season["id"]
    return staggered[0], replan


def test_a_replan_counts_the_stop_days_a_response_ordered(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    _, replan = replanned(client, auth, clock)
    quota = replan["quotas"][0]
    assert quota["met"] and quota["achieved"] >= 4  # the four days the response stopped it
    later = [
        a
        for a in replan["schedule"]["assignments"]
        if a["source"] == "JY-P001" and a["end"] >= "2016-12-20"
    ]
    assert later == []  # no more stop needed
    # the version it re-plans stays approved until this one is
    listed = client.get(f"{API}/season-plans", headers=auth["planner"]).json()
    assert [p["status"] for p in listed] == ["pending", "approved"]


def test_an_approved_replan_lifts_the_stops_no_longer_needed(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    order, replan = replanned(client, auth, clock)
    done = approve(client, auth, replan["id"])
    assert done["issued"] == [] and done["lifted"] == [order["id"]]
    assert done["superseded_plan"] == replan["based_on"]
    lifted = client.get(f"{API}/orders/{order['id']}", headers=auth["planner"]).json()
    assert lifted["status"] == "lifted" and not lifted["current"]
