"""Meter readings ingested per second through the HTTP API, on PostgreSQL (and SQLite).

A synthetic city large enough to hold ``--meters`` meters (``emergency synth``) is served by
``uvicorn api.main:app`` on a fresh PostgreSQL schema (the server ``.ci/postgres.sh``
starts, or ``--pg-url``); a meter gateway token posts one day of 15-minute readings (96 per
meter) in batches of ``--batch`` readings from ``--clients`` concurrent connections. The
bodies are serialised before the clock starts: the time measured is the server's (HTTP,
validation, the checks, the inserts, the commit) plus the loopback. The same day is then
posted again (every reading a no-op). Goal: 5,000 meters × 96 readings in ≤ 10 s.

Writes the section "## Meter readings" of bench/RESULTS.md (other sections kept) and
prints it. Never asserts on time.

    python bench/bench_meters.py [--meters 5000] [--batch 10000] [--clients 4]
        [--workers 2] [--databases postgresql] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import database, git_commit, machine, postgres_url, server, write_section

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Meter readings"
CITY_OFFSET = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2016, 12, 14)


def city_with_meters(root: Path, meters: int) -> tuple[Path, list[str]]:
    """A synthetic data folder with at least ``meters`` meters; the first ``meters`` ids."""
    from emergency.meters.index import meter_index
    from emergency.synth import synthesize, write_city

    sources = 400
    while True:
        city = synthesize(sources, 2016)
        ids = [m for plan in city.plans for line in plan["lines"] for m in line["meters"]]
        if len(ids) >= meters:
            break
        sources = int(sources * meters / max(len(ids), 1) * 1.1) + 1
    write_city(city, root)
    from emergency.dataset import load_dataset

    index = meter_index(load_dataset(root).plans)
    return root, sorted(index)[:meters]


def bodies(meters: list[str], batch: int) -> list[bytes]:
    """One day of 96 readings per meter, as JSON bodies of ``batch`` readings."""
    start = dt.datetime.combine(DAY, dt.time(0), CITY_OFFSET)
    times = [(start + dt.timedelta(minutes=15 * k)).isoformat() for k in range(96)]
    rows = [
        {"meter": m, "time": t, "kwh": round(100 + (i * 7 + k) % 50 * 0.5, 1)}
        for i, m in enumerate(meters)
        for k, t in enumerate(times)
    ]
    return [
        json.dumps({"readings": rows[i : i + batch]}).encode() for i in range(0, len(rows), batch)
    ]


def token(data_dir: Path, db_url: str | None) -> str:
    from emergency.service.access import SYSTEM
    from emergency.service.enterprises import open_store
    from emergency.service.tokens import create_token

    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            _view, secret = create_token(session, SYSTEM, "meter", name="bench gateway")
            session.commit()
            return secret
    finally:
        store.dispose()


def post_all(url: str, secret: str, payloads: list[bytes], clients: int) -> tuple[float, dict]:
    """Post every body from ``clients`` connections; wall seconds and summed counts."""
    import httpx

    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    totals = {"inserted": 0, "unchanged": 0, "errors": 0}

    def send(chunk: list[bytes]) -> list[dict]:
        out = []
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            for body in chunk:
                r = client.post("/api/v1/meters/readings", content=body)
                out.append(r.json() if r.status_code == 200 else {"error": r.text[:200]})
        return out

    parts = [payloads[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        answers = [a for done in pool.map(send, parts) for a in done]
    seconds = time.perf_counter() - started
    for a in answers:
        if "error" in a:
            totals["errors"] += 1
            print("error:", a["error"], file=sys.stderr)
        else:
            totals["inserted"] += a["inserted"]
            totals["unchanged"] += a["unchanged"]
    return seconds, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=10_000, help="readings per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--databases", default="postgresql", help="postgresql,sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--stack", default="h11", help="h11 or httptools")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, meters = city_with_meters(Path(tmp) / "city", args.meters)
        payloads = bodies(meters, args.batch)
        readings = 96 * len(meters)
        for kind in args.databases.split(","):
            pg = postgres_url(args.pg_url) if kind == "postgresql" else None
            with database(kind, pg) as url_db:
                secret = token(data_dir, url_db)
                with server(data_dir, url_db, args.workers, args.stack) as url:
                    first, counts = post_all(url, secret, payloads, args.clients)
                    again, recounts = post_all(url, secret, payloads, args.clients)
                assert counts["inserted"] == readings, counts
                assert recounts["unchanged"] == readings, recounts
                rows.append((kind, first, again, counts["errors"] + recounts["errors"]))
                print(f"{kind}: {readings} readings in {first:.2f} s, resent in {again:.2f} s")
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = " ".join(["python bench/bench_meters.py", *sys.argv[1:]])
    lines = [
        SECTION,
        "",
        f"Run {when} at commit {git_commit()} on {machine()}; load average {load:.1f} at "
        f"the start (other work on the machine slows it). Command: `{command}`.",
        f"One day of 15-minute readings of {len(meters):,} meters ({readings:,} readings) "
        f"posted to `POST /api/v1/meters/readings` in {len(payloads)} batches of "
        f"{args.batch:,} from {args.clients} concurrent connections to `uvicorn` with "
        f"{args.workers} workers ({args.stack}) on the same machine; bodies serialised "
        "before the clock starts; then the same day posted again (every reading a no-op). "
        "Goal: 5,000 meters × 96 readings in ≤ 10 s on PostgreSQL.",
        "",
        "| database | first post s | readings/s | resent s | readings/s | errors |",
        "|---|---|---|---|---|---|",
    ]
    for kind, first, again, errors in rows:
        lines.append(
            f"| {kind} | {first:.2f} | {readings / first:,.0f} | {again:.2f} | "
            f"{readings / again:,.0f} | {errors} |"
        )
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
