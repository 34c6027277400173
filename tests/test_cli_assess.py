"""``emergency assess``: the warning object, the rule-set precedence, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emergency.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RULES = Path(__file__).resolve().parents[1] / "plans" / "rules"
runner = CliRunner()


def run(*args: str | Path) -> Any:
    return runner.invoke(app, ["assess", *map(str, args)])


def run_en(*args: str | Path) -> Any:
    """``assess`` printing its problems in English (``--lang en``)."""
    return run(*args, "--lang", "en")


def warning(*args: str | Path) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_orange_example() -> None:
    out = warning("--forecast", EXAMPLES / "forecast-orange.json")
    assert out["level"] == "orange"
    assert out["advisory"] is False
    assert out["rule_set"] == "henan-2019"
    assert (out["start"], out["end"]) == ("2016-12-16", "2016-12-19")
    assert "→ orange (henan-2019" in out["reason"]
    assert out["release_ok"] is False
    assert [d["aqi"] for d in out["days"]][:4] == [260, 290, 300, 240]
    assert out["days"][0]["aqi_range"] == [210, 260]


# Example file → (rule set flag or None, expected level, advisory), by hand from the
# rule sets' published tables (docs/RULES.md).
EXAMPLE_CASES = [
    ("forecast-orange.json", None, "orange", False),
    ("forecast-orange.json", "national-2017", "yellow", False),  # no day > 300
    ("forecast-orange.json", "henan-2014", "yellow", False),
    ("forecast-none.json", None, None, False),
    ("forecast-red.json", None, "red", False),
    ("forecast-red.json", "henan-2014", "orange", False),  # > 300 on 3 days running
    ("forecast-advisory.json", None, None, True),
    ("forecast-advisory.json", "national-2017", "blue", False),
    ("forecast-concentrations.json", None, "yellow", False),
    ("forecast-regional.json", None, "yellow", False),
]


@pytest.mark.parametrize(("name", "rules", "level", "advisory"), EXAMPLE_CASES)
def test_examples(name: str, rules: str | None, level: str | None, advisory: bool) -> None:
    flags = ["--rules", rules] if rules else []
    out = warning("--forecast", EXAMPLES / name, *flags)
    assert (out["level"], out["advisory"]) == (level, advisory)
    assert out["rule_set"] == (rules or "henan-2019")


def test_json_keeps_the_spec_fields() -> None:
    out = warning("--forecast", EXAMPLES / "forecast-none.json")
    assert {"level", "advisory", "start", "end", "rule_set", "reason"} <= set(out)
    assert out["level"] is None and out["start"] is None and out["end"] is None
    assert out["release_ok"] is True


def test_human_summary() -> None:
    result = run("--forecast", EXAMPLES / "forecast-orange.json", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "ORANGE" in result.stdout
    assert "2016-12-16 .. 2016-12-19" in result.stdout
    assert "重度污染" in result.stdout
    assert "henan-2019" in result.stdout


def test_human_summary_no_warning() -> None:
    result = run("--forecast", EXAMPLES / "forecast-none.json", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "No warning" in result.stdout


def plain_forecast(tmp_path: Path, **extra: Any) -> Path:
    days = [{"date": f"2016-12-{16 + i}", "aqi": a} for i, a in enumerate([250, 260, 320, 330])]
    return write(tmp_path / "forecast.json", {"days": days, **extra})


def test_rule_set_precedence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    fc = plain_forecast(tmp_path)
    # No flag, no rule_set in the forecast, no city.yaml: henan-2019.
    assert warning("--forecast", fc, "--data", data)["rule_set"] == "henan-2019"
    (data / "plans" / "city.yaml").write_text("name: Jiyuan\nrule_set: henan-2014\n")
    assert warning("--forecast", fc, "--data", data)["rule_set"] == "henan-2014"
    named = plain_forecast(tmp_path, rule_set="national-2017")
    assert warning("--forecast", named, "--data", data)["rule_set"] == "national-2017"
    out = warning("--forecast", named, "--data", data, "--rules", "henan-2019")
    assert (out["rule_set"], out["level"]) == ("henan-2019", "red")


def test_rules_as_a_file(tmp_path: Path) -> None:
    out = warning("--forecast", plain_forecast(tmp_path), "--rules", RULES / "henan-2014.yaml")
    assert (out["rule_set"], out["level"]) == ("henan-2014", "yellow")


def test_city_standard_applies_to_concentrations(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    days = [{"date": "2016-12-16", "concentrations": {"pm25": 70}}]
    fc = write(tmp_path / "c.json", {"days": days})
    assert warning("--forecast", fc, "--data", data)["days"][0]["aqi"] == 94
    (data / "plans" / "city.yaml").write_text("aqi_standard: HJ633-2026\n")
    assert warning("--forecast", fc, "--data", data)["days"][0]["aqi"] == 110


def assert_one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "forecast.json"
    path.write_text('{"days": [\n  {"date": "2016-12-16", "aqi": 230,}\n]}')
    assert_one_line_error(run_en("--forecast", path), "forecast.json:2:", "malformed JSON")


BAD_DAYS = [
    ([{"date": "2016-12-16", "concentrations": {"pm2.5": 80}}], "days[0].concentrations.pm2.5"),
    ([{"date": "2016-12-16", "concentrations": {"pm25": -3}}], "must be ≥ 0, got -3"),
    (
        [{"date": "2016-12-17", "aqi": 100}, {"date": "2016-12-16", "aqi": 100}],
        "days[1].date: 2016-12-16 is out of order",
    ),
    (
        [{"date": "2016-12-16", "aqi": 100}, {"date": "2016-12-16", "aqi": 100}],
        "days[1].date: 2016-12-16 is duplicated",
    ),
    ([{"date": "2016-12-16", "aqi": [260, 210]}], "days[0].aqi"),
]


@pytest.mark.parametrize(("days", "fragment"), BAD_DAYS)
def test_bad_forecast(tmp_path: Path, days: list[dict[str, Any]], fragment: str) -> None:
    path = write(tmp_path / "forecast.json", {"days": days})
    assert_one_line_error(run_en("--forecast", path), "forecast.json:1: ", fragment)  # one line


def test_unknown_level_in_regional_order(tmp_path: Path) -> None:
    path = plain_forecast(tmp_path, regional_order="purple")
    assert_one_line_error(run_en("--forecast", path), "forecast.json:1: regional_order", "purple")


def test_unknown_rule_set(tmp_path: Path) -> None:
    result = run_en("--forecast", plain_forecast(tmp_path), "--rules", "henan-2099")
    assert_one_line_error(result, "henan-2099", "known: ", "henan-2019")


def test_unknown_rule_set_in_forecast(tmp_path: Path) -> None:
    result = run_en("--forecast", plain_forecast(tmp_path, rule_set="beijing-1999"))
    assert_one_line_error(result, "beijing-1999", "unknown")


def test_missing_forecast_file(tmp_path: Path) -> None:
    assert_one_line_error(run_en("--forecast", tmp_path / "nope.json"), "nope.json")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("  orange:", "  purple:", "levels.purple: unknown level"),
        ("merge_gap_days: 1", "merge_gap_days: 1\nmerge_gap_hours: 24", "merge_gap_hours"),
        ("    run: {above: 200, days: 3}", "    run: {above: 200, days: 3, h: 1}", "run.h"),
    ],
)
def test_bad_rule_file(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    data = tmp_path / "data"
    rules_dir = data / "plans" / "rules"
    rules_dir.mkdir(parents=True)
    text = (RULES / "henan-2019.yaml").read_text(encoding="utf-8")
    body = text.index("\nid: ")  # edit the fields, not the header comment
    assert old in text[body:]
    (rules_dir / "henan-2019.yaml").write_text(text[:body] + text[body:].replace(old, new, 1))
    result = run_en("--forecast", plain_forecast(tmp_path), "--data", data)
    assert_one_line_error(result, "henan-2019.yaml:", fragment)


def test_bad_city_standard(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "city.yaml").write_text("aqi_standard: GB3095\n")
    result = run_en("--forecast", plain_forecast(tmp_path), "--data", data)
    assert_one_line_error(result, "city.yaml: aqi_standard", "GB3095")


@pytest.mark.parametrize("command", ["assess", "respond"])
def test_every_forecast_problem_is_listed_with_its_line(tmp_path: Path, command: str) -> None:
    path = tmp_path / "forecast.json"
    days = [
        {"date": "2016-12-16", "aqi": [210, 2600]},
        {"date": "2016-12-17", "aqi": [260, 210]},
        {"date": "2016-12-19", "aqi": 230},
    ]
    path.write_text(json.dumps({"days": days}, indent=2), encoding="utf-8")
    result = runner.invoke(app, [command, "--forecast", str(path), "--lang", "en"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: 3 errors in {path}:"
    assert len(lines) == 4
    assert f"{path}:5: days[0].aqi: range [210, 2600] on 2016-12-16 is implausibly" in lines[1]
    assert f"{path}:12: days[1].aqi: range [260, 210] on 2016-12-17: low must be" in lines[2]
    assert f"{path}:18: days[2].date: 2016-12-19 follows 2016-12-17" in lines[3]
