"""Forecast verification scores (seed item 54), in exact arithmetic.

A *pair* is one forecast day held against the AQI observed on that day. From the pairs:

- per lead day (forecast date − issue date, in days): ``n``, the bias (mean of forecast −
  observed) and the mean absolute error, a range counting as its midpoint;
- the heavy-day table (AQI > 200) and one table per warning level (the level is that
  level or a more severe one): hits, misses, false alarms, POD = hits / (hits + misses),
  FAR = false alarms / (hits + false alarms), TS = hits / (hits + misses + false alarms),
  None when the denominator is 0. Every pair counts, all leads together; a range counts
  as its rule set's ``range_end`` (the AQI the warning rules read).

Everything is a :class:`~fractions.Fraction` here; :mod:`emergency.verification.report`
rounds for output only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from emergency import LEVELS
from emergency.ruleset import LEVEL_RANK

HEAVY_ABOVE = 200
"""A heavy-pollution day (重度污染及以上): daily AQI > 200."""


@dataclass(frozen=True)
class Pair:
    """One (forecast, day): what was forecast for ``date`` and what was observed.

    Attributes
    ----------
    date : the forecast day.
    lead_days : ``date`` − the forecast's issue date (the city's time, +08:00).
    mid : the forecast AQI for bias and error: a value, or a range's midpoint.
    decided : the AQI the rule set reads (a range's ``range_end``, rounded up as HJ 633).
    observed : the observed daily AQI.
    forecast_level : the level the rule set gives the forecast's episode holding the day.
    observed_level : the level the same rule set gives the observed episode holding it.
    levels : the levels of that rule set, mild to severe.
    parties : who issued the forecast (``issued_by``).
    forecast : which forecast (a file name, ``consultation 3``).
    low, high : the forecast range (a value: both the value), for plots.
    """

    date: dt.date
    lead_days: int
    mid: Fraction
    decided: int
    observed: int
    forecast_level: str | None = None
    observed_level: str | None = None
    levels: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    forecast: str = ""
    low: Fraction | None = None
    high: Fraction | None = None


@dataclass
class Contingency:
    """A 2×2 table of a yes/no event: forecast yes/no against observed yes/no."""

    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    correct_negatives: int = 0

    def add(self, forecast: bool, observed: bool) -> None:
        if forecast and observed:
            self.hits += 1
        elif observed:
            self.misses += 1
        elif forecast:
            self.false_alarms += 1
        else:
            self.correct_negatives += 1

    @property
    def pod(self) -> Fraction | None:
        """Probability of detection: hits / (hits + misses)."""
        return _ratio(self.hits, self.hits + self.misses)

    @property
    def far(self) -> Fraction | None:
        """False-alarm ratio: false alarms / (hits + false alarms)."""
        return _ratio(self.false_alarms, self.hits + self.false_alarms)

    @property
    def ts(self) -> Fraction | None:
        """Threat score (critical success index): hits / (hits + misses + false alarms)."""
        return _ratio(self.hits, self.hits + self.misses + self.false_alarms)


@dataclass
class LeadScore:
    """Bias and mean absolute error of the pairs of one lead."""

    lead_days: int
    n: int
    bias: Fraction
    mae: Fraction


@dataclass
class Scores:
    """Every score over one set of pairs."""

    n: int
    by_lead: list[LeadScore]
    heavy: Contingency
    levels: dict[str, Contingency] = field(default_factory=dict)


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def at_least(level: str | None, threshold: str) -> bool:
    """Whether ``level`` is ``threshold`` or more severe (None: no warning)."""
    return level is not None and LEVEL_RANK[level] >= LEVEL_RANK[threshold]


def score(pairs: Iterable[Pair], levels: Sequence[str] = ()) -> Scores:
    """The scores of ``pairs``.

    ``levels``: the warning levels to tabulate (besides those of the pairs' rule sets),
    reported mild to severe. A pair counts in a level's table whatever its rule set: a
    yellow warning under a rule set without blue is still "blue or more severe".
    """
    pairs = list(pairs)
    by_lead: dict[int, list[Pair]] = defaultdict(list)
    heavy = Contingency()
    named = set(levels)
    for pair in pairs:
        by_lead[pair.lead_days].append(pair)
        heavy.add(pair.decided > HEAVY_ABOVE, pair.observed > HEAVY_ABOVE)
        named.update(pair.levels)
    tables = {level: Contingency() for level in LEVELS if level in named}
    for pair in pairs:
        for level, table in tables.items():
            table.add(at_least(pair.forecast_level, level), at_least(pair.observed_level, level))
    leads = []
    for lead in sorted(by_lead):
        group = by_lead[lead]
        errors = [p.mid - p.observed for p in group]
        leads.append(
            LeadScore(
                lead_days=lead,
                n=len(group),
                bias=sum(errors, Fraction(0)) / len(group),
                mae=sum((abs(e) for e in errors), Fraction(0)) / len(group),
            )
        )
    return Scores(n=len(pairs), by_lead=leads, heavy=heavy, levels=tables)


def by_party(pairs: Iterable[Pair], levels: Sequence[str] = ()) -> dict[str, Scores]:
    """The scores of each issuing party's pairs (a joint forecast counts for each party;
    one issued by nobody named, under ``""``)."""
    groups: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        for party in pair.parties or ("",):
            groups[party].append(pair)
    return {party: score(groups[party], levels) for party in sorted(groups)}
