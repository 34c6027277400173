"""What verification answers (the API's bodies, the CLI's ``--json``), rounded for output.

Scores are computed exactly (:mod:`emergency.verification.scores`) and rounded here only:
bias and mean absolute error to 0.01 AQI, POD, FAR and TS to 0.001.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from pydantic import BaseModel, Field

from emergency.verification.scores import Contingency, Scores


class LeadScoreView(BaseModel):
    """Bias and mean absolute error of the forecasts made ``lead_days`` days ahead."""

    lead_days: int = Field(description="forecast date − issue date (the city's time), days")
    n: int = Field(description="(forecast, day) pairs with this lead")
    bias: float = Field(description="mean of forecast − observed AQI (a range: its midpoint)")
    mae: float = Field(description="mean absolute error of the AQI (a range: its midpoint)")


class ContingencyView(BaseModel):
    """Hits, misses and false alarms of a yes/no event, and the scores from them."""

    hits: int = Field(description="forecast yes, observed yes")
    misses: int = Field(description="forecast no, observed yes")
    false_alarms: int = Field(description="forecast yes, observed no")
    pod: float | None = Field(description="probability of detection hits/(hits+misses)")
    far: float | None = Field(description="false-alarm ratio false_alarms/(hits+false_alarms)")
    ts: float | None = Field(description="threat score hits/(hits+misses+false_alarms)")


class ScoresView(BaseModel):
    """The scores of one set of (forecast, day) pairs."""

    n: int = Field(description="(forecast, day) pairs")
    by_lead: list[LeadScoreView] = Field(description="per lead day, shortest first")
    heavy: ContingencyView = Field(description="heavy days: AQI > 200 (a range: its range_end)")
    levels: dict[str, ContingencyView] = Field(
        description="per warning level: the level or a more severe one, on the episode "
        "holding the day (docs/VERIFY.md)"
    )


class VerificationView(ScoresView):
    """Forecast verification over a season: all parties together and each party."""

    first: dt.date | None = Field(default=None, description="the first day verified (from)")
    last: dt.date | None = Field(default=None, description="the last day verified (to)")
    forecasts: int = Field(description="forecasts verified (a forecast sent twice counts once)")
    duplicates: int = Field(description="forecasts left out as the same forecast sent again")
    before_issue: int = Field(description="forecast days before their issue date, left out")
    unobserved: int = Field(description="forecast days with no observation (yet)")
    by_party: dict[str, ScoresView] = Field(
        description="the same per consultation party (issued_by; a joint forecast counts for "
        'each; "" for a forecast naming none)'
    )


def rounded(value: Fraction | None, digits: int) -> float | None:
    """``value`` rounded half to even at ``digits`` decimals (None stays None)."""
    return None if value is None else round(float(value), digits)


def contingency_view(table: Contingency) -> ContingencyView:
    return ContingencyView(
        hits=table.hits,
        misses=table.misses,
        false_alarms=table.false_alarms,
        pod=rounded(table.pod, 3),
        far=rounded(table.far, 3),
        ts=rounded(table.ts, 3),
    )


def scores_view(scores: Scores) -> ScoresView:
    return ScoresView(
        n=scores.n,
        by_lead=[
            LeadScoreView(
                lead_days=s.lead_days,
                n=s.n,
                bias=rounded(s.bias, 2) or 0.0,
                mae=rounded(s.mae, 2) or 0.0,
            )
            for s in scores.by_lead
        ],
        heavy=contingency_view(scores.heavy),
        levels={level: contingency_view(t) for level, t in scores.levels.items()},
    )
