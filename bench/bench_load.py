"""HTTP load benchmark: enterprises polling their orders, planners reading the plan.

For each database (SQLite in a temp copy of the data folder; PostgreSQL in a fresh schema
of the server ``.ci/postgres.sh`` starts, or ``--pg-url``) and each worker count, the
bundled city (or ``--data``) gets an orange response with approved orders, then
``uvicorn api.main:app --workers N`` serves it while a separate load process drives, for a
fixed time each:

- ``orders``: ``GET /api/v1/orders`` with the enterprise tokens of every source that has
  orders, rotating (what the enterprises' systems poll);
- ``plan``: ``GET /api/v1/responses/{id}/plan`` with a planner token.

The load process is ``wrk`` (Debian's package) when it is on the PATH, else a small
asyncio HTTP/1.1 client in a subprocess (``--load python``). Reports requests per second,
p50/p99 latency and errors (non-2xx and socket errors); writes the section "## HTTP load"
of bench/RESULTS.md (other sections kept) and prints it. Never asserts on time.

    python bench/bench_load.py [--seconds 20] [--workers 2,4] [--connections 32]
        [--databases sqlite,postgresql] [--pg-url URL] [--load auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## HTTP load"
CITY_OFFSET = dt.timezone(dt.timedelta(hours=8))


# ------------------------------------------------------------------------------ machine


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}"


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


# ------------------------------------------------------------------------------ seeding


@dataclass
class Seeded:
    response_id: int
    planner: str
    enterprises: list[str]
    orders: int


def orange_forecast() -> dict[str, Any]:
    first = dt.datetime.now(CITY_OFFSET).date() + dt.timedelta(days=1)
    ranges = [[210, 260], [240, 290], [250, 300], [220, 270], [110, 150]]
    return {
        "issued_at": dt.datetime.now(CITY_OFFSET).replace(microsecond=0).isoformat(),
        "issued_by": ["environment", "meteorology"],
        "days": [
            {"date": (first + dt.timedelta(days=i)).isoformat(), "aqi": r}
            for i, r in enumerate(ranges)
        ],
    }


def seed(data_dir: Path, db_url: str | None, max_enterprises: int) -> Seeded:
    """An orange response, approved, and tokens: a planner's and one per enterprise with
    orders (at most ``max_enterprises``)."""
    from emergency.service.access import SYSTEM
    from emergency.service.consult import consult
    from emergency.service.enterprises import open_store
    from emergency.service.orders import approve, orders_in_force
    from emergency.service.tokens import create_token

    store = open_store(data_dir, db_url, solver_time_limit_s=120.0)
    try:
        with store.session() as session:
            result = consult(session, SYSTEM, orange_forecast())
            assert result.response_id is not None, result
            rid = result.response_id
            approve(session, SYSTEM, rid)
            sources = sorted({o.source for o in orders_in_force(session, rid)})
            _, planner = create_token(session, SYSTEM, "planner", name="bench planner")
            tokens = [
                create_token(session, SYSTEM, "enterprise", enterprise_id=s)[1]
                for s in sources[:max_enterprises]
            ]
            session.commit()
            return Seeded(rid, planner, tokens, len(orders_in_force(session, rid)))
    finally:
        store.dispose()


@contextlib.contextmanager
def database(kind: str, pg_url: str | None) -> Iterator[str | None]:
    """None (SQLite in the data folder) or a PostgreSQL URL on a fresh schema, dropped after."""
    if kind == "sqlite":
        yield None
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from emergency.store.db import make_engine

    assert pg_url, "PostgreSQL: give --pg-url or run .ci/postgres.sh"
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    try:
        yield make_url(pg_url).update_query_dict(query).render_as_string(hide_password=False)
    finally:  # a server killed mid-run may leave its connections: end them, then drop
        with admin.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_url(given: str | None) -> str | None:
    if given:
        return given
    if os.environ.get("EMERGENCY_TEST_DATABASE_URL"):
        return os.environ["EMERGENCY_TEST_DATABASE_URL"]
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "postgres.sh")], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    return lines[-1] if done.returncode == 0 and lines else None


# ------------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    data_dir: Path, db_url: str | None, workers: int, stack: str, pythonpath: str = ""
) -> Iterator[str]:
    """``uvicorn api.main:app --workers N`` on a free port; its base URL. ``stack``:
    ``h11`` (pure-Python HTTP parser, asyncio loop: what a plain install has) or
    ``httptools`` (with uvloop: uvicorn[standard])."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
    env |= {
        "EMERGENCY_DATA": str(data_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, str(REPO)])),
    }
    if db_url:
        env["EMERGENCY_DATABASE_URL"] = db_url
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    command += ["--no-access-log"]
    command += (
        ["--http", "h11", "--loop", "asyncio"]
        if stack == "h11"
        else ["--http", "httptools", "--loop", "uvloop"]
    )
    log = (data_dir.parent / f"uvicorn-{workers}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: see {log.name}")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


# ------------------------------------------------------------------------------ load


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_response: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT = """
tokens = {%s}
counter = 0
request = function()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  return wrk.format("GET", "%s", {["Authorization"] = "Bearer " .. token})
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _size(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)([KMG]?B)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[unit]


def etag_of(url: str, token: str) -> str:
    """The ETag an enterprise's GET /orders answers with now."""
    import httpx

    answer = httpx.get(
        f"{url}/api/v1/orders", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    answer.raise_for_status()
    return answer.headers["etag"]


def run_wrk(url: str, path: str, tokens: list[str], seconds: int, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(json.dumps(t) for t in tokens), path))
    try:
        done = subprocess.run(
            [
                *("wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"),
                *("--timeout", "10s", "-s", script.name, url + path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    out = done.stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    took = re.search(r"\d+ requests in ([\d.]+\w+), ([\d.]+\w+) read", out)
    assert took is not None, out
    elapsed = _ms(took.group(1)) / 1000
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, flags=re.M))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(
        requests=requests,
        seconds=elapsed,
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=errors,
        bytes_per_response=_size(took.group(2)) / max(requests, 1),
    )


async def _python_load(
    host: str,
    port: int,
    path: str,
    tokens: list[str],
    seconds: float,
    connections: int,
    etags: list[str] | None = None,
) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 GETs on ``connections`` sockets for ``seconds``; with ``etags``
    (one per token) each request sends its token's in ``If-None-Match`` and a 304 counts
    as an answer."""
    latencies: list[float] = []
    errors = 0
    size = 0
    stop = time.perf_counter() + seconds

    async def client(index: int) -> None:
        nonlocal errors, size
        reader, writer = await asyncio.open_connection(host, port)
        n = index
        while time.perf_counter() < stop:
            token = tokens[n % len(tokens)]
            tag = f"If-None-Match: {etags[n % len(etags)]}\r\n" if etags else ""
            n += connections
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{tag}\r\n"
            )
            start = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            found = re.search(rb"(?i)content-length: *(\d+)", head)
            length = int(found.group(1)) if found else 0
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            size += length
            errors += status >= 300 and not (etags and status == 304)
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "errors": errors,
        "bytes_per_response": size / max(len(latencies), 1),
    }


def run_python(
    url: str,
    path: str,
    tokens: list[str],
    seconds: int,
    connections: int,
    etags: list[str] | None = None,
) -> Result:
    """The asyncio client in a separate process (it must not share the server's CPU time
    with this one's imports)."""
    spec = json.dumps({"url": url, "path": path, "tokens": tokens, "seconds": seconds,
                       "connections": connections, "etags": etags})  # fmt: skip
    done = subprocess.run(
        [sys.executable, __file__, "--_load", spec], capture_output=True, text=True, check=True
    )
    return Result(**json.loads(done.stdout))


def load_process(spec_text: str) -> None:
    spec = json.loads(spec_text)
    match = re.fullmatch(r"http://([^:/]+):(\d+)", spec["url"])
    assert match is not None
    result = asyncio.run(
        _python_load(
            match.group(1),
            int(match.group(2)),
            spec["path"],
            spec["tokens"],
            spec["seconds"],
            spec["connections"],
            spec.get("etags"),
        )
    )
    print(json.dumps(result))


# ------------------------------------------------------------------------------ report


def write_section(body: str, section: str = SECTION) -> None:
    """Replace (or append) the section ``section`` ("## HTTP load" by default) of
    RESULTS.md with ``body``, keeping the others (every benchmark writes its own)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(f"\n{section}\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        following = text.find("\n## ", start + 1)
        tail = text[following:] if following != -1 else "\n"
        text = text[: start + 1] + body.rstrip("\n") + "\n" + tail
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="per scenario")
    parser.add_argument("--workers", default="2,4", help="uvicorn worker counts to try")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=None, help="default: .ci/postgres.sh")
    parser.add_argument("--data", type=Path, default=REPO, help="data folder (copied)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--max-enterprises", type=int, default=200)
    parser.add_argument(
        "--stacks", default="h11", help="h11 (plain install), httptools (uvicorn[standard])"
    )
    parser.add_argument(
        "--server-pythonpath", default="", help="extra path for the server (e.g. uvloop, httptools)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--_load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._load:
        load_process(args._load)
        return
    tool = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    run = run_wrk if tool == "wrk" else run_python
    pg_url = postgres_url(args.pg_url) if "postgresql" in args.databases else None
    rows = []
    for kind in args.databases.split(","):
        if kind == "postgresql" and not pg_url:
            print("PostgreSQL: no server (give --pg-url or run .ci/postgres.sh); skipped")
            continue
        with (
            tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
            database(kind, pg_url) as url,
        ):
            data = Path(tmp) / "data"
            data.mkdir()
            shutil.copy(args.data / "enterprises.csv", data / "enterprises.csv")
            shutil.copytree(args.data / "plans", data / "plans")
            t0 = time.perf_counter()
            seeded = seed(data, url, args.max_enterprises)
            print(
                f"{kind}: seeded response {seeded.response_id} with {seeded.orders} orders "
                f"({len(seeded.enterprises)} enterprise tokens) "
                f"in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            scenarios = [
                ("GET /orders (enterprises)", "/api/v1/orders", seeded.enterprises),
                (
                    "GET /responses/{id}/plan (planner)",
                    f"/api/v1/responses/{seeded.response_id}/plan",
                    [seeded.planner],
                ),
            ]
            for stack in args.stacks.split(","):
                for workers in [int(w) for w in args.workers.split(",")]:
                    with server(data, url, workers, stack, args.server_pythonpath) as base:
                        tagged: list[tuple[str, str, list[str], list[str] | None]] = [
                            (name, path, tokens, None) for name, path, tokens in scenarios
                        ]
                        if tool == "python":  # polls that send back their ETag: 304s
                            tags = [etag_of(base, t) for t in seeded.enterprises]
                            tagged.insert(
                                1,
                                (
                                    "GET /orders, If-None-Match (304)",
                                    "/api/v1/orders",
                                    seeded.enterprises,
                                    tags,
                                ),
                            )
                        for name, path, tokens, etags in tagged:
                            extra = {"etags": etags} if etags else {}
                            run(base, path, tokens, 2, args.connections, **extra)  # warm-up
                            result = run(
                                base, path, tokens, args.seconds, args.connections, **extra
                            )
                            rows.append((kind, f"{workers} ({stack})", name, result))
                            print(
                                f"  {kind:<10} workers {workers} {stack:<9}  {name:<36} "
                                f"{result.rps:8.0f} req/s  p50 {result.p50_ms:7.1f} ms  "
                                f"p99 {result.p99_ms:7.1f} ms  errors {result.errors}",
                                flush=True,
                            )
    command = "python bench/bench_load.py " + " ".join(
        a for a in sys.argv[1:] if not a.startswith("--_load")
    )
    command = re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", command)  # no passwords
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} at commit {git_commit()} on {machine()}. "
        f"Command: `{command.strip()}`; load by {tool} ({args.connections} connections, "
        f"{args.seconds} s per scenario after a 2 s warm-up) on the same machine as the "
        "server; uvicorn `--no-access-log`; data: the bundled city with an orange response "
        "approved (its orders in force). Stack h11: uvicorn's pure-Python HTTP/1.1 parser and "
        "the asyncio loop (a plain install); httptools: httptools and uvloop "
        "(`uvicorn[standard]`). Target on 2 cores: GET /orders on PostgreSQL at ≥ 500 req/s "
        "with p99 ≤ 100 ms and no errors; what limits it: docs/RELIABILITY.md.",
        "",
        "| database | workers (stack) | scenario | req/s | p50 ms | p99 ms | errors "
        "| bytes/response |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, label, name, r in rows:
        lines.append(
            f"| {kind} | {label} | {name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.errors} | {r.bytes_per_response:,.0f} |"
        )
    body = "\n".join(lines) + "\n"
    print()
    print(body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    main()
