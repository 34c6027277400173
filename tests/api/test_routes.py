"""Each route on its own: answers, filters, downloads, errors and limits."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import ORANGE, Clock
from tests.datafiles import small_plans

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def as_json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def open_response(client: TestClient, auth: Auth) -> int:
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["planner"])
    assert r.status_code == 200, r.text
    return int(r.json()["response_id"])


def test_openapi_has_every_route_with_schemas_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/consultations",
        "/responses",
        "/responses/{response_id}",
        "/responses/{response_id}/plan",
        "/responses/{response_id}/plan.csv",
        "/responses/{response_id}/plan.xlsx",
        "/responses/{response_id}/overrides",
        "/responses/{response_id}/approve",
        "/responses/{response_id}/release",
        "/orders",
        "/orders/{order_id}/ack",
        "/orders/{order_id}/reports",
        "/compliance",
        "/public/warning",
        "/enterprises",
        "/enterprises/{enterprise_id}/plan",
        "/audit",
    ):
        assert f"{API}{path}" in paths, path
    body = paths[f"{API}/consultations"]["post"]["requestBody"]["content"]["application/json"]
    assert "orange" in body["examples"]
    assert {"OrderView", "ResponsePlan", "ComplianceView"} <= set(spec["components"]["schemas"])
    assert "text/html" in client.get("/docs").headers["content-type"]


def test_consultation_without_a_level_opens_nothing(client: TestClient, auth: Auth) -> None:
    quiet = {**ORANGE, "days": [{"date": "2016-12-16", "aqi": 120}]}
    r = client.post(f"{API}/consultations", json=quiet, headers=auth["consultation"])
    assert r.status_code == 200
    assert r.json()["action"] == "none" and r.json()["response_id"] is None
    assert client.get(f"{API}/responses", headers=auth["planner"]).json() == []


def test_bad_forecast_is_400_naming_the_field(client: TestClient, auth: Auth) -> None:
    bad = {"days": [{"date": "2016-12-16", "aqi": -5}]}
    r = client.post(f"{API}/consultations", json=bad, headers=auth["consultation"])
    assert r.status_code == 400
    assert "days[0].aqi" in r.json()["detail"]
    r = client.post(
        f"{API}/consultations",
        content=b"{not json",
        headers=auth["consultation"] | {"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert client.post(f"{API}/consultations", json=[1], headers=auth["planner"]).status_code == 422


def test_forecast_with_several_mistakes_is_400_listing_them_all(
    client: TestClient, auth: Auth
) -> None:
    days = [
        {"date": "2016-12-16", "aqi": [210, 2600]},
        {"date": "2016-12-17", "aqi": [260, 210]},
        {"date": "2016-12-19", "aqi": 230, "colour": "red"},
    ]
    r = client.post(f"{API}/consultations", json={"days": days}, headers=auth["consultation"])
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert [e.split(": ")[1] for e in errors] == [
        "days[0].aqi",
        "days[1].aqi",
        "days[2].colour",
        "days[2].date",
    ]
    assert "implausibly wide" in errors[0] and '"wide_range": true' in errors[0]
    assert r.json()["detail"].startswith("4 errors in forecast:")
    days[0]["wide_range"] = True
    days[1]["aqi"] = [210, 260]
    days[2] = {"date": "2016-12-18", "aqi": 230}
    r = client.post(f"{API}/consultations", json={"days": days}, headers=auth["consultation"])
    assert r.status_code == 200, r.text
    assert r.json()["warning"]["level"] == "red"  # 2600 is off-scale: meant, and taken


def test_responses_list_detail_plan_and_downloads(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    listed = client.get(f"{API}/responses", headers=auth["inspector"]).json()
    assert [r["id"] for r in listed] == [rid] and listed[0]["level"] == "orange"
    assert client.get(f"{API}/responses?status=released", headers=auth["planner"]).json() == []
    detail = client.get(f"{API}/responses/{rid}", headers=auth["planner"]).json()
    assert detail["plans"][0]["reason"] == "opened" and detail["warning"]["level"] == "orange"
    plan = client.get(f"{API}/responses/{rid}/plan?version=1", headers=auth["planner"]).json()
    assert plan["status"] == "optimal"
    r = client.get(f"{API}/responses/{rid}/plan.csv", headers=auth["planner"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    header = r.text.splitlines()[0]
    assert header.startswith("source,") and "JY-P001" in r.text
    r = client.get(f"{API}/responses/{rid}/plan.xlsx", headers=auth["inspector"])
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.content)).sheetnames
    assert client.get(f"{API}/responses/99", headers=auth["planner"]).status_code == 404
    r = client.get(f"{API}/responses/{rid}/plan?version=7", headers=auth["planner"])
    assert r.status_code == 404


def test_override_errors(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    url, planner = f"{API}/responses/{rid}/overrides", auth["planner"]
    r = client.post(url, json={"source": "JY-X", "exempt": True, "reason": "x"}, headers=planner)
    assert r.status_code == 400 and "not in the inventory" in r.json()["detail"]
    bad_measure = {"source": "JY-P001", "measure": "fly", "reason": "x"}
    r = client.post(url, json=bad_measure, headers=planner)
    assert r.status_code == 400 and "stop-sinter" in r.json()["detail"]
    both = {"source": "JY-P001", "measure": "deep", "exempt": True, "reason": "x"}
    assert client.post(url, json=both, headers=planner).status_code == 422
    infeasible = {"source": "JY-P001", "measure": "stop-sinter", "reason": "steel order"}
    r = client.post(url, json=infeasible, headers=planner)  # the coke oven's supply edge
    assert r.status_code == 400 and "supplies" in r.json()["errors"][0]
    milder = {"source": "JY-Q001", "measure": "stop-blasting", "reason": "road repair stone"}
    plan = client.post(url, json=milder, headers=planner).json()
    mine = [a for a in plan["assignments"] if a["source"] == "JY-Q001"]
    assert {(a["measure"], a["fixed"]) for a in mine} == {("stop-blasting", "override")}
    assert "road repair stone" in mine[0]["why"]
    assert client.get(f"{API}/responses/{rid}", headers=planner).json()["plan_version"] == 2


def test_approve_a_version_that_is_not_current_is_409(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    override = {"source": "JY-S001", "exempt": True, "reason": "x"}
    client.post(f"{API}/responses/{rid}/overrides", json=override, headers=auth["planner"])
    url = f"{API}/responses/{rid}/approve"
    r = client.post(url, json={"plan_version": 1}, headers=auth["planner"])
    assert r.status_code == 409
    assert client.post(url, json={"plan_version": 2}, headers=auth["planner"]).status_code == 200


def test_release_by_the_planner(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    r = client.post(
        f"{API}/responses/{rid}/release", json={"note": "wind"}, headers=auth["planner"]
    )
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert set(r.json()["orders_by_status"]) == {"lifted"}
    assert client.post(f"{API}/responses/{rid}/release", headers=auth["planner"]).status_code == 409
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 409


def test_orders_filters_reports_and_errors(client: TestClient, auth: Auth, clock: Clock) -> None:
    rid = open_response(client, auth)
    client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    all_orders = client.get(f"{API}/orders?response={rid}", headers=auth["inspector"]).json()
    assert len(all_orders) == 6
    coke = client.get(f"{API}/orders?source=JY-P002", headers=auth["planner"]).json()
    assert [o["source"] for o in coke] == ["JY-P002"]
    assert client.get(f"{API}/orders?status=lifted", headers=auth["planner"]).json() == []
    # an enterprise asking for another's orders just sees none of them
    assert client.get(f"{API}/orders?source=JY-P002", headers=auth["enterprise"]).json() == []
    assert (
        client.get(f"{API}/orders/{coke[0]['id']}", headers=auth["enterprise"]).status_code == 404
    )
    assert client.get(f"{API}/orders/999", headers=auth["planner"]).status_code == 404
    oid = coke[0]["id"]
    other = auth["enterprise2"]
    bad = {"at": "2016-12-16T17:00:00", "load": 0.5}  # no UTC offset
    assert client.post(f"{API}/orders/{oid}/reports", json=bad, headers=other).status_code == 422
    bad = {"at": "2016-12-16T17:00:00+08:00", "load": -1}
    assert client.post(f"{API}/orders/{oid}/reports", json=bad, headers=other).status_code == 422
    good = {"at": "2016-12-16T17:00:00+08:00", "load": 0.6, "electricity_kwh": 1000}
    r = client.post(f"{API}/orders/{oid}/reports", json=good, headers=other)
    assert r.status_code == 409 and "acknowledge the order first" in r.json()["detail"]
    ack = client.post(f"{API}/orders/{oid}/ack", headers=other)
    assert ack.json()["status"] == "acknowledged"
    clock.now = dt.datetime(2016, 12, 16, 9, 30, tzinfo=dt.UTC)  # 17:30 in Jiyuan, next day
    r = client.post(f"{API}/orders/{oid}/reports", json=good, headers=other)
    assert r.status_code == 201 and r.json()["order_id"] == oid
    reports = client.get(f"{API}/orders/{oid}/reports", headers=auth["planner"]).json()
    assert [x["load"] for x in reports] == [0.6]
    assert client.get(f"{API}/orders/{oid}", headers=other).json()["reports"] == 1
    again = client.post(f"{API}/orders/{oid}/ack", headers=other)
    assert (
        again.status_code == 200
        and again.json()["acknowledged_at"] == ack.json()["acknowledged_at"]
    )
    assert client.get(f"{API}/compliance?response=99", headers=auth["planner"]).status_code == 404


def test_public_warning_during_a_response(client: TestClient, auth: Auth) -> None:
    assert client.get(f"{API}/public/warning").json()["level"] is None
    open_response(client, auth)
    public = client.get(f"{API}/public/warning").json()
    assert (public["level"], public["start"], public["end"]) == (
        "orange",
        "2016-12-16",
        "2016-12-19",
    )
    assert public["city"] == "Jiyuan (test)"


def test_enterprises_and_filters(client: TestClient, auth: Auth) -> None:
    rows = client.get(f"{API}/enterprises", headers=auth["admin"]).json()
    assert [r["id"] for r in rows][:3] == ["JY-P001", "JY-P002", "JY-P003"]
    assert {r["id"]: r["has_plan"] for r in rows}["JY-S001"] is False
    plants = client.get(f"{API}/enterprises?kind=plant&grade=B", headers=auth["planner"]).json()
    assert [r["id"] for r in plants] == ["JY-P001"]


def test_get_and_put_plan(client: TestClient, auth: Auth) -> None:
    url = f"{API}/enterprises/JY-P001/plan"
    doc = client.get(url, headers=auth["enterprise"]).json()
    assert doc["plan"]["enterprise"] == "JY-P001" and "sinter-1" in doc["text"]
    assert (
        client.get(f"{API}/enterprises/JY-P002/plan", headers=auth["enterprise"]).status_code == 404
    )
    assert client.get(f"{API}/enterprises/JY-S001/plan", headers=auth["planner"]).status_code == 404
    assert client.get(f"{API}/enterprises/NOPE/plan", headers=auth["planner"]).status_code == 404

    plan = small_plans()["JY-P001"]
    plan["measures"][0]["name"] = "全厂限产20%（修订）"
    r = client.put(url, json=as_json(plan), headers=auth["enterprise"])
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["status"] == "pending" and not first["in_force"]
    # pending: the plan in force is unchanged until a planner approves
    assert client.get(url, headers=auth["planner"]).json()["text"] == doc["text"]
    text = yaml.safe_dump(plan, allow_unicode=True, sort_keys=False).replace("0.8", "0.7", 1)
    r = client.put(
        url, content=text.encode(), headers=auth["planner"] | {"content-type": "application/yaml"}
    )
    assert r.status_code == 202, r.text
    number = r.json()["number"]
    assert number == first["number"] + 1
    versions = client.get(f"{url}/versions", headers=auth["enterprise"]).json()
    assert [v["status"] for v in versions[:2]] == ["pending", "withdrawn"]
    r = client.post(f"{url}/versions/{number}/approve", json={}, headers=auth["planner"])
    assert r.status_code == 200 and r.json()["in_force"], r.text
    assert client.get(url, headers=auth["planner"]).json()["text"] == text
    # a withdrawn or approved version cannot be approved (again)
    again = client.post(f"{url}/versions/{number}/approve", headers=auth["planner"])
    assert again.status_code == 409


def test_bad_plan_is_400_with_every_error_and_nothing_stored(
    client: TestClient, auth: Auth
) -> None:
    url = f"{API}/enterprises/JY-P001/plan"
    before = client.get(url, headers=auth["planner"]).json()["text"]
    plan = small_plans()["JY-P001"]
    plan["measures"][0]["loads"] = {"sinter-1": 1.5, "nowhere": 0.5}
    plan["levels"]["red"] = "missing-measure"
    r = client.put(url, json=as_json(plan), headers=auth["planner"])
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert len(errors) >= 3 and all("plans/enterprises/JY-P001.yaml" in e for e in errors)
    assert any("nowhere" in e for e in errors) and any("missing-measure" in e for e in errors)
    r = client.put(
        url, content=b"lines: [", headers=auth["planner"] | {"content-type": "application/yaml"}
    )
    assert r.status_code == 400 and "JY-P001.yaml:" in r.json()["errors"][0]
    other = small_plans()["JY-P002"]
    r = client.put(url, json=as_json(other), headers=auth["planner"])
    assert r.status_code == 400 and any("JY-P002" in e for e in r.json()["errors"])
    assert client.put(url, content=b"", headers=auth["planner"]).status_code == 400
    assert client.get(url, headers=auth["planner"]).json()["text"] == before
    actions = [e["action"] for e in client.get(f"{API}/audit", headers=auth["admin"]).json()]
    assert "plan.submitted" not in actions


def test_body_size_limit_is_413(client: TestClient, auth: Auth) -> None:
    huge = b"x" * (65 * 1024)
    headers = auth["planner"] | {"content-type": "application/yaml"}
    r = client.put(f"{API}/enterprises/JY-P001/plan", content=huge, headers=headers)
    assert r.status_code == 413

    def chunks():  # no Content-Length: the limit is counted while streaming
        for _ in range(70):
            yield b"y" * 1024

    r = client.put(f"{API}/enterprises/JY-P001/plan", content=chunks(), headers=headers)
    assert r.status_code == 413


def test_audit_is_admin_only_filtered_and_has_no_write_route(
    client: TestClient, auth: Auth
) -> None:
    open_response(client, auth)
    entries = client.get(f"{API}/audit", headers=auth["admin"]).json()
    assert entries[0]["action"] == "consultation" and entries[0]["actor"].startswith("planner:")
    only = client.get(f"{API}/audit?action=token.create&limit=2", headers=auth["admin"]).json()
    assert len(only) == 2 and {e["action"] for e in only} == {"token.create"}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, f"{API}/audit", headers=auth["admin"]).status_code == 405


def test_consultations_timeline(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    quiet = {**ORANGE, "days": [{"date": "2016-12-16", "aqi": 120}]}
    client.post(f"{API}/consultations", json=quiet, headers=auth["consultation"])
    listed = client.get(f"{API}/consultations", headers=auth["inspector"]).json()
    assert [(c["action"], c["response_id"]) for c in listed] == [
        ("unchanged", rid),
        ("opened", rid),
    ]
    assert listed[1]["forecast"]["days"][0]["date"] == "2016-12-16"
    assert listed[1]["warning"]["level"] == "orange"
    one = client.get(f"{API}/consultations?response={rid}&limit=1", headers=auth["consultation"])
    assert len(one.json()) == 1


def test_withdraw_an_override(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    planner = auth["planner"]
    body = {"source": "JY-S001", "exempt": True, "reason": "hospital works"}
    client.post(f"{API}/responses/{rid}/overrides", json=body, headers=planner)
    override = client.get(f"{API}/responses/{rid}", headers=planner).json()["overrides"][0]
    url = f"{API}/responses/{rid}/overrides/{override['id']}"
    r = client.delete(url, headers=planner)
    assert r.status_code == 200, r.text
    site = [a for a in r.json()["assignments"] if a["source"] == "JY-S001"]
    assert site and {a["fixed"] for a in site} == {""}
    detail = client.get(f"{API}/responses/{rid}", headers=planner).json()
    assert detail["plan_version"] == 3 and detail["overrides"][0]["active"] is False
    assert detail["plans"][-1]["reason"] == "override withdrawn"
    assert client.delete(url, headers=planner).status_code == 409
    assert client.delete(f"{API}/responses/{rid}/overrides/99", headers=planner).status_code == 404
