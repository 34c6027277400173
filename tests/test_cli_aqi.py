"""``emergency aqi``: exit codes, JSON output and the human summary."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from emergency.cli import app

runner = CliRunner()

EXAMPLE = ["pm25=120", "pm10=180", "so2=40", "no2=60", "co=1.2", "o3_8h=90"]


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["aqi", "--json", *args])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_json_output_is_exactly_the_documented_object() -> None:
    assert run_json(*EXAMPLE) == {
        "aqi": 158,
        "primary": ["pm25"],
        "category": "moderate",
        "iaqi": {"pm25": 158, "pm10": 115, "so2": 40, "no2": 75, "co": 30, "o3_8h": 45},
        "off_scale": False,
        "standard": "HJ633-2012",
    }


def test_exact_arithmetic_through_the_cli() -> None:
    assert run_json("so2=156.5")["aqi"] == 101


@pytest.mark.parametrize(
    ("args", "standard", "aqi"),
    [
        (["--standard", "HJ633-2012"], "HJ633-2012", 100),
        (["--standard", "HJ633-2026"], "HJ633-2026", 114),
        (["--date", "2026-02-28"], "HJ633-2012", 100),
        (["--date", "2026-03-01"], "HJ633-2026", 114),
        (["--date", "2026-03-01", "--standard", "HJ633-2012"], "HJ633-2012", 100),
        ([], "HJ633-2012", 100),
    ],
)
def test_standard_by_option_or_date(args: list[str], standard: str, aqi: int) -> None:
    data = run_json(*args, "pm25=75")
    assert (data["standard"], data["aqi"]) == (standard, aqi)


def test_off_scale_and_substitution_in_json() -> None:
    data = run_json("--hourly", "pm25=600", "so2_1h=900", "so2=30")
    assert data["aqi"] == 500
    assert data["off_scale"] is True
    assert data["iaqi"] == {"pm25": 500, "so2": 30}
    assert data["category"] == "severe"


def test_no_primary_at_or_below_50() -> None:
    data = run_json("pm25=35", "pm10=50")
    assert (data["aqi"], data["primary"]) == (50, [])


def test_human_summary() -> None:
    result = runner.invoke(app, ["aqi", "pm25=300", "pm10=300", "co=1.2"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "AQI 350" in out
    assert "严重污染" in out
    assert "severe" in out
    assert "pm25" in out
    assert "175" in out  # pm10's sub-index in the table
    assert "mg/m³" in out
    assert "爆表" not in out


def test_human_summary_notes_off_scale_and_substitution() -> None:
    result = runner.invoke(app, ["aqi", "pm10=700", "o3_8h=900", "o3_1h=500"])
    assert result.exit_code == 0, result.output
    assert "AQI 500" in result.stdout
    assert "Off the scale" in result.stdout
    assert "爆表" in result.stdout
    assert "o3_8h" in result.stdout
    assert "o3_1h is used instead" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pm25"], "argument 'pm25': expected KEY=VALUE"),
        (["pm25="], "argument 'pm25=': expected KEY=VALUE"),
        (["=120"], "argument '=120': expected KEY=VALUE"),
        (["pm25=1", "pm25=2"], "pm25 is given twice"),
        (["pm25=abc"], "pm25='abc': not a number"),
        (["pm25=-5"], "pm25='-5'"),
        (["pm25=nan"], "pm25='nan'"),
        (["pm2.5=80"], "pm2.5='80': unknown pollutant"),
        (["--standard", "HJ633-2099", "pm25=80"], "HJ633-2099"),
        (["--date", "2026-02-30", "pm25=80"], "--date '2026-02-30'"),
        (["o3_8h=900"], "o3_1h"),
        ([], "no concentrations given"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["aqi", *args, "--lang", "en"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_help() -> None:
    result = runner.invoke(app, ["aqi", "--help"])
    assert result.exit_code == 0
    assert "--standard" in result.stdout
    assert "--json" in result.stdout
