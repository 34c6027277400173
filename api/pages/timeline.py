"""The timeline of a response: consultations, level changes, overrides, orders, release.

Built from the service's :func:`get_response_detail`, :func:`list_consultations` and
:func:`issued_per_version` (when each plan version's orders went out, counted in one query
instead of building every order's view).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emergency.service.access import Actor
from emergency.service.consult import list_consultations
from emergency.service.orders import issued_per_version
from emergency.service.views import ResponseDetail

ACTION_LABELS = {
    "opened": "启动 Opened",
    "upgraded": "升级 Upgraded",
    "downgraded": "降级 Downgraded",
    "extended": "延长 Extended",
    "shortened": "缩短 Shortened",
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
    reason_zh: str = ""


@dataclass
class Event:
    at: dt.datetime
    kind: str
    level: str | None
    title: str
    detail: str
    actor: str
    detail_zh: str = ""
    """the detail in Chinese; '' where there is none (the English alone is shown)"""

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
            reason_zh=c.warning.reason_zh,
        )
        for c in sorted(views, key=lambda c: (c.received_at, c.id))
    ]


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
                c.reason_zh,
            )
        )
    for o in detail.overrides:
        what = "豁免 exempt" if o.exempt else f"措施 measure {o.measure}"
        events.append(
            Event(o.created_at, "override", None, f"{o.source}: {what}", o.reason, o.created_by)
        )
    for version, first, count in issued_per_version(session, actor, detail.id):
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
