"""Settings of the engine and the service: one object, from the environment or the code.

``EMERGENCY_DATA``, ``EMERGENCY_DATABASE_URL``, ``EMERGENCY_SOLVER_TIME_LIMIT_S``, ... —
every field below, with the ``EMERGENCY_`` prefix. The store of a data folder carries one
(:attr:`emergency.store.db.Store.config`), and so does the HTTP service; the clock
(:attr:`Settings.now`) is the one every piece of code reads the time through, so tests fix
"now" by giving another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from emergency.paths import default_data_dir

MIB = 1024 * 1024
LEASE_MARGIN_S = 0.5
"""A claim outlasts the longest send by at least this long (the result's write)."""
CITY_OFFSET = dt.timezone(dt.timedelta(hours=8), "+08:00")
"""Chinese plans keep local time at +08:00; "today" for the service is a date there."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Settings(BaseSettings):
    """Where the data and the database are, the limits of the service, and its clock."""

    model_config = SettingsConfigDict(env_prefix="EMERGENCY_", extra="ignore")

    data: Path = Field(default_factory=default_data_dir, description="the data folder")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; default: SQLite file in the data folder"
    )
    max_body_bytes: int = Field(default=MIB, gt=0, description="larger requests get 413")
    max_photo_bytes: int = Field(
        default=8 * MIB, gt=0, description="an inspection photo may be this large"
    )
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

    notify_dispatch: bool = Field(
        default=True,
        description="run the notification dispatcher in the server process (a thread); "
        "off when `emergency dispatch` runs it as its own process",
    )
    notify_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="the dispatcher looks for due work this often"
    )
    notify_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="a webhook must answer within this long"
    )
    notify_lease_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="a claimed notification is another dispatcher's again after this long "
        "(a dispatcher that died mid-delivery); longer than the timeout",
    )
    notify_retry_base_s: float = Field(
        default=10.0, gt=0, description="the first retry waits about this long, then doubling"
    )
    notify_retry_max_s: float = Field(
        default=1800.0, gt=0, description="no retry waits longer than this"
    )
    notify_max_age_hours: float = Field(
        default=24.0, gt=0, description="a notification still undelivered this old is failed"
    )
    notify_batch: int = Field(default=50, ge=1, le=1000, description="claimed at once")
    notify_workers: int = Field(
        default=16,
        ge=1,
        le=64,
        description="notifications a dispatcher sends at the same time (each claimed only "
        "when a worker is free)",
    )
    notify_private_targets: bool = Field(
        default=False,
        description="allow webhook targets on loopback, private, link-local or other "
        "non-public addresses (a city's own network, tests); off, such targets are refused "
        "when registered and when delivered to",
    )
    notify_unreached_minutes: float = Field(
        default=10.0,
        gt=0,
        description="an order issued this long ago, not acknowledged and with no delivered "
        "notification, is flagged unreached",
    )

    stream_max_minutes: float = Field(
        default=30.0,
        gt=0,
        le=24 * 60,
        description="an order event stream ends after this long (the client resumes with "
        "Last-Event-ID)",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for email notifications; none: no email"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(
        default=False, description="upgrade the SMTP connection with STARTTLS before sending"
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA certificates (PEM) to verify the SMTP server's STARTTLS certificate "
        "against, for a city's own CA; default: the system's",
    )
    smtp_user: str | None = Field(default=None, description="SMTP login (with smtp_password)")
    smtp_password: SecretStr | None = Field(default=None, description="never shown back")
    smtp_from: str = Field(
        default="emergency@localhost", max_length=300, description="the From address"
    )
    sms_url: str | None = Field(
        default=None,
        description="the SMS gateway's HTTP endpoint; none: no SMS. {phone} and {text} may "
        "appear in it (URL-encoded there)",
    )
    sms_method: Literal["POST", "GET"] = Field(default="POST")
    sms_body: str = Field(
        default='{"phone": "{phone}", "text": "{text}"}',
        description="the request body, with {phone} and {text} (escaped for the content type)",
    )
    sms_content_type: str = Field(default="application/json; charset=utf-8")
    sms_auth_header: SecretStr | None = Field(
        default=None, description='one header sent with every SMS request, "Name: value"'
    )
    sms_sign: str = Field(
        default="", max_length=20, description="the sender's signature that begins every SMS"
    )

    city: str = Field(default="city", description="the city's key in the database")
    now: Callable[[], dt.datetime] = Field(
        default=utc_now, exclude=True, description="the clock (UTC, timezone-aware)"
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        # a claim must outlast the longest send (a time-out is a deadline on the whole
        # exchange) and the writing of its result, or another dispatcher could send it too
        if self.notify_lease_s < self.notify_timeout_s + LEASE_MARGIN_S:
            raise ValueError(
                f"notify_lease_s ({self.notify_lease_s:g}) must be at least notify_timeout_s "
                f"({self.notify_timeout_s:g}) + {LEASE_MARGIN_S:g} s"
            )
        return self

    def today(self) -> dt.date:
        """The server's date in the city (+08:00): what is past is before it."""
        return self.now().astimezone(CITY_OFFSET).date()
