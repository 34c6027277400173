"""Forecasts and observations made into verification pairs (one per forecast day observed).

How a forecast day is read:

- ``mid``: an AQI value as it is; a range ``[low, high]`` as its midpoint; concentrations
  (or hours) as the AQI the engine computes from them. Values above 500, the top of the
  AQI scale, count as 500 (an observed AQI never exceeds it).
- ``decided``: the AQI the warning rules read (:func:`emergency.rules.day_values`): a
  range's ``range_end`` under the forecast's rule set, rounded up.
- its *level*: the warning level the rule set gives the forecast's episode holding that
  day (:func:`emergency.rules.assess`, without the regional order, which is not a forecast
  of the air), None outside any episode reaching a level.

The observed level of a day is found the same way: the observations, run by run of
consecutive observed days, are assessed by the same rule set as one forecast of those AQI
values; a day gets the level of the observed episode holding it.

The lead of a day is its date − the forecast's issue date in the city's time (+08:00).
Days before the issue date are left out (counted in ``before_issue``); a forecast that
is sent twice unchanged counts once (``duplicates``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from emergency import LEVELS
from emergency.errors import InputError
from emergency.forecast import Forecast
from emergency.rules import AQI_TOP, RuleSet, assess, day_values
from emergency.settings import CITY_OFFSET
from emergency.verification.scores import Pair


@dataclass(frozen=True)
class DayRead:
    """One forecast day as verification reads it."""

    date: dt.date
    low: Fraction
    high: Fraction
    decided: int
    level: str | None

    @property
    def mid(self) -> Fraction:
        """The midpoint of the range (the value itself for a single value)."""
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class ForecastRead:
    """A forecast ready to verify: who issued it and when, its rule set and its days."""

    name: str
    issued_at: dt.datetime
    parties: tuple[str, ...]
    rule_set: RuleSet
    days: tuple[DayRead, ...]
    key: str
    """Equal for the same forecast sent twice (issue time, parties, days)."""

    @property
    def issued_on(self) -> dt.date:
        """The issue date in the city's time (+08:00)."""
        return self.issued_at.astimezone(CITY_OFFSET).date()

    def lead(self, day: dt.date) -> int:
        """``day`` − the issue date, in days."""
        return (day - self.issued_on).days


@dataclass
class PairSet:
    """The pairs of a set of forecasts and what was left out."""

    pairs: list[Pair] = field(default_factory=list)
    forecasts: int = 0
    """Forecasts verified (duplicates not counted)."""
    duplicates: int = 0
    before_issue: int = 0
    """Forecast days before their issue date, left out."""
    unobserved: int = 0
    """Forecast days (from the issue date on) without an observation yet."""
    levels: tuple[str, ...] = ()
    """The warning levels of the rule sets of the forecasts, mild to severe."""


def _exact(value: float) -> Fraction:
    """A JSON number as written (``0.1`` is 1/10, not the nearest binary fraction)."""
    return Fraction(repr(float(value)))


def read_forecast(
    forecast: Forecast,
    rule_set: RuleSet,
    *,
    name: str,
    standard: str | None = None,
    issued_at: dt.datetime | None = None,
) -> ForecastRead:
    """Read a (validated) forecast for verification.

    ``issued_at``: when the forecast carries none (the time it was received, for stored
    consultations). ``standard``: the AQI standard for concentrations (the city plan's).
    """
    when = forecast.issued_at or issued_at
    if when is None:
        raise InputError(f"{name}: issued_at: required to verify a forecast (leads count from it)")
    read = day_values(forecast, rule_set, standard)
    levels = assess(forecast.model_copy(update={"regional_order": None}), rule_set, standard)
    top = Fraction(AQI_TOP)
    days = []
    for day, value, decided in zip(forecast.days, read, levels.days, strict=True):
        low, high = day.aqi_range or (value.aqi, value.aqi)  # concentrations: computed AQI
        days.append(
            DayRead(
                date=day.date,
                low=min(_exact(low), top),
                high=min(_exact(high), top),
                decided=value.aqi,
                level=decided.level,
            )
        )
    key = json.dumps(
        [
            when.astimezone(dt.UTC).isoformat(),
            sorted(forecast.issued_by),
            rule_set.id,
            [[str(d.date), str(d.low), str(d.high), d.decided] for d in days],
        ]
    )
    return ForecastRead(name, when, tuple(forecast.issued_by), rule_set, tuple(days), key)


def runs(observed: Mapping[dt.date, int]) -> list[list[dt.date]]:
    """The observed dates in runs of consecutive days."""
    out: list[list[dt.date]] = []
    for date in sorted(observed):
        if out and date - out[-1][-1] == dt.timedelta(days=1):
            out[-1].append(date)
        else:
            out.append([date])
    return out


def observed_levels(
    observed: Mapping[dt.date, int], rule_set: RuleSet
) -> dict[dt.date, str | None]:
    """The level the rule set gives the observed episode holding each observed day."""
    levels: dict[dt.date, str | None] = {}
    for run in runs(observed):
        series = Forecast.model_validate(
            {"days": [{"date": d.isoformat(), "aqi": observed[d]} for d in run]}
        )
        for day in assess(series, rule_set).days:
            levels[day.date] = day.level
    return levels


def make_pairs(
    forecasts: Iterable[ForecastRead],
    observed: Mapping[dt.date, int],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> PairSet:
    """Every (forecast, day) with an observation, each forecast once; only the days in
    ``first..last`` (either open) when given. Observed levels are judged on every
    observation, so an episode crossing ``first`` or ``last`` keeps its level."""
    out = PairSet()
    seen: set[str] = set()
    level_cache: dict[str, dict[dt.date, str | None]] = {}
    levels: set[str] = set()
    for forecast in forecasts:
        if forecast.key in seen:
            out.duplicates += 1
            continue
        seen.add(forecast.key)
        out.forecasts += 1
        rule_set = forecast.rule_set
        levels.update(rule_set.level_names)
        cached = rule_set.model_dump_json()
        if cached not in level_cache:
            level_cache[cached] = observed_levels(observed, rule_set)
        seen_levels = level_cache[cached]
        for day in forecast.days:
            if (first is not None and day.date < first) or (last is not None and day.date > last):
                continue
            lead = forecast.lead(day.date)
            if lead < 0:
                out.before_issue += 1
                continue
            if day.date not in observed:
                out.unobserved += 1
                continue
            out.pairs.append(
                Pair(
                    date=day.date,
                    lead_days=lead,
                    mid=day.mid,
                    decided=day.decided,
                    observed=observed[day.date],
                    forecast_level=day.level,
                    observed_level=seen_levels[day.date],
                    levels=tuple(rule_set.level_names),
                    parties=forecast.parties,
                    forecast=forecast.name,
                    low=day.low,
                    high=day.high,
                )
            )
    out.levels = tuple(level for level in LEVELS if level in levels)
    return out
