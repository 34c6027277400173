"""Warning rule sets and the warning decision.

Every expected level below is written by hand from the rule sets' tables (docs/RULES.md),
never computed with the engine: national-2017 (blue 1 day > 200; yellow ≥ 2 days; orange ≥ 3
days and one day > 300; red ≥ 4 days and ≥ 2 days > 300, or AQI ≥ 500), henan-2019 (advisory
for one day > 200; yellow ≥ 48 h; orange ≥ 72 h; red ≥ 96 h and > 300 for ≥ 48 h, or AQI ≥
500) and henan-2014 (blue > 200 for < 3 days; yellow ≥ 3 days; orange > 300 for ≥ 3 days;
red AQI ≥ 500).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergency.errors import InputError
from emergency.forecast import Forecast, parse_forecast
from emergency.rules import (
    RuleSet,
    assess,
    choose_rule_set,
    find_episodes,
    list_rule_sets,
    load_rule_set,
    parse_rule_set,
)

D0 = dt.date(2016, 12, 16)


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def forecast(*aqis: Any, order: str | None = None, **extra: Any) -> Forecast:
    days = [{"date": str(day(i)), "aqi": a} for i, a in enumerate(aqis)]
    return parse_forecast({"regional_order": order, "days": days, **extra}, "test.json")


@pytest.fixture(scope="module")
def rules() -> dict[str, RuleSet]:
    return {name: load_rule_set(name) for name in ("national-2017", "henan-2019", "henan-2014")}


# (rule set, daily AQI, expected level, expected advisory) — by hand from the rule sets'
# published tables (docs/RULES.md).
LEVEL_CASES = [
    # national-2017
    ("national-2017", [100, 150, 180], None, False),
    ("national-2017", [200], None, False),  # 200 is not "above 200"
    ("national-2017", [201], "blue", False),
    ("national-2017", [150, 201, 150], "blue", False),
    ("national-2017", [201, 201], "yellow", False),
    ("national-2017", [250, 260, 270], "yellow", False),  # 3 days, none > 300
    ("national-2017", [250, 300, 270], "yellow", False),  # 300 is not "above 300"
    ("national-2017", [250, 301, 270], "orange", False),
    ("national-2017", [301, 301], "yellow", False),  # orange needs 3 days
    ("national-2017", [301, 301, 301], "orange", False),  # red needs 4 days
    ("national-2017", [250, 301, 270, 260], "orange", False),  # only 1 day > 300
    ("national-2017", [250, 301, 301, 260], "red", False),
    ("national-2017", [250, 301, 260, 301], "red", False),  # > 300 days need not touch
    ("national-2017", [150, 499, 150], "blue", False),
    ("national-2017", [150, 500, 150], "red", False),
    # henan-2019
    ("henan-2019", [100, 150, 180], None, False),
    ("henan-2019", [200, 200, 200], None, False),
    ("henan-2019", [201], None, True),  # one day > 200: health advisory only
    ("henan-2019", [150, 201, 150], None, True),
    ("henan-2019", [150, 499, 150], None, True),
    ("henan-2019", [201, 201], "yellow", False),  # 48 h
    ("henan-2019", [201, 200, 201], None, True),  # 200 breaks the run; merged, one-day runs
    ("henan-2019", [201, 201, 201], "orange", False),  # 72 h
    ("henan-2019", [301, 301, 301], "orange", False),  # red needs 96 h
    ("henan-2019", [250, 260, 270, 280], "orange", False),  # 96 h but nothing > 300
    ("henan-2019", [250, 301, 270, 280], "orange", False),  # > 300 for 24 h only
    ("henan-2019", [250, 300, 300, 280], "orange", False),  # 300 is not above 300
    ("henan-2019", [250, 301, 301, 280], "red", False),
    ("henan-2019", [150, 500, 150], "red", False),
    ("henan-2019", [500], "red", False),
    # henan-2014
    ("henan-2014", [100, 150, 180], None, False),
    ("henan-2014", [200], None, False),
    ("henan-2014", [201], "blue", False),
    ("henan-2014", [201, 201], "blue", False),  # < 3 days
    ("henan-2014", [201, 201, 201], "yellow", False),
    ("henan-2014", [300, 300, 300], "yellow", False),
    ("henan-2014", [301, 301, 301], "orange", False),
    ("henan-2014", [301, 301, 250, 301], "yellow", False),  # > 300 not on 3 days running
    ("henan-2014", [150, 499, 150], "blue", False),
    ("henan-2014", [150, 500, 150], "red", False),
]


@pytest.mark.parametrize(("name", "aqis", "level", "advisory"), LEVEL_CASES)
def test_levels(
    rules: dict[str, RuleSet], name: str, aqis: list[int], level: str | None, advisory: bool
) -> None:
    decision = assess(forecast(*aqis), rules[name])
    assert decision.level == level
    assert decision.advisory is advisory
    assert decision.rule_set == name


def test_reason_names_days_and_values(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(226, 245, 260), rules["henan-2019"])
    assert decision.reason == (
        "AQI > 200 on 3 consecutive days 2016-12-16..2016-12-18 (226, 245, 260)"
        " → orange (henan-2019)"
    )
    assert (decision.start, decision.end) == (day(0), day(2))


def test_period_is_the_episode(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(120, 230, 250, 240, 150), rules["henan-2019"])
    assert (decision.level, decision.start, decision.end) == ("orange", day(1), day(3))
    assert [d.level for d in decision.days] == [None, "orange", "orange", "orange", None]
    assert [d.aqi for d in decision.days] == [120, 230, 250, 240, 150]
    assert [d.category for d in decision.days] == ["light", "heavy", "heavy", "heavy", "light"]


def test_no_warning_has_no_period(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(120, 180), rules["national-2017"])
    assert (decision.level, decision.start, decision.end) == (None, None, None)
    assert "no warning" in decision.reason


def test_the_first_episode_is_answered_and_later_ones_are_listed(
    rules: dict[str, RuleSet],
) -> None:
    # Gap of two clean days (longer than merge_gap_days): two episodes, yellow then orange.
    # The heavy days 12-16..17 get their response now; the orange one is forecast to come.
    decision = assess(forecast(250, 250, 150, 150, 250, 250, 250), rules["henan-2019"])
    assert (decision.level, decision.start, decision.end) == ("yellow", day(0), day(1))
    assert [(e.start, e.end, e.level, e.peak_aqi) for e in decision.episodes] == [
        (day(0), day(1), "yellow", 250),
        (day(4), day(6), "orange", 250),
    ]
    assert [d.level for d in decision.days] == ["yellow"] * 2 + [None] * 2 + ["orange"] * 3


def test_a_short_gap_merges_and_the_higher_level_applies_from_the_start(
    rules: dict[str, RuleSet],
) -> None:
    # One clean day (merge_gap_days 1): one episode 12-16..21, orange (72 h > 200 on
    # 12-19..21) from its first day — alone, 12-16..17 would be yellow only.
    decision = assess(forecast(250, 250, 150, 250, 250, 250), rules["henan-2019"])
    assert (decision.level, decision.start, decision.end) == ("orange", day(0), day(5))
    assert len(decision.episodes) == 1 and decision.episodes[0].level == "orange"


# Ranges [low, high]: (range_end, days, level, advisory), by hand.
RANGE_CASES = [
    ("upper", [[180, 230], [190, 240]], "yellow", False),  # 230, 240
    ("lower", [[180, 230], [190, 240]], None, False),  # 180, 190
    ("mid", [[180, 230], [190, 240]], "yellow", False),  # 205, 215
    ("mid", [[150, 250], [170, 230]], None, False),  # 200, 200
    ("mid", [[150, 251]], None, True),  # 200.5 rounds up to 201
    ("lower", [[201, 260], [201, 280], [201, 300]], "orange", False),
    ("upper", [[150, 200], [160, 200]], None, False),
]


@pytest.mark.parametrize(("end", "ranges", "level", "advisory"), RANGE_CASES)
def test_range_end(
    rules: dict[str, RuleSet], end: str, ranges: list[list[int]], level: str | None, advisory: bool
) -> None:
    rule_set = rules["henan-2019"].model_copy(update={"range_end": end})
    decision = assess(forecast(*ranges), rule_set)
    assert (decision.level, decision.advisory) == (level, advisory)
    assert decision.days[0].aqi_range == tuple(ranges[0])


def test_range_end_in_reason(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast([180, 230], [190, 240]), rules["henan-2019"])
    assert decision.reason.endswith("→ yellow (henan-2019; upper end of AQI ranges)")
    assert "(230, 240)" in decision.reason


# Regional orders: (rule set, AQI, order, level, start, end) with start/end as day indices.
ORDER_CASES = [
    ("henan-2019", [100, 100, 100], "orange", "orange", 0, 2),  # no episode: all days
    ("henan-2019", [250, 250, 100], "yellow", "yellow", 0, 1),  # equal
    ("henan-2019", [250, 250, 250], "yellow", "orange", 0, 2),  # forecast stricter
    ("henan-2019", [100, 250, 250], "red", "red", 1, 2),  # order stricter: episode days
    ("henan-2019", [100, 120], "blue", "yellow", 0, 1),  # henan-2019 has no blue
    ("henan-2019", [100, 201, 100], "orange", "orange", 0, 2),  # advisory episode only
    ("national-2017", [100, 120], "blue", "blue", 0, 1),
    ("henan-2014", [201, 100], "yellow", "yellow", 0, 0),
]


@pytest.mark.parametrize(("name", "aqis", "order", "level", "start", "end"), ORDER_CASES)
def test_regional_order(
    rules: dict[str, RuleSet],
    name: str,
    aqis: list[int],
    order: str,
    level: str,
    start: int,
    end: int,
) -> None:
    decision = assess(forecast(*aqis, order=order), rules[name])
    assert decision.level == level
    assert (decision.start, decision.end) == (day(start), day(end))
    assert decision.advisory is False
    assert decision.release_ok is False
    assert "regional order" in decision.reason
    assert all(d.level is not None for d in decision.days)


def test_regional_order_floors_every_day(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(100, 250, 250, 100, order="yellow"), rules["national-2017"])
    assert [d.level for d in decision.days] == ["yellow"] * 4
    assert decision.regional_order == "yellow"


# Episode merging (merge_gap_days: 1 in the bundled files).
def test_one_clean_day_merges(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(250, 250, 180, 250), rules["henan-2019"])
    assert (decision.level, decision.start, decision.end) == ("yellow", day(0), day(3))
    assert "across the gap 2016-12-18 (180)" in decision.reason
    assert [d.level for d in decision.days] == ["yellow"] * 4


def test_gap_day_at_exactly_200_is_clean_and_merges(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(250, 250, 200, 250), rules["national-2017"])
    assert (decision.level, decision.start, decision.end) == ("yellow", day(0), day(3))


def test_merged_episode_is_assessed_as_one(rules: dict[str, RuleSet]) -> None:
    # Parts: 3 days > 200 (yellow) and one day > 300 (blue). As one episode: 3 days > 200
    # running and a day > 300 within it → orange (national-2017).
    decision = assess(forecast(250, 250, 250, 180, 320), rules["national-2017"])
    assert (decision.level, decision.start, decision.end) == ("orange", day(0), day(4))


def test_two_clean_days_do_not_merge(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(250, 250, 250, 180, 180, 320), rules["national-2017"])
    assert (decision.level, decision.start, decision.end) == ("yellow", day(0), day(2))
    assert [d.level for d in decision.days] == ["yellow"] * 3 + [None, None, "blue"]


def test_merge_gap_zero_never_merges(rules: dict[str, RuleSet]) -> None:
    rule_set = rules["henan-2019"].model_copy(update={"merge_gap_days": 0})
    decision = assess(forecast(250, 250, 180, 250), rule_set)
    assert (decision.level, decision.start, decision.end) == ("yellow", day(0), day(1))


def test_find_episodes(rules: dict[str, RuleSet]) -> None:
    bound = rules["henan-2019"].episode
    aqis = [100, 201, 201, 150, 250, 100, 100, 300, 200]
    assert find_episodes(aqis, bound, 1) == [(1, 4), (7, 7)]
    assert find_episodes(aqis, bound, 0) == [(1, 2), (4, 4), (7, 7)]
    assert find_episodes(aqis, bound, 2) == [(1, 7)]
    assert find_episodes([200, 200], bound, 1) == []


def test_advisory_period_and_reason(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(150, 230, 150), rules["henan-2019"])
    assert (decision.level, decision.advisory) == (None, True)
    assert (decision.start, decision.end) == (day(1), day(1))
    assert "health advisory" in decision.reason
    assert "2016-12-17 (230)" in decision.reason


# release_ok: the first ceil(36 h / 24 h) = 2 forecast days stay at or below 200.
RELEASE_CASES = [
    ([150, 200, 250], True),
    ([200, 200], True),
    ([150, 201], False),
    ([201, 150, 150], False),
    ([150], False),  # 24 h of forecast cannot show 36 h
]


@pytest.mark.parametrize(("aqis", "ok"), RELEASE_CASES)
def test_release_ok(rules: dict[str, RuleSet], aqis: list[int], ok: bool) -> None:
    assert assess(forecast(*aqis), rules["henan-2019"]).release_ok is ok


def test_release_waits_for_a_regional_order(rules: dict[str, RuleSet]) -> None:
    assert assess(forecast(100, 100, order="blue"), rules["national-2017"]).release_ok is False


def test_off_scale_value_reads_as_500(rules: dict[str, RuleSet]) -> None:
    decision = assess(forecast(520), rules["henan-2014"])
    assert decision.level == "red"
    assert (decision.days[0].aqi, decision.days[0].off_scale) == (500, True)


def test_fractional_aqi_rounds_up(rules: dict[str, RuleSet]) -> None:
    assert assess(forecast(200.2), rules["national-2017"]).level == "blue"


# Concentrations: PM2.5 70 µg/m³ is IAQI 94 under HJ 633-2012 (35→50, 75→100:
# 50 + 50 × 35/40 = 93.75) and 110 under HJ 633-2026 (60→100, 115→150: 100 + 50 × 10/55).
def conc_forecast(date: str, **extra: Any) -> Forecast:
    days = [{"date": date, "concentrations": {"pm25": 70}}]
    return parse_forecast({"days": days, **extra}, "c.json")


@pytest.mark.parametrize(
    ("date", "forecast_standard", "city_standard", "aqi"),
    [
        ("2026-02-28", None, None, 94),
        ("2026-03-01", None, None, 110),
        ("2026-03-05", "HJ633-2012", None, 94),
        ("2016-12-16", None, "HJ633-2026", 110),
        ("2016-12-16", "HJ633-2012", "HJ633-2026", 94),
        ("2026-03-05", "by-date", "HJ633-2012", 94),
        ("2026-03-05", None, "by-date", 110),
    ],
)
def test_concentrations_use_the_standard(
    rules: dict[str, RuleSet],
    date: str,
    forecast_standard: str | None,
    city_standard: str | None,
    aqi: int,
) -> None:
    fc = conc_forecast(date, standard=forecast_standard)
    decision = assess(fc, rules["henan-2019"], standard=city_standard)
    assert decision.days[0].aqi == aqi
    assert decision.days[0].primary == ["pm25"]


def test_heavy_concentrations_give_a_level(rules: dict[str, RuleSet]) -> None:
    # PM2.5 175 and 190: 200 + 100 × 25/100 = 225 and 240 → two days > 200.
    days = [
        {"date": "2016-12-13", "concentrations": {"pm25": 175, "so2": 60}},
        {"date": "2016-12-14", "concentrations": {"pm25": 190, "no2": 90}},
    ]
    decision = assess(parse_forecast({"days": days}), rules["henan-2019"])
    assert [d.aqi for d in decision.days] == [225, 240]
    assert decision.level == "yellow"


def test_concentration_error_names_the_day(rules: dict[str, RuleSet]) -> None:
    days = [{"date": "2016-12-13", "concentrations": {"o3_8h": 900}}]
    with pytest.raises(InputError, match=r"^c\.json: days\[0\]\.concentrations: o3_8h"):
        assess(parse_forecast({"days": days}, "c.json"), rules["henan-2019"])


# --- rule files --------------------------------------------------------------------


def test_bundled_rule_sets() -> None:
    assert {"national-2017", "henan-2019", "henan-2014"} <= set(list_rule_sets())
    assert load_rule_set("henan-2019").level_names == ["yellow", "orange", "red"]
    assert load_rule_set("national-2017").level_names == ["blue", "yellow", "orange", "red"]
    assert load_rule_set("henan-2019").release_days == 2


def test_unknown_rule_set_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"rule set 'henan-2099': unknown \(known: .*henan-2019"):
        load_rule_set("henan-2099")


def test_missing_rule_file() -> None:
    with pytest.raises(InputError, match="rule set file not found"):
        load_rule_set("no/such/file.yaml")


MINIMAL = """\
id: demo
title: demo rule set
episode: {above: 200}
range_end: upper
release_hours: 36
merge_gap_days: 1
levels:
  orange:
    run: {above: 200, days: 2}
  red:
    day: {at_least: 400}
"""


def test_new_rule_set_is_a_file(tmp_path: Path) -> None:
    rules_dir = tmp_path / "plans" / "rules"
    rules_dir.mkdir(parents=True)
    (rules_dir / "demo.yaml").write_text(MINIMAL, encoding="utf-8")
    assert list_rule_sets(tmp_path) == ["demo"]
    rule_set = load_rule_set("demo", tmp_path)
    assert assess(forecast(250, 250), rule_set).level == "orange"
    assert assess(forecast(150, 400), rule_set).level == "red"
    quiet = assess(forecast(150, 250), rule_set)
    assert (quiet.level, quiet.advisory) == (None, False)  # no advisory in this rule set
    assert "reaches no level" in quiet.reason


# (replace, by, expected message fragment, expected line)
BAD_RULES = [
    ("  orange:", "  purple:", r"levels\.purple: unknown level 'purple'", 8),
    ("{above: 200, days: 2}", "{above: 200, days: 2, hours: 48}", r"levels\.orange\.run\.hours", 9),
    ("range_end: upper", "range_end: top", r"range_end: unknown value 'top'", 4),
    ("id: demo", "id: other", r"id: 'other' differs from the file name 'demo'", 1),
    ("release_hours: 36", "release_hours: 0", r"release_hours: must be ≥ 1", 5),
    ("{at_least: 400}", "{at_least: 150}", r"levels\.red\.day: AQI ≥ 150 reaches below", 11),
    ("{above: 200, days: 2}", "{above: 200}", r"levels\.orange\.run\.days: required", 9),
    # hours instead of days: the unknown field is named, not the missing one
    ("{above: 200, days: 2}", "{above: 200, hours: 48}", r"levels\.orange\.run\.hours: unknown", 9),
    ("title: demo rule set\n", "", r"title: required field is missing", None),
    ("episode: {above: 200}", "episode: {above: 200, at_least: 201}", r"episode: give exactly", 3),
    (
        "    day: {at_least: 400}",
        "    day: {at_least: 400}\n    run: {above: 200, days: 9}",
        r"levels\.red: give exactly one of",
        10,
    ),
    (
        "levels:\n  orange:",
        "levels:\n  red:\n    day: {at_least: 500}\n  orange:",
        r"levels\.red|levels\.orange",
        None,
    ),
    ("  orange:\n", "  orange: [\n", r"malformed YAML", None),
]


@pytest.mark.parametrize(("old", "new", "message", "line"), BAD_RULES)
def test_bad_rule_file(tmp_path: Path, old: str, new: str, message: str, line: int | None) -> None:
    assert old in MINIMAL
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rule_set(path)
    text = str(caught.value)
    assert "\n" not in text
    assert "demo.yaml" in text
    assert re.search(message, text), text
    if line is not None:
        assert f"demo.yaml:{line}: " in text


def test_level_order_is_checked() -> None:
    text = (
        MINIMAL.replace("  orange:", "  red0:")
        .replace("  red:", "  orange:")
        .replace("  red0:", "  red:")
    )
    with pytest.raises(InputError, match=r"levels\.orange: listed after red"):
        parse_rule_set(text, "x.yaml")


def test_choose_rule_set_precedence(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    plain = forecast(100)
    named = forecast(100, rule_set="henan-2014")
    assert choose_rule_set(plain, None, tmp_path).id == "henan-2019"
    (plans / "city.yaml").write_text("name: Jiyuan\nrule_set: national-2017\n", encoding="utf-8")
    assert choose_rule_set(plain, None, tmp_path).id == "national-2017"
    assert choose_rule_set(named, None, tmp_path).id == "henan-2014"
    assert choose_rule_set(named, "henan-2019", tmp_path).id == "henan-2019"


def test_a_warning_issued_less_than_the_lead_time_ahead_is_late(
    rules: dict[str, RuleSet],
) -> None:
    early = forecast(250, 250, 250, issued_at="2016-12-14T16:00:00+08:00")  # 32 h ahead
    decision = assess(early, rules["henan-2019"])
    assert decision.level == "orange" and not decision.late and decision.late_reason == ""
    late = forecast(250, 250, 250, issued_at="2016-12-15T15:00:00+08:00")
    decision = assess(late, rules["henan-2019"])
    assert decision.late
    assert decision.late_reason.startswith("issued 9 h ahead, less than the 24 h lead")
    utc = forecast(250, 250, 250, issued_at="2016-12-15T15:00:00+00:00")  # 23:00 in Jiyuan
    assert assess(utc, rules["henan-2019"]).late_reason.startswith("issued 1 h ahead")


SEVERITY = {None: 0, "blue": 1, "yellow": 2, "orange": 3, "red": 4}


@pytest.mark.parametrize("name", ["national-2017", "henan-2019", "henan-2014"])
@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    values=st.lists(st.integers(min_value=0, max_value=520), min_size=1, max_size=8),
    where=st.integers(min_value=0, max_value=7),
    rise=st.integers(min_value=1, max_value=300),
)
def test_the_most_severe_level_never_drops_when_a_day_gets_worse(
    rules: dict[str, RuleSet], name: str, values: list[int], where: int, rise: int
) -> None:
    def worst(aqis: list[int]) -> int:
        decision = assess(forecast(*aqis), rules[name])
        return max((SEVERITY[e.level] for e in decision.episodes), default=0)

    worse = list(values)
    worse[where % len(values)] += rise
    assert worst(worse) >= worst(values)


def test_effective_at_sets_the_start_hour_and_the_lead_time_counts_from_it(
    rules: dict[str, RuleSet],
) -> None:
    jiyuan = dt.timezone(dt.timedelta(hours=8))
    at_six = forecast(
        250,
        250,
        250,
        issued_at="2016-12-15T16:00:00+08:00",
        effective_at="2016-12-16T18:00:00+08:00",
    )
    decision = assess(at_six, rules["henan-2019"])
    assert decision.start_at == dt.datetime(2016, 12, 16, 18, tzinfo=jiyuan)
    assert decision.end_at == dt.datetime(2016, 12, 19, 0, tzinfo=jiyuan)
    assert not decision.late  # 26 h ahead of 18:00
    midnight = assess(forecast(250, 250, 250), rules["henan-2019"])
    assert midnight.start_at == dt.datetime(2016, 12, 16, 0, tzinfo=jiyuan)
    assert midnight.start_at.isoformat() == "2016-12-16T00:00:00+08:00"
