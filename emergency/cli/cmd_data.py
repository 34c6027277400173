"""Commands: placeholder until implemented."""

from emergency.cli.app import app  # noqa: F401
