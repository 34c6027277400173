"""The timeline of a response: consultations, level changes, overrides, orders, release.

Built from the service's :func:`get_response_detail` and :func:`list_consultations`, plus
one read no service function offers yet, read-only and behind the orders' role check:
:func:`issues` (when each plan version's orders went out, counted in one query instead of
building every order's view).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require
from emergency.service.consult import list_consultations
from emergency.service.views import ResponseDetail
from emergency.store.models import Order, ResponsePlanRow

ACTION_LABELS = {
    "opened": "启动 Opened",
    "upgraded": "升级 Upgraded",
    "downgraded": "降级 Downgraded",
    "unchanged": "维持 Unchanged",
    "released": "解除 Released",
    "none": "无预警 No warning",
    "override": "人工调整 Override",
    "orders": "下达指令 Orders issued",
}


@dataclass
class ConsultationItem:
    id: int
    received_at: dt.datetime
    actor: str
    action: str
    level: str | None
    start: dt.date | None
    end: dt.date | None
    reason: str


@dataclass
class Event:
    at: dt.datetime
    kind: str
    level: str | None
    title: str
    detail: str
    actor: str

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.kind, self.kind)


def consultations(session: Session, actor: Actor, response_id: int) -> list[ConsultationItem]:
    """The consultations that acted on a response, oldest first (the service's own read)."""
    views = list_consultations(session, actor, response_id=response_id, limit=1000)
    return [
        ConsultationItem(
            id=c.id,
            received_at=c.received_at,
            actor=c.actor,
            action=c.action,
            level=c.warning.level,
            start=c.warning.start,
            end=c.warning.end,
            reason=c.warning.reason,
        )
        for c in sorted(views, key=lambda c: (c.received_at, c.id))
    ]


def issues(session: Session, actor: Actor, response_id: int) -> list[tuple[int, dt.datetime, int]]:
    """(plan version, first issue time, number of orders) per version that issued orders."""
    require(actor, Action.read_orders)
    rows = session.execute(
        select(ResponsePlanRow.number, func.min(Order.issued_at), func.count(Order.id))
        .join(ResponsePlanRow, Order.plan_id == ResponsePlanRow.id)
        .where(Order.response_id == response_id)
        .group_by(ResponsePlanRow.number)
        .order_by(ResponsePlanRow.number)
    )
    return [(number, _aware(first), count) for number, first, count in rows]


def _aware(value: dt.datetime) -> dt.datetime:
    """Aggregates bypass the column type: SQLite hands back naive UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def timeline(session: Session, actor: Actor, detail: ResponseDetail) -> list[Event]:
    """Every event of a response, oldest first."""
    events: list[Event] = []
    for c in consultations(session, actor, detail.id):
        period = f"{c.start} – {c.end}" if c.start and c.end else ""
        events.append(
            Event(
                c.received_at,
                c.action,
                c.level,
                f"会商 Consultation #{c.id} {period}".strip(),
                c.reason,
                c.actor,
            )
        )
    for o in detail.overrides:
        what = "豁免 exempt" if o.exempt else f"措施 measure {o.measure}"
        events.append(
            Event(o.created_at, "override", None, f"{o.source}: {what}", o.reason, o.created_by)
        )
    for version, first, count in issues(session, actor, detail.id):
        events.append(
            Event(
                first,
                "orders",
                None,
                f"方案第 {version} 版 plan version {version}: {count} 条指令 orders",
                "",
                "",
            )
        )
    if detail.released_at is not None and not any(e.kind == "released" for e in events):
        events.append(
            Event(detail.released_at, "released", None, "响应解除 Response released", "", "")
        )
    events.sort(key=lambda e: e.at)
    return events
