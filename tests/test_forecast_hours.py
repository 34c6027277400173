"""Forecast days given as 24 hours: the rolling 24-hour AQI, validation, properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergency.aqi import aqi_from_hourly_aqi, daily_aqi, daily_aqi_from_hours
from emergency.errors import ValidationErrors
from emergency.forecast import parse_forecast

CONC = {"pm25": 180, "pm10": 250, "so2": 60, "no2": 90, "co": 3.2, "o3": 40}


def forecast(*days: dict[str, Any]) -> dict[str, Any]:
    return {"days": list(days)}


def test_hours_of_concentrations_give_the_daily_aqi_of_the_worst_window() -> None:
    calm = [dict(CONC, pm25=50)] * 24
    rising = [dict(CONC, pm25=50)] * 12 + [dict(CONC, pm25=300)] * 12
    fc = parse_forecast(
        forecast({"date": "2016-12-16", "hours": calm}, {"date": "2016-12-17", "hours": rising})
    )
    day = fc.days[1]
    assert day.concentrations is not None
    assert day.concentrations.values()["pm25"] == 175  # 12 × 50 + 12 × 300 over 24
    assert daily_aqi(day.concentrations.values()).aqi == 225
    assert "concentrations" not in fc.model_dump()["days"][1]


def test_windows_cross_midnight() -> None:
    # The day before ends with 12 bad hours; the day itself is clean: the window ending at
    # 00 still holds 23 hours of the day before.
    before = [dict(CONC, pm25=50)] * 12 + [dict(CONC, pm25=300)] * 12
    clean = [dict(CONC, pm25=10)] * 24
    alone = daily_aqi_from_hours(None, clean)
    crossed = daily_aqi_from_hours(before, clean)
    assert alone.aqi < crossed.aqi


def test_aqi_only_hours_use_the_running_mean() -> None:
    fc = parse_forecast(
        forecast(
            {"date": "2016-12-16", "hours": [{"aqi": 100}] * 24},
            {"date": "2016-12-17", "hours": [{"aqi": 100}] * 23 + [{"aqi": 341}]},
        )
    )
    assert fc.days[0].aqi_range == (100, 100)
    assert fc.days[1].aqi_range == (111, 111)  # (23 × 100 + 341) / 24 = 110.04 → 111
    assert "aqi" not in fc.model_dump()["days"][1]


def problems(obj: dict[str, Any]) -> str:
    text = json.dumps(obj, indent=1)
    with pytest.raises(ValidationErrors) as info:
        parse_forecast(json.loads(text), "f.json", text)
    return str(info.value)


def test_hours_must_be_24() -> None:
    assert "days[0].hours: must list exactly 24 hours" in problems(
        forecast({"date": "2016-12-16", "hours": [{"aqi": 1}] * 23})
    )


def test_errors_name_the_hour_and_field() -> None:
    hours: list[dict[str, Any]] = [dict(CONC) for _ in range(24)]
    hours[3]["pm25"] = -1
    hours[5]["ozone"] = 1
    hours[7] = {"aqi": 3, "pm25": 4}
    out = problems(forecast({"date": "2016-12-16", "hours": hours}))
    assert "days[0].hours[3].pm25: must be ≥ 0" in out
    assert "days[0].hours[5].ozone: unknown field" in out
    assert "days[0].hours[7]: give `aqi` or 1-hour concentrations, not both" in out
    assert "f.json:" in out


def test_every_hour_gives_the_same_kind() -> None:
    hours: list[dict[str, Any]] = [{"aqi": 100}] * 24
    hours = [*hours[:9], dict(CONC), *hours[10:]]
    assert "days[0].hours[9]: gives" in problems(forecast({"date": "2016-12-16", "hours": hours}))


def test_hours_and_aqi_not_both() -> None:
    day = {"date": "2016-12-16", "aqi": 100, "hours": [{"aqi": 1}] * 24}
    assert "give only one of" in problems(forecast(day))


# --- properties -------------------------------------------------------------------------

conc = st.integers(min_value=0, max_value=700)
hour = st.fixed_dictionaries({k: conc for k in ("pm25", "pm10", "so2", "no2", "o3")})
day_hours = st.lists(hour, min_size=24, max_size=24)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(values=hour)
def test_constant_hours_give_the_daily_aqi(values: dict[str, int]) -> None:
    hours = [values] * 24
    daily = {k: v for k, v in values.items() if k != "o3"}
    daily.update(o3_1h=values["o3"], o3_8h=values["o3"])
    assert daily_aqi_from_hours(hours, hours).aqi == daily_aqi(daily).aqi
    assert daily_aqi_from_hours(None, hours).aqi == daily_aqi(daily).aqi


@settings(derandomize=True, max_examples=60, deadline=None)
@given(value=st.integers(min_value=0, max_value=600))
def test_constant_hourly_aqi_gives_itself(value: int) -> None:
    assert aqi_from_hourly_aqi([value] * 24, [value] * 24) == value


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    before=day_hours,
    today=day_hours,
    which=st.integers(min_value=0, max_value=47),
    key=st.sampled_from(["pm25", "pm10", "so2", "no2", "o3"]),
    rise=st.integers(min_value=1, max_value=500),
)
def test_a_rising_hour_never_lowers_the_day(
    before: list[dict[str, int]], today: list[dict[str, int]], which: int, key: str, rise: int
) -> None:
    was = daily_aqi_from_hours(before, today).aqi
    both = [dict(h) for h in [*before, *today]]
    both[which][key] += rise
    assert daily_aqi_from_hours(both[:24], both[24:]).aqi >= was
    aqis = [float(i % 300) for i in range(48)]
    was_aqi = aqi_from_hourly_aqi(aqis[:24], aqis[24:])
    aqis[which] += rise
    assert aqi_from_hourly_aqi(aqis[:24], aqis[24:]) >= was_aqi
