"""``POST /observations`` and ``GET /verification`` through HTTP, on SQLite and PostgreSQL:
idempotent observations, corrections, every 4xx leaving the store unchanged, the scores
of the stored consultations against the hand-computed values of tests/test_verify.py, and
the after-action review's forecast-against-observed rows."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from emergency.settings import CITY_OFFSET
from emergency.store.db import Store
from emergency.store.models import AuditEntry, Observation, Response
from emergency.verification.service import forecast_vs_observed
from tests.api.conftest import Clock, at_issue
from tests.verify_cases import FORECAST_A, FORECAST_B, OBSERVED

API = "/api/v1"
AFTER = dt.datetime(2016, 12, 22, 2, 0, tzinfo=dt.UTC)
"""10:00 in the city on 22 Dec 2016: every day of the hand-made set observed."""

_SENT = itertools.count(1)


def observations_now() -> dict[str, Any]:
    """A day not stored yet, before the city's today (each call a day further back):
    for the access matrix, where every served write must be a change."""
    day = dt.datetime.now(CITY_OFFSET).date() - dt.timedelta(days=next(_SENT))
    return {"observations": [{"date": day.isoformat(), "aqi": 88}]}


def body(*items: tuple[str, int], **extra: Any) -> dict[str, Any]:
    return {"observations": [{"date": d, "aqi": a, **extra} for d, a in items]}


def rows(store: Store) -> list[tuple[str, dt.date, int, int | None]]:
    with store.session() as session:
        found = session.scalars(select(Observation).order_by(Observation.id))
        return [(o.station, o.date, o.aqi, o.corrects) for o in found]


def audits(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def post(client: TestClient, auth: dict[str, dict[str, str]], payload: Any) -> Any:
    return client.post(f"{API}/observations", json=payload, headers=auth["consultation"])


def test_observations_are_idempotent(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    clock.now = AFTER
    sent = body(("2016-12-16", 230), ("2016-12-17", 280))
    first = post(client, auth, sent)
    assert first.status_code == 200, first.text
    assert (first.json()["stored"], first.json()["unchanged"]) == (2, 0)
    ids = [o["id"] for o in first.json()["observations"]]
    logged = audits(store)
    again = post(client, auth, sent)
    assert again.status_code == 200, again.text
    assert (again.json()["stored"], again.json()["unchanged"]) == (0, 2)
    assert [o["id"] for o in again.json()["observations"]] == ids
    assert {o["status"] for o in again.json()["observations"]} == {"unchanged"}
    assert audits(store) == logged  # nothing changed, nothing logged
    assert len(rows(store)) == 2
    # the same day twice in one request with the same value: one row
    twice = post(client, auth, body(("2016-12-18", 310), ("2016-12-18", 310)))
    assert twice.json()["stored"] == 1 and len(rows(store)) == 3
    # another station on the same day is another observation
    other = post(client, auth, body(("2016-12-16", 250), station="济源市监测站"))
    assert other.json()["stored"] == 1
    assert rows(store)[-1] == ("济源市监测站", dt.date(2016, 12, 16), 250, None)


def test_another_value_is_409_unless_a_correction(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    clock.now = AFTER
    first = post(client, auth, body(("2016-12-16", 230)))
    original = first.json()["observations"][0]["id"]
    before, logged = rows(store), audits(store)
    clash = post(client, auth, body(("2016-12-17", 280), ("2016-12-16", 235)))
    assert clash.status_code == 409, clash.text
    assert f'"corrects": {original}' in clash.json()["detail"]
    assert rows(store) == before and audits(store) == logged  # all or nothing
    fixed = post(client, auth, body(("2016-12-16", 235), corrects=original))
    assert fixed.status_code == 200, fixed.text
    correction = fixed.json()["observations"][0]
    assert (correction["status"], correction["corrects"]) == ("stored", original)
    assert audits(store) == logged + 1
    # the original sent again after its correction: unchanged, not a conflict
    resent = post(client, auth, body(("2016-12-16", 230)))
    assert resent.status_code == 200 and resent.json()["unchanged"] == 1
    # the correction sent again: unchanged; correcting the correction: a new row
    assert post(client, auth, body(("2016-12-16", 235), corrects=original)).json()["stored"] == 0
    third = post(client, auth, body(("2016-12-16", 236), corrects=correction["id"]))
    assert third.json()["stored"] == 1
    # now a different original value names the newest row
    clash = post(client, auth, body(("2016-12-16", 240)))
    assert clash.status_code == 409 and "AQI 236" in clash.json()["detail"]
    assert [r[2] for r in rows(store)] == [230, 235, 236]


def test_bad_batches_are_refused_whole(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    clock.now = AFTER  # today 22 Dec in the city
    stored = post(client, auth, body(("2016-12-16", 230))).json()["observations"][0]["id"]
    before, logged = rows(store), audits(store)
    cases_400 = [
        (body(("2016-12-20", 160), ("2016-12-23", 90)), "observations[1].date: 2016-12-23 is "),
        (body(("2016-12-17", 280), corrects=999), "observations[0].corrects: no observation 999"),
        (body(("2016-12-17", 280), corrects=stored), "is of city 2016-12-16, not city 2016-12-17"),
        (body(("2016-12-18", 310), ("2016-12-18", 311)), "differs from observations[0]"),
    ]
    for payload, named in cases_400:
        answer = post(client, auth, payload)
        assert answer.status_code == 400, (payload, answer.text)
        assert named in answer.text, answer.text
    cases_422 = [
        body(("2016-12-17", 501)),
        body(("2016-12-17", -1)),
        {"observations": [{"date": "2016-12-17", "aqi": 215.5}]},
        {"observations": [{"date": "2016-12-17", "aqi": "high"}]},
        {"observations": [{"aqi": 200}]},
        {"observations": [{"date": "2016-12-17", "aqi": 200, "pm25": 3}]},
        {"observations": [{"date": "2016-12-17", "aqi": 200, "primary": "dust"}]},
        {"observations": [{"date": "2016-12-17", "aqi": 200, "station": ""}]},
        {"observations": []},
        {"readings": []},
    ]
    for payload in cases_422:
        answer = post(client, auth, payload)
        assert answer.status_code == 422, (payload, answer.text)
    assert rows(store) == before and audits(store) == logged


def test_who_may_send_and_read(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    clock.now = AFTER
    for role, code in (("consultation", 200), ("admin", 200), ("planner", 403)):
        sent = client.post(
            f"{API}/observations", json=body(("2016-12-16", 230)), headers=auth[role]
        )
        assert sent.status_code == code, (role, sent.text)
    for role in ("inspector", "enterprise", "meter"):
        if role in auth:
            sent = client.post(
                f"{API}/observations", json=body(("2016-12-16", 230)), headers=auth[role]
            )
            assert sent.status_code == 403, role
    for role, code in (("consultation", 200), ("planner", 200), ("inspector", 200)):
        assert client.get(f"{API}/verification", headers=auth[role]).status_code == code
    for role in ("admin", "enterprise"):
        assert client.get(f"{API}/verification", headers=auth[role]).status_code == 403


def consult_both(client: TestClient, auth: dict[str, dict[str, str]], clock: Clock) -> None:
    for fc in (FORECAST_A, FORECAST_B):
        answer = client.post(
            f"{API}/consultations", json=at_issue(clock, fc), headers=auth["consultation"]
        )
        assert answer.status_code == 200, answer.text
    clock.now = AFTER
    observed = [(d.isoformat(), v) for d, v in OBSERVED.items()]
    assert post(client, auth, body(*observed)).status_code == 200


def test_scores_of_the_stored_consultations_by_hand(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    consult_both(client, auth, clock)
    answer = client.get(f"{API}/verification", headers=auth["planner"])
    assert answer.status_code == 200, answer.text
    out = answer.json()
    # tests/test_verify.py: A and B against the observed 16–21 Dec
    assert (out["n"], out["forecasts"], out["unobserved"]) == (9, 2, 0)
    assert [(r["lead_days"], r["n"], r["bias"], r["mae"]) for r in out["by_lead"]] == [
        (1, 2, 2.5, 2.5),  # (+5 + 0) / 2
        (2, 2, -2.5, 12.5),  # (−15 + 10) / 2, (15 + 10) / 2
        (3, 2, -30.0, 80.0),  # (−110 + 50) / 2, (110 + 50) / 2
        (4, 2, 7.5, 42.5),  # (−35 + 50) / 2, (35 + 50) / 2
        (5, 1, 35.0, 35.0),
    ]
    assert out["heavy"] == {
        "hits": 6, "misses": 1, "false_alarms": 1, "pod": 0.857, "far": 0.143, "ts": 0.75,
    }  # fmt: skip
    assert out["levels"]["orange"]["hits"] == 3 and out["levels"]["orange"]["misses"] == 4
    assert out["levels"]["red"] == {
        "hits": 0, "misses": 0, "false_alarms": 4, "pod": None, "far": 1.0, "ts": 0.0,
    }  # fmt: skip
    assert set(out["by_party"]) == {"environment", "meteorology"}


def test_a_correction_changes_the_scores(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    consult_both(client, auth, clock)
    with store.session() as session:
        row = session.scalar(select(Observation).where(Observation.date == dt.date(2016, 12, 18)))
        assert row is not None
        original = row.id
    # 18 Dec corrected from 310 to 200: A's 200 is no longer a miss (200 is not heavy), and
    # B's 340 becomes a false alarm → hits 5, misses 0, false alarms 2
    fixed = post(client, auth, body(("2016-12-18", 200), corrects=original))
    assert fixed.status_code == 200, fixed.text
    out = client.get(f"{API}/verification", headers=auth["planner"]).json()
    heavy = out["heavy"]
    assert (heavy["hits"], heavy["misses"], heavy["false_alarms"]) == (5, 0, 2)
    # lead 3 of A: 200 − 200 = 0; lead 2 of B: 320 − 200 = +120 (with A's −15: mean 52.5)
    lead = {r["lead_days"]: r for r in out["by_lead"]}
    assert (lead[2]["bias"], lead[2]["mae"]) == (52.5, 67.5)  # (−15 + 120) / 2, (15 + 120) / 2


def test_season_and_party_filters(
    client: TestClient, auth: dict[str, dict[str, str]], clock: Clock
) -> None:
    consult_both(client, auth, clock)
    planner = auth["planner"]
    env = client.get(f"{API}/verification", params={"party": "environment"}, headers=planner)
    assert env.status_code == 200, env.text
    # A alone: 16–19 Dec, leads 1–4: +5, −15, −110, −35
    assert [(r["lead_days"], r["bias"]) for r in env.json()["by_lead"]] == [
        (1, 5.0), (2, -15.0), (3, -110.0), (4, -35.0),
    ]  # fmt: skip
    assert set(env.json()["by_party"]) == {"environment"}
    window = client.get(
        f"{API}/verification", params={"from": "2016-12-20", "to": "2016-12-21"}, headers=planner
    ).json()
    # B only: 20 Dec (lead 4, +50) and 21 Dec (lead 5, +35)
    assert [(r["lead_days"], r["bias"]) for r in window["by_lead"]] == [(4, 50.0), (5, 35.0)]
    assert window["first"] == "2016-12-20" and window["last"] == "2016-12-21"
    nobody = client.get(f"{API}/verification", params={"party": "nobody"}, headers=planner)
    assert nobody.json()["n"] == 0 and nobody.json()["heavy"]["pod"] is None
    backwards = client.get(
        f"{API}/verification", params={"from": "2016-12-21", "to": "2016-12-20"}, headers=planner
    )
    assert backwards.status_code == 400 and "from: 2016-12-21 is after to" in backwards.text
    bad = client.get(f"{API}/verification", params={"from": "yesterday"}, headers=planner)
    assert bad.status_code == 422


def test_forecast_vs_observed_per_day_of_the_response(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    consult_both(client, auth, clock)
    with store.session() as session:
        response = session.scalars(select(Response).order_by(Response.id)).first()
        assert response is not None
        got = forecast_vs_observed(session, response)
    by_day = {r.date: r for r in got}
    # A opened yellow 16–19 Dec; B raised it to red through 20 Dec
    assert list(by_day) == [dt.date(2016, 12, 16) + dt.timedelta(days=i) for i in range(5)]
    # 16 Dec: only A was issued before it (B was issued on 16 Dec, 10:00)
    first = by_day[dt.date(2016, 12, 16)]
    assert (first.consultation_id, first.lead_days, first.low, first.high) == (1, 1, 210, 260)
    assert (first.mid, first.observed, first.error) == (235, 230, 5)
    # 17 Dec on: B, issued on 16 Dec, is the latest
    second = by_day[dt.date(2016, 12, 17)]
    assert (second.consultation_id, second.lead_days, second.low, second.high) == (2, 1, 250, 310)
    assert (second.observed, second.error) == (280, 0)
    last = by_day[dt.date(2016, 12, 20)]
    assert (last.consultation_id, last.lead_days, last.mid, last.observed) == (2, 4, 210, 160)


def test_forecast_vs_observed_without_observations(
    client: TestClient, auth: dict[str, dict[str, str]], store: Store, clock: Clock
) -> None:
    at_issue(clock, FORECAST_A)
    answer = client.post(f"{API}/consultations", json=FORECAST_A, headers=auth["consultation"])
    assert answer.status_code == 200, answer.text
    with store.session() as session:
        response = session.scalars(select(Response)).first()
        assert response is not None
        got = forecast_vs_observed(session, response)
    assert got and all(r.observed is None and r.error is None for r in got)
    assert all(r.consultation_id == 1 for r in got)
