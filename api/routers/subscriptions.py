"""Subscriptions — webhook, email, SMS — (admins, or an enterprise for itself) and the
deliveries of an order and of a response per recipient (planners, inspectors). See
docs/NOTIFY.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from api.deps import MAX_ID, CanReadResponses, CanSubscribe, Id, SessionDep
from emergency.notify.deliveries import (
    OrderDeliveries,
    ResponseDeliveries,
    order_deliveries,
    response_deliveries,
)
from emergency.notify.subscriptions import (
    SubscriptionIn,
    SubscriptionView,
    create_subscription,
    delete_subscription,
    list_subscriptions,
)

router = APIRouter(tags=["notifications"])

EXAMPLE = {
    "channel": "webhook",
    "target": "https://ops.example-steel.cn/emergency/hook",
    "secret": "a-long-random-shared-secret-0123456789",
    "enterprise": "JY-P001",
}


@router.post(
    "/subscriptions",
    response_model=SubscriptionView,
    status_code=201,
    summary="Register a webhook, an email address or a mobile number (an enterprise: for itself)",
)
def post_subscription(
    session: SessionDep,
    actor: CanSubscribe,
    body: Annotated[SubscriptionIn, Body(openapi_examples={"webhook": {"value": EXAMPLE}})],
) -> SubscriptionView:
    """Webhook events are POSTed as JSON, signed (`X-Emergency-Signature`); without
    `secret` the server makes one and shows it in this answer only, never again. Email
    and SMS only where the server has SMTP or an SMS gateway (else 400). An enterprise
    naming another enterprise gets 403."""
    return create_subscription(session, actor, body)


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionView],
    summary="Subscriptions (an enterprise: its own); no secrets",
)
def get_subscriptions(session: SessionDep, actor: CanSubscribe) -> list[SubscriptionView]:
    return list_subscriptions(session, actor)


@router.delete(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    summary="End a subscription (an enterprise: its own)",
)
def remove_subscription(
    session: SessionDep,
    actor: CanSubscribe,
    subscription_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> SubscriptionView:
    """The subscription as it was; its notifications not yet delivered fail unsent.
    Another enterprise's: 404."""
    return delete_subscription(session, actor, subscription_id)


@router.get(
    "/orders/{order_id}/deliveries",
    response_model=OrderDeliveries,
    summary="What of an order reached its enterprise",
)
def get_deliveries(session: SessionDep, actor: CanReadResponses, order_id: Id) -> OrderDeliveries:
    """Every notification of the order (per recipient and channel) with its attempts;
    `unreached` flags an order still unacknowledged and undelivered after
    `notify_unreached_minutes`."""
    return order_deliveries(session, actor, order_id)


@router.get(
    "/responses/{response_id}/deliveries",
    response_model=ResponseDeliveries,
    summary="What of a response reached whom: per recipient and channel",
)
def get_response_deliveries(
    session: SessionDep, actor: CanReadResponses, response_id: Id
) -> ResponseDeliveries:
    """Every recipient of the response's notifications (its warning events and its
    orders'): per channel, how many were delivered, are pending or failed, the attempts,
    the last error; and the orders not reached."""
    return response_deliveries(session, actor, response_id)
