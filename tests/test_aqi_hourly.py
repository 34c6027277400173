"""Daily vs hourly (real-time) AQI: 1-hour SO2, NO2, CO count only in the hourly AQI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from emergency.aqi import daily_aqi, hourly_aqi
from emergency.cli import app
from emergency.errors import InputError

runner = CliRunner()


@pytest.mark.parametrize("key", ["so2_1h", "no2_1h", "co_1h"])
def test_the_daily_cli_refuses_one_hour_values_with_a_hint(key: str) -> None:
    result = runner.invoke(app, ["aqi", f"{key}=1300", "so2=10"])
    assert result.exit_code == 2
    assert "--hourly" in result.output
    assert key in result.output


def test_no2_1h_does_not_make_a_daily_aqi_of_209() -> None:
    result = runner.invoke(app, ["aqi", "--json", "no2_1h=1300", "so2=10"])
    assert result.exit_code == 2
    assert "209" not in result.stdout


@pytest.mark.parametrize("key", ["so2_1h", "no2_1h", "co_1h"])
def test_daily_aqi_refuses_one_hour_values(key: str) -> None:
    with pytest.raises(InputError, match=rf"{key}=.*hourly"):
        daily_aqi({key: 10, "pm25": 20})


def test_the_hourly_cli_computes_the_real_time_aqi() -> None:
    result = runner.invoke(app, ["aqi", "--hourly", "--json", "no2_1h=1300", "so2_1h=10"])
    assert result.exit_code == 0, result.output
    assert '"aqi": 209' in result.stdout  # 200 + 100/1140 × 100 = 208.8 → 209


def test_hourly_particulates_use_the_24_hour_breakpoints() -> None:
    assert hourly_aqi({"pm25": 75}).iaqi == {"pm25": 100}
    assert hourly_aqi({"pm25": 75}, standard="HJ633-2026").iaqi == {"pm25": 114}
    assert hourly_aqi({"pm10": 150}).aqi == 100


@pytest.mark.parametrize("key", ["no2", "co"])
def test_hourly_refuses_24_hour_means(key: str) -> None:
    with pytest.raises(InputError, match=f"{key}_1h"):
        hourly_aqi({key: 10})


def test_so2_24h_stands_in_only_above_800() -> None:
    assert hourly_aqi({"so2_1h": 900, "so2": 100}).iaqi == {"so2": 75}
    assert hourly_aqi({"so2_1h": 700, "so2": 2000}).iaqi == {"so2_1h": 167}
    with pytest.raises(InputError, match="give so2_1h"):
        hourly_aqi({"so2": 100})


def test_hourly_arithmetic_is_exact() -> None:
    # no2_1h 1200 + 1140 × 0.005 = 1205.7 → exactly 200.5 → 201, never 200 or 202.
    assert hourly_aqi({"no2_1h": "1205.7"}).aqi == 201
