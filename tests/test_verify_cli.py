"""``emergency verify``: the JSON shape and values, the table, exit code 2 naming the
file, line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from emergency.cli import app
from tests.verify_cases import FORECAST_A, FORECAST_B, observations_csv

runner = CliRunner()


def folder(tmp_path: Path, *forecasts: dict[str, Any]) -> Path:
    out = tmp_path / "forecasts"
    out.mkdir()
    for i, fc in enumerate(forecasts):
        (out / f"f{i}.json").write_text(json.dumps(fc, indent=2), encoding="utf-8")
    return out


def obs(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "observed.csv"
    path.write_text(observations_csv() if text is None else text, encoding="utf-8")
    return path


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["verify", *map(str, args)])


def test_json_shape_and_values(tmp_path: Path) -> None:
    result = run(
        "--observations", obs(tmp_path), "--forecasts", folder(tmp_path, FORECAST_A, FORECAST_B),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"by_lead", "heavy", "levels", "by_party"} <= set(out)
    assert set(out["by_lead"][0]) == {"lead_days", "n", "bias", "mae"}
    assert set(out["heavy"]) == {"hits", "misses", "false_alarms", "pod", "far", "ts"}
    # the values of tests/test_verify.py, computed by hand there
    assert out["by_lead"][2] == {"lead_days": 3, "n": 2, "bias": -30.0, "mae": 80.0}
    assert out["heavy"] == {
        "hits": 6, "misses": 1, "false_alarms": 1, "pod": 0.857, "far": 0.143, "ts": 0.75,
    }  # fmt: skip
    assert out["levels"]["orange"] == {
        "hits": 3, "misses": 4, "false_alarms": 1, "pod": 0.429, "far": 0.25, "ts": 0.375,
    }  # fmt: skip
    assert out["levels"]["red"]["pod"] is None
    assert out["by_party"]["meteorology"]["heavy"]["false_alarms"] == 1
    assert (out["n"], out["forecasts"], out["unobserved"]) == (9, 2, 0)


def test_table_is_chinese_first_and_english_on_request(tmp_path: Path) -> None:
    args = ["--observations", obs(tmp_path), "--forecasts", folder(tmp_path, FORECAST_A)]
    zh = run(*args, "--lang", "zh")
    assert zh.exit_code == 0, zh.output
    assert (
        "重污染日" in zh.output and "命中率 POD" in zh.output and "会商方 environment" in zh.output
    )
    en = run(*args, "--lang", "en")
    assert en.exit_code == 0 and "heavy day AQI>200" in en.output and "重污染" not in en.output


def test_bad_observations_exit_2_naming_file_line_and_field(tmp_path: Path) -> None:
    text = "date,aqi\n2016-12-16,23x\n2016-13-17,280\n2016-12-18,610\n2016-12-16,230\n"
    result = run(
        "--observations", obs(tmp_path, text), "--forecasts", folder(tmp_path, FORECAST_A),
        "--lang", "en",
    )  # fmt: skip
    assert result.exit_code == 2
    err = result.stderr
    assert "observed.csv:2: aqi:" in err
    assert "observed.csv:3: date:" in err
    assert "observed.csv:4: aqi: must be less than or equal to 500" in err
    assert result.stdout == ""


def test_missing_header_and_repeated_day(tmp_path: Path) -> None:
    forecasts = folder(tmp_path, FORECAST_A)
    bad = run(
        "--observations", obs(tmp_path, "day,aqi\n"), "--forecasts", forecasts, "--lang", "en"
    )
    assert bad.exit_code == 2 and "observed.csv:1: expected the header date,aqi" in bad.stderr
    twice = "date,aqi\n2016-12-16,230\n2016-12-16,231\n"
    again = run("--observations", obs(tmp_path, twice), "--forecasts", forecasts, "--lang", "en")
    assert again.exit_code == 2
    assert "observed.csv:3: date: station 'city', 2016-12-16: already on line 2" in again.stderr


def test_bad_forecasts_exit_2_naming_file_line_and_field(tmp_path: Path) -> None:
    broken = {**FORECAST_A, "days": [{"date": "2016-12-16", "aqi": [260, 210]}]}
    unissued = {k: v for k, v in FORECAST_B.items() if k != "issued_at"}
    result = run(
        "--observations", obs(tmp_path), "--forecasts", folder(tmp_path, broken, unissued),
        "--lang", "en",
    )  # fmt: skip
    assert result.exit_code == 2
    assert re.search(
        r"f0\.json:\d+: days\[0\]\.aqi: range \[260, 210\].*low must be ≤ high", result.stderr
    )
    assert "f1.json: issued_at: required to verify" in result.stderr


def test_empty_or_missing_folder_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    result = run("--observations", obs(tmp_path), "--forecasts", empty, "--lang", "en")
    assert result.exit_code == 2 and "no forecast JSON file" in result.stderr
    gone = run("--observations", tmp_path / "nope.csv", "--forecasts", empty, "--lang", "en")
    assert gone.exit_code == 2 and "nope.csv: cannot read" in gone.stderr


def test_no_pairs_is_not_an_error(tmp_path: Path) -> None:
    text = "date,aqi\n2017-01-05,80\n"
    result = run(
        "--observations", obs(tmp_path, text), "--forecasts", folder(tmp_path, FORECAST_A),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["by_lead"] == [] and out["heavy"]["pod"] is None and out["unobserved"] == 4
