"""Season plans over HTTP: post → review → approve → staggered orders → ack → report;
reject; bad files; roles; the clock deciding what is past."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Clock
from tests.datafiles import small_plans

API = "/api/v1"
Auth = dict[str, dict[str, str]]
JIYUAN = dt.timezone(dt.timedelta(hours=8))

SEASON = """\
id: winter-2016
start: 2016-12-15
end: 2016-12-28
quotas:
  - id: sinter
    industry: steel
    lines: ["sinter-*"]
    stop_days: 3
risk:
  2016-12-20: 5
  2016-12-21: 5
  2016-12-22: 5
"""
"""Two weeks from the tests' today (15 Dec): the sinter machine stops 3 days, where the
risk is (20–22 Dec)."""


def season_around(today: dt.date) -> str:
    """A season from yesterday to ten days on, the sinter machine stopped two days."""
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=10)
    return (
        f"id: around-{today.isoformat()}\nstart: {start.isoformat()}\nend: {end.isoformat()}\n"
        "quotas:\n  - {id: sinter, industry: steel, lines: ['sinter-*'], stop_days: 2}\n"
    )


def post_season(client: TestClient, auth: Auth, text: str = SEASON, **extra: Any) -> dict[str, Any]:
    r = client.post(f"{API}/season-plans", json={"season": text, **extra}, headers=auth["planner"])
    assert r.status_code == 202, r.text
    return dict(r.json())


def approve(client: TestClient, auth: Auth, plan_id: int) -> dict[str, Any]:
    r = client.post(f"{API}/season-plans/{plan_id}/approve", headers=auth["planner"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_post_review_approve_ack_report(client: TestClient, auth: Auth, clock: Clock) -> None:
    plan = post_season(client, auth)
    assert plan["status"] == "pending" and plan["season"] == "winter-2016"
    assert plan["quotas"] == [
        {
            "id": "sinter",
            "kind": "stop_days",
            "required": 3.0,
            "achieved": 3.0,
            "unit": "days",
            "short_by": 0.0,
            "met": True,
            "short": [],
        }
    ]
    runs = [a for a in plan["schedule"]["assignments"] if a["source"] == "JY-P001"]
    assert [(a["start"], a["end"]) for a in runs] == [("2016-12-20", "2016-12-22")]
    listed = client.get(f"{API}/season-plans", headers=auth["planner"]).json()
    assert [p["id"] for p in listed] == [plan["id"]] and listed[0]["quotas_met"] == 1
    # pending: no order yet
    assert client.get(f"{API}/orders", headers=auth["planner"]).json() == []

    done = approve(client, auth, plan["id"])
    assert done["season_plan"]["status"] == "approved"
    issued = done["issued"]
    assert [(o["kind"], o["source"], o["start"], o["end"]) for o in issued] == [
        ("staggered", "JY-P001", "2016-12-20", "2016-12-22")
    ]
    order = issued[0]
    assert order["response_id"] is None and order["season_plan_id"] == plan["id"]
    assert order["season"] == "winter-2016" and order["plan_version"] == 1
    assert order["measure"] == {"id": "stop-sinter", "name": "烧结机停产"}
    assert order["allowed_load"] == {"sinter-1": 0.0, "bf-1": 0.8}
    # sinter 800 kg SO2 stopped, the blast furnace's 200 at 0.8
    assert order["expected_cut_kg_d"]["so2"] == 840.0

    # the enterprise sees it in GET /orders, the other firm does not
    mine = client.get(f"{API}/orders", headers=auth["enterprise"]).json()
    assert [o["id"] for o in mine] == [order["id"]] and mine[0]["kind"] == "staggered"
    assert client.get(f"{API}/orders", headers=auth["enterprise2"]).json() == []
    by_kind = {
        kind: client.get(f"{API}/orders", params={"kind": kind}, headers=auth["planner"]).json()
        for kind in ("staggered", "response")
    }
    assert [o["id"] for o in by_kind["staggered"]] == [order["id"]] and by_kind["response"] == []
    assert client.get(f"{API}/orders/{order['id']}", headers=auth["enterprise2"]).status_code == 404

    # report before ack: 409; ack; report inside the period
    clock.now = dt.datetime(2016, 12, 20, 12, 0, tzinfo=dt.UTC)
    report = {"at": "2016-12-20T18:00:00+08:00", "load": 0.6}
    url = f"{API}/orders/{order['id']}"
    r = client.post(f"{url}/reports", json=report, headers=auth["enterprise"])
    assert r.status_code == 409 and "acknowledge" in r.json()["detail"]
    assert client.post(f"{url}/ack", headers=auth["enterprise"]).json()["status"] == "acknowledged"
    assert client.post(f"{url}/reports", json=report, headers=auth["enterprise"]).status_code == 201
    # outside the period plus grace: 409
    clock.now = dt.datetime(2016, 12, 25, 12, 0, tzinfo=dt.UTC)
    late = {"at": "2016-12-24T12:00:00+08:00", "load": 0.6}
    assert client.post(f"{url}/reports", json=late, headers=auth["enterprise"]).status_code == 409

    actions = {e["action"] for e in client.get(f"{API}/audit", headers=auth["admin"]).json()}
    assert {"season.plan", "season.approve", "order.ack", "order.report"} <= actions


BAD = SEASON.replace("stop_days: 3", "stop_days: -1")


def test_a_bad_season_file_is_422_naming_line_and_field_and_nothing_is_stored(
    client: TestClient, auth: Auth
) -> None:
    r = client.post(f"{API}/season-plans", json={"season": BAD}, headers=auth["planner"])
    assert r.status_code == 422, r.text
    assert any(e.startswith("plans/season.yaml:8: quotas[0].stop_days") for e in r.json()["errors"])
    # a risk CSV named but not sent; a bad row of the CSV sent
    named = SEASON.split("risk:")[0] + "risk: season-risk.csv\n"
    r = client.post(f"{API}/season-plans", json={"season": named}, headers=auth["planner"])
    assert r.status_code == 422 and "risk_csv" in r.json()["detail"]
    csv = "date,risk\n2016-12-20,4\n2016-12-21,lots\n"
    r = client.post(
        f"{API}/season-plans", json={"season": named, "risk_csv": csv}, headers=auth["planner"]
    )
    assert r.status_code == 422
    assert r.json()["errors"] == ["plans/season-risk.csv:3: risk: not a number 'lots'"]
    assert client.get(f"{API}/season-plans", headers=auth["planner"]).json() == []
    # the same CSV, corrected, is taken: the stops go where it puts the risk
    good = "date,risk\n2016-12-25,4\n2016-12-26,4\n2016-12-27,4\n"
    plan = post_season(client, auth, named, risk_csv=good)
    runs = [a for a in plan["schedule"]["assignments"] if a["source"] == "JY-P001"]
    assert [(a["start"], a["end"]) for a in runs] == [("2016-12-25", "2016-12-27")]
    assert plan["risk_csv"] == good


def test_reject_with_a_reason_and_approving_twice(client: TestClient, auth: Auth) -> None:
    first = post_season(client, auth)
    url = f"{API}/season-plans/{first['id']}"
    r = client.post(f"{url}/reject", json={"note": ""}, headers=auth["planner"])
    assert r.status_code == 400 and "reason" in r.json()["detail"]
    r = client.post(f"{url}/reject", json={"note": "quota too low"}, headers=auth["planner"])
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["review_note"] == "quota too low"
    assert client.post(f"{url}/approve", headers=auth["planner"]).status_code == 409
    assert client.get(f"{API}/orders", headers=auth["planner"]).json() == []

    second = post_season(client, auth)
    assert second["number"] == 2
    issued = approve(client, auth, second["id"])["issued"]
    assert len(issued) == 1
    r = client.post(f"{API}/season-plans/{second['id']}/approve", headers=auth["planner"])
    assert r.status_code == 409 and "approved, not pending" in r.json()["detail"]
    assert len(client.get(f"{API}/orders", headers=auth["planner"]).json()) == 1

    # a third version supersedes the second; unchanged runs keep their orders
    third = post_season(client, auth)
    done = approve(client, auth, third["id"])
    assert done["superseded_plan"] == second["id"]
    assert done["issued"] == [] and done["kept"] == 1
    versions = {
        p["number"]: p["status"]
        for p in client.get(f"{API}/season-plans", headers=auth["planner"]).json()
    }
    assert versions == {1: "rejected", 2: "superseded", 3: "approved"}
    actions = [e["action"] for e in client.get(f"{API}/audit", headers=auth["admin"]).json()]
    assert actions.count("season.approve") == 2 and "season.reject" in actions


def test_enterprises_may_not_plan_approve_or_read_seasons(client: TestClient, auth: Auth) -> None:
    plan = post_season(client, auth)
    for who in ("enterprise", "inspector", "consultation", "admin"):
        headers = auth[who]
        r = client.post(f"{API}/season-plans", json={"season": SEASON}, headers=headers)
        assert r.status_code == 403
        assert client.get(f"{API}/season-plans", headers=headers).status_code == 403
        assert client.get(f"{API}/season-plans/{plan['id']}", headers=headers).status_code == 403
        url = f"{API}/season-plans/{plan['id']}/approve"
        assert client.post(url, headers=headers).status_code == 403
    assert len(client.get(f"{API}/season-plans", headers=auth["planner"]).json()) == 1


def test_staggered_orders_are_never_for_past_days(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    first = post_season(client, auth)
    clock.now = dt.datetime(2016, 12, 21, 9, 0, tzinfo=JIYUAN)  # the run 20–22 is under way
    issued = approve(client, auth, first["id"])["issued"]
    assert [(o["start"], o["end"]) for o in issued] == [("2016-12-21", "2016-12-22")]

    second = post_season(client, auth)
    clock.now = dt.datetime(2016, 12, 23, 9, 0, tzinfo=JIYUAN)  # the run is behind
    done = approve(client, auth, second["id"])
    assert done["issued"] == [] and done["superseded"] == [] and done["lifted"] == []
    # the order of 21–22 stays as it was
    order = client.get(f"{API}/orders/{issued[0]['id']}", headers=auth["planner"]).json()
    assert order["status"] == "issued" and order["end"] == "2016-12-22"


def test_approval_after_the_data_changed_is_409(client: TestClient, auth: Auth) -> None:
    plan = post_season(client, auth)
    steel = small_plans()["JY-P001"]
    steel["lines"][0]["restart_cost_yuan"] = 500000
    body = json.loads(json.dumps(steel, default=str))
    r = client.put(f"{API}/enterprises/JY-P001/plan", json=body, headers=auth["enterprise"])
    assert r.status_code == 202, r.text
    url = f"{API}/enterprises/JY-P001/plan/versions/{r.json()['number']}/approve"
    assert client.post(url, json={"note": "ok"}, headers=auth["planner"]).status_code == 200
    r = client.post(f"{API}/season-plans/{plan['id']}/approve", headers=auth["planner"])
    assert r.status_code == 409 and "re-plan" in r.json()["detail"]
    assert client.get(f"{API}/orders", headers=auth["planner"]).json() == []
    # planned again with the data in force, it goes through
    approve(client, auth, post_season(client, auth)["id"])
