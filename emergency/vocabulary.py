"""The words the engine and the service share, each spelled once: statuses and kinds.

Each is a ``StrEnum``: its members are strings, so they compare with, are stored as, and are
written to JSON as the plain values (``"optimal"``, ``"override"``, ``"issued"``).
"""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    """How a curtailment list came out of the optimiser."""

    optimal = "optimal"
    """Proven least cost (within the solver's tolerance)."""
    feasible = "feasible"
    """Meets every target; the time limit stopped the proof (see ``gap``)."""
    short = "short"
    """Some targets cannot be met by any allowed choice; the shortfall is the least."""
    no_warning = "no_warning"
    """No level, nothing to plan."""


class Fixed(StrEnum):
    """Why a source's measure on a day is not the optimiser's free choice."""

    free = ""
    guaranteed = "guaranteed"
    """A guaranteed firm (livelihood, strategic, export): held at its floor."""
    protected_grade = "protected_grade"
    """A performance grade the city protects: held at its floor."""
    override = "override"
    """A planner forced the measure."""
    exempt = "exempt"
    """A planner exempted the source (normal operation)."""
    state = "state"
    """A line stopped earlier must stay stopped (minimum stop days)."""


HELD = (Fixed.guaranteed, Fixed.protected_grade)
"""Held at the floor by the city's rules."""
BY_PLANNER = (Fixed.override, Fixed.exempt)
"""Fixed by a planner's override."""


class ResponseStatus(StrEnum):
    open = "open"
    released = "released"


class OrderStatus(StrEnum):
    issued = "issued"
    acknowledged = "acknowledged"
    superseded = "superseded"
    lifted = "lifted"


IN_FORCE = (OrderStatus.issued, OrderStatus.acknowledged)
"""An order in force: issued, acknowledged or not yet."""


class PlanVersionStatus(StrEnum):
    """Where a submitted version of an enterprise's plan stands."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
