"""Service settings, from the environment (prefix ``EMERGENCY_``) or the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    session_idle_hours: float = Field(
        default=2.0, gt=0, description="a browser session ends after this long without a request"
    )
    session_max_hours: float = Field(
        default=12.0, gt=0, description="a browser session ends this long after signing in"
    )
    clock_skew_minutes: float = Field(
        default=5.0, ge=0, le=60, description="consultations issued further ahead are refused"
    )
    consultation_max_age_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="older consultations are refused (409)"
    )
    docs: bool = Field(
        default=True, description="serve the API docs page at /docs (Swagger UI, local files)"
    )

    def store_options(self) -> dict[str, Any]:
        """The settings the store's configuration shares (one list, used by every server)."""
        from dataclasses import fields

        from emergency.store.db import StoreConfig

        shared = {f.name for f in fields(StoreConfig)} & set(type(self).model_fields)
        return {name: getattr(self, name) for name in sorted(shared)}
