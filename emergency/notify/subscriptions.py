"""Subscriptions: a webhook, an email address or a mobile number, registered by an admin
(for any enterprise, or none: the city's warning events) or by an enterprise for itself;
listed without their secrets; deleted. Email and SMS only where the server has an SMTP
server or an SMS gateway configured.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets as secrets_module
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency.contacts import email_address, mobile_number
from emergency.errors import InputError
from emergency.notify.channels import EMAIL, SMS, WEBHOOK
from emergency.service.access import Action, Actor, Role, require, require_own
from emergency.service.audit import record
from emergency.service.errors import Forbidden, NotFound
from emergency.service.uow import commit
from emergency.settings import Settings
from emergency.store.db import store_of
from emergency.store.models import Subscription

MAX_TARGET = 2000


class SubscriptionIn(BaseModel):
    """Where to send the events: a webhook (signed with the secret), an email address or a
    mobile number."""

    channel: Literal["webhook", "email", "sms"] = "webhook"
    target: str = Field(
        max_length=MAX_TARGET,
        description="webhook: an https:// URL (http:// only where the server allows "
        "private targets); email: an address; sms: a mainland mobile number",
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="webhooks: signs the bodies (HMAC-SHA256); one is made and shown once if "
        "none is given; not used by email and SMS",
    )
    enterprise: str | None = Field(
        default=None,
        max_length=100,
        description="the enterprise whose orders it receives; none: the city's warning "
        "events only (admins); an enterprise token may name only itself",
    )


class SubscriptionView(BaseModel):
    id: int
    channel: str
    target: str
    enterprise: str | None
    created_at: dt.datetime
    created_by: str
    secret: str | None = Field(
        default=None, description="only in the answer that created it, when the server made it"
    )


def check_target(target: str, *, private: bool = False) -> str:
    """An absolute http(s) URL with a host; else :class:`InputError`. Unless ``private``,
    a host that is a non-public address (or ``localhost``) is refused too (names are
    resolved and checked again at each delivery: :func:`emergency.notify.dispatch.public_only`),
    and so is plain ``http://``: a public webhook is ``https://``."""
    target = target.strip()
    try:
        parts = urlsplit(target)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InputError("subscription: target: not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise InputError("subscription: target: must be an http:// or https:// URL")
    if not parts.hostname or any(c.isspace() for c in target):
        raise InputError("subscription: target: must name a host")
    if port == 0:
        raise InputError("subscription: target: port 0")
    if not private and not_public(parts.hostname):
        raise InputError(f"subscription: target: {parts.hostname} is not a public address")
    if not private and parts.scheme == "http":
        # Orders cross the internet: the signature proves who sent them, TLS keeps them
        # from being read on the way. Plain http only inside a city's own network.
        raise InputError(
            "subscription: target: a public webhook must be https:// "
            "(http:// only where the server allows private targets)"
        )
    return target


def check_email(target: str) -> str:
    """An email address (no display name, no spaces or line breaks); else InputError."""
    found = email_address(target)
    if found is None:
        raise InputError("subscription: target: not an email address")
    return found


def check_mobile(target: str) -> str:
    """A mainland mobile number, as its 11 digits; else InputError."""
    found = mobile_number(target)
    if found is None:
        raise InputError("subscription: target: not a mobile number (11 digits, 13…–19…)")
    return found


def check_channel_target(channel: str, target: str, config: Settings) -> str:
    """The target checked (and normalised) for its channel; a channel the server cannot
    send on is refused."""
    if channel == EMAIL:
        if not config.smtp_host:
            raise InputError("subscription: channel: email is not configured on this server")
        return check_email(target)
    if channel == SMS:
        if not config.sms_url:
            raise InputError("subscription: channel: SMS is not configured on this server")
        return check_mobile(target)
    return check_target(target, private=config.notify_private_targets)


def not_public(host: str) -> bool:
    """Whether ``host`` (a name or an address) is ``localhost`` or an address that is not
    global: loopback, private, link-local, multicast, reserved or unspecified."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: resolved and checked when delivering
    if not address.is_global or address.is_multicast:
        return True
    # An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64's 64:ff9b::/96,
    # the old compatible ::a.b.c.d) reaches that IPv4 address through a gateway: judged by it.
    return any(not_public(str(inner)) for inner in _embedded_ipv4(address))


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    """The IPv4 addresses an IPv6 address carries (none for an IPv4 address)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    inner = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        inner += list(address.teredo)
    if address in NAT64 or int(address) >> 32 == 0:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [str(a) for a in inner if a is not None]


def _view(sub: Subscription, secret: str | None = None) -> SubscriptionView:
    return SubscriptionView(
        id=sub.id,
        channel=sub.channel,
        target=sub.target,
        enterprise=sub.enterprise_id,
        created_at=sub.created_at,
        created_by=sub.created_by,
        secret=secret,
    )


def create_subscription(session: Session, actor: Actor, body: SubscriptionIn) -> SubscriptionView:
    """Register a webhook; an enterprise only for itself (another: :class:`Forbidden`)."""
    require(actor, Action.subscribe)
    enterprise = body.enterprise
    if actor.is_enterprise:
        if enterprise is not None and enterprise != actor.enterprise_id:
            raise Forbidden("an enterprise may subscribe only for itself")
        enterprise = actor.enterprise_id
    elif enterprise is not None:
        from emergency.service.planning import loaded_data

        if enterprise not in loaded_data(session).dataset.by_id:
            raise InputError(f"subscription: enterprise: no enterprise {enterprise!r}")
    target = check_channel_target(body.channel, body.target, store_of(session).config)
    made = body.secret is None and body.channel == WEBHOOK
    if body.channel != WEBHOOK:
        secret = ""
    else:
        secret = secrets_module.token_urlsafe(32) if body.secret is None else body.secret
    sub = Subscription(
        channel=body.channel,
        target=target,
        secret=secret,
        enterprise_id=enterprise,
        created_at=store_of(session).config.now(),
        created_by=actor.label,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        actor,
        "subscription.create",
        f"subscription:{sub.id}",
        None,
        {"channel": sub.channel, "target": sub.target, "enterprise": sub.enterprise_id},
    )
    commit(session)
    return _view(sub, secret if made else None)


def list_subscriptions(session: Session, actor: Actor) -> list[SubscriptionView]:
    """Active subscriptions (an enterprise: its own), without their secrets."""
    require(actor, Action.subscribe)
    query = select(Subscription).where(Subscription.deleted_at.is_(None))
    if actor.is_enterprise:
        query = query.where(Subscription.enterprise_id == actor.enterprise_id)
    return [_view(s) for s in session.scalars(query.order_by(Subscription.id))]


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> SubscriptionView:
    """End a subscription; its pending notifications fail (another's: not found)."""
    require(actor, Action.subscribe)
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.deleted_at is not None:
        raise NotFound(f"subscription {subscription_id} not found")
    if actor.role is Role.enterprise:
        require_own(actor, sub.enterprise_id or "", f"subscription {subscription_id}")
    sub.deleted_at = store_of(session).config.now()
    record(
        session,
        actor,
        "subscription.delete",
        f"subscription:{sub.id}",
        {"target": sub.target, "enterprise": sub.enterprise_id},
        None,
    )
    commit(session)
    return _view(sub)
