"""Who may do what: roles, actions and the one role matrix every route and page uses.

The matrix :data:`PERMISSIONS` is the single source of truth; the API declares one action
per route and a test walks the matrix over every route and role. An enterprise may act
only on its own resources; another enterprise's resource is reported as not found, so that
ids cannot be enumerated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from emergency.service.errors import Forbidden, NotFound


class Role(StrEnum):
    admin = "admin"
    consultation = "consultation"
    planner = "planner"
    inspector = "inspector"
    enterprise = "enterprise"
    meter = "meter"
    """A data gateway (the power utility's, a gate system's): posts readings and records."""


class Action(StrEnum):
    consult = "consult"
    read_consultations = "consultations.read"
    read_responses = "responses.read"
    override = "responses.override"
    approve = "responses.approve"
    release = "responses.release"
    read_orders = "orders.read"
    ack_order = "orders.ack"
    report_order = "orders.report"
    read_compliance = "compliance.read"
    read_enterprises = "enterprises.read"
    read_plan = "plans.read"
    write_plan = "plans.write"
    review_plan = "plans.review"
    plan_season = "season.plan"
    approve_season = "season.approve"
    read_audit = "audit.read"
    subscribe = "subscriptions.manage"
    write_meters = "meters.write"
    write_gates = "gates.write"
    read_supervision = "supervision.read"
    manage_tasks = "tasks.manage"
    write_observations = "observations.write"
    read_verification = "verification.read"


R = Role
PERMISSIONS: Mapping[Action, frozenset[Role]] = {
    Action.consult: frozenset({R.consultation, R.planner}),
    Action.read_consultations: frozenset({R.consultation, R.planner, R.inspector}),
    Action.read_responses: frozenset({R.planner, R.inspector}),
    Action.override: frozenset({R.planner}),
    Action.approve: frozenset({R.planner}),
    Action.release: frozenset({R.planner}),
    Action.read_orders: frozenset({R.enterprise, R.planner, R.inspector}),
    Action.ack_order: frozenset({R.enterprise}),
    Action.report_order: frozenset({R.enterprise}),
    Action.read_compliance: frozenset({R.planner, R.inspector}),
    Action.read_enterprises: frozenset({R.planner, R.admin}),
    Action.read_plan: frozenset({R.planner, R.admin, R.enterprise}),
    Action.write_plan: frozenset({R.planner, R.admin, R.enterprise}),
    Action.review_plan: frozenset({R.planner}),
    Action.plan_season: frozenset({R.planner}),
    Action.approve_season: frozenset({R.planner}),
    Action.read_audit: frozenset({R.admin}),
    Action.subscribe: frozenset({R.admin, R.enterprise}),
    Action.write_meters: frozenset({R.meter, R.admin}),
    Action.write_gates: frozenset({R.meter, R.admin, R.enterprise}),
    Action.read_supervision: frozenset({R.planner, R.inspector}),
    Action.manage_tasks: frozenset({R.planner, R.inspector}),
    Action.write_observations: frozenset({R.consultation, R.admin}),
    Action.read_verification: frozenset({R.consultation, R.planner, R.inspector}),
}
"""Action → the roles allowed to do it. Enterprises: only on their own resources."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: a token holder, the command line or the service itself.

    Attributes
    ----------
    name : display name (the token's name, ``cli``, ``system``).
    role : the role; None for the command line and the system (they pass every check).
    enterprise_id : the enterprise a token of role ``enterprise`` is bound to.
    token_id : the token's id, when acting through the API.
    """

    name: str
    role: Role | None = None
    enterprise_id: str | None = None
    token_id: int | None = None

    @property
    def label(self) -> str:
        """How the audit log names the actor: ``planner:Li Wei#3``."""
        if self.role is None:
            return self.name
        tail = f"#{self.token_id}" if self.token_id is not None else ""
        bound = f"@{self.enterprise_id}" if self.enterprise_id else ""
        return f"{self.role.value}:{self.name}{bound}{tail}"

    @property
    def is_enterprise(self) -> bool:
        return self.role is Role.enterprise


SYSTEM = Actor("system")
CLI = Actor("cli")


def allowed(actor: Actor, action: Action) -> bool:
    """Whether ``actor``'s role may do ``action`` at all."""
    return actor.role is None or actor.role in PERMISSIONS[action]


def require(actor: Actor, action: Action) -> None:
    """Raise :class:`Forbidden` unless ``actor``'s role may do ``action``."""
    if not allowed(actor, action):
        role = actor.role.value if actor.role else "?"
        raise Forbidden(f"role {role!r} may not do {action.value}")


def require_own(actor: Actor, enterprise_id: str, what: str) -> None:
    """An enterprise sees only its own resources; others are 'not found'."""
    if actor.is_enterprise and actor.enterprise_id != enterprise_id:
        raise NotFound(f"{what} not found")
