"""The season's planned sources, quota rows and the context every group's model reads.

Shared by the schedule (:mod:`emergency.season.schedule`) and its warm start
(:mod:`emergency.season.warmstart`).
"""

from __future__ import annotations

from dataclasses import dataclass

from emergency.instance import Option
from emergency.season.model import SeasonInput


@dataclass
class SeasonLine:
    id: str
    value_added_yuan_d: float
    restart_cost_yuan: float
    min_stop_days: int


@dataclass
class SeasonSource:
    """A planned source over the season: its lines, measures and allowed choices per day."""

    id: str
    industry: str
    lines: list[SeasonLine]
    options: tuple[Option, ...]
    floor: list[int]
    allowed: list[tuple[int, ...]]
    exempt: str | None

    def load(self, m: int, li: int) -> float:
        return self.options[m].loads[li]


@dataclass
class QuotaRow:
    """One row of a quota: a line's stop days, or an output cut of a group of lines."""

    quota: int
    label: str
    """``source/line`` (stop days), ``source`` (per firm) or ``all`` (output cut)."""
    members: list[tuple[int, int]]
    """(source index, line index)."""
    required: float
    """Days, or yuan of lost value added over the season."""


@dataclass
class Context:
    """What every group's model reads: the sources, quota rows, couplings, shares."""

    inp: SeasonInput
    sources: list[SeasonSource]
    rows: list[QuotaRow]
    edges: list[tuple[tuple[int, int], tuple[int, int], float]]
    shares: dict[str, tuple[float, list[int], float]]
    """industry → (minimum share, member sources, normal value added a day)"""
    weights: list[list[float]]
    """source → option → Σ_pollutants cut / city baseline"""
    n: int
    first: int
    """The first planned day (days before it are settled)."""
    reach: list[list[tuple[int, ...]]] | None = None
    """Per source and day, the measures allowed before supply couplings narrowed them
    (:func:`emergency.season.split.fix_suppliers`): running shares are capped at what
    these allow, so a coupling that holds an industry below its share shows as short."""

    def allowed_before(self, s: int, d: int) -> tuple[int, ...]:
        return (self.reach or [src.allowed for src in self.sources])[s][d]
