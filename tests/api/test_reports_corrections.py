"""Daily reports are append-only: a correction is a new report naming the one it corrects
(``corrects``); the compliance check and the review read the correction in its place and
the report corrected stays stored. Refusals store nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from emergency.store.db import Store
from emergency.store.models import Report
from tests.api.conftest import ORANGE, Clock

API = "/api/v1"
Auth = dict[str, dict[str, str]]
CITY = dt.timezone(dt.timedelta(hours=8))
DEC16 = dt.date(2016, 12, 16)
DEC17 = dt.date(2016, 12, 17)
P001_LINES = {  # tests/datafiles.py: JY-P001's lines at normal load, kg/day
    "sinter-1": {"so2": 800, "nox": 1100, "pm": 300, "vocs": 0},
    "bf-1": {"so2": 200, "nox": 400, "pm": 200, "vocs": 50},
}


def local(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CITY).isoformat()


def approved(client: TestClient, auth: Auth) -> int:
    """An approved orange response (orders from 16 Dec, issued 15 Dec 16:00); its id."""
    r = client.post(f"{API}/consultations", json=ORANGE, headers=auth["consultation"])
    rid = int(r.json()["response_id"])
    assert client.post(f"{API}/responses/{rid}/approve", headers=auth["planner"]).status_code == 200
    return rid


def acked_order(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """The enterprise's order in force on 16 Dec, acknowledged."""
    order = next(
        o
        for o in client.get(f"{API}/orders", headers=headers).json()
        if o["start"] <= DEC16.isoformat() <= (o["end"] or "9999")
    )
    assert client.post(f"{API}/orders/{order['id']}/ack", headers=headers).is_success
    return dict(order)


def report(client: TestClient, headers: dict[str, str], order_id: int, **body: Any) -> Any:
    return client.post(f"{API}/orders/{order_id}/reports", json=body, headers=headers)


def stored(client: TestClient, auth: Auth, order_id: int) -> list[Any]:
    r = client.get(f"{API}/orders/{order_id}/reports", headers=auth["planner"])
    assert r.status_code == 200, r.text
    return list(r.json())


def compliance(client: TestClient, auth: Auth, rid: int) -> dict[str, Any]:
    r = client.get(f"{API}/compliance", params={"response": rid}, headers=auth["inspector"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_correction_replaces_the_report_it_corrects_which_stays_stored(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    allowed = order["allowed_load"]
    assert allowed["bf-1"] < 1.0
    clock.now = dt.datetime.fromisoformat(local(DEC16, 18))
    # the blast furnace reported at full load: a load anomaly on bf-1
    full = {"sinter-1": allowed["sinter-1"], "bf-1": 1.0}
    first = report(client, firm, order["id"], at=local(DEC16, 17, 30), line_loads=full)
    assert first.status_code == 201, first.text
    assert first.json()["corrects"] is None
    loads = [a for a in compliance(client, auth, rid)["anomalies"] if a["kind"] == "load"]
    assert [(a["line"], a["report_id"]) for a in loads] == [("bf-1", first.json()["id"])]
    # corrected: the blast furnace was stopped (dated earlier in the day: still the one in effect)
    stopped = {"sinter-1": allowed["sinter-1"], "bf-1": 0.0}
    fix = report(
        client,
        firm,
        order["id"],
        at=local(DEC16, 9),
        line_loads=stopped,
        corrects=first.json()["id"],
        note="bf-1 was stopped; the 17:30 report was wrong",
    )
    assert fix.status_code == 201, fix.text
    assert fix.json()["corrects"] == first.json()["id"]
    assert fix.json()["line_loads"] == stopped
    # append-only: both stored, the original unchanged
    rows = stored(client, auth, order["id"])
    assert [r["id"] for r in rows] == [first.json()["id"], fix.json()["id"]]
    kept = ("id", "load", "line_loads", "note", "actor", "corrects")
    assert {k: rows[0][k] for k in kept} == {k: first.json()[k] for k in kept}
    assert rows[0]["line_loads"] == full and rows[0]["corrects"] is None
    assert rows[1]["corrects"] == first.json()["id"]
    # the compliance check reads the correction only
    view = compliance(client, auth, rid)
    assert not [a for a in view["anomalies"] if a["kind"] == "load"]
    (row,) = [r for r in view["rows"] if r["order_id"] == order["id"]]
    assert row["reported"] and row["reports"] == 1
    # the order's history names the correction
    history = client.get(f"{API}/orders/{order['id']}", headers=firm).json()["history"]
    assert any(f"corrects {first.json()['id']}" in (e.get("note") or "") for e in history)


def test_the_review_reads_the_correction_not_the_full_load_it_corrects(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    clock.now = dt.datetime.fromisoformat(local(DEC16, 18))
    full = {"sinter-1": 1.0, "bf-1": 1.0}
    first = report(client, firm, order["id"], at=local(DEC16, 17, 30), line_loads=full)
    assert first.status_code == 201, first.text

    def p001_day1() -> dict[str, Any]:
        r = client.get(f"{API}/responses/{rid}/review", headers=auth["planner"])
        assert r.status_code == 200, r.text
        (found,) = [
            s
            for s in r.json()["sources"]
            if s["source"] == "JY-P001" and s["date"] == DEC16.isoformat()
        ]
        return dict(found)

    before = p001_day1()
    assert before["evidence"] == "report"
    assert all(v == 0 for v in before["measured_kg"].values())  # full load: nothing cut
    fix = report(
        client,
        firm,
        order["id"],
        at=local(DEC16, 9),
        line_loads={"sinter-1": 0.0, "bf-1": 1.0},
        corrects=first.json()["id"],
    )
    assert fix.status_code == 201, fix.text
    after = p001_day1()
    assert after["evidence"] == "report"
    for p, kg in P001_LINES["sinter-1"].items():  # the sinter line stopped: its whole emission
        assert after["measured_kg"][p] == pytest.approx(kg, abs=1e-3), p
    assert len(stored(client, auth, order["id"])) == 2


def test_a_correction_of_a_correction_and_the_refusals_store_nothing(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    other = acked_order(client, auth["enterprise2"])
    clock.now = dt.datetime.fromisoformat(local(DEC17, 12))
    lines = {"sinter-1": 0.0, "bf-1": 0.5}
    first = report(client, firm, order["id"], at=local(DEC16, 16), line_loads=lines).json()
    fix = report(
        client,
        firm,
        order["id"],
        at=local(DEC16, 16),
        line_loads={"sinter-1": 0.0, "bf-1": 0.4},
        corrects=first["id"],
    )
    assert fix.status_code == 201, fix.text
    theirs = report(client, auth["enterprise2"], other["id"], at=local(DEC16, 16), load=0.5)
    assert theirs.status_code == 201, theirs.text
    mine = stored(client, auth, order["id"])
    their_rows = stored(client, auth, other["id"])

    def refused(status: int, words: list[str], words_zh: list[str], **body: Any) -> None:
        body.setdefault("at", local(DEC16, 16))
        body.setdefault("line_loads", lines)
        r = client.post(
            f"{API}/orders/{order['id']}/reports",
            json=body,
            headers=firm | {"Accept-Language": "en"},
        )
        assert r.status_code == status, r.text
        assert r.json()["detail"].startswith("corrects: "), r.text
        for word in words:
            assert word in r.json()["detail"], r.text
        for word in words_zh:
            assert word in r.json()["detail_zh"], r.text
        assert stored(client, auth, order["id"]) == mine
        assert stored(client, auth, other["id"]) == their_rows

    # no such report; another enterprise's report (not this order's)
    refused(400, ["no report 999999 of order"], ["没有可更正的报告"], corrects=999999)
    tid = theirs.json()["id"]
    refused(400, [f"no report {tid} of order {order['id']}"], ["没有可更正的报告"], corrects=tid)
    # corrected already: the correction is the one to correct
    refused(
        409,
        [f"report {first['id']} was corrected already by report {fix.json()['id']}"],
        ["已被报告", "更正"],
        corrects=first["id"],
    )
    # another day
    refused(
        400,
        ["is of 2016-12-16 (+08:00), not 2016-12-17", "same day"],
        ["更正须针对同一天"],
        corrects=fix.json()["id"],
        at=local(DEC17, 9),
    )
    # other lines: the plant as a whole, or one line only with the plant's load
    refused(
        400,
        ["gives the load of lines bf-1, sinter-1", "line_loads"],
        ["相同生产线"],
        corrects=fix.json()["id"],
        line_loads=None,
        load=0.3,
    )
    refused(
        400,
        ["gives the load of lines bf-1, sinter-1"],
        ["相同生产线"],
        corrects=fix.json()["id"],
        line_loads={"bf-1": 0.3},
        load=0.3,
    )
    # the latest one is corrected: a chain
    again = report(
        client,
        firm,
        order["id"],
        at=local(DEC16, 16),
        line_loads={"sinter-1": 0.0, "bf-1": 0.3},
        corrects=fix.json()["id"],
    )
    assert again.status_code == 201, again.text
    rows = stored(client, auth, order["id"])
    assert [r["corrects"] for r in rows] == [None, first["id"], fix.json()["id"]]


def test_a_plant_report_may_be_corrected_line_by_line(
    client: TestClient, auth: Auth, clock: Clock
) -> None:
    rid = approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    clock.now = dt.datetime.fromisoformat(local(DEC16, 18))
    first = report(client, firm, order["id"], at=local(DEC16, 17), load=1.0)
    assert first.status_code == 201, first.text
    loads = [a for a in compliance(client, auth, rid)["anomalies"] if a["kind"] == "load"]
    assert [a["report_id"] for a in loads] == [first.json()["id"]]
    fix = report(
        client,
        firm,
        order["id"],
        at=local(DEC16, 17),
        line_loads=order["allowed_load"],
        corrects=first.json()["id"],
    )
    assert fix.status_code == 201, fix.text
    assert not [a for a in compliance(client, auth, rid)["anomalies"] if a["kind"] == "load"]


def test_a_report_is_corrected_once_even_by_concurrent_requests(
    client: TestClient, auth: Auth, clock: Clock, store: Store
) -> None:
    """Two corrections of one report that both passed the check race to the unique index
    (``uq_reports_corrects``): the second is refused by the database, nothing stored."""
    approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    clock.now = dt.datetime.fromisoformat(local(DEC16, 18))
    first = report(client, firm, order["id"], at=local(DEC16, 17), load=0.5).json()
    fix = report(client, firm, order["id"], at=local(DEC16, 17), load=0.4, corrects=first["id"])
    assert fix.status_code == 201, fix.text
    with store.session() as session, pytest.raises(IntegrityError):
        kept = session.get(Report, fix.json()["id"])
        assert kept is not None
        session.add(
            Report(
                order_id=order["id"],
                at=kept.at,
                load=0.3,
                note="",
                received_at=kept.received_at,
                actor="race",
                corrects=first["id"],
            )
        )
        session.flush()
    assert len(stored(client, auth, order["id"])) == 2


def test_a_correction_that_lost_the_race_is_409_and_stores_nothing(
    client: TestClient, auth: Auth, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the check of both had run before either stored: the flush meets the index."""
    from emergency.service import orders

    approved(client, auth)
    firm = auth["enterprise"]
    order = acked_order(client, firm)
    clock.now = dt.datetime.fromisoformat(local(DEC16, 18))
    first = report(client, firm, order["id"], at=local(DEC16, 17), load=0.5).json()
    fix = report(client, firm, order["id"], at=local(DEC16, 17), load=0.4, corrects=first["id"])
    assert fix.status_code == 201, fix.text
    before = stored(client, auth, order["id"])
    history = client.get(f"{API}/orders/{order['id']}", headers=firm).json()["history"]
    monkeypatch.setattr(orders, "_check_correction", lambda *_args: None)
    r = client.post(
        f"{API}/orders/{order['id']}/reports",
        json={"at": local(DEC16, 17), "load": 0.3, "corrects": first["id"]},
        headers=firm | {"Accept-Language": "en"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["detail"].startswith(f"corrects: report {first['id']} was corrected meanwhile")
    assert "同时更正" in r.json()["detail_zh"]
    assert stored(client, auth, order["id"]) == before
    assert client.get(f"{API}/orders/{order['id']}", headers=firm).json()["history"] == history
