"""Stored plan versions read without their plan: what the response's detail and the list of
responses show of each version (status, total cost, data key) is what the plan says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from emergency.store.db import Store
from emergency.store.models import ResponsePlanRow
from tests.api.conftest import ORANGE, RED, Clock, at_issue

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def test_the_detail_shows_what_each_stored_version_says(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    planner = auth["planner"]
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=planner)
    rid = r.json()["response_id"]
    body = {"source": "JY-Q001", "exempt": True, "reason": "road repair"}
    assert client.post(f"{API}/responses/{rid}/overrides", json=body, headers=planner).is_success
    assert client.post(
        f"{API}/consultations", json=at_issue(clock, RED), headers=planner
    ).is_success
    detail = client.get(f"{API}/responses/{rid}", headers=planner).json()
    assert [v["number"] for v in detail["plans"]] == [1, 2, 3]
    with store.session() as session:
        keys = {
            row.number: row.data_key
            for row in session.query(ResponsePlanRow).filter_by(response_id=rid)
        }
    for version in detail["plans"]:
        plan = client.get(
            f"{API}/responses/{rid}/plan", params={"version": version["number"]}, headers=planner
        ).json()
        assert version["status"] == plan["status"]
        assert version["total_cost_yuan"] == plan["total_cost_yuan"]
        assert version["data_key"] == keys[version["number"]] and version["data_key"]
    current = detail["plans"][-1]
    assert (detail["plan_status"], detail["total_cost_yuan"]) == (
        current["status"],
        current["total_cost_yuan"],
    )
    listed = client.get(f"{API}/responses", headers=planner).json()
    assert [(s["plan_status"], s["total_cost_yuan"]) for s in listed] == [
        (current["status"], current["total_cost_yuan"])
    ]
