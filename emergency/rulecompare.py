"""Is a city's warning rule set at least as strict as a base (provincial, national) one?

"预警、响应标准不得低于国家和省级标准": on **every** forecast of up to ``N`` daily AQI
values, the city's rule set must give a level at least as severe as the base rule set's.
Levels are ordered ``none < advisory < blue < yellow < orange < red`` (``advisory``: no
level, health advisory only). :func:`compare` answers exactly and, when the answer is no,
gives the shortest counterexample: fewest days, then the smallest sum of AQI values, then
the lexicographically smallest.

Why a finite search is exact
----------------------------
Every condition of a rule set (``episode``, ``run``/``count``/``day`` bounds inside levels
and ``advisory``, however nested in ``any_of``/``all_of``) compares a day's integer AQI
with a bound: ``AQI ≥ lowest``. Two AQI values that meet exactly the same bounds of both
rule sets are indistinguishable to both. Sorting the distinct ``lowest`` values of both rule
sets, ``t1 < t2 < ... < tk``, the classes are ``[0, t1)``, ``[t1, t2)``, ..., ``[tk, 500]``
(values above 500 are read as 500, so bounds above 500 are never met and are dropped).
The smallest value of each class — 0, t1, ..., tk — represents it, so the smallest
counterexample is made of representatives. The forecasts searched are all sequences of
representatives of length 1..N, each evaluated with the engine's own
:func:`emergency.rules.assess` (no regional order; AQI values, not ranges).

What is skipped, and why it stays exact
---------------------------------------
The decision is **not** monotone in the daily AQI: the warning answers the *first* episode
that reaches a level, so raising an early clean day into a mild episode can lower the
decision (national-2017: ``[0, 0, 0, 201, 201]`` is yellow, ``[201, 0, 0, 201, 201]`` is
blue). No pruning by dominance is therefore done. The one reduction used: a day of the
lowest class (below every bound of both rule sets, hence below both episode bounds) at the
start or the end of a forecast belongs to no episode and is not next to one from the
outside, so it changes neither decision — the forecast without it, one day shorter, has
already been checked. Lengths are searched in increasing order, so at length ``n`` only
forecasts whose first and last days are above the lowest class are evaluated
(``(r-1)² r^(n-2)`` of the ``r^n``). ``prune=False`` evaluates every forecast (the tests
check that both agree). With the bundled rule sets (``r = 4``) that is about 12 000
forecasts up to 7 days, each decided twice by ``assess``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from emergency.forecast import Forecast, parse_forecast
from emergency.rules import LEVEL_RANK, RuleSet, assess

AQI_TOP = 500
"""Values above 500 are off the scale and read as 500 by the engine."""

SCALE = ("none", "advisory", "blue", "yellow", "orange", "red")
"""The order of decisions compared: no warning < health advisory < blue < ... < red."""

START = dt.date(2024, 1, 1)
"""First day of the synthetic forecasts (AQI values are given, so no standard applies)."""


@dataclass(frozen=True)
class Counterexample:
    """A forecast on which the city's rule set gives a milder decision than the base's."""

    aqi: tuple[int, ...]
    city: str
    base: str


@dataclass(frozen=True)
class Comparison:
    """The answer of :func:`compare`."""

    city: str
    base: str
    days: int
    representatives: tuple[int, ...]
    counterexample: Counterexample | None
    forecasts_evaluated: int

    @property
    def at_least_as_strict(self) -> bool:
        """Whether the city's rule set is never milder than the base's."""
        return self.counterexample is None

    def as_json(self) -> dict[str, object]:
        """``{"at_least_as_strict": ..., "counterexample": {...} | null, ...}``."""
        example = self.counterexample
        return {
            "at_least_as_strict": self.at_least_as_strict,
            "counterexample": None
            if example is None
            else {"aqi": list(example.aqi), "city": example.city, "base": example.base},
            "city_rule_set": self.city,
            "base_rule_set": self.base,
            "days": self.days,
        }


def bounds(rule_set: RuleSet) -> set[int]:
    """The lowest AQI meeting each bound the rule set compares a day with."""
    found = {rule_set.episode.lowest}
    triggers = [(f"levels.{k}", t) for k, t in rule_set.levels.items()]
    if rule_set.advisory is not None:
        triggers.append(("advisory", rule_set.advisory))
    for path, trigger in triggers:
        found.update(bound.lowest for _, bound in trigger.thresholds(path))
    return found


def representatives(*rule_sets: RuleSet) -> tuple[int, ...]:
    """The smallest AQI of each class of values no rule set tells apart (0 included)."""
    found = {0}
    for rule_set in rule_sets:
        found.update(b for b in bounds(rule_set) if b <= AQI_TOP)
    return tuple(sorted(found))


def forecast_of(aqis: tuple[int, ...]) -> Forecast:
    """A forecast of daily AQI values from :data:`START`, built as the tests build one."""
    days = [{"date": str(START + dt.timedelta(days=i)), "aqi": a} for i, a in enumerate(aqis)]
    return parse_forecast({"days": days}, "rules-compare")


def decision_name(forecast: Forecast, rule_set: RuleSet) -> str:
    """The engine's decision as one of :data:`SCALE`."""
    decision = assess(forecast, rule_set)
    if decision.level is not None:
        return decision.level
    return "advisory" if decision.advisory else "none"


def rank(name: str) -> int:
    """Position in :data:`SCALE` (``LEVEL_RANK`` shifted past none and advisory)."""
    return LEVEL_RANK[name] + 2 if name in LEVEL_RANK else SCALE.index(name)


class _Evaluator:
    """Memoised decisions of both rule sets, keyed by the AQI tuple."""

    def __init__(self, city: RuleSet, base: RuleSet) -> None:
        self.rule_sets = (city, base)
        self.cache: dict[tuple[int, ...], tuple[int, int]] = {}

    def __call__(self, aqis: tuple[int, ...]) -> tuple[int, int]:
        found = self.cache.get(aqis)
        if found is None:
            forecast = forecast_of(aqis)
            city, base = (rank(decision_name(forecast, r)) for r in self.rule_sets)
            found = self.cache[aqis] = (city, base)
        return found


def _walk(
    n: int,
    reps: tuple[int, ...],
    evaluate: Callable[[tuple[int, ...]], tuple[int, int]],
    prune: bool,
) -> Iterator[tuple[int, ...]]:
    """Counterexamples of length ``n`` (all of them unless they start or end with a day of
    the lowest class when ``prune``: those were checked one day shorter)."""
    ends = reps[1:] if prune else reps
    if n == 1:
        candidates: Iterator[tuple[int, ...]] = ((v,) for v in ends)
    else:
        candidates = (
            (first, *middle, last)
            for first in ends
            for middle in itertools.product(reps, repeat=n - 2)
            for last in ends
        )
    for aqis in candidates:
        city, base = evaluate(aqis)
        if city < base:
            yield aqis


def compare(city: RuleSet, base: RuleSet, days: int = 7, prune: bool = True) -> Comparison:
    """Whether ``city`` gives at least ``base``'s decision on every forecast of 1..``days``
    daily AQI values; the shortest, smallest counterexample when it does not."""
    if days < 1:
        raise ValueError("days must be at least 1")
    reps = representatives(city, base)
    evaluate = _Evaluator(city, base)
    example: Counterexample | None = None
    for n in range(1, days + 1):
        found = list(_walk(n, reps, evaluate, prune))
        if found:
            smallest = min(found, key=lambda x: (sum(x), x))
            levels = evaluate(smallest)
            example = Counterexample(smallest, SCALE[levels[0]], SCALE[levels[1]])
            break
    return Comparison(
        city=city.id,
        base=base.id,
        days=days,
        representatives=reps,
        counterexample=example,
        forecasts_evaluated=len(evaluate.cache),
    )
