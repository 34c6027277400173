"""Warnings that follow the weather: a new consultation moves the open response to the
level its forecast supports — upgrade, downgrade, extend, shorten, release — and holds the
mildest level while the release condition does not yet hold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from emergency.cli.app import app
from emergency.service import consult as consultations
from emergency.service import orders, responses
from emergency.service.access import Actor, Role
from emergency.store.db import Store
from tests.api.conftest import RED, Clock, at_issue, forecast

PLANNER = Actor("planner", Role.planner, token_id=1)


def red_in_force(store: Store, clock: Clock) -> int:
    """Red from 17 Dec (issued on the 16th), approved: orders out."""
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, RED))
        assert result.action == "opened" and result.warning.level == "red"
        assert result.response_id is not None
        orders.approve(session, PLANNER, result.response_id)
    return result.response_id


def test_no_level_but_no_release_yet_downgrades_to_the_mildest_level(
    store: Store, clock: Clock
) -> None:
    rid = red_in_force(store, clock)
    # issued on the 17th: 150, 250, 150 from the 18th — no level (one day > 200 only),
    # and not ≤ 200 for 36 h from the first day: not released, held at yellow to the 19th
    fc = forecast(dt.date(2016, 12, 18), [150, 250, 150], issued_at="2016-12-17T10:00:00+08:00")
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, fc))
        detail = responses.get_response_detail(session, PLANNER, rid)
    assert result.warning.level is None and not result.warning.release_ok
    assert result.action == "downgraded" and result.orders_superseded > 0
    assert (detail.level, detail.end) == ("yellow", dt.date(2016, 12, 19))
    with store.session() as session:
        current = orders.list_orders(session, PLANNER, response_id=rid, status="issued")
    assert current and {o.level for o in current} == {"yellow"}
    assert {o.start for o in current} == {dt.date(2016, 12, 18)}


def test_a_clean_forecast_releases(store: Store, clock: Clock) -> None:
    rid = red_in_force(store, clock)
    fc = forecast(dt.date(2016, 12, 18), [150, 120, 100], issued_at="2016-12-17T10:00:00+08:00")
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, fc))
        detail = responses.get_response_detail(session, PLANNER, rid)
    assert result.action == "released" and result.orders_lifted > 0
    assert detail.status == "released"


def test_the_same_level_ending_earlier_shortens_and_later_extends(
    store: Store, clock: Clock
) -> None:
    rid = red_in_force(store, clock)
    with store.session() as session:
        before = responses.get_response_detail(session, PLANNER, rid)
    assert (before.start, before.end) == (dt.date(2016, 12, 17), dt.date(2016, 12, 20))
    # issued on the 17th: red through the 19th only (≥ 96 h > 200 counting the 17th is not
    # in this forecast: the 18th..19th > 300, then clean)
    shorter = forecast(
        dt.date(2016, 12, 17),
        [[310, 360], [320, 400], [310, 340], [260, 300], [110, 150], [90, 120]],
        issued_at="2016-12-17T10:00:00+08:00",
    )
    with store.session() as session:
        same = consultations.consult(session, PLANNER, at_issue(clock, shorter))
    assert same.action == "unchanged"  # level and period as they are
    longer = forecast(
        dt.date(2016, 12, 17),
        [[310, 360], [320, 400], [310, 340], [260, 300], [250, 300], [110, 150]],
        issued_at="2016-12-17T12:00:00+08:00",
    )
    with store.session() as session:
        extended = consultations.consult(session, PLANNER, at_issue(clock, longer))
        detail = responses.get_response_detail(session, PLANNER, rid)
    assert extended.action == "extended" and detail.end == dt.date(2016, 12, 21)
    with store.session() as session:
        back = consultations.consult(session, PLANNER, at_issue(clock, shorter))
        detail = responses.get_response_detail(session, PLANNER, rid)
    assert back.action == "shortened" and detail.end == dt.date(2016, 12, 20)
    assert [p.reason for p in detail.plans][-2:] == ["extended", "shortened"]


def test_episodes_to_come_are_shown_to_the_public_and_in_the_cli(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    # henan-2019: two heavy days, two clean days, three heavy days: yellow now, orange later
    fc = forecast(
        dt.date(2016, 12, 16),
        [250, 250, 150, 150, 250, 250, 250],
        issued_at="2016-12-15T16:00:00+08:00",
    )
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, fc))
        public = responses.public_warning(session)
    assert result.action == "opened" and result.warning.level == "yellow"
    assert (public.level, public.end) == ("yellow", dt.date(2016, 12, 17))
    assert public.late and "less than the 24 h lead" in public.late_reason  # 8 h ahead
    assert [(e.start, e.end, e.level) for e in public.coming] == [
        (dt.date(2016, 12, 20), dt.date(2016, 12, 22), "orange")
    ]
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps({**fc, "rule_set": "henan-2019"}), encoding="utf-8")
    shown = CliRunner().invoke(app, ["assess", "--forecast", str(path), "--lang", "en"])
    assert shown.exit_code == 0, shown.output
    assert "Forecast to come 后续过程: 2016-12-20 .. 2016-12-22: orange" in shown.output
    shown_zh = CliRunner().invoke(app, ["assess", "--forecast", str(path)])  # the city's zh
    assert shown_zh.exit_code == 0, shown_zh.output
    assert "后续过程：2016-12-20 .. 2016-12-22：橙色" in shown_zh.output


def test_responses_and_orders_carry_the_start_hour(store: Store, clock: Clock) -> None:
    fc = {**RED, "effective_at": "2016-12-17T18:00:00+08:00"}
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, fc))
        assert result.response_id is not None
        approved = orders.approve(session, PLANNER, result.response_id)
        detail = responses.get_response_detail(session, PLANNER, result.response_id)
    assert (
        detail.start_at is not None and detail.start_at.isoformat() == "2016-12-17T18:00:00+08:00"
    )
    assert detail.end_at is not None and detail.end_at.isoformat() == "2016-12-21T00:00:00+08:00"
    first = [o for o in approved.issued if o.start == dt.date(2016, 12, 17)]
    assert first and all(
        o.start_at is not None and o.start_at.isoformat() == "2016-12-17T18:00:00+08:00"
        for o in first
    )
    assert all(o.end_at is None for o in first if o.end is None)  # open-ended: until release
