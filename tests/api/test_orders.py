"""Orders: periods from plans, approval under concurrency, supersede and lift, deadlines."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from emergency.measures import allowed_loads
from emergency.service import consult as consultations
from emergency.service import orders, overrides, responses
from emergency.service.access import Actor, Role
from emergency.service.compliance import compliance
from emergency.service.errors import Conflict
from emergency.service.periods import merge_plans, periods
from emergency.service.planning import loaded_data
from emergency.service.views import OverrideIn, ReportIn
from emergency.solution import Assignment, DayResult, PollutantAmounts, ResponsePlan
from emergency.solution import WarningDecision as Warning_
from emergency.store.db import Store
from tests.api.conftest import ORANGE, RED, YELLOW, Clock, at_issue

PLANNER = Actor("planner", Role.planner, token_id=1)
STEEL = Actor("steel", Role.enterprise, "JY-P001", token_id=2)
D = [dt.date(2016, 12, 16) + dt.timedelta(days=i) for i in range(5)]


def day(date: dt.date, level: str) -> DayResult:
    zero = PollutantAmounts()
    return DayResult(date=date, level=level, target_kg=zero, cut_kg=zero, shortfall_kg=zero)


def assign(source: str, date: dt.date, measure: str, cost: float = 10.0) -> Assignment:
    return Assignment(
        source=source,
        date=date,
        measure=measure,
        floor=measure,
        deepened=False,
        cut_kg=PollutantAmounts(so2=1.0),
        cost_yuan=cost,
        why="",
    )


def hand_plan(levels: list[str], rows: list[tuple[str, int, str]]) -> ResponsePlan:
    warning = Warning_(level=levels[0], start=D[0], end=D[len(levels) - 1], rule_set="x", reason="")
    return ResponsePlan(
        warning=warning,
        status="optimal",
        total_cost_yuan=10.0 * len(rows),
        days=[day(D[i], lv) for i, lv in enumerate(levels)],
        assignments=[assign(s, D[i], m) for s, i, m in rows],
    )


def test_periods_split_on_measure_level_and_gaps(store: Store) -> None:
    with store.session() as session:
        dataset = loaded_data(session).dataset
    plan = hand_plan(
        ["orange", "orange", "red", "red"],
        [
            ("JY-P001", 0, "stop-sinter"),
            ("JY-P001", 1, "deep"),
            ("JY-P001", 2, "deep"),
            ("JY-P001", 3, "deep"),
            ("JY-Q001", 0, "stop-all"),
            ("JY-Q001", 2, "stop-all"),
            ("JY-Y001", 1, "normal"),
        ],
    )
    got = [(p.source, p.measure_id, p.level, p.start, p.end) for p in periods(plan, dataset)]
    assert got == [
        ("JY-P001", "stop-sinter", "orange", D[0], D[0]),
        ("JY-P001", "deep", "orange", D[1], D[1]),
        ("JY-P001", "deep", "red", D[2], None),  # runs to the last day: open-ended
        ("JY-Q001", "stop-all", "orange", D[0], D[0]),
        ("JY-Q001", "stop-all", "red", D[2], D[2]),
    ]


def test_allowed_loads_weighted_by_value_added(store: Store) -> None:
    with store.session() as session:
        dataset = loaded_data(session).dataset
    lines, total = allowed_loads(dataset, "JY-P001", "deep")
    assert lines == {"sinter-1": 0.0, "bf-1": 0.5}
    assert total == pytest.approx((0 * 800_000 + 0.5 * 1_200_000) / 2_000_000)
    assert allowed_loads(dataset, "JY-Y001", "stop-loading") == ({}, 0.5)
    assert allowed_loads(dataset, "JY-Y001", "normal") == ({}, 1.0)


def test_merge_keeps_the_past_and_adds_its_cost(store: Store) -> None:
    with store.session() as session:
        dataset = loaded_data(session).dataset
    before = hand_plan(["orange"] * 3, [("JY-Q001", i, "stop-all") for i in range(3)])
    after = hand_plan(["red"] * 3, [("JY-Q001", i, "stop-all") for i in range(3)])
    after = after.model_copy(update={"days": after.days[1:], "assignments": after.assignments[1:]})
    merged = merge_plans(before, after, D[1], dataset)
    assert [(d.date, d.level) for d in merged.days] == [
        (D[0], "orange"),
        (D[1], "red"),
        (D[2], "red"),
    ]
    assert merged.total_cost_yuan == pytest.approx(after.total_cost_yuan + 10.0)
    assert merged.warning.start == D[0]


def opened(store: Store) -> int:
    with store.session() as session:
        result = consultations.consult(session, PLANNER, ORANGE)
    assert result.response_id is not None
    return result.response_id


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released at the same moment; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_approvals_issue_each_order_once(store: Store) -> None:
    rid = opened(store)

    def approve() -> Any:
        with store.session() as session:
            return orders.approve(session, PLANNER, rid)

    results = run_together([approve] * 4)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    fresh = [r for r in results if not isinstance(r, Exception) and not r.already_approved]
    assert len(fresh) == 1
    with store.session() as session:
        listed = orders.list_orders(session, PLANNER, response_id=rid)
    assert len(listed) == len(fresh[0].issued) == 6
    assert len({(o.source, o.start) for o in listed}) == len(listed)


def test_concurrent_consultations_open_one_response(store: Store) -> None:
    def consult() -> Any:
        with store.session() as session:
            return consultations.consult(session, PLANNER, ORANGE)

    results = run_together([consult] * 3)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    with store.session() as session:
        assert len(responses.list_responses(session, PLANNER)) == 1


def test_override_after_approval_supersedes_only_what_changed(store: Store, clock: Clock) -> None:
    rid = opened(store)
    with store.session() as session:
        first = orders.approve(session, PLANNER, rid)
    clock.now = dt.datetime(2016, 12, 17, 2, 0, tzinfo=dt.UTC)  # 17 Dec, 10:00 in Jiyuan
    body = OverrideIn(source="JY-Q001", measure="stop-blasting", reason="stone for repairs")
    with store.session() as session:
        plan = overrides.add_override(session, PLANNER, rid, body)
    quarry = {a.date: (a.measure, a.fixed) for a in plan.assignments if a.source == "JY-Q001"}
    assert quarry[D[0]] == ("stop-all", "")  # the past is kept
    assert quarry[D[1]] == ("stop-blasting", "override")
    with store.session() as session:
        second = orders.approve(session, PLANNER, rid)
    assert [o.source for o in second.issued] == ["JY-Q001"]
    assert second.issued[0].start == D[1] and second.issued[0].fixed == "override"
    assert second.kept == len(first.issued) - 1 and len(second.superseded) == 1
    with store.session() as session:
        old = orders.get_order(session, PLANNER, second.superseded[0])
    assert old.status == "superseded" and old.end == D[0]
    assert old.superseded_by == second.issued[0].id


def test_downgrade_supersedes_and_same_level_is_unchanged(store: Store, clock: Clock) -> None:
    rid = opened(store)
    with store.session() as session:
        orders.approve(session, PLANNER, rid)
        again = consultations.consult(session, PLANNER, ORANGE)
    assert again.action == "unchanged" and again.plan_version == 1
    with store.session() as session:
        down = consultations.consult(session, PLANNER, at_issue(clock, YELLOW))
    assert down.action == "downgraded" and down.orders_superseded > 0
    with store.session() as session:
        current = orders.list_orders(session, STEEL, status="issued")
    assert {(o.level, o.start) for o in current} == {("yellow", D[1])}
    assert current[0].measure.id == "limit-20" or current[0].allowed_load_total > 0


def test_upgrade_before_approval_issues_nothing(store: Store, clock: Clock) -> None:
    rid = opened(store)
    with store.session() as session:
        up = consultations.consult(session, PLANNER, at_issue(clock, RED))
    assert up.action == "upgraded" and up.orders_issued == 0 and up.plan_version == 2
    with store.session() as session:
        assert orders.list_orders(session, PLANNER, response_id=rid) == []
        plan = responses.get_plan(session, PLANNER, rid)
    # Re-planned from the state on 17 Dec: the sinter machine stopped on the 16th stays
    # stopped and its restart, paid on the 16th, is not paid again.
    steel = {a.date: a for a in plan.assignments if a.source == "JY-P001"}
    assert steel[D[0]].restart_cost_yuan == 400_000 and steel[D[0]].measure == "deep"
    assert all(steel[d].restart_cost_yuan == 0 for d in D[1:5])
    assert [(d.date, d.level) for d in plan.days][:2] == [(D[0], "orange"), (D[1], "red")]


def test_ack_deadline_and_reports_after_supersede(store: Store, clock: Clock) -> None:
    rid = opened(store)
    with store.session() as session:
        issued = orders.approve(session, PLANNER, rid).issued
    steel = next(o for o in issued if o.source == "JY-P001")
    clock.advance(hours=1)
    with store.session() as session:
        assert compliance(session, PLANNER, rid).anomalies == []
    clock.advance(hours=2)  # past city.ack_deadline_hours (2 h)
    with store.session() as session:
        view = compliance(session, PLANNER, rid)
    assert {a.kind for a in view.anomalies} == {"ack_overdue"} and len(view.anomalies) == 6
    with store.session() as session:
        orders.acknowledge(session, STEEL, steel.id)
        view = compliance(session, PLANNER, rid)
    row = next(r for r in view.rows if r.order_id == steel.id)
    assert row.acknowledged and row.anomalies == ["ack_late"]
    store.config.ack_deadline_hours = 24.0
    with store.session() as session:
        assert compliance(session, PLANNER, rid).anomalies == []
    with store.session() as session:
        consultations.consult(session, PLANNER, at_issue(clock, RED))  # supersedes at once
    late = ReportIn(at=clock.now + dt.timedelta(hours=1), load=0.3)
    with store.session() as session, pytest.raises(Conflict, match="superseded"):
        orders.add_report(session, STEEL, steel.id, late)
    earlier = ReportIn(at=clock.now - dt.timedelta(hours=1), load=0.3, electricity_kwh=10)
    with store.session() as session:
        assert orders.add_report(session, STEEL, steel.id, earlier).order_id == steel.id


def test_same_level_with_a_later_end_extends_the_response(store: Store, clock: Clock) -> None:
    from tests.api.conftest import forecast

    rid = opened(store)
    with store.session() as session:
        orders.approve(session, PLANNER, rid)
    longer = forecast(D[1], [[230, 280]] * 5, issued_at="2016-12-16T16:00:00+08:00")
    with store.session() as session:
        result = consultations.consult(session, PLANNER, at_issue(clock, longer))
        detail = responses.get_response_detail(session, PLANNER, rid)
    assert result.action == "extended" and result.plan_version == 2
    assert detail.plans[-1].reason == "extended" and detail.end == dt.date(2016, 12, 21)
    assert detail.approved  # the orders follow the warning at once
    with store.session() as session:
        current = orders.list_orders(session, STEEL, status="issued")
    assert [(o.start, o.end, o.planned_end) for o in current] == [
        (D[0], None, dt.date(2016, 12, 21))
    ]
