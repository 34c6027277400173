"""Findings of the review of plan versions: each test holds one attack or mistake."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_trust import submit
from tests.datafiles import small_plans

API = "/api/v1"
Auth = dict[str, dict[str, str]]


def test_a_deeply_nested_plan_body_is_refused_not_a_500(client: TestClient, auth: Auth) -> None:
    url = f"{API}/enterprises/JY-P001/plan"
    headers = {**auth["enterprise"], "Content-Type": "application/yaml"}
    for depth in (500, 3000):  # yaml.safe_dump overflows at 500, json.loads at 3000
        body = '{"a":' + "[" * depth + "]" * depth + "}"
        r = client.put(url, content=body.encode(), headers=headers)
        assert r.status_code == 400, r.text
        assert "nested" in r.json()["detail"]
    versions = client.get(f"{url}/versions", headers=auth["enterprise"]).json()
    assert [v["status"] for v in versions] == ["approved"]  # the import's; nothing stored


def test_a_stricter_upstream_floor_on_an_existing_edge_is_flagged(
    client: TestClient, auth: Auth
) -> None:
    # JY-P002's coke oven already feeds JY-P001's blast furnace (share 1.0). Its yellow
    # floor goes from 0.8 to 0.6 without touching the edge: at yellow the furnace is then
    # held at 0.6, below the steel plant's own yellow floor (0.8).
    plan = small_plans()["JY-P002"]
    plan["levels"]["yellow"] = "min-load"
    r = submit(client, "JY-P002", plan, auth["enterprise2"])
    assert r.status_code == 202, r.text
    url = f"{API}/enterprises/JY-P002/plan/versions/{r.json()['number']}"
    detail = client.get(url, headers=auth["planner"]).json()
    assert detail["supplies"] == []  # the edge itself is unchanged
    binding = [w for w in detail["warnings"] if "binds another enterprise" in w]
    assert binding and "force JY-P001/bf-1 yellow: ≤ 0.6" in binding[0], detail["warnings"]
    mine = client.get(url, headers=auth["enterprise2"]).json()["warnings"]
    assert any("binds another enterprise" in w for w in mine)
    assert all("its own floor" not in w and "0.8" not in w for w in mine), mine
