"""Trust: what a hostile enterprise, a careless planner or a late forecast could do, held.

Each test names the attack it holds: plan changes take effect only after a planner's
review, errors never show another enterprise's plan, past days are never rewritten, the
server's clock decides what is past, and every change is audited with the ids it touched.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient

from emergency.store.db import Store
from tests.api.conftest import CLEAN, ORANGE, RED, YELLOW, Clock, at_issue, forecast
from tests.datafiles import small_plans

API = "/api/v1"
Auth = dict[str, dict[str, str]]
JIYUAN = dt.timezone(dt.timedelta(hours=8))


def as_json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def submit(client: TestClient, enterprise: str, plan: dict[str, Any], headers: dict[str, str]):
    return client.put(f"{API}/enterprises/{enterprise}/plan", json=as_json(plan), headers=headers)


def approve_version(client: TestClient, auth: Auth, enterprise: str, number: int) -> None:
    url = f"{API}/enterprises/{enterprise}/plan/versions/{number}/approve"
    r = client.post(url, json={"note": "checked on site"}, headers=auth["planner"])
    assert r.status_code == 200, r.text


def consult(client: TestClient, auth: Auth, clock: Clock, fc: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{API}/consultations", json=at_issue(clock, fc), headers=auth["consultation"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def p001_days(client: TestClient, auth: Auth, rid: int) -> dict[str, dict[str, Any]]:
    plan = client.get(f"{API}/responses/{rid}/plan", headers=auth["planner"]).json()
    return {a["date"]: a for a in plan["assignments"] if a["source"] == "JY-P001"}


def hostile_coke_plan() -> dict[str, Any]:
    """JY-P002 runs its coke oven at its minimum from yellow on (its edge into JY-P001's
    blast furnace then holds the furnace at 0.6, below the steel plant's own yellow
    measures but `deep`) and declares a new edge into JY-P001's sinter machine."""
    plan = small_plans()["JY-P002"]
    plan["levels"]["yellow"] = "min-load"
    plan["supplies"].append(
        {"line": "coke-1", "to": {"enterprise": "JY-P001", "line": "sinter-1"}, "share": 1.0}
    )
    return plan


def test_a_competitors_supply_edge_changes_nothing_until_a_planner_approves_it(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    r = submit(client, "JY-P002", hostile_coke_plan(), auth["enterprise2"])
    assert r.status_code == 202, r.text
    number = r.json()["number"]
    assert r.json()["status"] == "pending"

    # The pending version is not planned with: the steel plant keeps its yellow measure.
    rid = consult(client, auth, clock, YELLOW)["response_id"]
    steel = p001_days(client, auth, rid)["2016-12-17"]
    assert steel["measure"] == "stop-sinter" and "supply edge" not in steel["why"]

    # The planner sees the edge flagged, with what it would force on the other firm.
    url = f"{API}/enterprises/JY-P002/plan/versions/{number}"
    detail = client.get(url, headers=auth["planner"]).json()
    edge = detail["supplies"][0]
    assert edge["change"] == "added" and edge["other_enterprise"]
    assert edge["to_enterprise"] == "JY-P001" and edge["to_line"] == "sinter-1"
    binding = [w for w in detail["warnings"] if "binds another enterprise" in w]
    assert binding and "force JY-P001/sinter-1 yellow: ≤ 0.6" in binding[0]
    assert detail["levels"] == {"yellow": ["extend-coking", "min-load"]}
    # the enterprise sees its own version, never the other firm's floor
    mine = client.get(url, headers=auth["enterprise2"]).json()
    assert all("its own floor" not in w for w in mine["warnings"])
    assert client.get(url, headers=auth["enterprise"]).status_code == 404
    assert client.get(f"{API}/plan-versions/pending", headers=auth["planner"]).json()[0][
        "enterprise"
    ] == ("JY-P002")

    # Approved, the edge is in force for new lists, and the why names it, not the targets.
    approve_version(client, auth, "JY-P002", number)
    override = {"source": "JY-Q001", "measure": "stop-blasting", "reason": "re-plan"}
    r = client.post(f"{API}/responses/{rid}/overrides", json=override, headers=auth["planner"])
    assert r.status_code == 200, r.text
    steel = p001_days(client, auth, rid)["2016-12-17"]
    assert steel["deepened"] and steel["measure"] == "deep"
    assert "supply edge" in steel["why"] and "JY-P002/coke-1" in steel["why"]


def test_renamed_measures_do_not_freeze_the_response(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = consult(client, auth, clock, ORANGE)["response_id"]
    r = client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    assert r.status_code == 200, r.text
    clock.now = dt.datetime(2016, 12, 17, 10, 0, tzinfo=JIYUAN)
    plan = small_plans()["JY-P001"]
    for measure in plan["measures"]:
        measure["id"] += "-v2"
    plan["levels"] = {level: f"{m}-v2" for level, m in plan["levels"].items()}
    r = submit(client, "JY-P001", plan, auth["enterprise"])
    assert r.status_code == 202, r.text
    approve_version(client, auth, "JY-P001", r.json()["number"])

    override = {"source": "JY-Q001", "measure": "stop-blasting", "reason": "stone for repairs"}
    r = client.post(f"{API}/responses/{rid}/overrides", json=override, headers=auth["planner"])
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    assert r.status_code == 200, r.text
    days = p001_days(client, auth, rid)
    # The day behind keeps the measure, loads and cost it was ordered with.
    assert days["2016-12-16"]["measure"] == "deep"
    assert days["2016-12-16"]["loads"] == {"sinter-1": 0.0, "bf-1": 0.5}
    assert days["2016-12-17"]["measure"] == "deep-v2"
    versions = client.get(f"{API}/responses/{rid}", headers=auth["planner"]).json()["plans"]
    assert versions[0]["data_key"] != versions[1]["data_key"]  # made with other plans
    steel = client.get(f"{API}/orders?source=JY-P001", headers=auth["planner"]).json()
    assert [(o["measure"]["id"], o["status"], o["start"]) for o in steel] == [
        ("deep", "superseded", "2016-12-16"),
        ("deep-v2", "issued", "2016-12-17"),
    ]
    assert steel[0]["end"] == "2016-12-16"
    # and the next consultation still works
    r = client.post(f"{API}/consultations", json=RED, headers=auth["consultation"])
    assert r.status_code == 200 and r.json()["action"] == "upgraded", r.text


def test_removing_ones_own_floor_waits_for_review_and_can_be_rejected(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    plan = small_plans()["JY-P001"]
    plan["levels"] = {}
    r = submit(client, "JY-P001", plan, auth["enterprise"])
    assert r.status_code == 202, r.text
    number = r.json()["number"]
    url = f"{API}/enterprises/JY-P001/plan/versions/{number}"
    detail = client.get(url, headers=auth["planner"]).json()
    red = next(e for e in detail["effect"] if e["level"] == "red")
    assert red["floor_before"] == "deep" and red["floor_after"] == "normal"
    assert red["cut_after_kg_d"]["so2"] == 0 and red["cut_before_kg_d"]["so2"] == 900
    assert {"so2", "nox", "pm"} <= set(red["weaker"])
    assert any(w.startswith("red: the floor cuts less") for w in detail["warnings"])

    rid = consult(client, auth, clock, ORANGE)["response_id"]
    assert p001_days(client, auth, rid)["2016-12-16"]["floor"] == "stop-sinter"

    reject = f"{url}/reject"
    assert client.post(reject, json={"note": ""}, headers=auth["planner"]).status_code == 400
    assert client.post(reject, json={"note": "no"}, headers=auth["enterprise"]).status_code == 403
    r = client.post(reject, json={"note": "红色预警须停产"}, headers=auth["planner"])
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    assert client.post(f"{url}/approve", headers=auth["planner"]).status_code == 409
    versions = client.get(f"{API}/enterprises/JY-P001/plan/versions", headers=auth["enterprise"])
    assert versions.json()[0]["review_note"] == "红色预警须停产"
    doc = client.get(f"{API}/enterprises/JY-P001/plan", headers=auth["planner"]).json()
    assert doc["plan"]["levels"]["red"] == "deep"
    audit = client.get(f"{API}/audit?action=plan.rejected", headers=auth["admin"]).json()
    assert audit[0]["after"]["version"] == number


def test_errors_do_not_show_another_enterprises_plan(client: TestClient, auth: Auth) -> None:
    def errors(plan: dict[str, Any], who: str) -> str:
        r = submit(client, "JY-P001", plan, auth[who])
        assert r.status_code == 400, r.text
        return "\n".join(r.json()["errors"])

    wrong_line = small_plans()["JY-P001"]
    wrong_line["supplies"] = [
        {"line": "sinter-1", "to": {"enterprise": "JY-P002", "line": "nope"}, "share": 1.0}
    ]
    told = errors(wrong_line, "enterprise")
    assert "unknown supply target" in told and "coke-1" not in told
    assert "coke-1" in errors(wrong_line, "planner")

    no_plan = small_plans()["JY-P001"]
    no_plan["supplies"] = [
        {"line": "sinter-1", "to": {"enterprise": "JY-S001", "line": "x"}, "share": 1.0}
    ]
    told = errors(no_plan, "enterprise")
    assert "unknown supply target" in told and "no plan" not in told

    # sinter stops at orange, so the coke oven (minimum 0.6) could not follow: refused,
    # without telling the steel plant the coke oven's floor
    unsatisfiable = small_plans()["JY-P001"]
    unsatisfiable["supplies"] = [
        {"line": "sinter-1", "to": {"enterprise": "JY-P002", "line": "coke-1"}, "share": 1.0}
    ]
    told = errors(unsatisfiable, "enterprise")
    assert "ask the planner" in told and "0.6" not in told and "min-load" not in told
    assert "0.6" in errors(unsatisfiable, "planner")


def test_the_servers_clock_decides_what_is_past(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    # 10:00 in Jiyuan on 18 Dec 2016: a forecast issued on the 15th is a replay
    clock.now = dt.datetime(2016, 12, 18, 10, 0, tzinfo=JIYUAN)
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    assert r.status_code == 409 and "replayed" in r.json()["detail"]
    ahead = forecast(dt.date(2016, 12, 19), [[250, 300]] * 4, issued_at="2016-12-18T11:00:00+08:00")
    r = client.post(f"{API}/consultations", json=ahead, headers=auth["consultation"])
    assert r.status_code == 409 and "ahead of the server's clock" in r.json()["detail"]
    assert client.get(f"{API}/consultations", headers=auth["planner"]).json() == []

    # A list approved two days late orders nothing for the days already behind.
    rid = consult(client, auth, clock, ORANGE)["response_id"]
    clock.now = dt.datetime(2016, 12, 18, 9, 0, tzinfo=JIYUAN)
    r = client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    assert r.status_code == 200, r.text
    starts = {o["start"] for o in r.json()["issued"]}
    assert starts == {"2016-12-18"}

    # A forecast may not start before its own issue date (it would open a warning in the
    # past); one issued yesterday evening for yesterday on opens the response from today.
    r = client.post(f"{API}/responses/{rid}/release", headers=auth["planner"])
    assert r.status_code == 200
    past = forecast(dt.date(2016, 12, 16), [[250, 300]] * 4, issued_at="2016-12-17T20:00:00+08:00")
    r = client.post(f"{API}/consultations", json=past, headers=auth["consultation"])
    assert r.status_code == 400 and "before the issue date" in r.text, r.text
    other = forecast(dt.date(2016, 12, 17), [[250, 300]] * 4, issued_at="2016-12-17T20:00:00+08:00")
    opened = client.post(f"{API}/consultations", json=other, headers=auth["consultation"]).json()
    assert opened["action"] == "opened"
    detail = client.get(f"{API}/responses/{opened['response_id']}", headers=auth["planner"])
    assert detail.json()["start"] == "2016-12-18"


def test_changes_made_by_consultations_are_audited_with_their_orders(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = consult(client, auth, clock, ORANGE)["response_id"]
    client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    up = consult(client, auth, clock, RED)
    assert up["action"] == "upgraded" and up["orders_issued"] > 0
    released = consult(client, auth, clock, CLEAN)
    assert released["action"] == "released"

    audit = client.get(f"{API}/audit?limit=5000", headers=auth["admin"]).json()
    approvals = [e for e in audit if e["action"] == "response.approve"]
    assert sorted(e["after"]["plan_version"] for e in approvals) == [1, 2]
    orders = client.get(f"{API}/orders?response={rid}", headers=auth["planner"]).json()
    issued = sorted(i for e in approvals for i in e["after"]["issued"])
    assert issued == sorted(o["id"] for o in orders)
    superseded = sorted(i for e in approvals for i in e["after"]["superseded"])
    assert superseded == sorted(o["id"] for o in orders if o["status"] == "superseded")
    release = next(e for e in audit if e["action"] == "response.released")
    assert sorted(release["after"]["lifted"]) == sorted(
        o["id"] for o in orders if o["status"] == "lifted"
    )


def test_two_approvals_that_do_not_fit_together_cannot_both_take_effect(
    store: Store, clock: Clock
) -> None:
    """JY-P002 adds an edge into JY-P001's sinter machine while JY-P001 renames it: each
    fits the data in force alone, not both together. Approved at the same moment, one
    takes effect and the other is refused against the data the first left."""
    from emergency.service.access import Actor, Role
    from emergency.service.plan_review import approve_plan_version, submit_plan
    from emergency.store.datafiles import load_stored
    from tests.api.test_orders import run_together

    planner = Actor("planner", Role.planner, token_id=1)
    coke = small_plans()["JY-P002"]
    coke["supplies"].append(
        {"line": "coke-1", "to": {"enterprise": "JY-P001", "line": "sinter-1"}, "share": 0.5}
    )
    steel = small_plans()["JY-P001"]
    steel["lines"][0]["id"] = "sinter-2"
    for measure in steel["measures"]:
        measure["loads"] = {
            ("sinter-2" if k == "sinter-1" else k): v for k, v in measure["loads"].items()
        }
    with store.session() as session:
        a = submit_plan(session, planner, "JY-P002", as_json(coke)).number
    with store.session() as session:
        b = submit_plan(session, planner, "JY-P001", as_json(steel)).number

    def approve(enterprise: str, number: int) -> Any:
        with store.session() as session:
            return approve_plan_version(session, planner, enterprise, number)

    results = run_together([lambda: approve("JY-P002", a), lambda: approve("JY-P001", b)])
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(done) == 1 and len(refused) == 1, results
    assert type(refused[0]).__name__ in ("ValidationErrors", "Conflict"), refused
    with store.session() as session:
        load_stored(session)  # the data in force still loads
