"""Orders: enterprises list, acknowledge and report; planners and inspectors read all."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.caching import NOT_MODIFIED, etag_matches, not_modified, tag
from api.deps import (
    MAX_ID,
    CanAck,
    CanReadOrders,
    CanReport,
    Id,
    OrdersBearer,
    SessionDep,
    StoreDep,
)
from api.streams import order_stream
from emergency.errors import InputError
from emergency.service.order_poll import OrderFilter, poll_list, poll_tag
from emergency.service.orders import (
    acknowledge,
    add_report,
    get_order,
    list_reports,
)
from emergency.service.views import OrderView, ReportIn, ReportView
from emergency.vocabulary import OrderStatus

router = APIRouter(prefix="/orders", tags=["orders"])


REPORT_EXAMPLE = {
    "at": "2016-12-16T17:00:00+08:00",
    "load": 0.3,
    "electricity_kwh": 41000,
    "baseline_electricity_kwh": 135000,
    "note": "sinter machine stopped at 00:00; blast furnace at half load",
}


# The two order reads are what enterprises poll: ``async`` keeps them on the event loop
# (their one or two indexed queries are shorter than a hop to a worker thread). Everything
# that may run long (consultations re-plan) stays a plain ``def`` in the thread pool.
@router.get(
    "",
    response_model=list[OrderView],
    summary="Orders (an enterprise: its own)",
    responses={304: NOT_MODIFIED},
)
async def get_orders(
    request: Request,
    answer: Response,
    session: SessionDep,
    secret: OrdersBearer,
    response: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only this response's")
    ] = None,
    source: Annotated[str | None, Query(description="only this source's")] = None,
    status: OrderStatus | None = None,
    kind: Annotated[
        Literal["response", "staggered"] | None,
        Query(description="response: a response's; staggered: the season plan's"),
    ] = None,
) -> list[OrderView]:
    """Oldest first. `current` marks the orders in force; a superseded order names the
    order that replaced it (`superseded_by`). The answer carries an `ETag`: a poll that
    sends it back in `If-None-Match` gets 304 with no body while nothing it would list has
    changed. One database statement per poll (the token is checked in it): two when an
    `If-None-Match` poll finds a change."""
    wanted = OrderFilter(response_id=response, source=source, status=status, kind=kind)
    sent = request.headers.get("if-none-match")
    if sent:
        tagged = poll_tag(session, secret, wanted)
        if etag_matches(sent, tagged.etag):
            return not_modified(tagged.etag)  # type: ignore[return-value]
    poll = poll_list(session, secret, wanted)
    tag(answer, poll.etag)
    assert poll.orders is not None
    return poll.orders


@router.get(
    "/stream",
    summary="Order events as they happen (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an endless stream"}},
)
async def stream_orders(
    request: Request,
    store: StoreDep,
    actor: CanReadOrders,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="resume after this event (browsers send it when they reconnect)",
        ),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=2**63 - 1, description="start after this event id (0: all history)"),
    ] = None,
) -> StreamingResponse:
    """Each entry of an order's history (`order.issued`, `order.acknowledged`,
    `order.reported`, `order.superseded`, `order.lifted`, `order.ack_overdue`) as an SSE
    event whose `id` only grows: an enterprise gets its own orders' events, planners and
    inspectors every one. Without `Last-Event-ID` or `after` the stream starts now. The
    stream ends after `stream_max_minutes`, when the token is revoked or expires, or when
    the client falls far behind; clients reconnect with `Last-Event-ID` and miss nothing."""
    start = after
    if last_event_id is not None:
        if not last_event_id.strip().isdigit() or len(last_event_id.strip()) > 18:
            raise InputError("Last-Event-ID: must be an event id (a whole number)")
        start = int(last_event_id.strip())
    return StreamingResponse(
        order_stream(request, store, actor, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{order_id}", response_model=OrderView, summary="One order with its history")
async def get_one_order(session: SessionDep, actor: CanReadOrders, order_id: Id) -> OrderView:
    return get_order(session, actor, order_id)


@router.post("/{order_id}/ack", response_model=OrderView, summary="Acknowledge an order")
def post_ack(session: SessionDep, actor: CanAck, order_id: Id) -> OrderView:
    """The enterprise confirms receipt (idempotent; 409 once superseded or lifted)."""
    return acknowledge(session, actor, order_id)


@router.post(
    "/{order_id}/reports",
    response_model=ReportView,
    status_code=201,
    summary="Report load and electricity under an order",
)
def post_report(
    session: SessionDep,
    actor: CanReport,
    order_id: Id,
    body: Annotated[ReportIn, Body(openapi_examples={"daily": {"value": REPORT_EXAMPLE}})],
) -> ReportView:
    """Acknowledge the order first (409 before). `at` (with a UTC offset) must fall in the
    order's period — from its first day 00:00 (+08:00) to the end of its last day plus the
    report deadline (`report_grace_hours`, 24 h) — else 409; after the server's clock
    (5 minutes' leeway) it is 400."""
    return add_report(session, actor, order_id, body)


@router.get("/{order_id}/reports", response_model=list[ReportView], summary="An order's reports")
def get_reports(session: SessionDep, actor: CanReadOrders, order_id: Id) -> list[ReportView]:
    return list_reports(session, actor, order_id)
