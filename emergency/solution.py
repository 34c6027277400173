"""The decision as users see it (docs/FORMATS.md): the JSON of ``emergency respond --json``.

These models are the contract between the optimiser, the CLI, the service and the pages.
Quantities carry their unit in their name: ``_kg`` (kilograms on that day), ``_yuan``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from emergency.vocabulary import Fixed, PlanStatus


class WarningDay(BaseModel):
    """One forecast day as the warning decision read it."""

    date: dt.date
    aqi: int = Field(description="the daily AQI that decided (range end per the rule set)")
    aqi_range: tuple[int, int] | None = Field(
        default=None, description="the forecast range [low, high], when one was given"
    )
    category: str = Field(description="AQI band key: excellent, good, light, ..., severe")
    category_zh: str = ""
    primary: list[str] = Field(default_factory=list)
    off_scale: bool = False
    level: str | None = Field(default=None, description="warning level in force that day")


class EpisodeView(BaseModel):
    """One episode of a forecast: days meeting the rule set's episode bound (short clean
    gaps merged) and what they reach."""

    start: dt.date
    end: dt.date
    level: str | None = Field(description="the level it reaches (null: none)")
    advisory: bool = Field(description="it reaches only the health advisory")
    peak_aqi: int
    reason: str
    reason_zh: str = Field(default="", description="the reason in Chinese ('' in older plans)")


class WarningDecision(BaseModel):
    """The warning object: ``level`` is None when no warning is due.

    ``level``, ``start`` and ``end`` are those of the first episode that reaches a level —
    the one to respond to now; ``episodes`` lists every episode of the forecast in order,
    later ones as forecast to come.
    """

    level: str | None
    advisory: bool = False
    start: dt.date | None = None
    end: dt.date | None = None
    rule_set: str
    reason: str
    reason_zh: str = Field(default="", description="the reason in Chinese ('' in older plans)")
    regional_order: str | None = Field(
        default=None, description="the level ordered by the province, as applied"
    )
    release_ok: bool = Field(
        default=False,
        description="the forecast stays at or below the lowest condition for the rule set's "
        "release hours from its first day: a warning in force may be released",
    )
    days: list[WarningDay] = Field(default_factory=list)
    episodes: list[EpisodeView] = Field(default_factory=list)
    start_at: dt.datetime | None = Field(
        default=None,
        description="when it takes effect, in the city's time (+08:00): the forecast's "
        "effective_at on the first day, else 00:00 of that day",
    )
    end_at: dt.datetime | None = Field(
        default=None, description="when it ends: 24:00 of its last day, in the city's time"
    )
    late: bool = Field(
        default=False,
        description="issued less than the rule set's lead_hours before the start: publish at once",
    )
    late_reason: str = ""


class PollutantAmounts(BaseModel):
    """Kilograms per pollutant."""

    so2: float = 0.0
    nox: float = 0.0
    pm: float = 0.0
    vocs: float = 0.0


class TargetRow(BaseModel):
    """One target constraint of a day: a pollutant, or SO2+NOx where pooled."""

    row: str
    target_kg: float = Field(description="T = cut fraction × baseline − non-listed cut")
    capped_kg: float = Field(description="the target imposed: min(T, reachable)")
    cut_kg: float
    shortfall_kg: float
    reachable_kg: float
    marginal_cost_yuan_per_kg: float = Field(
        default=0.0, description="LP-relaxation dual: cost of one more kg on this row"
    )


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
    rows: list[TargetRow] = Field(default_factory=list)


class Assignment(BaseModel):
    source: str
    date: dt.date
    measure: str
    measure_name: str = ""
    floor: str
    deepened: bool
    fixed: Fixed = Fixed.free
    cut_kg: PollutantAmounts
    cost_yuan: float
    restart_cost_yuan: float = 0.0
    why: str
    why_zh: str = Field(default="", description="the why in Chinese ('' in older plans)")
    loads: dict[str, float] | None = Field(
        default=None,
        description="load of each line under the measure (plans), as planned that day",
    )
    load_total: float | None = Field(
        default=None, description="load of the whole source, value-added weighted"
    )
    floor_cost_yuan: float | None = Field(
        default=None, description="daily cost of the floor measure, as planned that day"
    )


class ResponsePlan(BaseModel):
    """A least-cost curtailment list for a response."""

    warning: WarningDecision
    status: PlanStatus
    total_cost_yuan: float = 0.0
    floor_cost_yuan: float = 0.0
    bound_yuan: float = 0.0
    gap: float = 0.0
    solve_seconds: float = 0.0
    notes: list[str] = Field(default_factory=list)
    days: list[DayResult] = Field(default_factory=list)
    marginal_cost_yuan_per_kg: PollutantAmounts = Field(default_factory=PollutantAmounts)
    assignments: list[Assignment] = Field(default_factory=list)
