"""Where the bundled data lives and how a data folder is laid out (docs/FORMATS.md)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout: holds the bundled ``enterprises.csv`` and ``plans/``."""

DEFAULT_RULE_SET = "henan-2019"


def default_data_dir() -> Path:
    """The data folder used when ``--data`` is not given: ``$EMERGENCY_DATA`` or the repo."""
    env = os.environ.get("EMERGENCY_DATA")
    return Path(env) if env else REPO_ROOT


def rules_dir(data_dir: Path | None = None) -> Path:
    """``plans/rules`` of a data folder; falls back to the bundled rule sets."""
    base = data_dir if data_dir is not None else default_data_dir()
    candidate = base / "plans" / "rules"
    return candidate if candidate.is_dir() else REPO_ROOT / "plans" / "rules"
