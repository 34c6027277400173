"""The decision as users see it (SPEC §5): the JSON object of ``emergency respond --json``.

These models are the contract between the optimiser, the CLI, the service and the pages.
Quantities carry their unit in their name: ``_kg`` (kilograms on that day), ``_yuan``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["optimal", "feasible", "short", "no_warning"]


class WarningDecision(BaseModel):
    """The warning object: ``level`` is None when no warning is due."""

    level: str | None
    advisory: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    rule_set: str
    reason: str


class PollutantAmounts(BaseModel):
    """Kilograms per pollutant."""

    so2: float = 0.0
    nox: float = 0.0
    pm: float = 0.0
    vocs: float = 0.0


class DayResult(BaseModel):
    date: dt.date
    level: str
    target_kg: PollutantAmounts
    cut_kg: PollutantAmounts
    shortfall_kg: PollutantAmounts
    reachable_kg: PollutantAmounts = Field(
        default_factory=PollutantAmounts,
        description="the largest cut reachable that day with every source at its strictest",
    )
    pooled_so2_nox: bool = False


class Assignment(BaseModel):
    source: str
    date: dt.date
    measure: str
    measure_name: str = ""
    floor: str
    deepened: bool
    fixed: Literal["", "guaranteed", "protected_grade", "override", "exempt", "state"] = ""
    cut_kg: PollutantAmounts
    cost_yuan: float
    restart_cost_yuan: float = 0.0
    why: str


class ResponsePlan(BaseModel):
    """A least-cost curtailment list for a response."""

    warning: WarningDecision
    status: Status
    total_cost_yuan: float = 0.0
    floor_cost_yuan: float = 0.0
    bound_yuan: float = 0.0
    gap: float = 0.0
    solve_seconds: float = 0.0
    days: list[DayResult] = Field(default_factory=list)
    marginal_cost_yuan_per_kg: PollutantAmounts = Field(default_factory=PollutantAmounts)
    assignments: list[Assignment] = Field(default_factory=list)
