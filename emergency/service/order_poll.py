"""``GET /orders`` in one statement: the bearer token, its actor and the orders with their views.

An enterprise's system polls its orders every few seconds, which makes the poll the
service's most frequent request. It used to cost ten statements (the token, the ETag's
aggregate, the data folder's digests, the orders, their history, report counts, plan
version numbers, seasons, the digests again, the warnings) and on PostgreSQL a BEGIN and a
ROLLBACK around them. Now:

- :func:`poll_tag`: the token and the fingerprint of the list (the ETag), one SELECT — a
  poll whose ``If-None-Match`` still matches ends here (304);
- :func:`poll_list`: the token, the same fingerprint and the orders joined with their
  history, report counts, plan version numbers, seasons and warning start, one SELECT
  (a row per order and history entry, grouped here).

The token is checked inside the statement (unknown, revoked, expired or of a role that may
not read orders: no order is joined) and again here on the columns it returns, by the same
:func:`emergency.service.tokens.token_holder` as every other request; an enterprise's
token joins only its own orders. On PostgreSQL both run without a transaction (no BEGIN
and ROLLBACK round trips; a statement is one snapshot), and a pooled connection is not
checked before each use (emergency.store.db.PING_AFTER_IDLE_S): a poll is one round trip,
run once more if its connection was cut. The ETag sent with a list is computed by the
statement that read the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, and_, bindparam, func, or_, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from emergency.service.access import PERMISSIONS, Action, Actor, Role, require
from emergency.service.etags import etag
from emergency.service.orders import view_of
from emergency.service.tokens import hash_token, token_holder
from emergency.service.views import OrderEventView, OrderView
from emergency.store.datafiles import loaded_for_key, stored_key
from emergency.store.db import store_of
from emergency.store.models import ApiToken, Order, OrderEvent, Report, Response, ResponsePlanRow
from emergency.store.models import SeasonPlan as SeasonPlanRow

ResultRow = Any
"""A row of one of the statements below, read by the names its columns are labelled with."""

READERS = sorted(role.value for role in PERMISSIONS[Action.read_orders])


@dataclass(frozen=True)
class OrderFilter:
    """What ``GET /orders`` narrows the list to (None or '': no narrowing)."""

    response_id: int | None = None
    source: str | None = None
    status: str | None = None
    kind: str | None = None


@dataclass
class Poll:
    """A poll's answer: who asked, the list's ETag and (from :func:`poll_list`) the list."""

    actor: Actor
    etag: str
    orders: list[OrderView] | None = None


# The statements are built once per shape (which filters, which database) with bound
# parameters: building them per request cost more CPU than running them.
Shape = tuple[str, bool, bool, bool, bool]
"""The database's dialect, and whether kind, response, source and status narrow the list."""


def _shape(session: Session, f: OrderFilter) -> Shape:
    return (
        session.get_bind().dialect.name,
        bool(f.kind),
        f.response_id is not None,
        bool(f.source),
        bool(f.status),
    )


def _parameters(session: Session, secret: str, f: OrderFilter) -> dict[str, Any]:
    return {
        "token_hash": hash_token(secret),
        "now": store_of(session).config.now(),
        "kind": f.kind,
        "response_id": f.response_id,
        "source": f.source,
        "status": f.status,
    }


def _token() -> CTE:
    return (
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.role,
            ApiToken.enterprise_id,
            ApiToken.revoked_at,
            ApiToken.expires_at,
        )
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .cte("tok")
    )


def _may_read(tok: CTE) -> ColumnElement[bool]:
    """The orders a token may read: none unless it works now and its role reads orders;
    an enterprise's, only its own. (Checked again on the returned columns.)"""
    return and_(
        tok.c.revoked_at.is_(None),
        or_(tok.c.expires_at.is_(None), tok.c.expires_at > bindparam("now")),
        tok.c.role.in_(READERS),
        or_(tok.c.role != Role.enterprise.value, Order.source == tok.c.enterprise_id),
    )


def _narrowed(shape: Shape) -> list[ColumnElement[bool]]:
    _dialect, kind, response, source, status = shape
    where: list[ColumnElement[bool]] = []
    if kind:
        where.append(Order.kind == bindparam("kind"))
    if response:
        where.append(Order.response_id == bindparam("response_id"))
    if source:
        where.append(Order.source == bindparam("source"))
    if status:
        where.append(Order.status == bindparam("status"))
    return where


def _fingerprint(chosen: CTE, dialect: str) -> list[Any]:
    """What the ETag is made of (the chosen orders' number, ids and versions — an order's
    every change bumps its version —, the newest entry of their history and of their
    reports, their responses' versions — a warning's start hour shows in the orders — and
    the data folder's content address — the sources' names): the same columns in both
    statements, so a list and a later poll of the same state get the same ETag."""
    ids = select(chosen.c.id)
    return [
        select(func.count()).select_from(chosen).scalar_subquery().label("fp_count"),
        select(func.coalesce(func.max(chosen.c.id), 0)).scalar_subquery().label("fp_max_id"),
        select(func.coalesce(func.sum(chosen.c.version), 0)).scalar_subquery().label("fp_versions"),
        select(func.max(OrderEvent.id))
        .where(OrderEvent.order_id.in_(ids))
        .scalar_subquery()
        .label("fp_event"),
        select(func.max(Report.id))
        .where(Report.order_id.in_(ids))
        .scalar_subquery()
        .label("fp_report"),
        select(func.sum(Response.version))
        .where(Response.id.in_(select(chosen.c.response_id)))
        .scalar_subquery()
        .label("fp_responses"),
        stored_key(dialect).label("data_key"),
    ]


FINGERPRINT = ("fp_count", "fp_max_id", "fp_versions", "fp_event", "fp_report", "fp_responses")


def _token_columns(tok: CTE) -> list[Any]:
    return [
        tok.c.id.label("token_id"),
        tok.c.name.label("token_name"),
        tok.c.role.label("token_role"),
        tok.c.enterprise_id.label("token_enterprise"),
        tok.c.revoked_at.label("token_revoked_at"),
        tok.c.expires_at.label("token_expires_at"),
    ]


@dataclass(frozen=True)
class _TokenColumns:
    id: int
    name: str
    role: str
    enterprise_id: str | None
    revoked_at: Any
    expires_at: Any


def _actor(session: Session, rows: Sequence[ResultRow]) -> Actor:
    """The token's actor from the first row (401 without one, 403 for a role that may not
    read orders)."""
    r = rows[0] if rows else None
    token = (
        _TokenColumns(
            r.token_id,
            r.token_name,
            r.token_role,
            r.token_enterprise,
            r.token_revoked_at,
            r.token_expires_at,
        )
        if r is not None
        else None
    )
    actor = token_holder(token, store_of(session).config.now())
    require(actor, Action.read_orders)
    return actor


def _etag(row: ResultRow, actor: Actor) -> str:
    return etag(*(getattr(row, name) for name in (*FINGERPRINT, "data_key")), actor.label)


def _autocommit(session: Session) -> None:
    """PostgreSQL: read outside a transaction (no BEGIN and ROLLBACK round trips). A
    session already under way (the second statement of a poll) goes on as it is. (SQLite
    sends no BEGIN for a read.)"""
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _read(session: Session, statement: Select[Any], parameters: dict[str, Any]) -> list[Any]:
    """The rows of one of the statements; once more on a fresh connection if the one it
    ran on was cut (a database restarted under load: pooled connections are not checked
    before every use, emergency.store.db.PING_AFTER_IDLE_S; a read is safe to repeat)."""
    _autocommit(session)
    try:
        return list(session.execute(statement, parameters).all())
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    session.rollback()
    _autocommit(session)
    return list(session.execute(statement, parameters).all())


@cache
def _tag_statement(shape: Shape) -> Select[Any]:
    tok = _token()
    chosen = (
        select(Order.id, Order.version, Order.response_id)
        .join(tok, _may_read(tok))
        .where(*_narrowed(shape))
        .cte("chosen")
    )
    return select(*_token_columns(tok), *_fingerprint(chosen, shape[0])).select_from(tok)


@cache
def _list_statement(shape: Shape) -> Select[Any]:
    tok = _token()
    reports = (
        select(func.count(Report.id))
        .where(Report.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )
    chosen = (
        select(
            *Order.__table__.columns,
            reports.label("reports"),
            ResponsePlanRow.number.label("plan_number"),
            SeasonPlanRow.season_id.label("season"),
            SeasonPlanRow.number.label("season_number"),
            Response.warning["start"].as_string().label("warning_start"),
            Response.warning["start_at"].as_string().label("warning_start_at"),
        )
        .join(tok, _may_read(tok))
        .outerjoin(ResponsePlanRow, ResponsePlanRow.id == Order.plan_id)
        .outerjoin(SeasonPlanRow, SeasonPlanRow.id == Order.season_plan_id)
        .outerjoin(Response, Response.id == Order.response_id)
        .where(*_narrowed(shape))
        .cte("chosen")
    )
    return (
        select(
            *_token_columns(tok),
            *_fingerprint(chosen, shape[0]),
            *chosen.c,
            OrderEvent.id.label("event_id"),
            OrderEvent.at.label("event_at"),
            OrderEvent.actor.label("event_actor"),
            OrderEvent.event.label("event"),
            OrderEvent.note.label("event_note"),
        )
        .select_from(tok)
        .outerjoin(chosen, true())
        .outerjoin(OrderEvent, OrderEvent.order_id == chosen.c.id)
        .order_by(chosen.c.id, OrderEvent.id)
    )


def poll_tag(session: Session, secret: str, f: OrderFilter) -> Poll:
    """The actor and the ETag of its list, in one statement (no list).

    Raises
    ------
    Unauthorized
        An unknown, revoked or expired token.
    Forbidden
        A token whose role may not read orders.
    """
    rows = _read(session, _tag_statement(_shape(session, f)), _parameters(session, secret, f))
    actor = _actor(session, rows)
    return Poll(actor, _etag(rows[0], actor))


def poll_list(session: Session, secret: str, f: OrderFilter) -> Poll:
    """The actor, the ETag and the list (oldest first), in one statement.

    Raises
    ------
    Unauthorized, Forbidden
        As :func:`poll_tag`.
    """
    rows = _read(session, _list_statement(_shape(session, f)), _parameters(session, secret, f))
    actor = _actor(session, rows)
    names = loaded_for_key(session, rows[0].data_key).dataset.by_id
    return Poll(actor, _etag(rows[0], actor), _views(rows, names))


def _views(rows: Sequence[ResultRow], names: dict[str, Any]) -> list[OrderView]:
    """Rows of (order, history entry), ordered by order and entry, as views."""
    out: list[OrderView] = []
    first: ResultRow | None = None
    history: list[OrderEventView] = []

    def close() -> None:
        if first is None:
            return
        o = first
        out.append(
            view_of(
                o,
                plan_version=(o.plan_number if o.plan_id is not None else o.season_number) or 0,
                season=o.season,
                source_name=names[o.source].name if o.source in names else o.source,
                warning={"start": o.warning_start, "start_at": o.warning_start_at},
                reports=o.reports,
                history=history,
            )
        )

    for row in rows:
        if row.id is None:  # the token's row, no order
            continue
        if first is None or row.id != first.id:
            close()
            first, history = row, []
        if row.event_id is not None:
            history.append(
                OrderEventView(
                    at=row.event_at, actor=row.event_actor, event=row.event, note=row.event_note
                )
            )
    close()
    return out
