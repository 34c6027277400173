"""Daily reports over HTTP: loads per line (stored, shown, checked line by line) and the
missed daily report (``report_by`` of the city plan, 17:00), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ORANGE, Clock
from tests.datafiles import small_city, write_small_dataset

API = "/api/v1"
CITY = dt.timezone(dt.timedelta(hours=8))
DEC16 = dt.date(2016, 12, 16)


@pytest.fixture
def data_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The small data folder; its city plan's ``report_by`` is the test's parameter when
    it has one (17:00 otherwise)."""
    city = small_city()
    city["report_by"] = getattr(request, "param", "17:00")
    return write_small_dataset(tmp_path / "data", city=city)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CITY)


def approved(client: TestClient, auth: dict[str, dict[str, str]]) -> int:
    """An approved orange response (orders from 16 Dec, issued 15 Dec 16:00); its id."""
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    rid = r.json()["response_id"]
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    return int(rid)


def steel_order(client: TestClient, auth: dict[str, dict[str, str]]) -> dict[str, Any]:
    """JY-P001's order, acknowledged."""
    order = client.get(f"{API}/orders", headers=auth["enterprise"]).json()[0]
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=auth["enterprise"]).is_success
    return dict(order)


def report(client: TestClient, auth: dict[str, dict[str, str]], order_id: int, **body: Any) -> Any:
    return client.post(f"{API}/orders/{order_id}/reports", json=body, headers=auth["enterprise"])


def anomalies(client: TestClient, auth: dict[str, dict[str, str]], rid: int) -> list[Any]:
    r = client.get(f"{API}/compliance", params={"response": rid}, headers=auth["inspector"])
    assert r.status_code == 200, r.text
    return list(r.json()["anomalies"])


# ----------------------------------------------------------------------------- per line


def test_line_loads_alone_give_the_value_added_weighted_plant_load(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    order = steel_order(client, auth)
    allowed = order["allowed_load"]
    clock.now = local(DEC16, 12)
    r = report(client, auth, order["id"], at=local(DEC16, 11).isoformat(), line_loads=allowed)
    assert r.status_code == 201, r.text
    # sinter-1 800 000 yuan/d, bf-1 1 200 000 yuan/d of value added (tests/datafiles.py)
    weighted = (allowed["sinter-1"] * 800_000 + allowed["bf-1"] * 1_200_000) / 2_000_000
    assert r.json()["load"] == pytest.approx(weighted)
    assert r.json()["load"] == pytest.approx(order["allowed_load_total"])
    assert r.json()["line_loads"] == allowed
    listed = client.get(f"{API}/orders/{order['id']}/reports", headers=auth["planner"]).json()
    assert listed[-1]["line_loads"] == allowed and listed[-1]["id"] == r.json()["id"]
    assert not [a for a in anomalies(client, auth, rid) if a["kind"] == "load"]


def test_a_line_above_its_allowed_load_is_an_anomaly_with_its_excess(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    order = steel_order(client, auth)
    allowed = order["allowed_load"]
    assert allowed["bf-1"] < 1.0
    clock.now = local(DEC16, 12)
    lines = {"sinter-1": allowed["sinter-1"], "bf-1": 1.0}
    # the plant load it declares is the allowed one: only the lines show the breach
    body = {"at": local(DEC16, 11).isoformat(), "line_loads": lines}
    r = report(client, auth, order["id"], load=order["allowed_load_total"], **body)
    assert r.status_code == 201, r.text
    found = [a for a in anomalies(client, auth, rid) if a["kind"] == "load"]
    assert len(found) == 1
    (a,) = found
    assert a["line"] == "bf-1" and a["report_id"] == r.json()["id"]
    assert a["key"] == f"load:{order['id']}:{r.json()['id']}:bf-1" and a["day"] == "2016-12-16"
    assert "bf-1" in a["message"] and "bf-1" in a["message_zh"]
    # bf-1 emits so2 600, nox 900, pm 300, vocs 20 kg/d at normal load (tests/datafiles.py)
    excess = 1.0 - allowed["bf-1"]
    plan = client.get(f"{API}/enterprises/JY-P001/plan", headers=auth["planner"]).json()["plan"]
    bf = next(line for line in plan["lines"] if line["id"] == "bf-1")
    assert a["excess_kg"]["nox"] == pytest.approx(excess * bf["nox_kg_d"], abs=1e-3)
    assert a["excess_kg"]["so2"] == pytest.approx(excess * bf["so2_kg_d"], abs=1e-3)


def test_lines_within_but_plant_load_above_is_the_plant_anomaly(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    order = steel_order(client, auth)
    clock.now = local(DEC16, 12)
    at = local(DEC16, 11).isoformat()
    r = report(client, auth, order["id"], at=at, load=0.95, line_loads=order["allowed_load"])
    assert r.status_code == 201, r.text
    found = [a for a in anomalies(client, auth, rid) if a["kind"] == "load"]
    assert [(a["line"], a["report_id"]) for a in found] == [(None, r.json()["id"])]
    # a plant-level report is checked as before
    r = report(client, auth, order["id"], at=at, load=order["allowed_load_total"])
    assert r.status_code == 201 and r.json()["line_loads"] is None
    assert len([a for a in anomalies(client, auth, rid) if a["kind"] == "load"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"line_loads": {"sinter-9": 0.2, "bf-1": 0.5}}, 400, ["line_loads", "sinter-9"]),
        ({"line_loads": {"bf-1": 0.5}}, 400, ["load: missing", "sinter-1"]),
        ({"line_loads": {}}, 400, ["load: missing"]),
        ({}, 400, ["load: missing"]),
        ({"line_loads": {"sinter-1": 0, "bf-1": 1.6}}, 422, ["bf-1"]),
        ({"line_loads": {"sinter-1": -0.1, "bf-1": 0.5}}, 422, ["sinter-1"]),
        ({"line_loads": {"sinter-1": "lots", "bf-1": 0.5}}, 422, ["sinter-1"]),
        ({"line_loads": ["sinter-1"]}, 422, ["line_loads"]),
        ({"load": 0.3, "line_loads": {"": 0.5}}, 422, ["line_loads"]),
    ],
)
def test_bad_line_loads_are_refused_and_nothing_is_stored(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    clock: Clock,
    body: dict[str, Any],
    status: int,
    words: list[str],
) -> None:
    approved(client, auth)
    order = steel_order(client, auth)
    clock.now = local(DEC16, 12)
    r = report(client, auth, order["id"], at=local(DEC16, 11).isoformat(), **body)
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.text
    assert client.get(f"{API}/orders/{order['id']}/reports", headers=auth["planner"]).json() == []


def test_non_finite_line_loads_are_refused(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    approved(client, auth)
    order = steel_order(client, auth)
    clock.now = local(DEC16, 12)
    for value in ("NaN", "Infinity"):
        text = f'{{"at": "{local(DEC16, 11).isoformat()}", "line_loads": {{"bf-1": {value}}}}}'
        r = client.post(
            f"{API}/orders/{order['id']}/reports",
            content=text,
            headers=auth["enterprise"] | {"content-type": "application/json"},
        )
        assert 400 <= r.status_code < 500, r.text
    assert client.get(f"{API}/orders/{order['id']}/reports", headers=auth["planner"]).json() == []


def test_a_source_without_plan_lines_cannot_report_lines(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, store: Any
) -> None:
    from tests.api.conftest import bearer, make_token

    approved(client, auth)
    quarry = bearer(make_token(store, "enterprise", "JY-Q001"))
    order = client.get(f"{API}/orders", headers=quarry).json()[0]
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=quarry).is_success
    clock.now = local(DEC16, 12)
    body = {"at": local(DEC16, 11).isoformat(), "line_loads": {"crusher": 0.0}}
    r = client.post(f"{API}/orders/{order['id']}/reports", json=body, headers=quarry)
    assert r.status_code == 400 and "crusher" in r.text, r.text


# ----------------------------------------------------------------------------- missed


def missed(client: TestClient, auth: dict[str, dict[str, str]], rid: int) -> dict[str, Any]:
    return {a["key"]: a for a in anomalies(client, auth, rid) if a["kind"] == "report_missed"}


def test_no_report_by_17_00_is_an_anomaly_from_17_01(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    orders = client.get(f"{API}/orders", headers=auth["planner"]).json()
    on_16 = [o for o in orders if o["start"] == "2016-12-16"]
    assert len(on_16) >= 3
    clock.now = local(DEC16, 17, 0)
    assert missed(client, auth, rid) == {}
    clock.now = local(DEC16, 17, 1)
    found = missed(client, auth, rid)
    assert set(found) == {f"report:{o['id']}:2016-12-16" for o in on_16}
    a = found[f"report:{on_16[0]['id']}:2016-12-16"]
    assert a["evidence"] == "clock" and a["day"] == "2016-12-16" and a["report_id"] is None
    assert a["source"] == on_16[0]["source"] and a["order_id"] == on_16[0]["id"]
    assert "17:00" in a["message"] and "未在 17:00 前报送日报" in a["message_zh"]
    # the next day adds its own, the first stays
    clock.now = local(DEC16 + dt.timedelta(days=1), 17, 1)
    keys = set(missed(client, auth, rid))
    assert {f"report:{o['id']}:2016-12-17" for o in on_16} <= keys and set(found) <= keys


def test_a_report_on_time_clears_the_day_and_a_late_one_is_named_late(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    order = steel_order(client, auth)
    key16, key17 = f"report:{order['id']}:2016-12-16", f"report:{order['id']}:2016-12-17"
    clock.now = local(DEC16, 16, 59)
    on_time = report(client, auth, order["id"], at=local(DEC16, 16, 30).isoformat(), load=0.3)
    assert on_time.status_code == 201, on_time.text
    dec17 = DEC16 + dt.timedelta(days=1)
    clock.now = local(dec17, 19, 30)
    late = report(client, auth, order["id"], at=local(dec17, 19).isoformat(), load=0.3)
    assert late.status_code == 201, late.text
    found = missed(client, auth, rid)
    assert key16 not in found  # on time
    assert key17 in found  # late does not clear the day
    a = found[key17]
    assert a["report_id"] == late.json()["id"]
    assert "2.5 h after 17:00" in a["message"] and "late" in a["message"]
    assert "晚于 17:00 报送" in a["message_zh"]
    # a report dated another day does not count for the day
    others = [k for k in found if k.startswith(f"report:{order['id']}:")]
    assert others == [key17]


@pytest.mark.parametrize("data_dir", ["09:30"], indirect=True)
def test_report_by_follows_the_city_plan(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    rid = approved(client, auth)
    clock.now = local(DEC16, 9, 30)
    assert missed(client, auth, rid) == {}
    clock.now = local(DEC16, 9, 31)
    found = missed(client, auth, rid)
    assert found and all("09:30" in a["message"] for a in found.values())


def test_an_order_issued_too_late_for_the_day_owes_no_report_that_day(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    """An override approved at 16:00 on 17 Dec: the new order cannot be acknowledged
    (2 h) and reported on by 17:00, and the order it supersedes left force before 17:00:
    neither owes 17 Dec; both owe their earlier and later days as usual."""
    rid = approved(client, auth)
    dec17, dec18 = DEC16 + dt.timedelta(days=1), DEC16 + dt.timedelta(days=2)
    clock.now = local(dec17, 16)
    body = {"source": "JY-Q001", "measure": "stop-blasting", "reason": "stone for repairs"}
    r = client.post(f"{API}/responses/{rid}/overrides", json=body, headers=auth["planner"])
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"])
    assert r.status_code == 200, r.text
    (new,) = [o["id"] for o in r.json()["issued"]]
    (old,) = r.json()["superseded"]
    clock.now = local(dec18, 17, 1)
    keys = set(missed(client, auth, rid))
    assert f"report:{old}:2016-12-16" in keys
    assert f"report:{old}:2016-12-17" not in keys and f"report:{new}:2016-12-17" not in keys
    assert f"report:{new}:2016-12-18" in keys
