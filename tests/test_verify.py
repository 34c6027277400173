"""Forecast verification scores against values computed by hand (tests/verify_cases.py).

The pairs (forecast − observed; heavy: upper end > 200 against observed > 200):

    A 16 Dec lead 1: mid 235 − 230 = +5;   260 / 230 heavy: hit;   yellow / orange
    A 17 Dec lead 2: mid 265 − 280 = −15;  290 / 280 hit;          yellow / orange
    A 18 Dec lead 3: 200 − 310 = −110;     200 / 310 miss;         yellow / orange
    A 19 Dec lead 4: mid 215 − 250 = −35;  240 / 250 hit;          yellow / orange
    B 17 Dec lead 1: mid 280 − 280 = 0;    310 / 280 hit;          red / orange
    B 18 Dec lead 2: mid 320 − 310 = +10;  340 / 310 hit;          red / orange
    B 19 Dec lead 3: mid 300 − 250 = +50;  320 / 250 hit;          red / orange
    B 20 Dec lead 4: mid 210 − 160 = +50;  230 / 160 false alarm;  red / none
    B 21 Dec lead 5: mid 125 − 90 = +35;   150 / 90 neither;       none / none
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F
from typing import Any

import pytest

from emergency.errors import InputError
from emergency.forecast import parse_forecast
from emergency.rules import load_rule_set
from emergency.verification import verify
from emergency.verification.pairs import ForecastRead, observed_levels, read_forecast
from emergency.verification.scores import Contingency, Pair, score
from tests.verify_cases import FORECAST_A, FORECAST_B, OBSERVED, D

HENAN = load_rule_set("henan-2019")
NATIONAL = load_rule_set("national-2017")


def read(obj: dict[str, Any], name: str = "f", rule_set: Any = HENAN) -> ForecastRead:
    return read_forecast(parse_forecast(obj, name), rule_set, name=name)


def both() -> list[ForecastRead]:
    return [read(FORECAST_A, "a"), read(FORECAST_B, "b")]


def test_bias_and_mae_per_lead_by_hand() -> None:
    scores = verify(both(), OBSERVED).pairs
    got = {s.lead_days: (s.n, s.bias, s.mae) for s in score(scores.pairs).by_lead}
    assert got == {
        1: (2, F(5 + 0, 2), F(5 + 0, 2)),  # A +5, B 0
        2: (2, F(-15 + 10, 2), F(15 + 10, 2)),  # A −15, B +10
        3: (2, F(-110 + 50, 2), F(110 + 50, 2)),  # A −110, B +50
        4: (2, F(-35 + 50, 2), F(35 + 50, 2)),  # A −35, B +50
        5: (1, F(35), F(35)),  # B +35
    }


def test_heavy_day_table_by_hand() -> None:
    heavy = score(verify(both(), OBSERVED).pairs.pairs).heavy
    # hits A16 A17 A19 B17 B18 B19; miss A18 (200 is not > 200); false alarm B20; B21 neither
    assert (heavy.hits, heavy.misses, heavy.false_alarms, heavy.correct_negatives) == (6, 1, 1, 1)
    assert heavy.pod == F(6, 7)  # 6 / (6 + 1)
    assert heavy.far == F(1, 7)  # 1 / (6 + 1)
    assert heavy.ts == F(6, 8)  # 6 / (6 + 1 + 1)


def test_level_tables_by_hand() -> None:
    levels = score(verify(both(), OBSERVED).pairs.pairs).levels
    assert list(levels) == ["yellow", "orange", "red"]  # henan-2019 has no blue
    yellow, orange, red = levels["yellow"], levels["orange"], levels["red"]
    # yellow or above: forecast A16–19 (yellow), B17–20 (red); observed 16–19 (orange)
    assert (yellow.hits, yellow.misses, yellow.false_alarms) == (7, 0, 1)  # FA: B20
    assert (yellow.pod, yellow.far, yellow.ts) == (F(1), F(1, 8), F(7, 8))
    # orange or above: A's yellow days miss the observed orange (4); B17–19 hit; B20 FA
    assert (orange.hits, orange.misses, orange.false_alarms) == (3, 4, 1)
    assert (orange.pod, orange.far, orange.ts) == (F(3, 7), F(1, 4), F(3, 8))
    # red: never observed; B17–20 forecast red: 4 false alarms, POD undefined
    assert (red.hits, red.misses, red.false_alarms) == (0, 0, 4)
    assert (red.pod, red.far, red.ts) == (None, F(1), F(0))


def test_the_answer_rounds_only_at_the_end() -> None:
    view = verify(both(), OBSERVED).view
    assert view.n == 9 and view.forecasts == 2
    assert view.heavy.model_dump() == {
        "hits": 6,
        "misses": 1,
        "false_alarms": 1,
        "pod": 0.857,  # 6/7 = 0.857142…
        "far": 0.143,  # 1/7 = 0.142857…
        "ts": 0.75,
    }
    assert [(r.lead_days, r.bias, r.mae) for r in view.by_lead] == [
        (1, 2.5, 2.5),
        (2, -2.5, 12.5),
        (3, -30.0, 80.0),
        (4, 7.5, 42.5),
        (5, 35.0, 35.0),
    ]
    assert view.levels["red"].pod is None


def test_per_party_by_hand() -> None:
    view = verify(both(), OBSERVED).view
    assert set(view.by_party) == {"environment", "meteorology"}
    env = view.by_party["environment"]
    assert [(r.lead_days, r.n, r.bias, r.mae) for r in env.by_lead] == [
        (1, 1, 5.0, 5.0),
        (2, 1, -15.0, 15.0),
        (3, 1, -110.0, 110.0),
        (4, 1, -35.0, 35.0),
    ]
    # A: hits 16, 17, 19; miss 18 → POD 3/4, FAR 0/3, TS 3/4
    assert (env.heavy.hits, env.heavy.misses, env.heavy.false_alarms) == (3, 1, 0)
    assert (env.heavy.pod, env.heavy.far, env.heavy.ts) == (0.75, 0.0, 0.75)
    met = view.by_party["meteorology"]
    # B: hits 17, 18, 19; false alarm 20 → POD 1, FAR 1/4, TS 3/4
    assert (met.heavy.hits, met.heavy.misses, met.heavy.false_alarms) == (3, 0, 1)
    assert (met.heavy.pod, met.heavy.far, met.heavy.ts) == (1.0, 0.25, 0.75)


def test_a_joint_forecast_counts_for_each_party() -> None:
    joint = {**FORECAST_B, "issued_by": ["environment", "meteorology"]}
    view = verify([read(joint)], OBSERVED).view
    assert view.by_party["environment"] == view.by_party["meteorology"]
    assert view.by_party["environment"].n == view.n == 5


def test_observed_levels_come_from_the_rule_set() -> None:
    levels = observed_levels(OBSERVED, HENAN)
    assert [levels[D + dt.timedelta(days=i)] for i in range(6)] == [
        "orange",
        "orange",
        "orange",
        "orange",
        None,
        None,
    ]
    # national-2017: orange needs > 300 on one day too, which 18 Dec gives → orange
    national = observed_levels(OBSERVED, NATIONAL)
    assert national[D] == "orange"
    # a gap in the observations splits the series: 16–17 Dec alone is yellow
    gapped = {d: v for d, v in OBSERVED.items() if d != D + dt.timedelta(days=2)}
    assert observed_levels(gapped, HENAN)[D] == "yellow"


def test_no_pairs_gives_zeros_and_nulls() -> None:
    view = verify([read(FORECAST_A)], {}).view
    assert view.n == 0 and view.by_lead == [] and view.unobserved == 4
    assert view.heavy.model_dump() == {
        "hits": 0,
        "misses": 0,
        "false_alarms": 0,
        "pod": None,
        "far": None,
        "ts": None,
    }
    assert view.by_party == {}
    empty = score([])
    assert empty.n == 0 and empty.levels == {} and empty.heavy == Contingency()


def test_a_forecast_sent_twice_counts_once() -> None:
    again = {**FORECAST_A, "issued_at": "2016-12-15T08:00:00+00:00"}  # the same instant
    view = verify([read(FORECAST_A, "a"), read(again, "a2"), read(FORECAST_B, "b")], OBSERVED)
    assert view.view.duplicates == 1 and view.view.forecasts == 2 and view.view.n == 9
    changed = {**FORECAST_A, "days": [{"date": "2016-12-16", "aqi": 250}]}
    assert verify([read(FORECAST_A), read(changed)], OBSERVED).view.duplicates == 0


def test_a_day_before_the_issue_date_in_the_citys_time_is_left_out() -> None:
    # issued 15 Dec 20:00 UTC = 16 Dec 04:00 in the city: 16 Dec is lead 0, kept;
    # the issuer's own date (15 Dec) lets the forecast start on 15 Dec: lead −1, left out
    late = {
        "issued_at": "2016-12-15T20:00:00+00:00",
        "days": [{"date": "2016-12-15", "aqi": 150}, {"date": "2016-12-16", "aqi": 240}],
    }
    got = verify([read(late)], {**OBSERVED, dt.date(2016, 12, 15): 120})
    assert got.view.before_issue == 1
    assert [(p.date, p.lead_days) for p in got.pairs.pairs] == [(D, 0)]


def test_a_forecast_without_issue_time_cannot_be_verified() -> None:
    with pytest.raises(InputError, match=r"x: issued_at: required"):
        read({"days": [{"date": "2016-12-16", "aqi": 240}]}, "x")


def test_concentrations_count_as_their_aqi_and_ranges_above_500_as_500() -> None:
    fc = {
        "issued_at": "2016-12-15T16:00:00+08:00",
        "days": [
            {"date": "2016-12-16", "concentrations": {"pm25": 180}},  # IAQI 230
            {"date": "2016-12-17", "aqi": [420, 560]},  # 420..500: mid 460
        ],
    }
    pairs = verify([read(fc)], OBSERVED).pairs.pairs
    assert [(p.mid, p.decided) for p in pairs] == [(F(230), 230), (F(460), 500)]


def test_decimal_ranges_are_exact() -> None:
    fc = {**FORECAST_A, "days": [{"date": "2016-12-16", "aqi": [200.1, 200.2]}]}
    (pair,) = verify([read(fc)], OBSERVED).pairs.pairs
    assert pair.mid == F("200.15")  # not the nearest binary fraction
    assert pair.decided == 201  # 200.2 rounded up, as the warning rules read it: heavy


def test_range_end_follows_the_rule_set() -> None:
    lower = HENAN.model_copy(update={"range_end": "lower", "id": "henan-lower"})
    fc = {**FORECAST_A, "days": [{"date": "2016-12-16", "aqi": [190, 260]}]}
    (upper_pair,) = verify([read(fc)], OBSERVED).pairs.pairs
    (lower_pair,) = verify([read(fc, rule_set=lower)], OBSERVED).pairs.pairs
    assert (upper_pair.decided, lower_pair.decided) == (260, 190)
    assert upper_pair.mid == lower_pair.mid == 225


def test_days_outside_from_to_are_left_out() -> None:
    first, last = D + dt.timedelta(days=1), D + dt.timedelta(days=2)
    got = verify(both(), OBSERVED, first, last)
    assert sorted((p.date, p.lead_days) for p in got.pairs.pairs) == [
        (first, 1),  # B
        (first, 2),  # A
        (last, 2),  # B
        (last, 3),  # A
    ]
    # the observed episode is judged on every observation: still orange on 17–18 Dec
    assert {p.observed_level for p in got.pairs.pairs} == {"orange"}


def test_a_level_table_counts_more_severe_levels_too() -> None:
    pairs = [
        Pair(D, 1, F(0), 0, 0, "red", "yellow", ("blue", "yellow", "orange", "red")),
        Pair(D, 1, F(0), 0, 0, None, "blue", ("blue", "yellow", "orange", "red")),
    ]
    levels = score(pairs).levels
    assert (levels["blue"].hits, levels["blue"].misses) == (1, 1)
    assert (levels["yellow"].hits, levels["orange"].false_alarms) == (1, 1)
