"""``GET /responses/{id}/plan-report.xlsx``: the report workbook over HTTP, by role."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.downloads import XLSX
from emergency import POLLUTANTS
from tests.api.conftest import ORANGE, Clock

API = "/api/v1"
Auth = dict[str, dict[str, str]]
CUT_ZH = {"so2": "SO2", "nox": "NOx", "pm": "颗粒物", "vocs": "VOCs"}


def open_response(client: TestClient, auth: Auth) -> int:
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["planner"])
    assert r.status_code == 200, r.text
    return int(r.json()["response_id"])


def facts(book: object) -> dict[str, object]:
    sheet = book["汇总"]  # type: ignore[index]
    return {r[0]: r[2] for r in sheet.iter_rows(values_only=True) if r[0]}


def test_planner_gets_the_approved_version(client: TestClient, auth: Auth, clock: Clock) -> None:
    rid = open_response(client, auth)
    planner = auth["planner"]
    r = client.get(f"{API}/responses/{rid}/plan-report.xlsx", headers=planner)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["减排清单", "汇总", "说明"]
    assert facts(book)["审批状态"] == "未批准 not approved"

    assert client.post(f"{API}/responses/{rid}/approve", headers=planner).status_code == 200
    # a new version after approval: the report stays on the approved one by default
    r = client.post(
        f"{API}/responses/{rid}/overrides",
        json={"source": "JY-S001", "exempt": True, "reason": "hospital works"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    book = load_workbook(
        io.BytesIO(client.get(f"{API}/responses/{rid}/plan-report.xlsx", headers=planner).content)
    )
    shown = facts(book)
    assert shown["清单版本"] == 1 and shown["审批状态"] == "已批准 approved"
    assert shown["批准人"] and shown["批准时间"]
    about = {r[1]: r[2] for r in book["说明"].iter_rows(values_only=True)}
    assert about["generated_at"] == clock.now.isoformat(timespec="seconds")

    # the numbers are those of the plan version's JSON
    plan = client.get(f"{API}/responses/{rid}/plan?version=1", headers=planner).json()
    rows = list(book["减排清单"].iter_rows(values_only=True))
    zh, body = rows[0], rows[2:]
    for day in plan["days"]:
        for p in POLLUTANTS:
            col = zh.index(f"{day['date']} 减排量{CUT_ZH[p]}(kg/d)")
            assert abs(sum(r[col] or 0 for r in body) - day["cut_kg"][p]) < 1e-6
    total = sum(r[zh.index("合计成本(元)")] for r in body)
    assert abs(total - plan["total_cost_yuan"]) < 1e-6
    assert shown["总成本(元)"] == plan["total_cost_yuan"]

    r = client.get(f"{API}/responses/{rid}/plan-report.xlsx?version=2", headers=planner)
    assert r.status_code == 200
    assert facts(load_workbook(io.BytesIO(r.content)))["清单版本"] == 2


def test_enterprise_is_refused_and_unknown_is_404(client: TestClient, auth: Auth) -> None:
    rid = open_response(client, auth)
    r = client.get(f"{API}/responses/{rid}/plan-report.xlsx", headers=auth["enterprise"])
    assert r.status_code == 403
    assert client.get(f"{API}/responses/{rid}/plan-report.xlsx").status_code == 401
    r = client.get(f"{API}/responses/99/plan-report.xlsx", headers=auth["planner"])
    assert r.status_code == 404
    r = client.get(f"{API}/responses/{rid}/plan-report.xlsx?version=9", headers=auth["planner"])
    assert r.status_code == 404
    r = client.get(f"{API}/responses/{rid}/plan-report.xlsx", headers=auth["inspector"])
    assert r.status_code == 200
