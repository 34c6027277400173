"""Notification delivery benchmark: the dispatcher of a real server against a local receiver.

For each database (SQLite in a temp copy of the data folder, by default the bundled city;
PostgreSQL in a fresh schema when ``--db`` or ``EMERGENCY_TEST_DATABASE_URL`` names a
server) and each run (a fresh database every time):

1. ``emergency serve`` (one process; its dispatcher thread with ``EMERGENCY_NOTIFY_WORKERS``
   and ``EMERGENCY_NOTIFY_BATCH`` as given, the other settings at their defaults: a poll
   every 1 s) starts on the copy; an admin registers, through the API, one webhook per
   enterprise of the city, each to its own path of one local receiver (the standard
   library's threading HTTP server, in this process) that checks every body's HMAC with
   that subscription's secret and the timestamp's age, answering 200 (401 if it fails).
2. Approval to the last enterprise reached: a planner posts an orange consultation (every
   subscription hears ``warning.opened``; waited out until the database shows all of it
   delivered), then ``POST /responses/{id}/approve``. Timed from the start of that call:
   the call itself, the first ``order.issued`` received, the median and the last
   enterprise reached (an enterprise is reached when every order it was issued has been
   received), and the database showing every notification delivered. Goal: ≤ 10 s.
3. Throughput: ``--notifications`` (2,000) notifications, the payloads of the response's
   orders each to its enterprise's subscription, written in one transaction with
   :func:`emergency.notify.outbox.enqueue` while the server runs. Timed from the commit:
   first and last received, the database showing all delivered; notifications per second
   over commit → all delivered, and over first → last received (without the poll's wait).

With ``--slow N``, more runs per database and worker count (``--slow-runs``, 1) have N
enterprises (drawn with a fixed seed) whose webhook answers after ``--slow-s`` seconds (5,
inside the 10 s time-out: an overloaded server): how long the others wait. Those runs skip
the throughput.

Every run also counts message ids received more than once, ids received with two bodies
and bodies that failed the HMAC check (all should be 0). Prints a table and writes the
section "## Notifications" of bench/RESULTS.md (other sections kept): min / median / max
over the runs. Never asserts on time.

    python bench/bench_notify.py [--runs 3] [--notifications 2000] [--workers 4]
        [--batch 50] [--slow 0] [--slow-s 5] [--slow-runs 1]
        [--databases sqlite,postgresql] [--db URL] [--data DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import database, free_port, machine, write_section

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Notifications"
CITY_OFFSET = dt.timezone(dt.timedelta(hours=8))
EMERGENCY = [sys.executable, "-c", "from emergency.cli import main; main()"]
GOAL_S = 10.0
"""Issue 15: every order of an approval delivered within this long."""
MAX_AGE_S = 300
"""The receiver refuses a timestamp older (or further ahead) than this (docs/NOTIFY.md)."""


# ------------------------------------------------------------------------------ machine


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "emergency", "api"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return (done.stdout.strip() or "?") + (" (with uncommitted changes)" if dirty.stdout else "")


def busiest(limit: int = 4) -> str:
    """The processes using the most CPU now (``ps``), other than this one."""
    done = subprocess.run(
        ["ps", "-eo", "pcpu=,pid=,comm=", "--sort=-pcpu"], capture_output=True, text=True
    )
    rows = []
    for line in done.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and int(parts[1]) != os.getpid() and float(parts[0]) >= 5:
            rows.append(f"{parts[2]} {parts[0]} %")
    return ", ".join(rows[:limit]) or "none above 5 %"


# ------------------------------------------------------------------------------ receiver


@dataclass
class Receiver:
    """Records what arrives at ``/hook/<enterprise>``, checked with that one's secret."""

    secrets: dict[str, str]
    slow: set[str] = field(default_factory=set)
    """Enterprises whose endpoint takes ``slow_s`` to answer (an overloaded server)."""
    slow_s: float = 0.0
    lock: threading.Condition = field(default_factory=threading.Condition)
    first: dict[str, float] = field(default_factory=dict)
    """message id → when it was first received (``time.perf_counter``)."""
    body: dict[str, str] = field(default_factory=dict)
    """message id → SHA-256 of its body."""
    event: dict[str, str] = field(default_factory=dict)
    enterprise: dict[str, str] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)
    """event → message ids received."""
    receipts: int = 0
    unverified: int = 0
    two_bodies: int = 0

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        name = path.rsplit("/", 1)[-1]
        secret = self.secrets.get(name, "")
        stamp = headers.get("x-emergency-timestamp", "")
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        ok = bool(secret) and hmac.compare_digest(
            f"sha256={mac.hexdigest()}", headers.get("x-emergency-signature", "")
        )
        try:
            ok = ok and abs(time.time() - int(stamp)) <= MAX_AGE_S
        except ValueError:
            ok = False
        now = time.perf_counter()
        message_id = headers.get("x-emergency-delivery", "")
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            self.receipts += 1
            if not ok:
                self.unverified += 1
                return 401
            if message_id in self.body:
                self.two_bodies += self.body[message_id] != digest
            else:
                self.first[message_id] = now
                self.body[message_id] = digest
                self.event[message_id] = headers.get("x-emergency-event", "")
                self.enterprise[message_id] = name
                self.events[self.event[message_id]] += 1
                self.lock.notify_all()
        if name in self.slow:
            time.sleep(self.slow_s)
        return 200

    def count(self, event: str) -> int:
        return self.events[event]

    def wait(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        with self.lock:
            return self.lock.wait_for(ready, timeout_s)


@contextlib.contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    """The receiver on a free loopback port; its base URL (``…/hook``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------ database


def tokens(data_dir: Path, db_url: str | None) -> tuple[str, str]:
    """Import the data folder (first start) and make an admin's and a planner's token."""
    from emergency.service.access import SYSTEM
    from emergency.service.enterprises import open_store
    from emergency.service.tokens import create_token

    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            _, admin = create_token(session, SYSTEM, "admin", name="bench admin")
            _, planner = create_token(session, SYSTEM, "planner", name="bench planner")
            session.commit()
        return admin, planner
    finally:
        store.dispose()


def undelivered(store: Any) -> int:
    from sqlalchemy import func, select

    from emergency.store.models import Notification

    with store.session() as session:
        query = select(func.count(Notification.id)).where(
            Notification.channel == "webhook", Notification.status != "delivered"
        )
        return int(session.scalar(query) or 0)


def wait_delivered(store: Any, timeout_s: float, poll_s: float = 0.02) -> float | None:
    """``perf_counter`` when the database first shows every webhook notification
    delivered; None after ``timeout_s``."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if undelivered(store) == 0:
            return time.perf_counter()
        time.sleep(poll_s)
    return None


def enqueue_many(store: Any, response_id: int, count: int) -> tuple[float, int]:
    """``count`` notifications (the response's order payloads, each to its enterprise's
    subscription) in one transaction; returns when it committed and the payload size."""
    from sqlalchemy import select

    from emergency.notify.dispatch import body_of
    from emergency.notify.outbox import enqueue, order_payload
    from emergency.store.models import Order, Subscription

    with store.session() as session:
        orders = list(
            session.scalars(
                select(Order).where(Order.response_id == response_id).order_by(Order.id)
            )
        )
        subs = {
            s.enterprise_id: s
            for s in session.scalars(select(Subscription).where(Subscription.deleted_at.is_(None)))
        }
        now = store.config.now()
        sizes = []
        for i in range(count):
            order = orders[i % len(orders)]
            payload = order_payload(order, "issued", f"bench {i}", now)
            sizes.append(len(body_of(payload)))
            enqueue(session, [subs[order.source]], payload, order_id=order.id)
        session.commit()
        return time.perf_counter(), round(statistics.mean(sizes))


# ------------------------------------------------------------------------------ server


@contextlib.contextmanager
def serve(data_dir: Path, db_url: str | None, workers: int, batch: int) -> Iterator[str]:
    """``emergency serve`` (its dispatcher thread in it) on a free port; its API URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMERGENCY_")}
    env |= {
        "PYTHONPATH": str(REPO),
        "EMERGENCY_NOTIFY_PRIVATE_TARGETS": "true",  # the receiver is on loopback
        "EMERGENCY_NOTIFY_WORKERS": str(workers),
        "EMERGENCY_NOTIFY_BATCH": str(batch),
    }
    command = [*EMERGENCY, "serve", "--data", str(data_dir), "--port", str(port)]
    command += ["--db", db_url] if db_url else []
    log = (data_dir.parent / "server.log").open("ab")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: see {log.name}")
            time.sleep(0.1)
        yield f"{url}/api/v1"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


# ------------------------------------------------------------------------------ one run


@dataclass
class Run:
    """The figures of one run (the throughput's are None when it was not measured)."""

    database: str
    workers: int
    slow: int
    enterprises: int
    orders: int
    reached_enterprises: int
    approve_s: float
    first_s: float
    median_reached_s: float
    last_reached_s: float
    last_other_reached_s: float
    """The last enterprise reached among those whose webhook is not slow."""
    approval_delivered_s: float
    notifications: int = 0
    body_bytes: int = 0
    drain_first_s: float = 0.0
    drain_last_s: float = 0.0
    drain_delivered_s: float = 0.0
    duplicates: int = 0
    two_bodies: int = 0
    unverified: int = 0

    @property
    def per_s(self) -> float:
        return self.notifications / self.drain_delivered_s

    @property
    def per_s_flowing(self) -> float:
        return (self.notifications - 1) / max(self.drain_last_s - self.drain_first_s, 1e-9)


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


def enterprises_of(data_dir: Path) -> list[str]:
    with (data_dir / "enterprises.csv").open(encoding="utf-8") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


def one_run(
    kind: str, pg_url: str | None, workers: int, slow: int, source: Path, args: argparse.Namespace
) -> Run:
    """One fresh database and server: the approval, then (without slow webhooks) the
    backlog."""
    from emergency.service.enterprises import open_store

    with (
        tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp,
        database(kind, pg_url) as url,
    ):
        data = Path(tmp) / "data"
        data.mkdir()
        shutil.copy(source / "enterprises.csv", data / "enterprises.csv")
        shutil.copytree(source / "plans", data / "plans")
        admin, planner = tokens(data, url)
        names = enterprises_of(data)
        receiver = Receiver({e: f"bench-{e}-{secrets.token_hex(12)}" for e in names})
        receiver.slow = set(random.Random(2016).sample(names, slow))
        receiver.slow_s = args.slow_s
        with (
            receiving(receiver) as hook,
            serve(data, url, workers, args.batch) as api,
            httpx.Client(base_url=api, timeout=120) as client,
        ):
            store = open_store(data, url)
            try:
                admin_auth = {"Authorization": f"Bearer {admin}"}
                for e in names:
                    body = {"target": f"{hook}/{e}", "secret": receiver.secrets[e], "enterprise": e}
                    answer = client.post("/subscriptions", json=body, headers=admin_auth)
                    assert answer.status_code == 201, answer.text
                auth = {"Authorization": f"Bearer {planner}"}
                opened = client.post("/consultations", json=orange_forecast(), headers=auth)
                assert opened.status_code == 200, opened.text
                response_id = opened.json()["response_id"]
                if not receiver.wait(lambda: receiver.count("warning.opened") >= len(names), 300):
                    raise RuntimeError("warning.opened did not reach every subscription")
                if wait_delivered(store, 300) is None:
                    raise RuntimeError("warning.opened not all recorded delivered")

                # (b) approval → the last enterprise reached
                t0 = time.perf_counter()
                approved = client.post(f"/responses/{response_id}/approve", headers=auth)
                approve_s = time.perf_counter() - t0
                assert approved.status_code == 200, approved.text
                issued = approved.json()["issued"]
                want = len(issued)
                if not receiver.wait(lambda: receiver.count("order.issued") >= want, 300):
                    raise RuntimeError("not every order.issued was received")
                done = wait_delivered(store, 300)
                assert done is not None, "order.issued not all recorded delivered"
                with receiver.lock:
                    reached: dict[str, float] = {}
                    for message_id, event in receiver.event.items():
                        if event == "order.issued":
                            e = receiver.enterprise[message_id]
                            reached[e] = max(reached.get(e, 0.0), receiver.first[message_id])
                    assert set(reached) == {o["source"] for o in issued}
                times = sorted(t - t0 for t in reached.values())
                others = [t - t0 for e, t in reached.items() if e not in receiver.slow]
                run = Run(
                    database=kind,
                    workers=workers,
                    slow=slow,
                    enterprises=len(names),
                    orders=want,
                    reached_enterprises=len(times),
                    approve_s=approve_s,
                    first_s=times[0],
                    median_reached_s=statistics.median(times),
                    last_reached_s=times[-1],
                    last_other_reached_s=max(others),
                    approval_delivered_s=done - t0,
                )
                if slow == 0:
                    drain(run, receiver, store, response_id, args.notifications)
                with receiver.lock:
                    run.duplicates = receiver.receipts - receiver.unverified - len(receiver.first)
                    run.two_bodies, run.unverified = receiver.two_bodies, receiver.unverified
            finally:
                store.dispose()
    return run


def drain(run: Run, receiver: Receiver, store: Any, response_id: int, count: int) -> None:
    """(a) ``count`` notifications written at once, timed until all are delivered."""
    before = len(receiver.first)
    committed, size = enqueue_many(store, response_id, count)
    total = before + count
    if not receiver.wait(lambda: len(receiver.first) >= total, 600):
        raise RuntimeError("the backlog was not all received")
    drained = wait_delivered(store, 120)
    assert drained is not None, "the backlog not all recorded delivered"
    with receiver.lock:
        backlog = sorted(receiver.first.values())[before:]
    run.notifications = count
    run.body_bytes = size
    run.drain_first_s = backlog[0] - committed
    run.drain_last_s = backlog[-1] - committed
    run.drain_delivered_s = drained - committed


# ------------------------------------------------------------------------------ report


def spread(values: list[float], digits: int = 2) -> str:
    """min / median / max (one figure when they are all the same)."""
    parts = (min(values), statistics.median(values), max(values))
    if parts[0] == parts[2]:
        return f"{values[0]:,.{digits}f}"
    return " / ".join(f"{v:,.{digits}f}" for v in parts)


def report(runs: list[Run], args: argparse.Namespace, load: tuple[float, float], busy: str) -> str:
    command = "python bench/bench_notify.py " + " ".join(sys.argv[1:])
    command = re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", command)  # no passwords
    order = ["sqlite", "postgresql"]
    groups: dict[tuple[str, int, int], list[Run]] = {}
    for run in sorted(runs, key=lambda r: (order.index(r.database), r.slow, r.workers)):
        groups.setdefault((run.database, run.workers, run.slow), []).append(run)
    first = runs[0]
    each = f"{args.runs} run{'' if args.runs == 1 else 's'}"
    slow = (
        f" With `--slow {args.slow}`, {args.slow} enterprises (drawn with a fixed seed) have a "
        f"webhook that answers after {args.slow_s:g} s (inside the 10 s time-out: an "
        f"overloaded server), {args.slow_runs} run(s) per database and worker count; those "
        "runs skip the "
        "throughput."
        if args.slow
        else ""
    )
    lines = [
        SECTION,
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} at commit {git_commit()} on {machine()}; "
        f"load average {load[0]:.2f} at the start and {load[1]:.2f} at the end (busiest "
        f"other processes at the start: {busy}). Command: `{command.strip()}`. "
        f"{each} per database and worker count, each on a fresh database: the bundled city "
        f"({first.enterprises} enterprises, one webhook subscription each, registered through "
        "the API), `emergency serve` with its dispatcher thread (`NOTIFY_WORKERS` as in the "
        f"tables, `NOTIFY_BATCH={args.batch}`, the other settings at their defaults: "
        "`NOTIFY_POLL_S=1`, `NOTIFY_TIMEOUT_S=10`), the receiver a threading HTTP server in "
        "the benchmark's process on the same machine, checking every body's HMAC with its "
        f"subscription's secret. Figures are min / median / max over the runs.{slow}",
        "",
        "Approval → the last enterprise reached (`POST /responses/{id}/approve` of an orange "
        "response; seconds from the start of that call; an enterprise is reached when every "
        f"order issued to it was received; goal: ≤ {GOAL_S:.0f} s):",
        "",
        "| database | workers | slow webhooks | orders issued (enterprises) | approve call s "
        "| first received s | median enterprise reached s | last enterprise reached s "
        "| last of the others s | all recorded delivered s | goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (kind, workers, slow_n), rs in groups.items():
        worst = max(r.last_reached_s for r in rs)
        others = spread([r.last_other_reached_s for r in rs]) if slow_n else "–"
        lines.append(
            f"| {kind} | {workers} | {slow_n} | {spread([r.orders for r in rs], 0)} "
            f"({spread([r.reached_enterprises for r in rs], 0)}) "
            f"| {spread([r.approve_s for r in rs])} | {spread([r.first_s for r in rs])} "
            f"| {spread([r.median_reached_s for r in rs])} "
            f"| {spread([r.last_reached_s for r in rs])} | {others} "
            f"| {spread([r.approval_delivered_s for r in rs])} "
            f"| {'met' if worst <= GOAL_S else 'missed'} (worst {worst:.2f} s) |"
        )
    lines += [
        "",
        f"Throughput: {args.notifications:,} notifications (order payloads, "
        f"{first.body_bytes:,} bytes a body on average, spread over the enterprises' "
        "subscriptions) written in one transaction with `emergency.notify.outbox.enqueue` "
        "while the server runs; seconds from the commit. Per second: over commit → all "
        "recorded delivered, and over first → last received (without the wait for the "
        "next poll). The last three columns are totals over the runs, approvals included.",
        "",
        "| database | workers | first received s | last received s | all recorded delivered s "
        "| per second (commit → delivered) | per second (flowing) | received twice "
        "| two bodies | HMAC failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (kind, workers, slow_n), rs in groups.items():
        if slow_n:
            continue
        lines.append(
            f"| {kind} | {workers} | {spread([r.drain_first_s for r in rs])} "
            f"| {spread([r.drain_last_s for r in rs])} "
            f"| {spread([r.drain_delivered_s for r in rs])} "
            f"| {spread([r.per_s for r in rs], 0)} | {spread([r.per_s_flowing for r in rs], 0)} "
            f"| {sum(r.duplicates for r in rs)} | {sum(r.two_bodies for r in rs)} "
            f"| {sum(r.unverified for r in rs)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="per database, each fresh")
    parser.add_argument("--notifications", type=int, default=2000, help="the backlog drained")
    parser.add_argument(
        "--workers", default="4", help="EMERGENCY_NOTIFY_WORKERS (a comma-separated list)"
    )
    parser.add_argument("--batch", type=int, default=50, help="EMERGENCY_NOTIFY_BATCH")
    parser.add_argument(
        "--slow", type=int, default=0, help="also: this many enterprises with a slow webhook"
    )
    parser.add_argument("--slow-s", type=float, default=5.0, help="a slow webhook's answer")
    parser.add_argument("--slow-runs", type=int, default=1, help="runs with slow webhooks")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--db", default=None, help="PostgreSQL URL (default: $EMERGENCY_TEST_DATABASE_URL)"
    )
    parser.add_argument("--data", type=Path, default=REPO, help="data folder (copied)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    pg_url = args.db or os.environ.get("EMERGENCY_TEST_DATABASE_URL")
    load_start = os.getloadavg()[0]
    busy = busiest()
    print(f"load average {load_start:.2f}; busiest: {busy}", flush=True)
    workers = [int(w) for w in args.workers.split(",")]
    plans = [(w, 0, n) for w in workers for n in range(args.runs)]
    if args.slow:
        plans += [(w, args.slow, n) for w in workers for n in range(args.slow_runs)]
    runs: list[Run] = []
    for kind in args.databases.split(","):
        if kind == "postgresql" and not pg_url:
            print("PostgreSQL: no server named (--db or EMERGENCY_TEST_DATABASE_URL); skipped")
            continue
        for w, slow, n in plans:
            run = one_run(kind, pg_url, w, slow, args.data, args)
            runs.append(run)
            line = (
                f"  {kind:<10} workers {w} slow {slow} run {n + 1}: {run.orders} orders to "
                f"{run.reached_enterprises} enterprises, approve {run.approve_s:.2f} s, "
                f"last reached {run.last_reached_s:.2f} s (others {run.last_other_reached_s:.2f}"
                " s)"
            )
            if run.notifications:
                line += (
                    f"; {run.notifications} drained in {run.drain_delivered_s:.2f} s "
                    f"({run.per_s:.0f}/s, flowing {run.per_s_flowing:.0f}/s)"
                )
            line += (
                f"; twice {run.duplicates}, two bodies {run.two_bodies}, "
                f"HMAC failed {run.unverified}"
            )
            print(line, flush=True)
    body = report(runs, args, (load_start, os.getloadavg()[0]), busy)
    print()
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
