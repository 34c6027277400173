"""A real server in a subprocess, tokens from the real command, forecasts dated from today.

- :class:`Server` runs ``emergency serve`` (one process) or ``uvicorn api.main:app
  --workers N`` on a free localhost port, on a data folder and a database URL, in its own
  process group; :meth:`Server.kill` sends SIGKILL to that group (a crash), :meth:`Server.stop`
  ends it politely. Its output goes to a log file the tests read.
- :func:`cli_token` creates a token with ``emergency token create`` (a subprocess) and
  returns the secret printed alone on the last line.
- The forecasts start tomorrow in Jiyuan's time zone: the server runs on the real clock,
  and overrides after approval re-plan the days from today on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.serving import wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
API = "/api/v1"
CITY_OFFSET = dt.timezone(dt.timedelta(hours=8))
EMERGENCY = [sys.executable, "-c", "from emergency.cli import main; main()"]
SERVER_ENV = {"EMERGENCY_SOLVER_TIME_LIMIT_S": "10"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def where(data_dir: Path, db_url: str | None) -> list[str]:
    """The ``--data`` / ``--db`` options of the commands."""
    return ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])


def run_cli(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``emergency ARGS`` as a subprocess (output captured as text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
    return subprocess.run(
        [*EMERGENCY, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def cli_token(data_dir: Path, db_url: str | None, role: str, enterprise: str | None = None) -> str:
    """``emergency token create``: the secret, alone on the last line of its output."""
    args = ["token", "create", "--role", role, "--name", f"reliability {role}"]
    if enterprise:
        args += ["--enterprise", enterprise]
    done = run_cli(*args, *where(data_dir, db_url))
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().splitlines()[-1]
    assert secret.startswith("em_"), done.stdout
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class Server:
    """The service in a subprocess, started, crashed and restarted by the tests.

    Parameters
    ----------
    data_dir, db_url : the data folder and the database (None: SQLite in the folder).
    workers : 0 runs ``emergency serve``; N ≥ 1 runs ``uvicorn --workers N``.
    log : where the server's stdout and stderr go (appended across restarts).
    log_level : uvicorn's log level (``emergency serve`` always logs at ``info``).
    """

    def __init__(
        self,
        data_dir: Path,
        db_url: str | None,
        *,
        workers: int = 0,
        log: Path | None = None,
        log_level: str = "info",
    ) -> None:
        self.data_dir = data_dir
        self.db_url = db_url
        self.workers = workers
        self.log_path = log or data_dir.parent / "server.log"
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""

    def command(self) -> list[str]:
        port = str(self.port)
        if self.workers == 0:
            return [*EMERGENCY, "serve", *where(self.data_dir, self.db_url), "--port", port]
        return [
            *(sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"),
            *("--port", port, "--workers", str(self.workers), "--log-level", self.log_level),
        ]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
        env |= SERVER_ENV | {"PYTHONPATH": str(REPO)}
        if self.workers:
            env["EMERGENCY_DATA"] = str(self.data_dir)
            if self.db_url:
                env["EMERGENCY_DATABASE_URL"] = self.db_url
        return env

    def start(self, timeout_s: float = 90.0, attempts: int = 3) -> Server:
        """Start and wait until ``/api/v1/health`` answers (another port if ours was taken)."""
        for _attempt in range(attempts):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            if self._spawn(timeout_s):
                return self
            if "address already in use" not in self.log()[-2000:].lower():
                break
        raise RuntimeError(f"the server did not start:\n{self.log()[-4000:]}")

    def _spawn(self, timeout_s: float) -> bool:
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {' '.join(self.command()[3:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the workers too
            )
        healthy = wait_until_healthy(self.process, self.url, timeout_s)
        if healthy is None:
            self.process = None
            return False
        if not healthy:
            self.kill()
        return healthy

    def kill(self) -> None:
        """A crash: SIGKILL to the server's process group, nothing gets to clean up."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """A polite stop (SIGTERM to the group), a crash if it takes too long."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def client(self, secret: str | None = None, timeout_s: float = 120.0) -> httpx.Client:
        headers = bearer(secret) if secret else {}
        return httpx.Client(base_url=f"{self.url}{API}", headers=headers, timeout=timeout_s)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def city_today() -> dt.date:
    return dt.datetime.now(CITY_OFFSET).date()


def forecast(first: dt.date, aqi: list[Any]) -> dict[str, Any]:
    """A consultation forecast issued now: one AQI value or range per day from ``first``."""
    return {
        "issued_at": dt.datetime.now(CITY_OFFSET).replace(microsecond=0).isoformat(),
        "issued_by": ["environment", "meteorology"],
        "rule_set": "henan-2019",
        "days": [
            {"date": (first + dt.timedelta(days=i)).isoformat(), "aqi": value}
            for i, value in enumerate(aqi)
        ],
    }


def orange(days: int = 4) -> dict[str, Any]:
    """``days`` days above AQI 200 from tomorrow, then clean air (henan-2019: orange)."""
    ranges: list[Any] = [[210, 260], [240, 290], [250, 300], [220, 270], [230, 280]][:days]
    return forecast(city_today() + dt.timedelta(days=1), [*ranges, [110, 150]])


def orange_today(days: int = 4) -> dict[str, Any]:
    """``orange`` from today: its orders are in force at once, so an enterprise can report
    on them now (a report is dated within its order's period and not in the future)."""
    today = orange(days)
    for i, day in enumerate(today["days"]):
        day["date"] = (city_today() + dt.timedelta(days=i)).isoformat()
    return today


def report_now(load: float = 0.4, note: str = "按要求限产") -> dict[str, Any]:
    """An enterprise's report dated now (in force: ``orange_today``'s orders)."""
    return {"at": dt.datetime.now(CITY_OFFSET).isoformat(), "load": load, "note": note}


def red() -> dict[str, Any]:
    """Four days above 200, three of them above 300, from tomorrow (red)."""
    ranges = [[310, 360], [320, 400], [310, 340], [260, 300], [110, 150]]
    return forecast(city_today() + dt.timedelta(days=1), ranges)


OVERRIDES: list[dict[str, Any]] = [
    {"source": "JY-S001", "measure": "stop-all", "reason": "works near a school"},
    {"source": "JY-Q001", "measure": "stop-blasting", "reason": "district request"},
    {"source": "JY-S001", "measure": "stop-earthwork", "reason": "back to the floor"},
    {"source": "JY-Y001", "exempt": True, "reason": "emergency coal delivery"},
    {"source": "JY-Q001", "measure": "stop-all", "reason": "complaint"},
    {"source": "JY-Y001", "measure": "stop-loading", "reason": "delivery done"},
]
"""Overrides that each change the plan (cycled: every one differs from the one before)."""
