"""A city with a response to review, and a real server for the browser tests.

- :func:`seed` opens the store of a data folder, creates one token per role and lets a
  consultation open an orange response (returns the tokens and the response id);
- :class:`LiveServer` runs ``uvicorn`` in a subprocess on a free localhost port, on the same
  data folder and database, and stops it afterwards;
- :func:`app_with_pages` is the app the server runs: the API with the pages installed
  (a no-op once ``api/main.py`` installs them itself).

``docs/screenshot.py`` uses the same pieces on the bundled data.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from emergency.settings import CITY_OFFSET
from emergency.store.db import Store
from tests.serving import wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
ROLES = ("planner", "inspector", "consultation", "admin", "enterprise")
ENTERPRISE = "JY-P001"


def app_with_pages() -> FastAPI:
    """The service app with the planner pages (uvicorn ``--factory`` target)."""
    from api.main import create_app
    from api.pages import install

    app = create_app()
    install(app)
    return app


def orange_forecast(start: dt.date, issued: dt.datetime | None = None) -> dict[str, Any]:
    """Four days above AQI 200 from ``start`` (henan-2019: orange), then clean air.

    Issued at ``issued`` (default: 16:00 the day before ``start``); the server refuses a
    forecast issued ahead of its clock or a day before it.
    """
    ranges = [(210, 260), (240, 290), (250, 300), (190, 240), (110, 150), (70, 100)]
    if issued is None:
        issued = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(16), CITY_OFFSET)
    return {
        "issued_at": issued.isoformat(),
        "issued_by": ["environment", "meteorology"],
        "rule_set": "henan-2019",
        "regional_order": None,
        "days": [
            {
                "date": (start + dt.timedelta(days=i)).isoformat(),
                "aqi": list(r),
                "primary": "pm25",
            }
            for i, r in enumerate(ranges)
        ],
    }


def make_tokens(store: Store, enterprise: str = ENTERPRISE) -> dict[str, str]:
    """One token per role (the enterprise's bound to ``enterprise``): role → secret."""
    from emergency.service.access import SYSTEM
    from emergency.service.tokens import create_token

    out = {}
    with store.session() as session:
        for role in ROLES:
            _, secret = create_token(
                session,
                SYSTEM,
                role,
                enterprise_id=enterprise if role == "enterprise" else None,
                name=f"test {role}",
            )
            out[role] = secret
        session.commit()
    return out


def open_orange(store: Store, consultation_token: str, start: dt.date) -> int:
    """A consultation opens an orange response from ``start``; its id."""
    from emergency.service.consult import consult
    from emergency.service.tokens import authenticate

    with store.session() as session:
        actor = authenticate(session, consultation_token)
        issued = store.config.now().astimezone(CITY_OFFSET)  # the server's clock
        result = consult(session, actor, orange_forecast(start, issued))
    assert result.response_id is not None, result
    return result.response_id


@dataclass
class Seeded:
    tokens: dict[str, str]
    response_id: int


def seed(data_dir: Path, db_url: str | None = None, *, start: dt.date | None = None) -> Seeded:
    """Tokens and an open orange response in the store of ``data_dir`` (then closed)."""
    from emergency.service.enterprises import open_store

    store = open_store(data_dir, db_url)
    try:
        tokens = make_tokens(store)
        if start is None:
            start = store.config.today() + dt.timedelta(days=1)
        return Seeded(tokens, open_orange(store, tokens["consultation"], start))
    finally:
        store.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``uvicorn`` serving :func:`app_with_pages` on ``data_dir`` until :meth:`stop`."""

    def __init__(self, data_dir: Path, db_url: str | None = None, log: Path | None = None) -> None:
        self.data_dir = data_dir
        self.db_url = db_url
        self.log_path = log or data_dir / "uvicorn.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0, attempts: int = 3) -> LiveServer:
        """Start and wait until ``/api/v1/health`` answers (another port if ours was taken)."""
        for attempt in range(1, attempts + 1):
            if self._spawn(timeout_s):
                return self
            if "address already in use" not in self.log().lower() or attempt == attempts:
                break
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"uvicorn did not start:\n{self.log()}")

    def _spawn(self, timeout_s: float) -> bool:
        env = {**os.environ, "EMERGENCY_DATA": str(self.data_dir), "PYTHONPATH": str(REPO)}
        env.pop("EMERGENCY_DATABASE_URL", None)
        if self.db_url:
            env["EMERGENCY_DATABASE_URL"] = self.db_url
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.pages.live:app_with_pages",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        healthy = wait_until_healthy(self.process, self.url, timeout_s, poll_s=0.2)
        if healthy is None:
            self.process = None
            return False
        if not healthy:
            self.stop()
        return healthy

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
