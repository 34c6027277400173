"""The bundled heating season (plans/season.yaml, plans/season-risk.csv): it validates, the
command line plans it to a schedule the checker accepts, and ``emergency synth`` writes it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import load_dataset
from emergency.paths import REPO_ROOT
from emergency.season.model import SEASON_FILE, load_season

SEASON_FILES = (SEASON_FILE, "plans/season-risk.csv")


def test_the_bundled_season_validates() -> None:
    data = load_dataset(REPO_ROOT)
    inp = load_season(None, data)
    season = inp.season
    assert len(season.days()) == 121
    assert {q.industry for q in season.quotas} == {
        "cement",
        "steel",
        "brick",
        "refractory",
        "lead_zinc_smelting",
    }
    assert season.key_periods and all(p.level in data.city.levels for p in season.key_periods)
    assert season.risk == "season-risk.csv" and max(inp.risk) > 0


def test_synth_writes_exactly_the_bundled_season_files(tmp_path: Path) -> None:
    out = tmp_path / "city"
    args = ["synth", "--sources", "400", "--seed", "2016", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in SEASON_FILES:
        assert (out / name).read_bytes() == (REPO_ROOT / name).read_bytes(), name


def test_the_bundled_season_plans_and_the_checker_accepts_it(tmp_path: Path) -> None:
    runner = CliRunner()
    planned = runner.invoke(app, ["season", "plan", "--data", str(REPO_ROOT), "--json"])
    assert planned.exit_code == 0, planned.output[-2000:]
    schedule = json.loads(planned.stdout)
    assert schedule["status"] in ("optimal", "feasible")
    assert all(q["achieved"] >= q["required"] - 1e-9 for q in schedule["quotas"])
    path = tmp_path / "schedule.json"
    path.write_text(planned.stdout, encoding="utf-8")
    checked = runner.invoke(
        app, ["season", "check", "--data", str(REPO_ROOT), "--schedule", str(path)]
    )
    assert checked.exit_code == 0, checked.output[-2000:]
    assert checked.stdout.startswith("ok:")
