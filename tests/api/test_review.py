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


def quarters(day: dt.date) -> list[str]:
    start = dt.datetime.combine(day, dt.time(0), dt.timezone(dt.timedelta(hours=8)))
    return [(start + dt.timedelta(minutes=15 * i)).isoformat() for i in range(96)]


def test_meters_measure_the_cut_where_there_are_meters(
    client: TestClient, auth: Auth, clock: Clock, store: Any
) -> None:
    """JY-P001's meters (tests/datafiles.py): sinter-1 on E1, bf-1 on E1+E2. Baseline days
    14–15 Dec draw 10 kWh per quarter on sinter-1 and 5+5 on bf-1 (960 kWh/day each); on
    16 Dec sinter-1 draws 2 (load 0.2) and bf-1 4+4 (load 0.8), so the measured cut is
    SO2 (1−0.2)·800 + (1−0.8)·200 = 680 kg, NOx 0.8·1100 + 0.2·400 = 960, PM 0.8·300 +
    0.2·200 = 280, VOCs 0.2·50 = 10."""
    from tests.api.conftest import bearer, make_token

    rid = approved(client, auth, clock)
    clock.now = dt.datetime(2016, 12, 17, 1, 0, tzinfo=dt.UTC)  # 09:00 on 17 Dec
    meter = bearer(make_token(store, "meter"))
    draws = {
        dt.date(2016, 12, 14): {
            "JY-P001-sinter-1-E1": 10,
            "JY-P001-bf-1-E1": 5,
            "JY-P001-bf-1-E2": 5,
        },
        dt.date(2016, 12, 15): {
            "JY-P001-sinter-1-E1": 10,
            "JY-P001-bf-1-E1": 5,
            "JY-P001-bf-1-E2": 5,
        },
        dt.date(2016, 12, 16): {
            "JY-P001-sinter-1-E1": 2,
            "JY-P001-bf-1-E1": 4,
            "JY-P001-bf-1-E2": 4,
        },
    }
    for day, kwh in draws.items():
        batch = [{"meter": m, "time": t, "kwh": k} for m, k in kwh.items() for t in quarters(day)]
        sent = client.post(f"{API}/meters/readings", json={"readings": batch}, headers=meter)
        assert sent.status_code == 200, sent.text
    review = get_review(client, auth, rid)
    (p001,) = [
        s for s in review["sources"] if s["source"] == "JY-P001" and s["date"] == "2016-12-16"
    ]
    assert p001["evidence"] == "meter"
    expected = {"so2": 680.0, "nox": 960.0, "pm": 280.0, "vocs": 10.0}
    for p, kg in expected.items():
        assert abs(p001["measured_kg"][p] - kg) < 1e-6, (p, p001["measured_kg"][p])
    day1 = {r["pollutant"]: r for r in review["cuts"] if r["date"] == "2016-12-16"}
    for p, kg in expected.items():
        assert abs(day1[p]["by_meter_kg"] - kg) < 1e-3 and day1[p]["by_report_kg"] == 0
    # value added given up as measured: 0.8 × 800,000 + 0.2 × 1,200,000
    assert abs(p001["estimated_cost_yuan"] - 880_000) < 0.01


def test_a_source_measured_partly_by_meter_partly_by_report_is_split_line_by_line(
    client: TestClient, auth: Auth, clock: Clock, store: Any
) -> None:
    """sinter-1 metered (load 0.2 on 16 Dec), bf-1 not (its meters silent): bf-1 takes the
    report's plant load 0.9. SO2 by meter (1−0.2)·800 = 640, by report (1−0.9)·200 = 20."""
    from tests.api.conftest import bearer, make_token

    rid = approved(client, auth, clock)
    clock.now = dt.datetime(2016, 12, 16, 10, 0, tzinfo=dt.UTC)  # 18:00 on 16 Dec
    firm = auth["enterprise"]
    order = client.get(f"{API}/orders", headers=firm).json()[0]
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=firm).status_code == 200
    report = {"at": "2016-12-16T17:30:00+08:00", "load": 0.9}
    assert (
        client.post(f"{API}/orders/{order['id']}/reports", json=report, headers=firm).status_code
        == 201
    )
    clock.now = dt.datetime(2016, 12, 17, 1, 0, tzinfo=dt.UTC)
    meter = bearer(make_token(store, "meter"))
    kwh = {dt.date(2016, 12, 14): 10, dt.date(2016, 12, 15): 10, dt.date(2016, 12, 16): 2}
    batch = [
        {"meter": "JY-P001-sinter-1-E1", "time": t, "kwh": k}
        for day, k in kwh.items()
        for t in quarters(day)
    ]
    assert (
        client.post(f"{API}/meters/readings", json={"readings": batch}, headers=meter).status_code
        == 200
    )
    review = get_review(client, auth, rid)
    (p001,) = [
        s for s in review["sources"] if s["source"] == "JY-P001" and s["date"] == "2016-12-16"
    ]
    assert p001["evidence"] == "report"  # the weakest of its lines
    assert abs(p001["by_meter_kg"]["so2"] - 640) < 1e-6
    assert abs(p001["by_report_kg"]["so2"] - 20) < 1e-6
    assert abs(p001["measured_kg"]["so2"] - 660) < 1e-6
    so2 = next(r for r in review["cuts"] if r["date"] == "2016-12-16" and r["pollutant"] == "so2")
    assert abs(so2["by_meter_kg"] - 640) < 1e-3 and abs(so2["by_report_kg"] - 20) < 1e-3
