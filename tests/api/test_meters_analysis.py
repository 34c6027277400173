"""What the meters say about an orange episode of the small city, against hand-computed
baselines, loads and excesses: each meter anomaly kind positive and negative, the night
restart seen that night; over real HTTP, on SQLite and PostgreSQL (docs/METERS.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from emergency.meters.analysis import _Series, baselines, meter_anomalies, order_days
from emergency.meters.synth import order_loads, synth_readings
from emergency.service.planning import loaded_data
from emergency.service.views import Anomaly
from emergency.settings import CITY_OFFSET
from emergency.store.db import Store
from emergency.store.models import Order, Response
from tests.api.conftest import ORANGE, Clock, at_issue, bearer, make_token

API = "/api/v1"
D14, D15, D16, D17 = (dt.date(2016, 12, d) for d in (14, 15, 16, 17))
SINTER, BF1, BF2, COKE = (
    "JY-P001-sinter-1-E1",
    "JY-P001-bf-1-E1",
    "JY-P001-bf-1-E2",
    "JY-P002-coke-1-E1",
)
SO2_SINTER = 800.0  # kg/day of sinter-1 (tests/datafiles.py)
SO2_BF, SO2_COKE = 200.0, 300.0


def city(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CITY_OFFSET)


def quarters(day: dt.date) -> list[dt.datetime]:
    return [city(day) + dt.timedelta(minutes=15 * k) for k in range(96)]


class Episode:
    """The orange response of the small city, approved; a meter gateway posting."""

    def __init__(self, client: TestClient, store: Store, clock: Clock) -> None:
        self.client, self.store, self.clock = client, store, clock
        planner = bearer(make_token(store, "planner"))
        self.planner = planner
        self.gateway = bearer(make_token(store, "meter"))
        opened = client.post(f"{API}/consultations", json=at_issue(clock, ORANGE), headers=planner)
        assert opened.status_code == 200, opened.text
        self.rid = opened.json()["response_id"]
        r = client.post(f"{API}/responses/{self.rid}/approve", headers=planner)
        assert r.status_code == 200, r.text
        orders = client.get(f"{API}/orders", params={"response": self.rid}, headers=planner)
        self.orders = {o["source"]: o for o in orders.json() if o["current"]}
        self.allowed = {
            line: load for o in self.orders.values() for line, load in o["allowed_load"].items()
        }

    def post(self, readings: list[tuple[str, dt.datetime, float]]) -> None:
        body = [{"meter": m, "time": t.isoformat(), "kwh": k} for m, t, k in readings]
        for start in range(0, len(body), 500):
            r = self.client.post(
                f"{API}/meters/readings",
                json={"readings": body[start : start + 500]},
                headers=self.gateway,
            )
            assert r.status_code == 200, r.text

    def lines(self, **params: Any) -> list[dict[str, Any]]:
        r = self.client.get(
            f"{API}/meters/lines", params={"response": self.rid, **params}, headers=self.planner
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    def anomalies(self) -> list[Anomaly]:
        with self.store.session() as session:
            response = session.get(Response, self.rid)
            assert response is not None
            return meter_anomalies(session, response)


def day(
    meter: str, on: dt.date, kwh: float, **changes: float
) -> list[tuple[str, dt.datetime, float]]:
    """A day of one meter at ``kwh`` per quarter hour; ``changes`` maps "HH:MM" quarters
    (written H0215 for 02:15) to other values."""
    out = []
    for t in quarters(on):
        out.append((meter, t, changes.get(f"H{t:%H%M}", kwh)))
    return out


@pytest.fixture
def episode(client: TestClient, store: Store, clock: Clock) -> Episode:
    ep = Episode(client, store, clock)
    assert ep.allowed["sinter-1"] == 0.0  # orange: the sinter machine stops
    assert 0 < ep.allowed["bf-1"] < 1 and 0 < ep.allowed["coke-1"] < 1
    clock.now = city(D15, 23, 59).astimezone(dt.UTC) + dt.timedelta(minutes=1)
    baseline: list[tuple[str, dt.datetime, float]] = []
    baseline += day(SINTER, D14, 100.0) + day(SINTER, D15, 110.0)  # → 10,080 kWh/day
    baseline += day(BF1, D14, 50.0) + day(BF1, D15, 50.0)
    baseline += day(BF2, D14, 25.0) + day(BF2, D15, 35.0)  # bf-1: 7,200 + 8,160 → 7,680
    baseline += day(COKE, D14, 80.0)  # 7,680; on the 15th only 60 quarters at 90 kWh:
    baseline += [(COKE, t, 90.0) for t in quarters(D15)[:60]]  # 5,400 → 8,640 → mean 8,160
    ep.post(baseline)
    return ep


def test_baseline_loads_and_every_anomaly_against_hand_computation(episode: Episode) -> None:
    ep = episode
    a_bf, a_coke = ep.allowed["bf-1"], ep.allowed["coke-1"]
    # 16 Dec: everyone complies, except that coke-1's meter sends nothing
    ep.clock.now = city(D17).astimezone(dt.UTC)
    ep.post(day(SINTER, D16, 4.0))  # standby: 4 ≤ 5.25 kWh per quarter (5 % of 10,080 / 96)
    ep.post(day(BF1, D16, 50.0 * (a_bf + 0.04)) + day(BF2, D16, 30.0 * (a_bf + 0.04)))
    # 17 Dec, seen at 03:05 the same night: the sinter machine ran from 02:00 to 02:45
    ep.clock.now = city(D17, 3, 5).astimezone(dt.UTC)
    night = {f"H02{m:02d}": 100.0 for m in (0, 15, 30, 45)}
    ep.post([r for r in day(SINTER, D17, 4.0, **night) if r[1] < city(D17, 3)])
    seen = {(a.line, a.day): a for a in ep.anomalies()}
    stopped = seen["sinter-1", D17]
    assert stopped.kind == "meter_stopped_draws" and stopped.evidence == "meter"
    assert stopped.at == city(D17, 2)
    # hour 02: 400 kWh against 21 kWh of standby; the hours before: 16 ≤ 21
    assert stopped.excess_kwh == pytest.approx(400 - 21)
    assert stopped.excess_kg["so2"] == pytest.approx(379 / 10080 * SO2_SINTER, abs=1e-3)
    assert stopped.key == f"meter:{ep.orders['JY-P001']['id']}:sinter-1:2016-12-17"
    assert ("sinter-1", D16) not in seen  # standby only: no anomaly
    assert ("bf-1", D16) not in seen  # 0.04 above allowed: within the 0.05 tolerance
    missing = seen["coke-1", D16]
    assert missing.kind == "meter_missing" and "no readings" in missing.message
    assert ("coke-1", D17) not in seen  # the day is not over: not missing yet
    night_rows = {(r["line"], r["day"]): r for r in ep.lines(day="2016-12-17")}
    sinter = night_rows["sinter-1", "2016-12-17"]
    assert sinter["hours"] == 3.0 and not sinter["complete"] and sinter["readings"] == 12
    assert sinter["anomaly"] == "meter_stopped_draws"

    # the rest of 17 Dec: bf-1 runs 0.2 above its allowed load, coke-1 at its allowed load
    ep.clock.now = city(dt.date(2016, 12, 18)).astimezone(dt.UTC)
    ep.post([r for r in day(SINTER, D17, 4.0) if r[1] >= city(D17, 3)])
    ep.post(day(BF1, D17, 50.0 * (a_bf + 0.2)) + day(BF2, D17, 30.0 * (a_bf + 0.2)))
    ep.post(day(COKE, D17, 8160.0 / 96 * a_coke))
    rows = {(r["line"], r["day"]): r for r in ep.lines()}
    assert rows["sinter-1", "2016-12-16"]["baseline_kwh"] == pytest.approx(10080.0)
    assert rows["bf-1", "2016-12-16"]["baseline_kwh"] == pytest.approx(7680.0)
    assert rows["coke-1", "2016-12-16"]["baseline_kwh"] == pytest.approx(8160.0)
    assert rows["sinter-1", "2016-12-16"]["load"] == pytest.approx(384 / 10080, abs=1e-4)
    bf16 = rows["bf-1", "2016-12-16"]
    assert bf16["kwh"] == pytest.approx(96 * 80 * (a_bf + 0.04))
    assert bf16["load"] == pytest.approx(96 * 80 * (a_bf + 0.04) / 7680, abs=1e-4)
    assert bf16["allowed_load"] == a_bf and bf16["anomaly"] is None
    assert bf16["meters"] == [BF1, BF2] and bf16["expected_readings"] == 192
    bf17 = rows["bf-1", "2016-12-17"]
    assert bf17["anomaly"] == "meter_over_limit"
    kwh17 = 96 * 80 * (a_bf + 0.2)
    assert bf17["excess_kwh"] == pytest.approx(kwh17 - a_bf * 7680, abs=1e-3)
    assert bf17["excess_kg"]["so2"] == pytest.approx(0.2 * SO2_BF, abs=1e-3)  # (0.2 load) × kg/d
    assert bf17["achieved_cut_kg"]["so2"] == pytest.approx((1 - a_bf - 0.2) * SO2_BF, abs=1e-3)
    coke17 = rows["coke-1", "2016-12-17"]
    assert coke17["load"] == pytest.approx(a_coke, abs=1e-4) and coke17["anomaly"] is None
    sinter17 = rows["sinter-1", "2016-12-17"]
    assert sinter17["complete"] and sinter17["excess_kwh"] == pytest.approx(379)
    assert "unit-1" not in {line for line, _ in rows}  # no meter: nothing to say
    ranked = ep.anomalies()
    assert [a.kind for a in ranked] == ["meter_over_limit", "meter_stopped_draws", "meter_missing"]
    assert ranked[0].excess_kg["so2"] > ranked[1].excess_kg["so2"]
    assert ranked[0].message_zh.startswith("bf-1 2016-12-17 实测负荷")


def test_a_meter_that_falls_silent_is_missing(episode: Episode) -> None:
    ep = episode
    ep.clock.now = city(D17).astimezone(dt.UTC)
    ep.post(day(BF1, D16, 50.0 * ep.allowed["bf-1"]))  # bf-1-E2 sends nothing
    found = {(a.line, a.day): a for a in ep.anomalies()}
    assert found["bf-1", D16].kind == "meter_missing"
    assert found["bf-1", D16].message == f"meter {BF2} of bf-1 sent no readings on 2016-12-16"


def test_a_correction_is_what_counts(episode: Episode) -> None:
    """The gateway corrects a night's readings: the anomaly follows the corrected value."""
    ep = episode
    ep.clock.now = city(D17).astimezone(dt.UTC)
    ep.post(day(SINTER, D16, 4.0, H0100=90.0))
    assert {a.line for a in ep.anomalies() if a.day == D16} == {"sinter-1", "bf-1", "coke-1"}
    fix = {"meter": SINTER, "time": city(D16, 1).isoformat(), "kwh": 4.0, "corrects": True}
    r = ep.client.post(f"{API}/meters/readings", json={"readings": [fix]}, headers=ep.gateway)
    assert r.status_code == 200 and r.json()["corrections"] == 1
    assert {a.line for a in ep.anomalies() if a.day == D16} == {"bf-1", "coke-1"}


def test_no_readings_before_the_warning_is_no_baseline(
    client: TestClient, store: Store, clock: Clock
) -> None:
    ep = Episode(client, store, clock)
    clock.now = city(D17).astimezone(dt.UTC)
    ep.post(day(SINTER, D16, 4.0))
    found = {(a.line, a.day): a for a in ep.anomalies()}
    assert found["sinter-1", D16].kind == "meter_missing"
    assert "no baseline for sinter-1" in found["sinter-1", D16].message
    rows = {(r["line"], r["day"]): r for r in ep.lines(source="JY-P001")}
    assert rows["sinter-1", "2016-12-16"]["baseline_kwh"] is None
    assert rows["sinter-1", "2016-12-16"]["load"] is None
    assert {r["source"] for r in rows.values()} == {"JY-P001"}


def test_baseline_rule_by_hand() -> None:
    """The mean of the two days before the first day; a day under half covered is left
    out, a day at least half covered is scaled to the whole day."""
    first = D16
    series = _Series()
    for t in quarters(D14):
        series.kwh["A", t.astimezone(dt.UTC)] = 10.0  # 960
        series.kwh["B", t.astimezone(dt.UTC)] = 10.0
    for t in quarters(D15)[:47]:  # under half: left out
        series.kwh["A", t.astimezone(dt.UTC)] = 1000.0
    for t in quarters(D15)[:48]:  # exactly half of one meter: scaled ×2
        series.kwh["B", t.astimezone(dt.UTC)] = 20.0
    for t in quarters(dt.date(2016, 12, 13)):  # three days before: not part of the rule
        series.kwh["A", t.astimezone(dt.UTC)] = 5000.0
    got = baselines(series, {("X", "a"): ["A"], ("X", "b"): ["B"], ("X", "c"): ["C"]}, first)
    assert got["X", "a"] == pytest.approx(960.0)
    assert got["X", "b"] == pytest.approx((960.0 + 48 * 20.0 * 2) / 2)
    assert got["X", "c"] is None
    both = baselines(series, {("X", "ab"): ["A", "B"]}, first)  # 15 Dec: 95 of 192 quarters
    assert both["X", "ab"] == pytest.approx(1920.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_synthetic_cheats_are_exactly_the_anomalies(
    client: TestClient, store: Store, clock: Clock, seed: int
) -> None:
    """Readings from the generator, at the loads of the episode's orders, with both
    metered firms cheating: posted over HTTP, the anomalies are the cheats, no more."""
    ep = Episode(client, store, clock)
    with store.session() as session:
        response = session.get(Response, ep.rid)
        assert response is not None
        orders = session.scalars(select(Order).where(Order.response_id == ep.rid))
        told = {
            k: dict(o.allowed_load) for k, o in order_days(orders, dt.date(2016, 12, 31)).items()
        }
        dataset = loaded_data(session).dataset
    readings, cheats = synth_readings(dataset, D16, 3, order_loads(told), cheat=2, seed=seed)
    assert {c.source for c in cheats} == {"JY-P001", "JY-P002"}
    clock.now = city(dt.date(2016, 12, 19)).astimezone(dt.UTC)
    ep.post(readings)
    found = {(a.source, a.line, a.day): a.kind for a in ep.anomalies()}
    expected = {
        (c.source, c.line, c.day): "meter_stopped_draws"
        if c.kind == "night"
        else "meter_over_limit"
        for c in cheats
    }
    assert found == expected
