"""The review of a whole synthetic episode on the bundled Jiyuan-like city: the orange
response of examples/forecast-orange.json approved, four days of 15-minute readings of
every meter (and the two baseline days) from the generator, three firms cheating, posted
over HTTP by the utility's gateway; then the anomalies, a confirmed inspection and the
after-action review."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from emergency import POLLUTANTS
from emergency.meters.analysis import order_days
from emergency.meters.synth import NOISE, order_loads, synth_readings
from emergency.paths import REPO_ROOT
from emergency.service.planning import loaded_data
from emergency.settings import CITY_OFFSET, Settings
from emergency.store.db import Store
from emergency.store.models import Order
from tests.api.conftest import Clock, at_issue, bearer, make_token

API = "/api/v1"
Auth = dict[str, dict[str, str]]
FIRST = dt.date(2016, 12, 16)
BATCH = 10_000

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The bundled data folder (plans/ and enterprises.csv), copied."""
    data = tmp_path / "data"
    shutil.copytree(REPO_ROOT / "plans", data / "plans")
    shutil.copy(REPO_ROOT / "enterprises.csv", data / "enterprises.csv")
    return data


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    """The service's own body limit (1 MiB: a batch of 10,000 readings fits)."""
    return Settings(data=data_dir, database_url=db_url)


def test_the_review_of_a_synthetic_episode_finds_the_cheats(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    forecast = json.loads((REPO_ROOT / "examples" / "forecast-orange.json").read_text("utf-8"))
    r = client.post(f"{API}/consultations", json=at_issue(clock, forecast), headers=auth["planner"])
    assert r.status_code == 200, r.text
    rid = r.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    last = dt.date(2016, 12, 19)
    with store.session() as session:
        orders = session.scalars(select(Order).where(Order.response_id == rid))
        told = {k: dict(o.allowed_load) for k, o in order_days(orders, last).items()}
        dataset = loaded_data(session).dataset
    readings, cheats = synth_readings(dataset, FIRST, 4, order_loads(told), cheat=3, seed=7)
    assert len(cheats) == 3
    # after the episode: 09:00 on 20 Dec
    clock.now = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(9), CITY_OFFSET)
    gateway = bearer(make_token(store, "meter"))
    rows = [{"meter": m, "time": t.isoformat(), "kwh": k} for m, t, k in readings]
    for i in range(0, len(rows), BATCH):
        sent = client.post(
            f"{API}/meters/readings", json={"readings": rows[i : i + BATCH]}, headers=gateway
        )
        assert sent.status_code == 200, sent.text

    # every cheat is among the meter anomalies, ranked by estimated excess emission
    ranked = client.get(
        f"{API}/supervision/anomalies", params={"response": rid}, headers=auth["inspector"]
    ).json()
    meter = [a for a in ranked if a["anomaly"]["evidence"] == "meter"]
    seen = {(a["anomaly"]["source"], a["anomaly"]["line"], a["anomaly"]["day"]) for a in meter}
    assert {(c.source, c.line, c.day.isoformat()) for c in cheats} <= seen
    excess = [a["excess_kg_total"] for a in ranked]
    assert excess == sorted(excess, reverse=True)
    top = ranked[0]
    assert top["anomaly"]["source"] in {c.source for c in cheats} and top["excess_kg_total"] > 0

    # the inspector confirms the worst one
    task = client.post(
        f"{API}/tasks",
        json={"response_id": rid, "anomaly_key": top["anomaly"]["key"]},
        headers=auth["inspector"],
    )
    assert task.status_code == 201, task.text
    visit = {"confirmed": True, "finding": "夜间违规生产 ran at night against the order"}
    url = f"{API}/tasks/{task.json()['id']}/visit"
    assert client.post(url, json=visit, headers=auth["inspector"]).status_code == 200

    review = client.get(f"{API}/responses/{rid}/review", headers=auth["planner"]).json()
    assert [g["enterprise"] for g in review["grade_review"]] == [top["anomaly"]["source"]]
    # firms that kept their orders: measured within the generator's noise of the promise;
    # a cheat's day: measured below the promise
    by_key = {(s["source"], s["date"]): s for s in review["sources"]}
    cheated = {(c.source, c.day.isoformat()) for c in cheats}
    honest = [s for k, s in by_key.items() if s["evidence"] == "meter" and k not in cheated]
    assert len(honest) > 50
    for s in honest:
        plan = dataset.plans[s["source"]]
        for p in POLLUTANTS:
            normal = sum(line.emissions()[p] for line in plan.lines)
            assert abs(s["measured_kg"][p] - s["promised_kg"][p]) <= NOISE * normal + 1e-6, (
                s["source"],
                s["date"],
                p,
            )
    for key in cheated:
        s = by_key[key]
        assert sum(s["measured_kg"].values()) < sum(s["promised_kg"].values()), key
    # per day: meters carry most of the measured cut; sites and yards have no evidence
    for row in review["cuts"]:
        assert row["measured_kg"] is not None
        assert abs(row["measured_kg"] - row["by_meter_kg"] - row["by_report_kg"]) < 1e-6
    assert sum(r["by_meter_kg"] for r in review["cuts"]) > 0
    assert sum(r["unverified_kg"] for r in review["cuts"]) > 0
    assert review["compliance"]["rate"] < 1
    # the forecast against what was observed: the forecast is there, no observation yet
    assert [f["date"] for f in review["forecast"]][:4] == [
        (FIRST + dt.timedelta(days=i)).isoformat() for i in range(4)
    ]
    assert all(f["low"] is not None and f["observed"] is None for f in review["forecast"][:4])
    book = client.get(f"{API}/responses/{rid}/review.xlsx", headers=auth["planner"])
    sheet: Any = load_workbook(io.BytesIO(book.content))["逐源"]
    assert sheet.max_row - 2 == len(review["sources"])
