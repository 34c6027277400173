"""``emergency token create|list|revoke``, ``emergency import`` and ``emergency serve``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from emergency.cli import app
from tests.datafiles import small_rows, write_small_dataset

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    """Run a command; its problems in English (``--lang en``)."""
    result = runner.invoke(app, [*args, "--lang", "en"])
    return result.exit_code, result.stdout, result.stderr


def where(data_dir: Path, db_url: str | None) -> list[str]:
    return ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])


def test_token_create_list_revoke(data_dir: Path, db_url: str | None) -> None:
    at = where(data_dir, db_url)
    code, out, _err = cli("token", "create", "--role", "planner", "--name", "Li Wei", *at)
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("em_") and " " not in secret and len(secret) > 40
    code, out, _ = cli("token", "create", "--role", "enterprise", "--enterprise", "JY-P001", *at)
    assert code == 0
    code, out, _ = cli("token", "list", "--json", *at)
    listed = json.loads(out)
    assert [(t["role"], t["enterprise_id"]) for t in listed] == [
        ("planner", None),
        ("enterprise", "JY-P001"),
    ]
    assert secret not in out
    assert cli("token", "revoke", str(listed[0]["id"]), *at)[0] == 0
    _code, out, _ = cli("token", "list", *at)
    assert "revoked" in out.splitlines()[0] and "active" in out.splitlines()[1]


def test_token_errors_exit_2(data_dir: Path, db_url: str | None) -> None:
    at = where(data_dir, db_url)
    code, _out, err = cli("token", "create", "--role", "boss", *at)
    assert code == 2 and "unknown role 'boss'" in err
    code, _out, err = cli("token", "create", "--role", "enterprise", "--enterprise", "X", *at)
    assert code == 2 and "not in the inventory" in err
    code, _out, err = cli("token", "revoke", "42", *at)
    assert code == 2 and "token 42 not found" in err
    code, _out, err = cli("token", "list", "--data", str(data_dir / "missing"))
    assert code == 2 and "no such folder" in err


def test_import_reloads_the_folder(data_dir: Path, db_url: str | None) -> None:
    at = where(data_dir, db_url)
    code, out, _ = cli("import", *at)
    assert code == 0 and "5 added" in out  # the first start imports during the command
    code, out, _ = cli("import", *at)
    assert code == 0 and "0 added, 0 changed, 0 removed, 5 unchanged" in out
    rows = small_rows()
    rows[2]["name"] = "国电济源热电（扩建）"
    write_small_dataset(data_dir, rows=rows)
    code, out, _ = cli("import", *at)
    assert code == 0 and "changed  enterprises.csv" in out
    rows[2]["kind"] = "castle"
    write_small_dataset(data_dir, rows=rows)
    code, _out, err = cli("import", *at)
    assert code == 2 and "enterprises.csv" in err and "kind" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_the_api(data_dir: Path, db_url: str | None) -> None:
    port = free_port()
    command = [sys.executable, "-c", "from emergency.cli import main; main()", "serve"]
    command += where(data_dir, db_url)
    command += ["--port", str(port)]
    env = {**os.environ, "EMERGENCY_SOLVER_TIME_LIMIT_S": "5"}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not start")
        assert httpx.get(f"{base}/api/v1/public/warning").json()["level"] is None
        assert httpx.get(f"{base}/api/v1/responses").status_code == 401
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert f"{base}/api/v1" in output
    assert "emergency token create --role planner" in output
