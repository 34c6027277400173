"""Replaying random operation sequences: the database and the audit log must tell one story.

The service promises that every change is audited in the same transaction, by whoever
caused it, with the ids it touched. Hypothesis (derandomised, a fixed number of examples)
generates sequences of operations — consultations (the server's clock set to the
forecast's issue time, which may be refused as early or stale), approvals (some naming a
version no longer current), overrides and their withdrawal, release, acknowledgements,
reports (some outside the order's period or ahead of the clock), plan submissions by an
enterprise or a planner (small edits of the plans of :func:`tests.datafiles.small_plans`,
some invalid) and their review, and the clock moving on — and sends them to the API of a
fresh store on SQLite and on PostgreSQL.

After every operation (:meth:`Replay.step`): a refused one (4xx) changed no row of any
table; an accepted one added audit entries exactly when it changed another table, each
entry naming the acting token and dated by the server's clock; the log only grew.

After every sequence, :func:`audit_problems` reads the database and checks it against the
log:

- every :class:`Approval` has exactly one ``response.approve`` entry for its response and
  plan version (and no such entry lacks its approval); each one's ``before`` names the
  version approved before it;
- every order is in the ``issued`` list of exactly one ``response.approve`` entry (of its
  response and plan version); each superseded order in exactly one ``superseded`` list and
  each lifted one in exactly one ``lifted`` list of the ``response.approve`` and
  ``response.released`` entries, orders in force in none; the lists in a consultation's
  ``response.upgraded`` / ``downgraded`` / ``extended`` entry repeat its approval's;
- every plan version of a response is matched by one entry of the action that made it
  (``response.opened`` / ``upgraded`` / ``downgraded`` / ``extended`` / ``override`` /
  ``override_withdrawn``, by response and version number), and every such entry by a
  version; every released response by one ``response.released`` entry;
- every enterprise plan version has one ``plan.submitted`` entry or was created by an
  import (``data.import`` lists ``plan_versions``); every approved / rejected / withdrawn
  one (not by the import) one ``plan.approved`` / ``plan.rejected`` entry / a place in a
  later submission's ``withdrawn`` list, and no other review entry; each enterprise's plan
  file in force is the text of its newest approved version;
- every acknowledged order has one ``order.ack`` entry, every report one ``order.report``
  entry (by report id), every consultation one ``consultation`` entry, every token one
  ``token.create`` entry (and one ``token.revoke`` once revoked);
- no entry names an order, response or consultation that does not exist.

:func:`test_the_audit_log_survives_a_crash` runs approvals, consultations and
acknowledgements against a live server (``emergency serve``), SIGKILLs it in the middle,
and checks the same invariants on the database itself.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.main import create_app
from emergency.notify.overdue import sweep_overdue
from emergency.service.access import SYSTEM, Actor, Role
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token
from emergency.settings import CITY_OFFSET, Settings
from emergency.store.datafiles import plan_path
from emergency.store.db import Store
from emergency.store.models import (
    ApiToken,
    Approval,
    AuditEntry,
    Base,
    Consultation,
    DataFile,
    Order,
    PlanVersion,
    Report,
    Response,
    ResponsePlanRow,
)
from tests.api.conftest import CLEAN, ORANGE, RED, YELLOW, Clock
from tests.databases import database_url
from tests.datafiles import dump_yaml, small_plans, small_rows, write_small_dataset
from tests.reliability.conftest import ServerFactory
from tests.reliability.invariants import check_response
from tests.reliability.invariants import open_store as open_store_as_is
from tests.reliability.live import API, Server, cli_token, red
from tests.reliability.test_crash import Acknowledged, assert_kept, burst, open_response

pytestmark = pytest.mark.slow

# ----------------------------------------------------------------------------- invariants

PLAN_ACTIONS = {
    "opened": "response.opened",
    "upgraded": "response.upgraded",
    "downgraded": "response.downgraded",
    "extended": "response.extended",
    "shortened": "response.shortened",
    "override": "response.override",
    "override withdrawn": "response.override_withdrawn",
}
"""The reason of a response plan version → the audit action of the change that made it."""
CONSULTATION_CHANGES = (
    "response.upgraded",
    "response.downgraded",
    "response.extended",
    "response.shortened",
)
CLOSING = ("response.approve", "response.released")
"""The entries whose ``superseded`` / ``lifted`` lists count (a consultation's change
repeats its approval's lists in its own entry)."""
ORDER_LISTS = ("issued", "superseded", "lifted")


def _id(target: str, kind: str) -> int | None:
    """``response:12`` → 12 when ``kind`` is ``response``."""
    prefix, _, rest = target.partition(":")
    return int(rest) if prefix == kind and rest.isdigit() else None


def _after(entry: AuditEntry) -> dict[str, Any]:
    return entry.after if isinstance(entry.after, dict) else {}


def _ids(entry: AuditEntry, name: str) -> list[int]:
    return [int(i) for i in _after(entry).get(name) or []]


@dataclass
class Tables:
    """The rows the invariants read, and the audit log by action."""

    entries: list[AuditEntry]
    by_action: dict[str, list[AuditEntry]]
    responses: dict[int, Response]
    plan_rows: dict[int, ResponsePlanRow]
    orders: dict[int, Order]
    consultations: dict[int, Consultation]

    @classmethod
    def read(cls, session: Session) -> Tables:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        by_action: dict[str, list[AuditEntry]] = defaultdict(list)
        for entry in entries:
            by_action[entry.action].append(entry)
        return cls(
            entries=entries,
            by_action=by_action,
            responses={r.id: r for r in session.scalars(select(Response))},
            plan_rows={r.id: r for r in session.scalars(select(ResponsePlanRow))},
            orders={o.id: o for o in session.scalars(select(Order))},
            consultations={c.id: c for c in session.scalars(select(Consultation))},
        )


Problems = list[str]


def _once(problems: Problems, rows: Counter[Any], audited: Counter[Any], what: str) -> None:
    """Each key: one row and one entry."""
    for key in sorted(rows.keys() | audited.keys(), key=repr):
        if rows[key] != 1 or audited[key] != 1:
            problems.append(f"{what} {key}: {rows[key]} rows, {audited[key]} audit entries")


def approval_problems(session: Session, t: Tables, problems: Problems) -> None:
    """Approvals ↔ ``response.approve``, one each; ``before`` names the version approved
    before it."""
    approvals: Counter[tuple[int | None, Any]] = Counter()
    for approval in session.scalars(select(Approval)):
        row = t.plan_rows[approval.plan_id]
        if row.response_id != approval.response_id:
            problems.append(f"approval {approval.id} of another response's plan")
        approvals[(approval.response_id, row.number)] += 1
    entries = t.by_action["response.approve"]
    audited = Counter((_id(e.target, "response"), _after(e).get("plan_version")) for e in entries)
    _once(problems, approvals, audited, "approval of (response, plan version)")
    previous: dict[int | None, Any] = {}
    for entry in entries:
        rid = _id(entry.target, "response")
        before = (entry.before or {}).get("approved_plan")
        if before != previous.get(rid):
            problems.append(
                f"audit {entry.id}: response.approve of response {rid} says version {before} "
                f"was approved before, but it was {previous.get(rid)}"
            )
        previous[rid] = _after(entry).get("plan_version")


def order_problems(t: Tables, problems: Problems) -> None:
    """Orders ↔ the issued / superseded / lifted lists; no entry names an unknown order."""
    number_of = {row.id: row.number for row in t.plan_rows.values()}
    issued: Counter[int] = Counter()
    for entry in t.by_action["response.approve"]:
        rid, version = _id(entry.target, "response"), _after(entry).get("plan_version")
        for order_id in _ids(entry, "issued"):
            issued[order_id] += 1
            order = t.orders.get(order_id)
            if order is not None and (order.response_id, number_of[order.plan_id]) != (
                rid,
                version,
            ):
                problems.append(
                    f"order {order_id} listed as issued by audit {entry.id} (response {rid}, "
                    f"version {version}) but of response {order.response_id}, version "
                    f"{number_of[order.plan_id]}"
                )
    closed: dict[str, Counter[int]] = {"superseded": Counter(), "lifted": Counter()}
    for entry in (e for action in CLOSING for e in t.by_action[action]):
        for name, counter in closed.items():
            for order_id in _ids(entry, name):
                counter[order_id] += 1
                order = t.orders.get(order_id)
                if order is not None and order.response_id != _id(entry.target, "response"):
                    problems.append(f"audit {entry.id} lists order {order_id} of another response")
    for order in t.orders.values():
        if issued[order.id] != 1:
            problems.append(f"order {order.id} issued in {issued[order.id]} response.approve")
        for name, counter in closed.items():
            if counter[order.id] != (1 if order.status == name else 0):
                problems.append(
                    f"order {order.id} ({order.status}) in {counter[order.id]} {name!r} lists"
                )
    # A consultation's change repeats what its approval did.
    approved = {
        name: Counter(i for e in t.by_action["response.approve"] for i in _ids(e, name))
        for name in ORDER_LISTS
    }
    for action in CONSULTATION_CHANGES:
        for entry in t.by_action[action]:
            for name in ORDER_LISTS:
                for order_id in _ids(entry, name):
                    if approved[name][order_id] != 1:
                        problems.append(
                            f"audit {entry.id} ({action}) lists order {order_id} as {name}, "
                            "no response.approve does"
                        )
    known: dict[str, Container[int]] = {
        "order": t.orders,
        "response": t.responses,
        "consultation": t.consultations,
    }
    for entry in t.entries:
        for name in ORDER_LISTS:
            for order_id in _ids(entry, name):
                if order_id not in t.orders:
                    problems.append(f"audit {entry.id} names order {order_id}: none such")
        for kind, ids in known.items():
            ident = _id(entry.target, kind)
            if ident is not None and ident not in ids:
                problems.append(f"audit {entry.id} ({entry.action}) targets {entry.target}: none")


def response_problems(t: Tables, problems: Problems) -> None:
    """Plan versions of responses ↔ the changes that made them; opened, released;
    consultations ↔ their entries."""
    rows = Counter(
        (row.response_id, row.number, PLAN_ACTIONS.get(row.reason, f"? {row.reason}"))
        for row in t.plan_rows.values()
    )
    made = Counter(
        (_id(e.target, "response"), _after(e).get("plan_version"), e.action)
        for action in PLAN_ACTIONS.values()
        for e in t.by_action[action]
    )
    _once(problems, rows, made, "(response, plan version, action)")
    opened = Counter(_id(e.target, "response") for e in t.by_action["response.opened"])
    _once(problems, Counter(list(t.responses)), opened, "response.opened of response")
    released = Counter(_id(e.target, "response") for e in t.by_action["response.released"])
    gone = Counter(r.id for r in t.responses.values() if r.status == "released")
    _once(problems, gone, released, "response.released of response")
    consulted = Counter(
        (_id(e.target, "consultation"), _after(e).get("action"), _after(e).get("response_id"))
        for e in t.by_action["consultation"]
    )
    rows_of = Counter((c.id, c.action, c.response_id) for c in t.consultations.values())
    _once(problems, rows_of, consulted, "(consultation, action, response)")


def plan_version_problems(session: Session, t: Tables, problems: Problems) -> None:
    """Enterprise plan versions ↔ plan.submitted / approved / rejected and data.import; the
    plan file in force is the newest approved version."""
    imported = {v for e in t.by_action["data.import"] for v in _after(e).get("plan_versions", [])}
    reviews = {
        action: Counter(
            (e.target.partition(":")[2], _after(e).get("version")) for e in t.by_action[action]
        )
        for action in ("plan.submitted", "plan.approved", "plan.rejected")
    }
    withdrawn = Counter(
        (e.target.partition(":")[2], number)
        for e in t.by_action["plan.submitted"]
        for number in _after(e).get("withdrawn", [])
    )
    versions = list(session.scalars(select(PlanVersion).order_by(PlanVersion.number)))
    known = {(v.enterprise_id, v.number) for v in versions}
    for v in versions:
        key = (v.enterprise_id, v.number)
        by_import = f"{v.enterprise_id}#{v.number}" in imported
        wanted = {
            "plan.submitted": 0 if by_import else 1,
            "plan.approved": 1 if v.status == "approved" and not by_import else 0,
            "plan.rejected": 1 if v.status == "rejected" else 0,
        }
        for action, count in wanted.items():
            if reviews[action][key] != count:
                problems.append(
                    f"plan version {key} ({v.status}{', imported' if by_import else ''}): "
                    f"{reviews[action][key]} {action} entries"
                )
        by_submission = v.status == "withdrawn" and v.review_note != "replaced by a data import"
        if withdrawn[key] != (1 if by_submission else 0):
            problems.append(f"plan version {key} ({v.status}) in {withdrawn[key]} withdrawn lists")
    for action, counter in reviews.items():
        for unknown in counter.keys() - known:
            problems.append(f"{action} names plan version {unknown}: none such")
    newest = {v.enterprise_id: v for v in versions if v.status == "approved"}  # by number
    files = {f.path: f for f in session.scalars(select(DataFile))}
    for enterprise_id, version in newest.items():
        in_force = files.get(plan_path(enterprise_id))
        if in_force is None or (in_force.content, in_force.sha256) != (
            version.content,
            version.sha256,
        ):
            problems.append(
                f"the plan file of {enterprise_id} is not its newest approved version "
                f"{version.number}"
            )
    folder = plan_path("*").split("*")[0]
    for path in files:
        ident = path[len(folder) : -len(".yaml")]
        if path.startswith(folder) and path.endswith(".yaml") and ident not in newest:
            problems.append(f"{path} in force without an approved version")


def enterprise_problems(session: Session, t: Tables, problems: Problems) -> None:
    """Acknowledgements, reports and tokens ↔ their entries."""
    acked = Counter(o.id for o in t.orders.values() if o.acknowledged_at is not None)
    audited = Counter(_id(e.target, "order") for e in t.by_action["order.ack"])
    _once(problems, acked, audited, "order.ack of order")
    reports = Counter((r.order_id, r.id) for r in session.scalars(select(Report)))
    reported = Counter(
        (_id(e.target, "order"), _after(e).get("id")) for e in t.by_action["order.report"]
    )
    _once(problems, reports, reported, "order.report of (order, report)")
    tokens = list(session.scalars(select(ApiToken)))
    created = Counter(_id(e.target, "token") for e in t.by_action["token.create"])
    _once(problems, Counter(token.id for token in tokens), created, "token.create of token")
    revoked = Counter(_id(e.target, "token") for e in t.by_action["token.revoke"])
    gone = Counter(token.id for token in tokens if token.revoked_at is not None)
    _once(problems, gone, revoked, "token.revoke of token")


def audit_problems(session: Session) -> Problems:
    """Every disagreement between the tables and the audit log (empty: they agree)."""
    tables = Tables.read(session)
    problems: Problems = []
    approval_problems(session, tables, problems)
    order_problems(tables, problems)
    response_problems(tables, problems)
    plan_version_problems(session, tables, problems)
    enterprise_problems(session, tables, problems)
    return problems


def assert_audited(store: Store, log: list[str] | None = None) -> None:
    with store.session() as session:
        problems = audit_problems(session)
    after = "\nafter:\n  " + "\n  ".join(log) if log else ""
    assert not problems, (
        "the database and the audit log disagree:\n  " + "\n  ".join(problems) + after
    )


# ----------------------------------------------------------------------------- operations

FORECASTS = {"ORANGE": ORANGE, "RED": RED, "YELLOW": YELLOW, "CLEAN": CLEAN}
PLANTS = tuple(small_plans())
SOURCES = tuple(row["id"] for row in small_rows())
OVERRIDE_BODIES: list[dict[str, Any]] = [
    {"source": "JY-S001", "measure": "stop-all", "reason": "works near a school"},
    {"source": "JY-Q001", "measure": "stop-blasting", "reason": "district request"},
    {"source": "JY-Y001", "exempt": True, "reason": "emergency coal delivery"},
    {"source": "JY-P001", "measure": "deep", "reason": "the plant's own offer"},
    {"source": "JY-S001", "measure": "no-such-measure", "reason": "a typo"},  # 400
    {"source": "JY-Q001", "reason": "neither a measure nor exempt"},  # 422
]


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def text(enterprise: str) -> str:
        plan = copy.deepcopy(small_plans()[enterprise])
        change(plan)
        return dump_yaml(plan)

    return text


def _phone(plan: dict[str, Any]) -> None:
    plan["contact"]["phone"] = "0391-9999999"


def _lighter(plan: dict[str, Any]) -> None:
    loads = plan["measures"][0]["loads"]
    plan["measures"][0]["loads"] = {line: round(v * 0.95, 3) for line, v in loads.items()}


def _value(plan: dict[str, Any]) -> None:
    plan["lines"][0]["value_added_yuan_d"] += 1000


def _unknown_line(plan: dict[str, Any]) -> None:
    plan["measures"][0]["loads"] = {"no-such-line": 0.5}


def _same(plan: dict[str, Any]) -> None:
    pass


EDITS = [_edit(_same), _edit(_phone), _edit(_lighter), _edit(_value), _edit(_unknown_line)]
"""Plan texts: the one imported (no new version while it is in force), three small valid
edits, one invalid (400)."""

CONSULT = st.tuples(
    st.just("consult"),
    st.sampled_from(["ORANGE", "ORANGE", "RED", "RED", "YELLOW", "YELLOW", "CLEAN"]),
    st.integers(-1, 1),  # issued the day before the server's today, that day, the day after
    st.integers(-3, 30),  # hours after its issue the clock is set to, if not past it
    st.sampled_from(["consultation", "planner"]),
)
APPROVE = st.tuples(st.just("approve"), st.booleans())  # True: names the previous version
OVERRIDE = st.tuples(st.just("override"), st.integers(0, len(OVERRIDE_BODIES) - 1))
WITHDRAW = st.tuples(st.just("withdraw"), st.integers(0, 5))
RELEASE = st.tuples(st.just("release"))
ACK = st.tuples(st.just("ack"), st.integers(0, 40), st.booleans())  # True: an issued order
REPORT = st.tuples(
    st.just("report"),
    st.integers(0, 40),
    st.integers(-2, 30),  # hours before the clock / after the order's first day it is dated
    st.sampled_from(["clock", "start", "after"]),
    st.booleans(),  # True: an order acknowledged (not sent if none), else any
)
SUBMIT = st.tuples(
    st.just("submit"),
    st.sampled_from(PLANTS),
    st.integers(0, len(EDITS) - 1),
    st.booleans(),  # True: by the enterprise, else by a planner
)
REVIEW = st.tuples(
    st.just("review"),
    st.sampled_from(PLANTS),
    st.integers(0, 5),  # which version, newest first
    st.sampled_from(["approve", "reject", "reject without a reason"]),
    st.booleans(),  # True: a pending version
)
ADVANCE = st.tuples(st.just("advance"), st.integers(1, 30))
WEIGHTS: list[tuple[st.SearchStrategy[tuple[Any, ...]], int]] = [
    (CONSULT, 3),
    (APPROVE, 4),
    (OVERRIDE, 2),
    (WITHDRAW, 2),
    (RELEASE, 1),
    (ACK, 5),
    (REPORT, 6),
    (SUBMIT, 2),
    (REVIEW, 2),
    (ADVANCE, 3),
]
OPERATION = st.sampled_from([s for s, weight in WEIGHTS for _ in range(weight)]).flatmap(
    lambda strategy: strategy
)
"""One operation; ``one_of`` would drop repeated strategies, so the weights go through
``sampled_from``."""
SEQUENCES = st.lists(OPERATION, min_size=20, max_size=50)
FIRST = ("consult", "ORANGE", 0, 0, "consultation")
"""Every sequence starts with a consultation that opens a response."""
MAX_EXAMPLES = 8


def moved(forecast: dict[str, Any], days: int) -> dict[str, Any]:
    """The forecast issued ``days`` later, about days ``days`` later."""
    out = copy.deepcopy(forecast)
    shift = dt.timedelta(days=days)
    out["issued_at"] = (dt.datetime.fromisoformat(forecast["issued_at"]) + shift).isoformat()
    for day in out["days"]:
        day["date"] = (dt.date.fromisoformat(day["date"]) + shift).isoformat()
    return out


@dataclass
class Token:
    secret: str
    label: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def make_tokens(store: Store) -> dict[str, Token]:
    """Tokens of the consultation, the planner and every source (keyed by source id)."""
    wanted = [("consultation", None), ("planner", None)] + [("enterprise", s) for s in SOURCES]
    tokens = {}
    with store.session() as session:
        for role, enterprise in wanted:
            view, secret = create_token(session, SYSTEM, role, enterprise_id=enterprise)
            actor = Actor(view.name, Role(view.role), view.enterprise_id, token_id=view.id)
            tokens[enterprise or role] = Token(secret, actor.label)
        session.commit()
    return tokens


Sent = tuple[Token, Any]
"""The token an operation was sent with and the API's answer (an ``httpx`` response)."""
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(store: Store) -> Snapshot:
    """Every row of every table, by primary key."""
    with store.session() as session:
        return {
            table.name: [
                tuple(row)
                for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


@dataclass
class Replay:
    """Operations sent to the API of one store, each checked against the audit log."""

    store: Store
    client: TestClient
    clock: Clock
    tokens: dict[str, Token]
    outcomes: Counter[tuple[str, int]] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)

    # -- reading (as the planner)

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(f"{API}{path}", params=params, headers=self.planner)
        assert answer.status_code == 200, answer.text
        return answer.json()

    @property
    def planner(self) -> dict[str, str]:
        return self.tokens["planner"].headers

    def newest_response(self) -> dict[str, Any] | None:
        listed = self.get("/responses")
        return listed[0] if listed else None

    # -- the operations: each returns the token used and the answer, or None if not sent

    def consult(self, name: str, ahead: int, hours: int, role: str) -> Sent:
        """The forecast moved to be issued ``ahead`` days after the server's today."""
        template = FORECASTS[name]
        first = dt.datetime.fromisoformat(template["issued_at"]).date()
        today = self.clock.now.astimezone(CITY_OFFSET).date()
        forecast = moved(template, (today - first).days + ahead)
        issued = dt.datetime.fromisoformat(forecast["issued_at"]).astimezone(dt.UTC)
        self.clock.now = max(self.clock.now, issued + dt.timedelta(hours=hours))
        token = self.tokens[role]
        return token, self.client.post(f"{API}/consultations", json=forecast, headers=token.headers)

    def approve(self, stale: bool) -> Sent | None:
        response = self.newest_response()
        if response is None:
            return None
        body = {"plan_version": max(1, response["plan_version"] - 1)} if stale else None
        path = f"{API}/responses/{response['id']}/approve"
        return self.tokens["planner"], self.client.post(path, json=body, headers=self.planner)

    def override(self, which: int) -> Sent | None:
        response = self.newest_response()
        if response is None:
            return None
        path = f"{API}/responses/{response['id']}/overrides"
        answer = self.client.post(path, json=OVERRIDE_BODIES[which], headers=self.planner)
        return self.tokens["planner"], answer

    def withdraw(self, which: int) -> Sent | None:
        response = self.newest_response()
        if response is None:
            return None
        overrides = self.get(f"/responses/{response['id']}")["overrides"]
        if not overrides:
            return None
        override = overrides[which % len(overrides)]
        path = f"{API}/responses/{response['id']}/overrides/{override['id']}"
        return self.tokens["planner"], self.client.delete(path, headers=self.planner)

    def release(self) -> Sent | None:
        response = self.newest_response()
        if response is None:
            return None
        path = f"{API}/responses/{response['id']}/release"
        answer = self.client.post(path, json={"note": "replay"}, headers=self.planner)
        return self.tokens["planner"], answer

    def _order(self, which: int, status: tuple[str, ...] | None) -> dict[str, Any] | None:
        orders = self.get("/orders")
        preferred = [o for o in orders if status is None or o["status"] in status]
        pool = preferred or orders
        return pool[which % len(pool)] if pool else None

    def ack(self, which: int, issued: bool) -> Sent | None:
        order = self._order(which, ("issued",) if issued else None)
        if order is None:
            return None
        token = self.tokens[order["source"]]
        return token, self.client.post(f"{API}/orders/{order['id']}/ack", headers=token.headers)

    def report(self, which: int, hours: int, anchor: str, acknowledged: bool) -> Sent | None:
        """A report dated ``hours`` before the clock (``clock``), after the order's first
        00:00 (``start``), or that once the clock is past it (``after``: the clock moves
        on to then if need be)."""
        orders = self.get("/orders")
        pool = [o for o in orders if o["acknowledged_at"]] if acknowledged else orders
        if not pool:
            return None
        order = pool[which % len(pool)]
        first = dt.datetime.combine(dt.date.fromisoformat(order["start"]), dt.time(0), CITY_OFFSET)
        if anchor == "clock":
            at = self.clock.now - dt.timedelta(hours=hours)
        else:
            at = first + dt.timedelta(hours=hours)
        if anchor == "after":
            self.clock.now = max(self.clock.now, at.astimezone(dt.UTC))
        body = {
            "at": at.astimezone(CITY_OFFSET).isoformat(),
            "load": 0.5,
            "electricity_kwh": 1000.0,
            "note": "replay",
        }
        token = self.tokens[order["source"]]
        path = f"{API}/orders/{order['id']}/reports"
        return token, self.client.post(path, json=body, headers=token.headers)

    def submit(self, enterprise: str, edit: int, own: bool) -> Sent:
        token = self.tokens[enterprise] if own else self.tokens["planner"]
        headers = token.headers | {"Content-Type": "application/yaml"}
        text = EDITS[edit](enterprise)
        path = f"{API}/enterprises/{enterprise}/plan"
        return token, self.client.put(path, content=text.encode(), headers=headers)

    def review(self, enterprise: str, which: int, decision: str, pending: bool) -> Sent:
        versions = self.get(f"/enterprises/{enterprise}/plan/versions")
        pool = [v for v in versions if not pending or v["status"] == "pending"] or versions
        number = pool[which % len(pool)]["number"]
        path = f"{API}/enterprises/{enterprise}/plan/versions/{number}"
        if decision == "approve":
            answer = self.client.post(f"{path}/approve", json={"note": "ok"}, headers=self.planner)
        else:
            note = "not now" if decision == "reject" else " "
            answer = self.client.post(f"{path}/reject", json={"note": note}, headers=self.planner)
        return self.tokens["planner"], answer

    def advance(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    # -- one step, checked

    def step(self, op: tuple[Any, ...]) -> None:
        # The dispatcher's overdue sweep, between requests (its thread is off: writing on its
        # own clock it would land inside a request's before/after and look like its change).
        sweep_overdue(self.store)
        before = snapshot(self.store)
        done = getattr(self, op[0])(*op[1:])
        if done is None:
            self.log.append(f"{op} → not sent ({self.clock.now:%d %H:%M})")
            return
        token, answer = done
        status = answer.status_code
        self.outcomes[(op[0], status)] += 1
        self.log.append(f"{op} → {status} ({self.clock.now:%d %H:%M}) {answer.text[:120]}")
        where = "\n  ".join(self.log)
        assert status < 500, f"{op}: {status} {answer.text}\n  {where}"
        assert status in (200, 201, 202, 400, 404, 409, 422), f"{op}: {status} {answer.text}"
        after = snapshot(self.store)
        old, new = before["audit_log"], after["audit_log"]
        assert new[: len(old)] == old, f"{op}: an audit entry changed or vanished"
        added = new[len(old) :]
        changed = sorted(t for t in after if t != "audit_log" and after[t] != before[t])
        if status >= 400:
            assert not changed and not added, (
                f"{op} was refused ({status}: {answer.text[:200]}) but changed "
                f"{changed} and added {len(added)} audit entries\n  {where}"
            )
            return
        assert bool(changed) == bool(added), (
            f"{op} ({status}) changed {changed or 'nothing'} and added {len(added)} audit "
            f"entries\n  {where}"
        )
        columns = list(AuditEntry.__table__.c.keys())
        for row in added:
            entry = dict(zip(columns, row, strict=True))
            assert entry["actor"] == token.label, f"{op}: {entry} not by {token.label}"
            assert entry["at"] == self.clock.now, f"{op}: {entry} not dated {self.clock.now}"


@contextlib.contextmanager
def fresh_app(kind: str, folder: Path, clock: Clock) -> Iterator[tuple[Store, TestClient]]:
    """A new data folder and database (a new PostgreSQL schema), the data imported, and a
    client of the API on them."""
    with database_url(kind, prefix="audit") as url:
        data = write_small_dataset(folder / "data")
        store = open_store(data, url, solver_time_limit_s=10.0, now=clock)
        try:
            config = Settings(data=data, database_url=url, notify_dispatch=False)
            with TestClient(create_app(config, store=store)) as client:
                yield store, client
        finally:
            store.dispose()


def test_random_sequences_keep_the_audit_log_and_the_database_in_agreement(
    db_url: str | None, tmp_path: Path
) -> None:
    """Each example: a fresh store, a sequence of operations, every step and the end checked."""
    kind = "sqlite" if db_url is None else "postgresql"
    outcomes: Counter[tuple[str, int]] = Counter()

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows its steps
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(ops=SEQUENCES)
    def replay(ops: list[tuple[Any, ...]]) -> None:
        clock = Clock()
        with (
            tempfile.TemporaryDirectory(dir=tmp_path) as folder,
            fresh_app(kind, Path(folder), clock) as (store, client),
        ):
            run = Replay(store, client, clock, make_tokens(store))
            try:
                for op in [FIRST, *ops]:
                    run.step(op)
                assert_audited(store, run.log)
            finally:
                outcomes.update(run.outcomes)

    replay()
    print("outcomes (operation, status):", sorted(outcomes.items()))
    # The sequences reached the interesting paths: each kind of operation was accepted
    # (and some refused) at least once over the examples.
    accepted = {op for (op, status) in outcomes if status < 400}
    wanted = {"consult", "approve", "override", "withdraw", "release", "ack", "report"}
    wanted |= {"submit", "review"}
    assert wanted <= accepted, f"never accepted: {wanted - accepted}; outcomes {outcomes}"
    assert any(status >= 400 for (_op, status) in outcomes), outcomes


# ----------------------------------------------------------------------------- crash


def ack_all(server: Server, secret: str, stop: threading.Event, errors: list[str]) -> None:
    """The enterprise acknowledges its issued orders in a loop until ``stop`` or a crash."""
    with server.client(secret, timeout_s=30) as client:
        while not stop.is_set():
            try:
                for order in client.get("/orders").json():
                    if order["status"] == "issued":
                        answer = client.post(f"/orders/{order['id']}/ack")
                        if answer.status_code not in (200, 409):
                            errors.append(f"ack {answer.status_code}: {answer.text[:200]}")
            except httpx.TransportError:
                return  # the server is gone


def check_crashed(data_dir: Path, db_url: str | None) -> None:
    store = open_store_as_is(data_dir, db_url)
    try:
        assert_audited(store)
    finally:
        store.dispose()


def test_the_audit_log_survives_a_crash(
    server_factory: ServerFactory, data_dir: Path, db_url: str | None
) -> None:
    """Approvals, consultations and acknowledgements, SIGKILL in the middle: what the
    database holds is audited, whatever was in flight."""
    planner = cli_token(data_dir, db_url, "planner")
    steel = cli_token(data_dir, db_url, "enterprise", "JY-P001")
    server = server_factory().start()
    response_id = open_response(server, planner)
    acks = Acknowledged()
    with server.client(planner) as client:
        first = client.post(f"/responses/{response_id}/approve")
        assert first.status_code == 200, first.text
        acks.add(first.json())

    # 1: planners override and approve, the enterprise acknowledges; killed after 6 more.
    stop = threading.Event()
    errors: list[str] = []
    acker = threading.Thread(target=ack_all, args=(server, steel, stop, errors))
    acker.start()
    try:
        burst(server, planner, response_id, acks, kill_after=len(acks.approvals) + 6)
    finally:
        stop.set()
        acker.join(timeout=60)
    assert acks.errors == [] and errors == []
    check_crashed(data_dir, db_url)
    assert_kept(check_response(data_dir, db_url, response_id), acks.approvals)

    # 2: a consultation upgrades (approving its plan itself) while the enterprise
    # acknowledges; killed as soon as it answers.
    server.start()
    stop = threading.Event()
    acker = threading.Thread(target=ack_all, args=(server, steel, stop, errors))
    acker.start()
    try:
        with server.client(planner) as client:
            upgrade = client.post("/consultations", json=red())
        server.kill()
    finally:
        stop.set()
        acker.join(timeout=60)
    assert errors == []
    assert upgrade.status_code == 200, upgrade.text
    assert upgrade.json()["action"] == "upgraded", upgrade.json()
    check_crashed(data_dir, db_url)
    state = check_response(data_dir, db_url, response_id)
    assert state.approved_plan == upgrade.json()["plan_version"], "the upgrade's approval lost"

    # 3: restarted, the planner releases; killed at once.
    server.start()
    with server.client(planner) as client:
        released = client.post(f"/responses/{response_id}/release", json={"note": "crash"})
    server.kill()
    assert released.status_code == 200, released.text
    check_crashed(data_dir, db_url)
