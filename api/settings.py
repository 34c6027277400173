"""Service settings, from the environment (prefix ``EMERGENCY_``) or the command line."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from emergency.paths import default_data_dir

MIB = 1024 * 1024


class Settings(BaseSettings):
    """``EMERGENCY_DATA``, ``EMERGENCY_DATABASE_URL``, ``EMERGENCY_MAX_BODY_BYTES``, ..."""

    model_config = SettingsConfigDict(env_prefix="EMERGENCY_", extra="ignore")

    data: Path = Field(default_factory=default_data_dir, description="the data folder")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; default: SQLite file in the data folder"
    )
    max_body_bytes: int = Field(default=MIB, gt=0, description="larger requests get 413")
    solver_time_limit_s: float = Field(default=20.0, gt=0)
    ack_deadline_hours: float | None = Field(
        default=None, gt=0, description="overrides the city plan's ack_deadline_hours"
    )
    report_grace_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 366,
        description="reports are taken until this long after an order's last day",
    )
    max_forecast_days: int = Field(
        default=15, ge=1, le=366, description="longer consultation forecasts get 400"
    )
