"""Gate records over HTTP and from a CSV file, and the vehicle breaches they show, on SQLite
and PostgreSQL: who may send what (an enterprise only its own: 403 otherwise), every bad
record refused with nothing stored, originals idempotent, corrections chained; banned
vehicles and heavy trucks over the cap, each positive and negative."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from emergency.cli import app as cli
from emergency.settings import utc_now
from emergency.store.models import InspectionTask
from emergency.vehicles.factors import entry_kg
from tests.api.conftest import ORANGE, Clock, bearer, make_token
from tests.datafiles import small_plans, write_small_dataset

API = "/api/v1"
CITY = dt.timezone(dt.timedelta(hours=8))
DEC16 = dt.date(2016, 12, 16)
TRANSPORT = {
    "orange": {
        "banned": [{"vehicle": "heavy_truck", "max_standard": 4}],
        "max_truck_entries_per_day": 3,
    }
}
"""JY-P001's duties: at orange (and red, inherited) no heavy truck of China IV or older,
at most 3 heavy-truck entries a day."""
_serial = itertools.count(1)


def gates_now(firm: str) -> dict[str, Any]:
    """A fresh valid batch of one record of ``firm``, a minute before the real clock (the
    access matrix of tests/reliability/test_access.py sends it; each call is new)."""
    at = utc_now() - dt.timedelta(minutes=1)
    plate = f"豫U{next(_serial) % 100_000:05d}"
    return {"records": [record(enterprise=firm, plate=plate, time=at.isoformat())]}


def record(**values: Any) -> dict[str, Any]:
    """A China V diesel heavy truck entering JY-P001 at 08:00 on 16 Dec, unless told."""
    base = {
        "enterprise": "JY-P001",
        "gate": "east-1",
        "plate": "豫U12345",
        "time": local(DEC16, 8).isoformat(),
        "direction": "in",
        "vehicle": "heavy_truck",
        "standard": "5",
        "fuel": "diesel",
    }
    return base | values


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CITY)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    plans = small_plans()
    plans["JY-P001"]["transport"] = TRANSPORT
    return write_small_dataset(tmp_path / "data", plans=plans)


@pytest.fixture
def gateway(store: Any) -> dict[str, str]:
    return bearer(make_token(store, "meter"))


def post(client: TestClient, headers: dict[str, str], *records: dict[str, Any]) -> Any:
    return client.post(f"{API}/gates/records", json={"records": list(records)}, headers=headers)


def listed(client: TestClient, auth: dict[str, dict[str, str]], **params: Any) -> list[Any]:
    r = client.get(f"{API}/gates/records", params=params, headers=auth["planner"])
    assert r.status_code == 200, r.text
    return list(r.json())


def opened(client: TestClient, auth: dict[str, dict[str, str]], clock: Clock) -> int:
    """An approved orange response (16–19 Dec); the clock at 23:00 on 16 Dec."""
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    rid = int(r.json()["response_id"])
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    clock.now = local(DEC16, 23)
    return rid


def breaches(client: TestClient, auth: dict[str, dict[str, str]], rid: int) -> list[Any]:
    r = client.get(f"{API}/compliance", params={"response": rid}, headers=auth["inspector"])
    assert r.status_code == 200, r.text
    return [a for a in r.json()["anomalies"] if a["kind"].startswith("vehicle_")]


# ----------------------------------------------------------------------------- taking in


def test_records_are_stored_once_and_listed(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    clock.now = local(DEC16, 23)
    one = record(plate="豫u·12345")
    two = record(plate="豫UD12345", standard="electric", fuel="electric", direction="out")
    r = post(client, gateway, one, two)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["stored"] == 2 and body["unchanged"] == 0
    assert [x["plate"] for x in body["records"]] == ["豫U12345", "豫UD12345"]
    assert all(x["new"] for x in body["records"])
    again = post(client, gateway, one, two)  # a gateway resends after a timeout
    assert again.status_code == 201, again.text
    assert again.json()["stored"] == 0 and again.json()["unchanged"] == 2
    assert [x["id"] for x in again.json()["records"]] == [x["id"] for x in body["records"]]
    assert not any(x["new"] for x in again.json()["records"])
    rows = listed(client, auth, enterprise="JY-P001")
    assert len(rows) == 2 and all(x["current"] for x in rows)
    assert rows[0]["actor"].startswith("meter:")
    assert listed(client, auth, enterprise="JY-P002") == []
    assert len(listed(client, auth, **{"from": "2016-12-16", "to": "2016-12-16"})) == 2
    assert listed(client, auth, **{"from": "2016-12-17"}) == []
    assert listed(client, auth, to="2016-12-15") == []
    # the same record twice in one batch is stored once
    twice = record(plate="豫U54321")
    r = post(client, gateway, twice, twice)
    assert r.json()["stored"] == 1 and r.json()["unchanged"] == 1
    assert r.json()["records"][0]["id"] == r.json()["records"][1]["id"]


def test_an_enterprise_sends_only_its_own(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    clock.now = local(DEC16, 23)
    own = post(client, auth["enterprise"], record())
    assert own.status_code == 201, own.text
    assert own.json()["records"][0]["actor"].startswith("enterprise:")
    theirs = post(
        client, auth["enterprise"], record(plate="豫U22222"), record(enterprise="JY-P002")
    )
    assert theirs.status_code == 403, theirs.text
    assert "only for itself" in theirs.json()["detail"]
    for role in ("planner", "inspector", "consultation"):
        assert post(client, auth[role], record(plate="豫U33333")).status_code == 403
    assert client.get(f"{API}/gates/records", headers=auth["enterprise"]).status_code == 403
    assert [x["plate"] for x in listed(client, auth)] == ["豫U12345"]
    admin = post(client, auth["admin"], record(enterprise="JY-P002", plate="豫U44444"))
    assert admin.status_code == 201, admin.text


@pytest.mark.parametrize(
    ("bad", "status", "words"),
    [
        ({"plate": "U12345"}, 422, ["plate", "not a Chinese number plate"]),
        ({"plate": "豫UI2345"}, 422, ["plate"]),
        ({"time": "2016-12-16T08:00:00"}, 422, ["time"]),
        ({"time": "2016-12-17T08:00:00+08:00"}, 400, ["records[1].time", "in the future"]),
        ({"time": "9999-12-31T23:59:59+00:00"}, 422, ["time"]),
        ({"enterprise": "JY-X999"}, 400, ["records[1].enterprise", "no enterprise JY-X999"]),
        ({"standard": "electric"}, 422, ["does not fit fuel 'diesel'"]),
        ({"fuel": "electric"}, 422, ["does not fit fuel 'electric'"]),
        ({"standard": "7"}, 422, ["standard"]),
        ({"vehicle": "tank"}, 422, ["vehicle"]),
        ({"fuel": "coal"}, 422, ["fuel"]),
        ({"direction": "sideways"}, 422, ["direction"]),
        ({"gate": ""}, 422, ["gate"]),
        ({"gate": "g\n1"}, 422, ["gate"]),
        ({"corrects": 0}, 422, ["corrects"]),
        ({"corrects": 1.5}, 422, ["corrects"]),
        ({"corrects": 2**40}, 422, ["corrects"]),
        ({"corrects": 99}, 400, ["records[1].corrects", "no gate record 99"]),
        ({"colour": "red"}, 422, ["colour"]),
    ],
)
def test_a_bad_record_refuses_the_whole_batch(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    clock: Clock,
    gateway: dict[str, str],
    bad: dict[str, Any],
    status: int,
    words: list[str],
) -> None:
    clock.now = local(DEC16, 23)
    r = post(client, gateway, record(plate="豫U11111"), record(**bad))
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.text, r.text
    assert listed(client, auth) == []


def test_an_empty_or_missing_batch_is_422(
    client: TestClient, gateway: dict[str, str], auth: dict[str, dict[str, str]]
) -> None:
    for body in ({"records": []}, {}, {"records": "x"}, []):
        r = client.post(f"{API}/gates/records", json=body, headers=gateway)
        assert r.status_code == 422, r.text
    assert listed(client, auth) == []


def test_another_value_for_a_stored_original_is_409_and_a_correction_replaces_it(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    clock.now = local(DEC16, 23)
    first = post(client, gateway, record(standard="4")).json()["records"][0]
    other = post(client, gateway, record(plate="豫U77777"), record(standard="5"))
    assert other.status_code == 409, other.text
    assert f"gate record {first['id']}" in other.text and "correction" in other.text
    assert [x["id"] for x in listed(client, auth)] == [first["id"]]
    fixed = post(client, gateway, record(standard="5", corrects=first["id"]))
    assert fixed.status_code == 201, fixed.text
    correction = fixed.json()["records"][0]
    assert correction["corrects"] == first["id"] and correction["new"]
    rows = {x["id"]: x for x in listed(client, auth)}
    assert not rows[first["id"]]["current"] and rows[correction["id"]]["current"]
    # resent: unchanged; another correction of the corrected record: 409
    again = post(client, gateway, record(standard="5", corrects=first["id"]))
    assert again.status_code == 201 and again.json()["stored"] == 0
    fork = post(client, gateway, record(standard="6", corrects=first["id"]))
    assert fork.status_code == 409, fork.text
    assert f"corrected already by gate record {correction['id']}" in fork.text
    # the correction is corrected in turn
    chain = post(client, gateway, record(standard="6", corrects=correction["id"]))
    assert chain.status_code == 201, chain.text
    rows = {x["id"]: x for x in listed(client, auth)}
    assert [i for i, x in rows.items() if x["current"]] == [chain.json()["records"][0]["id"]]


def test_an_enterprise_cannot_correct_another_enterprises_record(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    clock.now = local(DEC16, 23)
    theirs = post(client, gateway, record(enterprise="JY-P002")).json()["records"][0]
    r = post(client, auth["enterprise"], record(corrects=theirs["id"]))
    assert r.status_code == 400, r.text
    assert f"no gate record {theirs['id']} of enterprise JY-P001" in r.text
    assert len(listed(client, auth)) == 1


def test_an_enterprise_cannot_rewrite_what_the_gateway_saw(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    """The gateway's record of a banned truck at JY-P001 is evidence against JY-P001: the
    firm may not correct it away (its own records it may); the gateway may."""
    clock.now = local(DEC16, 23)
    seen = post(client, gateway, record(plate="豫U40000", standard="4")).json()["records"][0]
    clean = record(corrects=seen["id"], vehicle="car", standard="electric", fuel="electric")
    refused = post(client, auth["enterprise"], clean)
    assert refused.status_code == 400, refused.text
    assert "only the gateway or an admin corrects it" in refused.text
    (kept,) = listed(client, auth)
    assert (kept["id"], kept["standard"]) == (seen["id"], "4")
    own = post(client, auth["enterprise"], record(plate="豫U50000")).json()["records"][0]
    fixed = post(
        client, auth["enterprise"], record(plate="豫U50000", corrects=own["id"], standard="6")
    )
    assert fixed.status_code == 201, fixed.text
    by_gateway = post(client, gateway, record(corrects=seen["id"], plate="豫U40000", standard="5"))
    assert by_gateway.status_code == 201, by_gateway.text


# ----------------------------------------------------------------------------- breaches


def test_a_banned_vehicle_entering_is_an_anomaly(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    rid = opened(client, auth, clock)
    assert breaches(client, auth, rid) == []
    old = record(plate="豫U40000", standard="4", time=local(DEC16, 9, 5).isoformat())
    stored = post(client, gateway, old).json()["records"][0]
    found = breaches(client, auth, rid)
    assert [a["kind"] for a in found] == ["vehicle_banned"]
    (a,) = found
    order = client.get(f"{API}/orders", headers=auth["enterprise"]).json()[0]
    assert a["key"] == f"gate:{stored['id']}" and a["evidence"] == "gate"
    assert a["order_id"] == order["id"] and a["source"] == "JY-P001"
    assert a["day"] == "2016-12-16" and a["at"] == "2016-12-16T01:05:00Z"
    assert "豫U40000" in a["message"] and "orange" in a["message"]
    assert "橙色预警期间禁止进厂" in a["message_zh"] and "国4" in a["message_zh"]
    assert a["excess_kg"] == pytest.approx(entry_kg("heavy_truck", "4", "diesel"))
    # corrected to China III: still banned, the same entry under the same key (a task
    # following it stays with it), described as corrected
    fixed = post(client, gateway, old | {"standard": "3", "corrects": stored["id"]})
    (b,) = breaches(client, auth, rid)
    assert b["key"] == a["key"] and "国3" in b["message_zh"]
    # corrected again, to China V: no longer banned
    post(client, gateway, old | {"standard": "5", "corrects": fixed.json()["records"][0]["id"]})
    assert breaches(client, auth, rid) == []


def test_a_task_stored_under_a_corrections_key_still_follows_its_entry(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    clock: Clock,
    gateway: dict[str, str],
    store: Any,
) -> None:
    # tasks made before a banned entry's key followed its original record were stored
    # under the key of the correction then in effect: the task is still the anomaly's,
    # and no second open task can be made for it
    rid = opened(client, auth, clock)
    old = record(plate="豫U40000", standard="4", time=local(DEC16, 9, 5).isoformat())
    first = post(client, gateway, old).json()["records"][0]
    fixed = post(client, gateway, old | {"standard": "3", "corrects": first["id"]})
    correction = fixed.json()["records"][0]
    (anomaly,) = breaches(client, auth, rid)
    assert anomaly["key"] == f"gate:{first['id']}"
    with store.session() as session:
        task = InspectionTask(
            response_id=rid,
            order_id=anomaly["order_id"],
            enterprise_id=anomaly["source"],
            anomaly_kind=anomaly["kind"],
            anomaly_key=f"gate:{correction['id']}",
            excess_kg=1.0,
            status="open",
            created_at=clock(),
            created_by="an earlier version",
            finding="",
        )
        session.add(task)
        session.commit()
        tid = task.id
    ranked = client.get(
        f"{API}/supervision/anomalies", params={"response": rid}, headers=auth["inspector"]
    )
    (row,) = [r for r in ranked.json() if r["anomaly"]["kind"] == "vehicle_banned"]
    assert (row["task_id"], row["task_status"]) == (tid, "open")
    made = client.post(
        f"{API}/tasks",
        json={"response_id": rid, "anomaly_key": anomaly["key"]},
        headers=auth["planner"],
    )
    assert made.status_code == 409, made.text


@pytest.mark.parametrize(
    "allowed",
    [
        {"standard": "5"},
        {"standard": "6"},
        {"direction": "out", "standard": "3"},
        {"standard": "electric", "fuel": "electric", "plate": "豫UD12345"},
        {"vehicle": "medium_truck", "standard": "3"},
        {"time": local(DEC16 - dt.timedelta(days=1), 20).isoformat(), "standard": "3"},
        {"enterprise": "JY-P002", "standard": "3"},
    ],
)
def test_what_the_duties_allow_is_no_anomaly(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    clock: Clock,
    gateway: dict[str, str],
    allowed: dict[str, Any],
) -> None:
    """A newer standard, leaving, electric, another kind, the day before the warning, an
    enterprise without duties."""
    rid = opened(client, auth, clock)
    assert post(client, gateway, record(**allowed)).status_code == 201
    assert breaches(client, auth, rid) == []


def test_heavy_trucks_over_the_daily_cap(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    rid = opened(client, auth, clock)
    trucks = [record(plate=f"豫U1000{i}", time=local(DEC16, 8 + i).isoformat()) for i in range(3)]
    not_counted = [
        record(plate="豫UD00001", standard="electric", fuel="electric"),  # zero-emission
        record(plate="豫U20001", vehicle="medium_truck"),
        record(plate="豫U10000", direction="out", time=local(DEC16, 18).isoformat()),
        record(plate="豫U10009", time=local(DEC16 + dt.timedelta(days=1), 0, 5).isoformat()),
    ]
    clock.now = local(DEC16 + dt.timedelta(days=1), 1)
    assert post(client, gateway, *trucks, *not_counted).status_code == 201
    assert breaches(client, auth, rid) == []  # exactly the cap
    late = record(plate="豫U10005", standard="6", fuel="lng", time=local(DEC16, 22).isoformat())
    assert post(client, gateway, late).status_code == 201
    found = breaches(client, auth, rid)
    assert [a["kind"] for a in found] == ["vehicle_over_cap"]
    (a,) = found
    assert a["key"] == "trucks:JY-P001:2016-12-16" and a["day"] == "2016-12-16"
    assert a["evidence"] == "gate" and a["at"] == "2016-12-16T14:00:00Z"
    assert "4 heavy-truck entries" in a["message"] and "1 over the cap of 3" in a["message"]
    assert "重型货车进厂 4 辆次" in a["message_zh"]
    assert a["excess_kg"] == pytest.approx(entry_kg("heavy_truck", "6", "lng"))


def test_a_banned_truck_counts_toward_the_cap_too(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    rid = opened(client, auth, clock)
    trucks = [
        record(
            plate=f"豫U3000{i}",
            standard="4" if i == 3 else "5",
            time=local(DEC16, 8 + i).isoformat(),
        )
        for i in range(4)
    ]
    assert post(client, gateway, *trucks).status_code == 201
    kinds = sorted(a["kind"] for a in breaches(client, auth, rid))
    assert kinds == ["vehicle_banned", "vehicle_over_cap"]


def test_a_day_without_an_order_is_not_checked(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock, gateway: dict[str, str]
) -> None:
    """The response is open but not approved: no order binds the duties yet."""
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    rid = int(r.json()["response_id"])
    clock.now = local(DEC16, 23)
    assert post(client, gateway, record(standard="3")).status_code == 201
    assert breaches(client, auth, rid) == []


# ----------------------------------------------------------------------------- CSV


def csv_file(path: Path, rows: list[dict[str, Any]], extra: str = "") -> Path:
    columns = ["enterprise", "gate", "plate", "time", "direction", "vehicle", "standard", "fuel"]
    lines = [",".join(columns) + ",corrects" + extra]
    for row in rows:
        lines.append(",".join(str(row[c]) for c in columns) + f",{row.get('corrects', '')}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(data_dir: Path, db_url: str | None, *args: str) -> Any:
    where = ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])
    return CliRunner().invoke(cli, ["gates", "import", *args, *where, "--lang", "en"])


def test_the_command_imports_a_csv_file_once(
    client: TestClient, auth: dict[str, dict[str, str]], data_dir: Path, db_url: str | None
) -> None:
    rows = [record(plate="豫U50001"), record(plate="豫U50002", standard="4")]
    path = csv_file(data_dir.parent / "gates.csv", rows)
    result = run(data_dir, db_url, str(path))
    assert result.exit_code == 0, result.output
    assert "2 stored, 0 unchanged" in result.output
    again = run(data_dir, db_url, str(path))
    assert again.exit_code == 0 and "0 stored, 2 unchanged" in again.output
    stored = listed(client, auth)
    assert [x["plate"] for x in stored] == ["豫U50001", "豫U50002"]
    assert stored[0]["actor"].startswith("cli:")
    fix = csv_file(
        data_dir.parent / "fix.csv", [rows[1] | {"standard": "5", "corrects": stored[1]["id"]}]
    )
    assert run(data_dir, db_url, str(fix)).exit_code == 0
    assert [x["current"] for x in listed(client, auth)] == [True, False, True]


@pytest.mark.parametrize(
    ("rows", "extra", "words"),
    [
        ([record(plate="豫U60001"), record(plate="nope")], "", "gates.csv:3: plate: not a Chinese"),
        ([record(time="2016-12-16 08:00")], "", "gates.csv:2: time:"),
        ([record(enterprise="JY-X1")], "", "gates.csv:2: enterprise: no enterprise JY-X1"),
        ([record(time="2099-01-01T00:00:00+08:00")], "", "gates.csv:2: time: 2099-01-01"),
        ([record(corrects=12345)], "", "gates.csv:2: corrects: no gate record 12345"),
        ([record()], ",colour", "gates.csv:1: colour: unknown column"),
        ([], "", "gates.csv: no gate record"),
    ],
)
def test_a_bad_file_exits_2_naming_line_and_field_and_stores_nothing(
    client: TestClient,
    auth: dict[str, dict[str, str]],
    data_dir: Path,
    db_url: str | None,
    rows: list[dict[str, Any]],
    extra: str,
    words: str,
) -> None:
    path = csv_file(data_dir.parent / "gates.csv", rows, extra)
    if extra:  # one more header cell than the rows have
        path.write_text(path.read_text(encoding="utf-8").replace(",\n", ",,\n"), encoding="utf-8")
    result = run(data_dir, db_url, str(path))
    assert result.exit_code == 2, result.output
    assert words in result.output, result.output
    assert listed(client, auth) == []


def test_a_file_conflicting_with_a_stored_record_exits_2(
    client: TestClient, auth: dict[str, dict[str, str]], data_dir: Path, db_url: str | None
) -> None:
    path = csv_file(data_dir.parent / "a.csv", [record(standard="4")])
    assert run(data_dir, db_url, str(path)).exit_code == 0
    other = csv_file(data_dir.parent / "b.csv", [record(plate="豫U60002"), record(standard="5")])
    result = run(data_dir, db_url, str(other))
    assert result.exit_code == 2, result.output
    assert "b.csv:3" in result.output and "gate record" in result.output
    assert len(listed(client, auth)) == 1
