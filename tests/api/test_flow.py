"""The whole flow over HTTP with the real optimiser (CP-SAT) on the small data folder:
consultation → plan → override → approve → ack → report → compliance → upgrade → release.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.api.conftest import CLEAN, ORANGE, RED, Clock, at_issue

API = "/api/v1"


def test_the_whole_flow(client: TestClient, auth: dict[str, dict[str, str]], clock: Clock) -> None:
    planner, company, other = auth["planner"], auth["enterprise"], auth["enterprise2"]

    # 1. The consultation opens an orange response; the plan is computed at once.
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["action"] == "opened"
    assert reply["warning"]["level"] == "orange"
    assert reply["warning"]["start"] == "2016-12-16" and reply["warning"]["end"] == "2016-12-19"
    rid = reply["response_id"]
    assert reply["plan_status"] == "optimal"

    public = client.get(f"{API}/public/warning").json()
    assert public["level"] == "orange" and public["advice"] == "停止户外活动"

    # 2. The planner reviews the plan (the plan object).
    plan = client.get(f"{API}/responses/{rid}/plan", headers=planner).json()
    assert plan["status"] == "optimal"
    assert [d["date"] for d in plan["days"]] == [
        "2016-12-16",
        "2016-12-17",
        "2016-12-18",
        "2016-12-19",
    ]
    site = [a for a in plan["assignments"] if a["source"] == "JY-S001"]
    assert site and all(a["measure"] != "normal" for a in site)
    assert sum(a["cost_yuan"] for a in plan["assignments"]) == plan["total_cost_yuan"]

    # 3. Override: the construction site is exempt (hospital works); re-optimised.
    r = client.post(
        f"{API}/responses/{rid}/overrides",
        json={"source": "JY-S001", "exempt": True, "reason": "hospital works"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    replanned = r.json()
    site = [a for a in replanned["assignments"] if a["source"] == "JY-S001"]
    assert site and {a["fixed"] for a in site} == {"exempt"}
    assert {a["measure"] for a in site} == {"normal"}
    detail = client.get(f"{API}/responses/{rid}", headers=planner).json()
    assert detail["plan_version"] == 2 and not detail["approved"]
    assert detail["overrides"][0]["exempt"] is True

    # 4. Approve: one order per affected source and period; approving again issues nothing.
    r = client.post(f"{API}/responses/{rid}/approve", headers=planner)
    assert r.status_code == 200, r.text
    approval = r.json()
    issued = approval["issued"]
    assert not approval["already_approved"]
    sources = sorted(o["source"] for o in issued)
    assert sources == ["JY-P001", "JY-P002", "JY-P003", "JY-Q001", "JY-Y001"]  # site exempt
    again = client.post(f"{API}/responses/{rid}/approve", headers=planner).json()
    assert again["already_approved"] and again["issued"] == []
    assert len(client.get(f"{API}/orders", headers=planner).json()) == len(issued)

    # 5. The enterprise sees only its own orders and acknowledges.
    mine = client.get(f"{API}/orders", headers=company).json()
    assert [o["source"] for o in mine] == ["JY-P001"]
    order = mine[0]
    assert order["status"] == "issued" and order["current"] and order["end"] is None
    assert order["measure"]["id"] in ("stop-sinter", "deep")
    assert set(order["allowed_load"]) == {"sinter-1", "bf-1"}
    assert order["expected_cut_kg_d"]["so2"] > 0
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=other).status_code == 404
    clock.advance(hours=1)
    r = client.post(f"{API}/orders/{order['id']}/ack", headers=company)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"

    # 6. Next day it reports: load above the allowed one, electricity above allowed × baseline.
    clock.now = dt.datetime(2016, 12, 16, 9, 30, tzinfo=dt.UTC)  # 17:30 in Jiyuan
    report = {
        "at": "2016-12-16T17:00:00+08:00",
        "load": 0.95,
        "electricity_kwh": 120000,
        "baseline_electricity_kwh": 130000,
        "note": "blast furnace at full load",
    }
    r = client.post(f"{API}/orders/{order['id']}/reports", json=report, headers=company)
    assert r.status_code == 201, r.text

    # 7. Compliance: acknowledged and reported; two anomalies; the others' acks overdue.
    clock.advance(hours=3)
    r = client.get(f"{API}/compliance", params={"response": rid}, headers=auth["inspector"])
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["orders"] == 5 and view["acknowledged"] == 1 and view["reported"] == 1
    kinds = {(a["source"], a["kind"]) for a in view["anomalies"]}
    assert ("JY-P001", "load") in kinds and ("JY-P001", "electricity") in kinds
    assert ("JY-P002", "ack_overdue") in kinds and ("JY-P001", "ack_overdue") not in kinds

    # 8. Upgrade to red: open orders are superseded by new ones at once.
    r = client.post(f"{API}/consultations", json=RED, headers=auth["consultation"])
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["action"] == "upgraded" and up["response_id"] == rid
    assert up["orders_superseded"] == 5 and up["orders_issued"] >= 5
    mine = client.get(f"{API}/orders", headers=company).json()
    old = next(o for o in mine if o["id"] == order["id"])
    current = [o for o in mine if o["current"]]
    assert old["status"] == "superseded" and not old["current"]
    assert old["end"] == "2016-12-16"
    assert len(current) == 1 and old["superseded_by"] == current[0]["id"]
    assert current[0]["level"] == "red" and current[0]["start"] == "2016-12-17"
    events = [e["event"] for e in old["history"]]
    assert events == ["issued", "acknowledged", "reported", "superseded"]
    r = client.post(f"{API}/orders/{order['id']}/ack", headers=company)
    assert r.status_code == 409 and str(current[0]["id"]) in r.json()["detail"]
    plan = client.get(f"{API}/responses/{rid}/plan", headers=planner).json()
    levels = {d["date"]: d["level"] for d in plan["days"]}
    assert levels["2016-12-16"] == "orange" and levels["2016-12-17"] == "red"
    assert levels["2016-12-20"] == "red"

    # 9. Release: the air clears; every order in force is lifted.
    r = client.post(
        f"{API}/consultations", json=at_issue(clock, CLEAN), headers=auth["consultation"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "released" and r.json()["orders_lifted"] >= 5
    statuses = {o["status"] for o in client.get(f"{API}/orders", headers=planner).json()}
    assert statuses == {"superseded", "lifted"}
    assert client.get(f"{API}/public/warning").json()["level"] is None
    summary = client.get(f"{API}/responses", headers=planner).json()
    assert summary[0]["status"] == "released"

    # Every step is in the audit log.
    actions = {e["action"] for e in client.get(f"{API}/audit", headers=auth["admin"]).json()}
    assert {
        "consultation",
        "response.override",
        "response.approve",
        "order.ack",
        "order.report",
        "response.upgraded",
        "response.released",
    } <= actions
