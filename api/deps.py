"""Dependencies: the store, a session per request, the current actor and the role checks.

Each route declares the one action it performs with an ``Annotated`` alias below
(``CanApprove``, ...); :class:`Allow` checks it against the role matrix
:data:`emergency.service.access.PERMISSIONS`. :func:`route_actions` lists, for every
route, the action it declares (the role-matrix test walks it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from fastapi import Depends, FastAPI, Path, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from emergency.service.access import Action, Actor, require
from emergency.service.errors import Unauthorized
from emergency.service.tokens import MISSING_TOKEN, authenticate
from emergency.store.db import Store

MAX_ID = 2**31 - 1
"""Ids are 32-bit integers in the database (PostgreSQL ``integer``)."""

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A path id: outside 1..MAX_ID it is refused (422) before any query; a larger one made
PostgreSQL fail ("integer out of range") and SQLite overflow, a 500 either way."""


# The cheap dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a worker
# thread, and those hops (four per request) cost more than the short, indexed queries
# they would keep off the event loop; the route itself still runs in a thread.


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


async def get_session(store: StoreDep) -> AsyncIterator[Session]:
    """A session for the request; service flows commit their own changes."""
    with store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

bearer = HTTPBearer(auto_error=False, description="a token from `emergency token create`")


async def get_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The token holder (401 without a valid token)."""
    return authenticate(session, credentials.credentials if credentials else None)


CurrentUser = Annotated[Actor, Depends(get_actor)]


class Declares:
    """A dependency that declares the one action of its route (the role matrix reads it)."""

    def __init__(self, action: Action) -> None:
        self.action = action


class Allow(Declares):
    """A dependency: the current actor, if its role may do ``action`` (else 403)."""

    async def __call__(self, actor: CurrentUser) -> Actor:
        require(actor, self.action)
        return actor


class BearerFor(Declares):
    """A dependency: the bearer token as sent (401 without one), for a route that checks
    it and its role for ``action`` inside its own statement (``GET /orders``: the token,
    its actor and the orders in one SELECT)."""

    async def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> str:
        if credentials is None or not credentials.credentials:
            raise Unauthorized(MISSING_TOKEN)
        return credentials.credentials


CanConsult = Annotated[Actor, Depends(Allow(Action.consult))]
CanReadConsultations = Annotated[Actor, Depends(Allow(Action.read_consultations))]
CanReadResponses = Annotated[Actor, Depends(Allow(Action.read_responses))]
CanOverride = Annotated[Actor, Depends(Allow(Action.override))]
CanApprove = Annotated[Actor, Depends(Allow(Action.approve))]
CanRelease = Annotated[Actor, Depends(Allow(Action.release))]
CanReadOrders = Annotated[Actor, Depends(Allow(Action.read_orders))]
OrdersBearer = Annotated[str, Depends(BearerFor(Action.read_orders))]
CanAck = Annotated[Actor, Depends(Allow(Action.ack_order))]
CanReport = Annotated[Actor, Depends(Allow(Action.report_order))]
CanReadCompliance = Annotated[Actor, Depends(Allow(Action.read_compliance))]
CanReadEnterprises = Annotated[Actor, Depends(Allow(Action.read_enterprises))]
CanReadPlan = Annotated[Actor, Depends(Allow(Action.read_plan))]
CanWritePlan = Annotated[Actor, Depends(Allow(Action.write_plan))]
CanReviewPlan = Annotated[Actor, Depends(Allow(Action.review_plan))]
CanPlanSeason = Annotated[Actor, Depends(Allow(Action.plan_season))]
CanApproveSeason = Annotated[Actor, Depends(Allow(Action.approve_season))]
CanSubscribe = Annotated[Actor, Depends(Allow(Action.subscribe))]
CanSupervise = Annotated[Actor, Depends(Allow(Action.read_supervision))]
CanManageTasks = Annotated[Actor, Depends(Allow(Action.manage_tasks))]
CanWriteMeters = Annotated[Actor, Depends(Allow(Action.write_meters))]
CanWriteGates = Annotated[Actor, Depends(Allow(Action.write_gates))]
CanWriteObservations = Annotated[Actor, Depends(Allow(Action.write_observations))]
CanReadVerification = Annotated[Actor, Depends(Allow(Action.read_verification))]
AdminUser = Annotated[Actor, Depends(Allow(Action.read_audit))]
PlannerUser = CanApprove


def endpoint_action(endpoint: Callable[..., object]) -> Action | None:
    """The action an endpoint declares through one of the ``Annotated`` aliases above."""
    hints = get_type_hints(endpoint, include_extras=True)
    for hint in hints.values():
        if get_origin(hint) is not Annotated:
            continue
        for meta in get_args(hint)[1:]:
            call = getattr(meta, "dependency", None)
            if isinstance(call, Declares):
                return call.action
    return None


def route_actions(app: FastAPI) -> list[tuple[str, str, Action | None]]:
    """(method, path, action) of every API route; action None for public routes."""
    try:  # FastAPI ≥ 0.160 keeps included routers lazily
        from fastapi.routing import iter_route_contexts

        routes: Iterable[Any] = iter_route_contexts(app.routes)
    except ImportError:  # pragma: no cover
        routes = app.routes
    out = []
    for route in routes:
        endpoint, path = getattr(route, "endpoint", None), getattr(route, "path", None)
        if endpoint is None or path is None or not isinstance(route.original_route, APIRoute):
            continue
        action = endpoint_action(endpoint)
        for method in sorted(getattr(route, "methods", None) or ()):
            out.append((method, path, action))
    return out
