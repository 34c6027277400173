"""Command line: ``emergency <command>``. Each command lives in its own module."""

from __future__ import annotations

from emergency.cli import (  # noqa: F401  (importing registers the commands)
    cmd_aqi,
    cmd_assess,
    cmd_data,
    cmd_dispatch,
    cmd_gates,
    cmd_list,
    cmd_meters,
    cmd_observations,
    cmd_respond,
    cmd_rules,
    cmd_season,
    cmd_service,
    cmd_synth,
    cmd_verify,
)
from emergency.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
