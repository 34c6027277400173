"""HTTP load benchmark: enterprises polling their orders, planners reading the plan and the
list page.

For each database (SQLite in a temp copy of the data folder; PostgreSQL in a fresh schema
of the server ``.ci/postgres.sh`` starts, or ``--pg-url``) and each worker count, the
bundled city (or ``--data``) gets an orange response with approved orders, then
``uvicorn api.main:app --workers N`` serves it while a separate load process drives, for a
fixed time each:

- ``orders``: ``GET /api/v1/orders`` with the enterprise tokens of every source that has
  orders, rotating (what the enterprises' systems poll); and the same polls sending back
  each token's ``ETag`` in ``If-None-Match`` (304s);
- ``plan``: ``GET /api/v1/responses/{id}/plan`` with a planner token;
- ``list``: the planner's list page ``/responses/{id}`` (a signed-in session) of an
  approved response of a synthetic city of ``--list-sources`` sources (``emergency
  synth``; 5,000, 0: none), full renders, ``--list-connections`` (2) at once, on
  ``--list-workers`` (2).

``--baseline COMMIT`` serves the same database with that commit's code too (``git
archive``), scenario by scenario beside this tree's: before and after in one run.

The load process is ``wrk`` (Debian's package: ``apt-get install -y wrk``) when it is on
the PATH, else a small asyncio HTTP/1.1 client in a subprocess (``--load python``).
Reports requests per second, p50/p95/p99 latency and errors (non-2xx/3xx and socket
errors) and the load average; writes the section "## HTTP load" of bench/RESULTS.md (or
``--section``, e.g. a "### ..." subsection of it; other sections kept) and prints it. Never
asserts on time.

    python bench/bench_load.py [--seconds 20] [--workers 2,4] [--connections 32]
        [--databases sqlite,postgresql] [--pg-url URL] [--load auto|wrk|python]
        [--list-sources 5000] [--baseline COMMIT] [--section "### ..."] [--no-write]
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
import shlex
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
    data_dir: Path,
    db_url: str | None,
    workers: int,
    stack: str,
    pythonpath: str = "",
    code: Path = REPO,
) -> Iterator[str]:
    """``uvicorn api.main:app --workers N`` on a free port; its base URL. ``stack``:
    ``h11`` (pure-Python HTTP parser, asyncio loop: what a plain install has) or
    ``httptools`` (with uvloop: uvicorn[standard]). ``code``: the source tree it runs
    (this one; or an older commit's, :func:`code_of`)."""
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
    env |= {
        "EMERGENCY_DATA": str(data_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, str(code)])),
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
    log = (data_dir.parent / f"uvicorn-{workers}-{code.name}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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


@contextlib.contextmanager
def code_of(commit: str) -> Iterator[Path]:
    """The source tree of ``commit`` in a temporary folder (``git archive``: the repository
    and its work tree are left as they are)."""
    with tempfile.TemporaryDirectory(prefix="bench-code-") as tmp:
        tree = Path(tmp) / commit
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "api", "emergency"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        yield tree


def synth_city(sources: int, out: Path) -> None:
    """A synthetic city of ``sources`` sources (``emergency synth``, seed 2016)."""
    emergency = Path(sys.executable).with_name("emergency")
    subprocess.run(
        [str(emergency), "synth", "--sources", str(sources), "--seed", "2016", "--out", str(out)],
        check=True,
        capture_output=True,
    )


def session_cookie(url: str, token: str) -> str:
    """Sign in to the pages with ``token`` as a browser does; the session's ``Cookie``."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as browser:
        form = browser.get("/login")
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert found, form.text[:300]
        answer = browser.post("/login", data={"token": token, "next": "/", "csrf": found[1]})
        assert answer.status_code in (200, 303), answer.text[:300]
        return f"emergency_session={browser.cookies['emergency_session']}"


# ------------------------------------------------------------------------------ load


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_response: float
    p95_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_SCRIPT = """
tokens = {%s}
etags = {%s}
cookie = %s
counter = 0
request = function()
  counter = counter + 1
  local i = (counter %% #tokens) + 1
  local headers = {}
  if tokens[i] ~= "" then headers["Authorization"] = "Bearer " .. tokens[i] end
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  if cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", %s, headers)
end
done = function(summary, latency, requests)
  io.write(string.format("PERCENTILES_US %%d %%d %%d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
"""Rotates the tokens (with each one's ETag when given; or no token and a session cookie)
and prints p50, p95 and p99 in microseconds at the end."""


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


def run_wrk(
    url: str,
    path: str,
    tokens: list[str],
    seconds: int,
    connections: int,
    etags: list[str] | None = None,
    cookie: str = "",
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            WRK_SCRIPT
            % (
                ", ".join(json.dumps(t) for t in tokens or [""]),
                ", ".join(json.dumps(t) for t in etags or []),
                json.dumps(cookie),
                json.dumps(path),
            )
        )
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
    found = re.search(r"PERCENTILES_US (\d+) (\d+) (\d+)", out)
    assert found is not None, out
    p50, p95, p99 = (int(v) / 1000 for v in found.groups())
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(
        requests=requests,
        seconds=elapsed,
        p50_ms=p50,
        p99_ms=p99,
        p95_ms=p95,
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
    cookie: str = "",
) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 GETs on ``connections`` sockets for ``seconds``; with ``etags``
    (one per token) each request sends its token's in ``If-None-Match`` and a 304 counts
    as an answer; with ``cookie`` (and an empty token), a signed-in page."""
    tokens = tokens or [""]
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
            auth = f"Authorization: Bearer {token}\r\n" if token else ""
            jar = f"Cookie: {cookie}\r\n" if cookie else ""
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}{jar}{tag}\r\n"
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
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else 0.0,
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
    cookie: str = "",
) -> Result:
    """The asyncio client in a separate process (it must not share the server's CPU time
    with this one's imports)."""
    spec = json.dumps({"url": url, "path": path, "tokens": tokens, "seconds": seconds,
                       "connections": connections, "etags": etags, "cookie": cookie})  # fmt: skip
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
            spec.get("cookie", ""),
        )
    )
    print(json.dumps(result))


# ------------------------------------------------------------------------------ report


def write_section(body: str, section: str = SECTION, parent: str = SECTION) -> None:
    """Replace (or add) the section ``section`` ("## HTTP load" by default) of RESULTS.md
    with ``body``, keeping the others (every benchmark writes its own). A subsection
    (``### ...``) ends at the next heading of its level or above; a new one goes at the end
    of ``parent``."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    level = len(section) - len(section.lstrip("#"))
    ends = [f"\n{'#' * n} " for n in range(2, level + 1)]

    def end_of(start: int, marks: list[str]) -> int:
        found = [i for i in (text.find(m, start + 1) for m in marks) if i != -1]
        return min(found) if found else len(text)

    start = text.find(f"\n{section}\n")
    if start != -1:
        following = end_of(start, ends)
        text = text[: start + 1] + body.rstrip("\n") + "\n" + text[following:]
    elif level > 2 and (home := text.find(f"\n{parent}\n")) != -1:
        following = end_of(home, ["\n## "])
        text = text[:following].rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n" + text[following:]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


@dataclass
class Scenario:
    name: str
    path: str
    tokens: list[str]
    connections: int
    etags: bool = False
    """Each request sends its token's ETag (taken from the server first): 304s."""
    cookie: str = ""


@dataclass
class Row:
    database: str
    workers: str
    code: str
    scenario: str
    result: Result
    load: tuple[float, float]
    """The 1-minute load average before and after the scenario."""


def drive(
    base: str, run: Any, scenario: Scenario, seconds: int, warm_up: int = 2
) -> tuple[Result, tuple[float, float]] | None:
    """One scenario against a running server: a warm-up, then the measured run."""
    etags = None
    if scenario.etags:
        try:
            etags = [etag_of(base, t) for t in scenario.tokens]
        except KeyError:  # a server without ETags
            return None
    extra: dict[str, Any] = {"cookie": scenario.cookie} if scenario.cookie else {}
    if etags:
        extra["etags"] = etags
    run(base, scenario.path, scenario.tokens, warm_up, scenario.connections, **extra)
    before = os.getloadavg()[0]
    result = run(base, scenario.path, scenario.tokens, seconds, scenario.connections, **extra)
    return result, (before, os.getloadavg()[0])


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
    parser.add_argument(
        "--list-sources",
        type=int,
        default=5000,
        help="the list page of a synth city this big (0: none)",
    )
    parser.add_argument("--list-workers", type=int, default=2, help="workers for the list page")
    parser.add_argument(
        "--list-connections", type=int, default=2, help="list pages requested at once"
    )
    parser.add_argument("--baseline", default="", help="also serve with this commit's code")
    parser.add_argument("--section", default=SECTION, help="the RESULTS.md section to write")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--_load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._load:
        load_process(args._load)
        return
    tool = args.load if args.load != "auto" else ("wrk" if shutil.which("wrk") else "python")
    run = run_wrk if tool == "wrk" else run_python
    pg_url = postgres_url(args.pg_url) if "postgresql" in args.databases else None
    rows: list[Row] = []
    began = os.getloadavg()
    current = git_commit()
    with contextlib.ExitStack() as stack:
        trees = [(current, REPO)]
        if args.baseline:
            trees.insert(0, (args.baseline, stack.enter_context(code_of(args.baseline))))
        for kind in args.databases.split(","):
            if kind == "postgresql" and not pg_url:
                print("PostgreSQL: no server (give --pg-url or run .ci/postgres.sh); skipped")
                continue
            rows += measure_city(args, kind, pg_url, trees, run)
            if args.list_sources:
                rows += measure_list(args, kind, pg_url, trees, run)
    body = report(args, tool, rows, began, current)
    print()
    print(body)
    if not args.no_write:
        write_section(body, args.section)


def measure_city(
    args: argparse.Namespace,
    kind: str,
    pg_url: str | None,
    trees: list[tuple[str, Path]],
    run: Any,
) -> list[Row]:
    """The bundled city (or ``--data``): GET /orders (full and 304) and the plan JSON."""
    rows = []
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
            f"({len(seeded.enterprises)} enterprise tokens) in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        n = args.connections
        scenarios = [
            Scenario("GET /orders (enterprises)", "/api/v1/orders", seeded.enterprises, n),
            Scenario(
                "GET /orders, If-None-Match (304)", "/api/v1/orders", seeded.enterprises, n, True
            ),
            Scenario(
                "GET /responses/{id}/plan (planner)",
                f"/api/v1/responses/{seeded.response_id}/plan",
                [seeded.planner],
                n,
            ),
        ]
        for stack in args.stacks.split(","):
            for workers in [int(w) for w in args.workers.split(",")]:
                for label, code in trees:
                    rows += serve_and_drive(args, run, data, url, workers, stack, label, code,
                                            kind, scenarios)  # fmt: skip
    return rows


def measure_list(
    args: argparse.Namespace,
    kind: str,
    pg_url: str | None,
    trees: list[tuple[str, Path]],
    run: Any,
) -> list[Row]:
    """The list page of an approved response of a synthetic city of ``--list-sources``."""
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-list-") as tmp,
        database(kind, pg_url) as url,
    ):
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        synth_city(args.list_sources, data)
        seeded = seed(data, url, 1)
        print(
            f"{kind}: synth city of {args.list_sources} sources, response "
            f"{seeded.response_id} with {seeded.orders} orders in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        stack = args.stacks.split(",")[0]
        for label, code in trees:
            with server(data, url, args.list_workers, stack, args.server_pythonpath, code) as base:
                cookie = session_cookie(base, seeded.planner)
                page = Scenario(
                    f"list page /responses/{{id}}, {args.list_sources:,} sources",
                    f"/responses/{seeded.response_id}",
                    [],
                    args.list_connections,
                    cookie=cookie,
                )
                # every worker reads the plan once (the first view of a version) first
                first = time.perf_counter()
                run(base, page.path, [], 15, args.list_workers * 2, cookie=cookie)
                print(f"  first views: {time.perf_counter() - first:.1f} s", flush=True)
                done = drive(base, run, page, args.seconds, warm_up=5)
                assert done is not None
                result, load = done
                rows.append(
                    Row(kind, f"{args.list_workers} ({stack})", label, page.name, result, load)
                )
                print_row(rows[-1])
    return rows


def serve_and_drive(
    args: argparse.Namespace,
    run: Any,
    data: Path,
    url: str | None,
    workers: int,
    stack: str,
    label: str,
    code: Path,
    kind: str,
    scenarios: list[Scenario],
) -> list[Row]:
    rows = []
    with server(data, url, workers, stack, args.server_pythonpath, code) as base:
        for scenario in scenarios:
            done = drive(base, run, scenario, args.seconds)
            if done is None:
                continue
            result, load = done
            rows.append(Row(kind, f"{workers} ({stack})", label, scenario.name, result, load))
            print_row(rows[-1])
    return rows


def print_row(row: Row) -> None:
    r = row.result
    print(
        f"  {row.database:<10} workers {row.workers:<14} {row.code:<8} {row.scenario:<40} "
        f"{r.rps:8.0f} req/s  p50 {r.p50_ms:7.1f}  p95 {r.p95_ms:7.1f}  p99 {r.p99_ms:7.1f} ms"
        f"  errors {r.errors}  load {row.load[0]:.1f}→{row.load[1]:.1f}",
        flush=True,
    )


def report(
    args: argparse.Namespace, tool: str, rows: list[Row], began: tuple[float, ...], current: str
) -> str:
    command = "python bench/bench_load.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:] if not a.startswith("--_load")
    )
    command = re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", command)  # no passwords
    loads = [x for row in rows for x in row.load]
    busy = (
        f"load average {began[0]:.1f} at the start, {min(loads):.1f}–{max(loads):.1f} "
        "around the scenarios (2 cores: above ~1 the machine was busy with other work)"
        if loads
        else f"load average {began[0]:.1f} at the start"
    )
    code = f"commit {current}" + (f" beside commit {args.baseline}" if args.baseline else "")
    lines = [
        args.section,
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} at {code} on {machine()}; {busy}. "
        f"Command: `{command.strip()}`; load by {tool} ({args.connections} connections, "
        f"{args.seconds} s per scenario after a 2 s warm-up) on the same machine as the "
        "server; uvicorn `--no-access-log`; data: the bundled city with an orange response "
        "approved (its orders in force)"
        + (
            f"; the list page: a synthetic city of {args.list_sources:,} sources "
            f"(`emergency synth --seed 2016`) with an orange response approved, "
            f"{args.list_connections} pages requested at once by a signed-in planner, "
            "every worker having read the plan once before"
            if args.list_sources
            else ""
        )
        + ". Stack h11: uvicorn's pure-Python HTTP/1.1 parser and the asyncio loop; "
        "httptools: httptools and uvloop (`uvicorn[standard]`, a dependency). Goals on 2 "
        "cores: GET /orders on PostgreSQL ≥ 800 req/s with p99 ≤ 50 ms, no errors; the "
        "list page of 5,000 sources p95 ≤ 300 ms; what limits them: docs/RELIABILITY.md.",
        "",
        "| database | workers (stack) | code | scenario | req/s | p50 ms | p95 ms | p99 ms "
        "| errors | bytes/response | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = row.result
        lines.append(
            f"| {row.database} | {row.workers} | {row.code} | {row.scenario} | {r.rps:,.0f} "
            f"| {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.bytes_per_response:,.0f} | {row.load[0]:.1f}→{row.load[1]:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
