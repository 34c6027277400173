"""``--help`` of every command: boolean flags show no value type (no ``--json <bool>``)."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from emergency.cli import app

runner = CliRunner()


def command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command, as the words that name it (``()`` is the top level)."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        # Typer may carry its own copy of click: look for sub-commands, not for a class
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


PATHS = command_paths()


def test_every_command_is_walked() -> None:
    names = {p[0] for p in PATHS if p}
    assert {"respond", "assess", "aqi", "curve", "validate", "serve", "token"} <= names
    assert ("token", "list") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "emergency")
def test_help_shows_no_bool_metavar(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output, result.output
    assert "BOOLEAN" not in result.output, result.output


def test_respond_json_flag_is_bare() -> None:
    result = runner.invoke(app, ["respond", "--help"], env={"COLUMNS": "120"})
    line = next(x for x in result.output.splitlines() if "--json" in x)
    assert "<" not in line.split("--json", 1)[1].split("Print")[0], line


@pytest.mark.parametrize("command", ["assess", "respond"])
def test_forecast_help_cites_the_format_in_the_repository(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "docs/FORMATS.md" in result.output and "SPEC" not in result.output
