"""``emergency validate``: a summary and exit 0, or every error on stderr and exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from emergency.cli import app
from tests.datafiles import small_plans, small_rows, write_small_dataset

runner = CliRunner()


def test_valid_folder_prints_a_summary(tmp_path: Path) -> None:
    root = write_small_dataset(tmp_path)
    result = runner.invoke(app, ["validate", "--data", str(root)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "valid" in out and "6 sources, 3 plans, 1 supply edges" in out
    for text in ("by kind", "by industry", "by district", "by grade", "虎岭产业集聚区"):
        assert text in out
    assert "guaranteed (保障类): 1 (livelihood 1)" in out
    # listed so2 1700 kg/day against a baseline of 4000
    assert "42.5%" in out
    assert result.stderr == ""


def test_invalid_folder_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    rows = small_rows()
    rows[1]["kind"] = "factory"
    rows[3]["pm_kg_d"] = -1
    plans = small_plans()
    plans["JY-P001"]["levels"]["red"] = "stop-all"
    root = write_small_dataset(tmp_path, rows=rows, plans=plans)
    result = runner.invoke(app, ["validate", "--data", str(root), "--lang", "en"])
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("error: 3 errors in the data:")
    assert "enterprises.csv:3: kind: unknown kind 'factory'" in err
    assert "enterprises.csv:5: pm_kg_d: negative: '-1'" in err
    assert "plans/enterprises/JY-P001.yaml:" in err and "levels.red: names no measure" in err
    assert "Traceback" not in result.output


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "nowhere"), "--lang", "en"])
    assert result.exit_code == 2
    assert "no such data folder" in result.stderr


def test_default_folder_comes_from_the_environment(tmp_path: Path) -> None:
    root = write_small_dataset(tmp_path)
    result = runner.invoke(app, ["validate"], env={"EMERGENCY_DATA": str(root)})
    assert result.exit_code == 0, result.output
    assert str(root) in result.stdout.replace("\n", "")


def test_help() -> None:
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0 and "--data" in result.stdout


def test_a_single_error_is_one_line(tmp_path: Path) -> None:
    from tests.datafiles import small_rows, write_small_dataset

    rows = small_rows()
    rows[0]["so2_kg_d"] = -5
    data = write_small_dataset(tmp_path / "one", rows=rows)
    result = runner.invoke(app, ["validate", "--data", str(data), "--lang", "en"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: enterprises.csv:2: so2_kg_d"), lines
