"""Forecast verification (seed item 54): the consultation's AQI forecasts held against the
observed daily AQI — bias and error per lead day, heavy-day and warning-level tables, over
a season and per consultation party (docs/VERIFY.md).

- :mod:`~emergency.verification.scores`: the scores of a set of pairs, exactly;
- :mod:`~emergency.verification.pairs`: forecasts and observations made into pairs;
- :mod:`~emergency.verification.files`: the offline inputs (observation CSV, forecast
  folder) of ``emergency verify``;
- :mod:`~emergency.verification.views`: the answers, rounded for output;
- :func:`verify`: all of it in one call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from emergency.verification.pairs import ForecastRead, PairSet, make_pairs
from emergency.verification.scores import by_party, score
from emergency.verification.views import VerificationView, scores_view


@dataclass
class Verification:
    """The pairs of a verification and its answer."""

    pairs: PairSet
    view: VerificationView


def verify(
    forecasts: Iterable[ForecastRead],
    observed: Mapping[dt.date, int],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Verification:
    """Score ``forecasts`` against the observed daily AQI (days ``first..last``)."""
    made = make_pairs(forecasts, observed, first, last)
    whole = scores_view(score(made.pairs, made.levels))
    parties = {p: scores_view(s) for p, s in by_party(made.pairs, made.levels).items()}
    view = VerificationView(
        **whole.model_dump(),
        first=first,
        last=last,
        forecasts=made.forecasts,
        duplicates=made.duplicates,
        before_issue=made.before_issue,
        unobserved=made.unobserved,
        by_party=parties,
    )
    return Verification(made, view)


__all__ = ["Verification", "verify"]
