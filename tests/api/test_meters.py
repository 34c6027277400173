"""Meter readings over real HTTP: a day of 15-minute readings in batches, idempotency,
corrections, hostile values and roles; on SQLite and PostgreSQL (docs/METERS.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from emergency.meters.ingest import MAX_READINGS, ReadingsIn
from emergency.settings import CITY_OFFSET, utc_now
from emergency.store.db import Store
from emergency.store.models import AuditEntry, MeterReading
from tests.api.conftest import bearer, make_token
from tests.datafiles import small_plans

API = "/api/v1"
URL = f"{API}/meters/readings"
METERS = ("JY-P001-sinter-1-E1", "JY-P001-bf-1-E1", "JY-P001-bf-1-E2", "JY-P002-coke-1-E1")
"""Every meter of the small test city (tests/datafiles.py)."""
DAY = dt.date(2016, 12, 14)
"""The day before the test clock's (15 Dec 2016, 16:00 in Jiyuan)."""


def readings_now() -> dict[str, Any]:
    """One reading of the quarter hour that began before now (real clock): the access
    matrix posts it (tests/reliability/test_access.py)."""
    now = utc_now()
    at = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    return {"readings": [{"meter": METERS[0], "time": at.isoformat(), "kwh": 1.5}]}


def quarters(day: dt.date) -> list[dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), CITY_OFFSET)
    return [start + dt.timedelta(minutes=15 * k) for k in range(96)]


def day_of(meter: str, day: dt.date, kwh: float = 100.0) -> list[dict[str, Any]]:
    return [
        {"meter": meter, "time": t.isoformat(), "kwh": kwh + k % 4}
        for k, t in enumerate(quarters(day))
    ]


@pytest.fixture
def gateway(store: Store) -> dict[str, str]:
    return bearer(make_token(store, "meter"))


def stored(store: Store) -> list[tuple[str, dt.datetime, float, int | None]]:
    with store.session() as session:
        rows = session.execute(
            select(
                MeterReading.meter, MeterReading.at, MeterReading.kwh, MeterReading.corrects
            ).order_by(MeterReading.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def audits(store: Store) -> int:
    with store.session() as session:
        q = (
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "meters.readings")
        )
        return int(session.scalar(q) or 0)


def post(client: TestClient, headers: dict[str, str], readings: list[dict[str, Any]]) -> Any:
    return client.post(URL, json={"readings": readings}, headers=headers)


def test_a_day_of_every_meter_in_batches_then_resent(
    client: TestClient, store: Store, gateway: dict[str, str]
) -> None:
    """A gateway posts a day of 15-minute readings of every meter, one meter per batch;
    every reading is stored once; the whole day resent changes nothing."""
    for meter in METERS:
        r = post(client, gateway, day_of(meter, DAY))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["received"], body["inserted"], body["unchanged"]) == (96, 96, 0)
        assert body["meters"] == 1
        assert dt.datetime.fromisoformat(body["first"]) == quarters(DAY)[0]
        assert dt.datetime.fromisoformat(body["last"]) == quarters(DAY)[-1]
    rows = stored(store)
    assert len(rows) == 4 * 96
    assert {r[0] for r in rows} == set(METERS)
    assert rows[1][1] == quarters(DAY)[1] and rows[1][2] == 101.0  # time and value as sent
    again = [x for meter in METERS for x in day_of(meter, DAY)]
    r = post(client, gateway, again)
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], r.json()["unchanged"]) == (0, 4 * 96)
    assert len(stored(store)) == 4 * 96
    assert audits(store) == 5


def test_another_value_is_409_and_nothing_of_the_batch_is_stored(
    client: TestClient, store: Store, gateway: dict[str, str]
) -> None:
    first = day_of(METERS[0], DAY)[:4]
    assert post(client, gateway, first).status_code == 200
    changed = [*day_of(METERS[1], DAY)[:4], {**first[2], "kwh": 555.0}]
    r = post(client, gateway, changed)
    assert r.status_code == 409, r.text
    assert "readings[4].kwh" in r.json()["detail"] and "send a correction" in r.json()["detail"]
    assert len(stored(store)) == 4  # the four new readings of the other meter were not stored


def test_corrections_reference_what_they_correct(
    client: TestClient, store: Store, gateway: dict[str, str]
) -> None:
    original = day_of(METERS[0], DAY)[0]
    assert post(client, gateway, [original]).status_code == 200
    (oid,) = [rid for rid in _ids(store)]
    fix = {**original, "kwh": 120.0, "corrects": True}
    r = post(client, gateway, [fix])
    assert r.status_code == 200 and r.json()["corrections"] == 1, r.text
    rows = stored(store)
    assert rows[-1][2:] == (120.0, oid)
    # resent: a no-op; the original resent: a no-op too (it is what the gateway sent first)
    assert post(client, gateway, [fix]).json()["unchanged"] == 1
    assert post(client, gateway, [original]).json()["unchanged"] == 1
    # correcting the original by id once it was corrected: someone was first → 409
    r = post(client, gateway, [{**original, "kwh": 130.0, "corrects": oid}])
    assert r.status_code == 409 and "corrected meanwhile" in r.json()["detail"], r.text
    # correcting the correction by its id: stored, and it references the correction
    cid = _ids(store)[-1]
    r = post(client, gateway, [{**original, "kwh": 130.0, "corrects": cid}])
    assert r.status_code == 200 and r.json()["corrections"] == 1, r.text
    assert stored(store)[-1][2:] == (130.0, cid)
    # an id of another meter's reading, and a correction of nothing: 400
    other = day_of(METERS[1], DAY)[0]
    assert post(client, gateway, [other]).status_code == 200
    r = post(client, gateway, [{**other, "kwh": 1.0, "corrects": oid}])
    assert r.status_code == 400 and "readings[0].corrects" in r.json()["detail"], r.text
    nothing = {**day_of(METERS[2], DAY)[5], "corrects": True}
    r = post(client, gateway, [nothing])
    assert r.status_code == 400 and "no reading of meter" in r.json()["detail"], r.text
    assert len(stored(store)) == 4


def _ids(store: Store) -> list[int]:
    with store.session() as session:
        return list(session.scalars(select(MeterReading.id).order_by(MeterReading.id)))


GOOD = {"meter": METERS[0], "time": "2016-12-14T08:15:00+08:00", "kwh": 10.0}


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [
        ({"meter": "JY-P009-kiln-1-E1"}, 400, "readings[1].meter: unknown meter"),
        ({"time": "2016-12-15T16:30:00+08:00"}, 400, "readings[1].time"),  # ahead of 16:00
        ({"time": "2016-12-14T08:10:00+08:00"}, 422, "quarter hour"),
        ({"time": "2016-12-14T08:15:30+08:00"}, 422, "quarter hour"),
        ({"time": "2016-12-14T08:15:00"}, 422, "timezone"),
        ({"time": "9999-12-31T23:45:00+00:00"}, 422, "between"),
        ({"kwh": -1}, 422, "greater than or equal"),
        ({"kwh": 1e300}, 422, "less than or equal"),
        ({"kwh": "12"}, 200, ""),  # a number in a string is a number (pydantic's lax mode)
        ({"corrects": False}, 422, "reading id or true"),
        ({"corrects": 0}, 422, "greater than or equal"),
        ({"meter": "JY P001"}, 422, "pattern"),
        ({"meter": "x" * 101}, 422, "pattern"),
        ({"note": "extra"}, 422, "Extra inputs"),
    ],
)
def test_hostile_readings_are_refused_whole(
    client: TestClient,
    store: Store,
    gateway: dict[str, str],
    change: dict[str, Any],
    status: int,
    where: str,
) -> None:
    """The second reading is bad: 4xx naming it, and the good first one is not stored."""
    first = {**GOOD, "time": "2016-12-14T08:00:00+08:00"}
    r = post(client, gateway, [first, {**GOOD, **change}])
    assert r.status_code == status, r.text
    if status != 200:
        assert where in r.text
        assert stored(store) == []
        assert audits(store) == 0


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_kwh_is_refused(
    client: TestClient, store: Store, gateway: dict[str, str], bad: str
) -> None:
    text = json.dumps({"readings": [GOOD]}).replace("10.0", bad)
    r = client.post(URL, content=text, headers=gateway | {"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert stored(store) == []


def test_every_problem_is_listed_by_index(
    client: TestClient, store: Store, gateway: dict[str, str]
) -> None:
    batch = [GOOD, {**GOOD, "meter": "NOPE-1"}, {**GOOD, "kwh": 11.0}, {**GOOD, "meter": "NOPE-2"}]
    r = post(client, gateway, batch)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert any(e.startswith("readings[1].meter: unknown meter 'NOPE-1'") for e in errors)
    assert any(e.startswith("readings[3].meter: unknown meter 'NOPE-2'") for e in errors)
    assert any(
        e.startswith("readings[2].kwh: 11 kWh, but readings[0].kwh gives 10") for e in errors
    )
    zh = client.post(URL, json={"readings": batch}, headers=gateway | {"Accept-Language": "zh"})
    assert "未知电表" in zh.json()["detail"]
    assert stored(store) == []


def test_batch_limits(client: TestClient, store: Store, gateway: dict[str, str]) -> None:
    """No empty batch; at most MAX_READINGS readings (a larger body is 413 before that)."""
    assert post(client, gateway, []).status_code == 422
    times = [
        dt.datetime(2016, 1, 1, tzinfo=CITY_OFFSET) + dt.timedelta(minutes=15 * k)
        for k in range(MAX_READINGS + 1)
    ]
    many = [{"meter": METERS[0], "time": t.isoformat(), "kwh": 1} for t in times]
    with pytest.raises(ValidationError, match="at most 10000 items"):
        ReadingsIn.model_validate({"readings": many})
    ReadingsIn.model_validate({"readings": many[:MAX_READINGS]})
    assert post(client, gateway, many).status_code == 413
    assert stored(store) == []


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("meter", 200),
        ("admin", 200),
        ("enterprise", 403),
        ("planner", 403),
        ("inspector", 403),
        ("consultation", 403),
    ],
)
def test_only_the_gateway_and_admin_post_readings(
    client: TestClient, store: Store, role: str, status: int
) -> None:
    """An enterprise cannot post readings, not even of its own meters."""
    headers = bearer(make_token(store, role, "JY-P001" if role == "enterprise" else None))
    r = post(client, headers, [GOOD])
    assert r.status_code == status, r.text
    assert len(stored(store)) == (1 if status == 200 else 0)
    assert client.post(URL, json={"readings": [GOOD]}).status_code == 401


def test_an_enterprise_cannot_claim_another_enterprises_meter(
    client: TestClient, store: Store
) -> None:
    """A plan naming another enterprise's meter is refused (400), without naming it; the
    planner is told whose it is."""
    plan = small_plans()["JY-P002"]
    plan["lines"][0]["meters"] = [METERS[0]]
    body = json.loads(json.dumps(plan, default=str))
    firm = bearer(make_token(store, "enterprise", "JY-P002"))
    r = client.put(f"{API}/enterprises/JY-P002/plan", json=body, headers=firm)
    assert r.status_code == 400, r.text
    assert "another enterprise's plan" in r.text and "JY-P001's" not in r.text
    planner = bearer(make_token(store, "planner"))
    r = client.put(f"{API}/enterprises/JY-P002/plan", json=body, headers=planner)
    assert r.status_code == 400 and "JY-P001's plan" in r.text, r.text
