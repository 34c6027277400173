"""The after-action review of a response: promised against measured per pollutant and day
(reports as evidence here), compliance rate, tasks, timeline; the XLSX equals the JSON."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import ORANGE, Clock, at_issue

API = "/api/v1"
Auth = dict[str, dict[str, str]]
P001_LINES = {  # tests/datafiles.py: JY-P001's lines at normal load, kg/day
    "sinter-1": {"so2": 800, "nox": 1100, "pm": 300, "vocs": 0},
    "bf-1": {"so2": 200, "nox": 400, "pm": 200, "vocs": 50},
}


def approved(client: TestClient, auth: Auth, clock: Clock) -> int:
    r = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=auth["planner"])
    rid = int(r.json()["response_id"])
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    return rid


def get_review(client: TestClient, auth: Auth, rid: int) -> dict[str, Any]:
    answer = client.get(f"{API}/responses/{rid}/review", headers=auth["planner"])
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_review_holds_the_measured_cut_against_the_promise(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = approved(client, auth, clock)
    plan = client.get(f"{API}/responses/{rid}/plan", headers=auth["planner"]).json()
    first = dt.date(2016, 12, 16)
    # day 1, 18:00 in the city: JY-P001 reports it ran at 90 % (it was to stop its sinter line)
    clock.now = dt.datetime(2016, 12, 16, 10, 0, tzinfo=dt.UTC)
    firm = auth["enterprise"]
    order = next(
        o
        for o in client.get(f"{API}/orders", headers=firm).json()
        if o["start"] <= first.isoformat() <= (o["end"] or "9999")
    )
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=firm).status_code == 200
    report = {"at": "2016-12-16T17:30:00+08:00", "load": 0.9, "note": "90%"}
    assert (
        client.post(f"{API}/orders/{order['id']}/reports", json=report, headers=firm).status_code
        == 201
    )
    review = get_review(client, auth, rid)
    assert review["plan_version"] == 1  # the version approved
    # JY-P001 on day 1: measured from its report, every line at 0.9 → (1 − 0.9) × normal
    (p001,) = [
        s for s in review["sources"] if s["source"] == "JY-P001" and s["date"] == "2016-12-16"
    ]
    assert p001["evidence"] == "report"
    for p in ("so2", "nox", "pm", "vocs"):
        normal = sum(line[p] for line in P001_LINES.values())
        assert abs(p001["measured_kg"][p] - 0.1 * normal) < 1e-6, p
    promised = next(
        a for a in plan["assignments"] if a["source"] == "JY-P001" and a["date"] == "2016-12-16"
    )
    for p in ("so2", "nox", "pm", "vocs"):
        assert abs(p001["promised_kg"][p] - promised["cut_kg"][p]) < 1e-3, p
    # the others said nothing: their promise is unverified, not counted as achieved
    others = [
        s for s in review["sources"] if s["date"] == "2016-12-16" and s["source"] != "JY-P001"
    ]
    assert others and all(s["evidence"] == "unverified" for s in others)
    assert all(sum(s["measured_kg"].values()) == 0 for s in others)
    # per pollutant on day 1: measured = JY-P001's reported cut; unverified = the rest
    day1 = {r["pollutant"]: r for r in review["cuts"] if r["date"] == "2016-12-16"}
    for p, row in day1.items():
        assert abs(row["measured_kg"] - p001["measured_kg"][p]) < 1e-3
        assert row["by_meter_kg"] == 0 and abs(row["by_report_kg"] - row["measured_kg"]) < 1e-9
        assert abs(row["unverified_kg"] - sum(s["unverified_kg"][p] for s in others)) < 1e-3
        day = next(d for d in plan["days"] if d["date"] == "2016-12-16")
        assert abs(row["target_kg"] - day["target_kg"][p]) < 1e-3
        assert abs(row["promised_kg"] - day["cut_kg"][p]) < 1e-3
        if row["target_kg"] > 0:
            assert abs(row["achieved_share"] - row["measured_kg"] / row["target_kg"]) < 1e-3
    # days still to come: no measurement
    later = [r for r in review["cuts"] if r["date"] > "2016-12-16"]
    assert later and all(r["measured_kg"] is None and r["achieved_share"] is None for r in later)
    # cost: the promise on day 1 against what the report implies (value added given up)
    va = {"sinter-1": 800000, "bf-1": 1200000}
    assert abs(p001["estimated_cost_yuan"] - 0.1 * sum(va.values())) < 0.01
    assert review["promised_cost_yuan"] == round(
        sum(s["promised_cost_yuan"] for s in review["sources"]), 2
    )
    # compliance, anomalies (the report is above the allowed load), timeline
    c = review["compliance"]
    checked = client.get(
        f"{API}/compliance", params={"response": rid}, headers=auth["planner"]
    ).json()
    assert (c["orders"], c["acknowledged"], c["reported"]) == (
        checked["orders"],
        checked["acknowledged"],
        checked["reported"],
    )
    assert any(
        a["anomaly"]["kind"] == "load" and a["anomaly"]["source"] == "JY-P001"
        for a in review["anomalies"]
    )
    events = [e["event"] for e in review["timeline"]]
    assert events[0] == "response.opened" and "response.approve" in events


def test_the_review_workbook_is_the_review(client: TestClient, auth: Auth, clock: Clock) -> None:
    rid = approved(client, auth, clock)
    clock.now = dt.datetime(2016, 12, 17, 10, 0, tzinfo=dt.UTC)
    review = get_review(client, auth, rid)
    answer = client.get(f"{API}/responses/{rid}/review.xlsx", headers=auth["inspector"])
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].endswith(f'response-{rid}-review.xlsx"')
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["概要", "逐日减排", "逐源", "异常", "核查任务", "时间线", "预报检验"]
    rows = list(book["逐日减排"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(review["cuts"])
    for row, cut in zip(rows, review["cuts"], strict=True):
        assert row[0] == cut["date"] and row[3] == cut["target_kg"] and row[5] == cut["measured_kg"]
    assert len(list(book["逐源"].iter_rows(min_row=3))) == len(review["sources"])
    assert (
        client.get(f"{API}/responses/{rid}/review", headers=auth["enterprise"]).status_code == 403
    )
    assert client.get(f"{API}/responses/999/review", headers=auth["planner"]).status_code == 404
