"""What must hold in the database whatever happened to the server: read straight from it.

:func:`check_response` opens the store of a data folder (no migration, no import) and
checks one response:

- its plan versions are 1..n without a gap, n being the response's ``plan_number``;
- ``approved_plan`` is the newest approved version (an :class:`Approval` row per version);
- every order was issued under an approved version, has exactly one ``issued`` event, and
  is listed once in the audit log's approvals when every approval went through
  ``POST /approve``;
- no duplicates: at most one order in force per source and start, none twice per version;
- the orders in force are exactly the periods the approved version wants (no half-written
  approval: a version is approved with all its orders or not at all);
- superseded orders name an existing successor of the same source; SQLite's own
  ``integrity_check`` passes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from emergency.service.periods import OrderKey, periods
from emergency.service.planning import loaded_data
from emergency.settings import Settings
from emergency.solution import ResponsePlan
from emergency.store.db import Store, database_url
from emergency.store.models import (
    Approval,
    AuditEntry,
    Order,
    OrderEvent,
    Response,
    ResponsePlanRow,
)

IN_FORCE = ("issued", "acknowledged")


@dataclass
class State:
    """What the database holds for one response."""

    plan_number: int
    approved_plan: int | None
    approved: set[int]
    orders: dict[int, Order]
    in_force: list[OrderKey] = field(default_factory=list)
    audit_issued: list[int] = field(default_factory=list)


def open_store(data_dir: Path, db_url: str | None) -> Store:
    """The store of a data folder, as it is: no migration, no first-start import."""
    return Store(database_url(data_dir, db_url), Settings(data=data_dir))


def _key(order: Order) -> OrderKey:
    return (order.source, order.measure_id, order.level, order.start, order.end)


def check_response(
    data_dir: Path, db_url: str | None, response_id: int, *, approvals_via_api: bool = True
) -> State:
    """Check the invariants above for one response; returns its state for further checks."""
    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            if store.engine.dialect.name == "sqlite":
                check = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
                assert check == "ok", check
            response = session.get(Response, response_id)
            assert response is not None, f"response {response_id} lost"
            plans = {
                row.number: row
                for row in session.scalars(
                    select(ResponsePlanRow).where(ResponsePlanRow.response_id == response_id)
                )
            }
            assert sorted(plans) == list(range(1, response.plan_number + 1)), (
                f"plan versions {sorted(plans)} but plan_number {response.plan_number}"
            )
            by_id = {row.id: row.number for row in plans.values()}
            approvals = list(
                session.scalars(select(Approval).where(Approval.response_id == response_id))
            )
            approved = {by_id[a.plan_id] for a in approvals}
            assert len(approved) == len(approvals), "a plan version approved twice"
            assert response.approved_plan == (max(approved) if approved else None), (
                f"approved_plan {response.approved_plan}, approvals of {sorted(approved)}"
            )
            orders = {
                o.id: o
                for o in session.scalars(select(Order).where(Order.response_id == response_id))
            }
            approved_ids = {a.plan_id for a in approvals}
            for order in orders.values():
                assert order.plan_id in approved_ids, f"order {order.id} of an unapproved plan"
            issued = Counter(
                session.scalars(
                    select(OrderEvent.order_id).where(
                        OrderEvent.order_id.in_(list(orders) or [-1]),
                        OrderEvent.event == "issued",
                    )
                )
            )
            for order_id in orders:
                assert issued[order_id] == 1, f"order {order_id} issued {issued[order_id]} times"
            per_plan = Counter((o.plan_id, o.source, o.start) for o in orders.values())
            assert max(per_plan.values(), default=1) == 1, "an order twice in one plan version"
            in_force = [o for o in orders.values() if o.status in IN_FORCE]
            starts = Counter((o.source, o.start) for o in in_force)
            assert max(starts.values(), default=1) == 1, f"two orders in force: {starts}"
            for order in orders.values():
                if order.status == "superseded":
                    successor = orders.get(order.superseded_by or -1)
                    assert successor is not None and successor.source == order.source, order.id
            state = State(
                plan_number=response.plan_number,
                approved_plan=response.approved_plan,
                approved=approved,
                orders=orders,
                in_force=sorted(_key(o) for o in in_force),
            )
            if response.status == "open" and response.approved_plan is not None:
                row = plans[response.approved_plan]
                dataset = loaded_data(session).dataset
                plan = ResponsePlan.model_validate(row.plan)
                wanted = sorted(
                    p.key for p in periods(plan, dataset) if p.last >= row.effective_from
                )
                assert state.in_force == wanted, (
                    f"orders in force differ from approved version {row.number}:\n"
                    f"  in force {state.in_force}\n  wanted   {wanted}"
                )
            if approvals_via_api:
                entries = session.scalars(
                    select(AuditEntry).where(
                        AuditEntry.action == "response.approve",
                        AuditEntry.target == f"response:{response_id}",
                    )
                )
                state.audit_issued = [i for e in entries for i in (e.after or {})["issued"]]
                assert len(state.audit_issued) == len(set(state.audit_issued)), "issued twice"
                assert sorted(state.audit_issued) == sorted(orders), (
                    "the audit log's approvals and the orders disagree"
                )
            return state
    finally:
        store.dispose()
