"""Season plans over HTTP: post → review → approve → staggered orders → ack → report;
reject; bad files; roles; the clock deciding what is past."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Clock

API = "/api/v1"
Auth = dict[str, dict[str, str]]

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


def post_season(
    client: TestClient, auth: Auth, text: str = SEASON, **extra: Any
) -> dict[str, Any]:
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
