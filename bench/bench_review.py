"""The after-action review's time on the bundled city after a whole episode, on SQLite and
PostgreSQL.

The orange response of examples/forecast-orange.json is approved; four days of 15-minute
readings of every meter and the two baseline days (the generator of
:mod:`emergency.meters.synth`, three firms cheating) are stored through the service's own
ingestion; the server's clock is then set to the morning after. Timed, in the process (the
service functions the API calls, no HTTP): the compliance view (every anomaly: declared,
clock, meters, gates), the ranked anomalies, the review (JSON) and its workbook (XLSX),
``--runs`` times each (min / median / max).

Writes the section "## After-action review" of bench/RESULTS.md (other sections kept).
Never asserts on time.

    python bench/bench_review.py [--runs 5] [--databases sqlite,postgresql] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import database, git_commit, machine, postgres_url, write_section

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## After-action review"
BATCH = 10_000


def episode(data: Path, db_url: str | None) -> tuple[object, int, int]:
    """The store, the response's id and the readings stored."""
    from sqlalchemy import select

    from emergency.meters.analysis import order_days
    from emergency.meters.ingest import ReadingIn, add_readings
    from emergency.meters.synth import order_loads, synth_readings
    from emergency.service.access import SYSTEM
    from emergency.service.consult import consult
    from emergency.service.enterprises import open_store
    from emergency.service.orders import approve
    from emergency.service.planning import loaded_data
    from emergency.settings import CITY_OFFSET
    from emergency.store.models import Order

    forecast = json.loads((REPO / "examples" / "forecast-orange.json").read_text("utf-8"))
    issued = dt.datetime.fromisoformat(forecast["issued_at"])
    clock = {"now": issued.astimezone(dt.UTC)}
    store = open_store(data, db_url, now=lambda: clock["now"])
    with store.session() as session:
        rid = consult(session, SYSTEM, forecast).response_id
        assert rid is not None
        approve(session, SYSTEM, rid)
    first, last = dt.date(2016, 12, 16), dt.date(2016, 12, 19)
    with store.session() as session:
        orders = session.scalars(select(Order).where(Order.response_id == rid))
        told = {k: dict(o.allowed_load) for k, o in order_days(orders, last).items()}
        dataset = loaded_data(session).dataset
    readings, _cheats = synth_readings(dataset, first, 4, order_loads(told), cheat=3, seed=7)
    clock["now"] = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(9), CITY_OFFSET)
    for i in range(0, len(readings), BATCH):
        rows = [ReadingIn(meter=m, time=t, kwh=k) for m, t, k in readings[i : i + BATCH]]
        with store.session() as session:
            add_readings(session, SYSTEM, rows)
    return store, rid, len(readings)


def timed(call: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def run(kind: str, pg_url: str | None, runs: int) -> tuple[list[str], int]:
    from emergency.service.access import SYSTEM
    from emergency.service.compliance import compliance
    from emergency.service.review import review
    from emergency.service.review_book import review_xlsx
    from emergency.service.supervision import ranked_anomalies

    with tempfile.TemporaryDirectory() as tmp, database(kind, pg_url) as url:
        data = Path(tmp) / "data"
        shutil.copytree(REPO / "plans", data / "plans")
        shutil.copy(REPO / "enterprises.csv", data / "enterprises.csv")
        store, rid, stored = episode(data, url)
        try:

            def within(fn: Callable[..., object]) -> Callable[[], object]:
                def call() -> object:
                    with store.session() as session:  # type: ignore[attr-defined]
                        return fn(session, SYSTEM, rid)

                return call

            with store.session() as session:  # type: ignore[attr-defined]
                done = review(session, SYSTEM, rid)
            rows = [
                f"| {kind} | compliance view ({len(done.anomalies)} anomalies) | "
                f"{spread(timed(within(compliance), runs))} |",
                f"| {kind} | anomalies ranked | {spread(timed(within(ranked_anomalies), runs))} |",
                f"| {kind} | review, JSON ({len(done.sources)} source-days, "
                f"{len(done.cuts)} pollutant-days) | {spread(timed(within(review), runs))} |",
                f"| {kind} | review, XLSX | "
                f"{spread(timed(lambda: review_xlsx(within(review)()), runs))} |",  # type: ignore[arg-type]
            ]
        finally:
            store.dispose()  # type: ignore[attr-defined]
    return rows, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    pg = postgres_url(args.pg_url) if "postgresql" in kinds else None
    rows: list[str] = []
    stored = 0
    for kind in kinds:
        got, stored = run(kind, pg, args.runs)
        rows += got
    body = "\n".join(
        [
            SECTION,
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {git_commit()} on "
            f"{machine()}. Command: `python bench/bench_review.py --runs {args.runs} "
            f"--databases {args.databases}`. The bundled city after the orange episode of "
            f"examples/forecast-orange.json: {stored:,} readings of every meter (two baseline "
            "days and four days of the episode, three firms cheating), stored through the "
            "service; seconds, min / median / max over the runs, in the process (no HTTP).",
            "",
            "| database | what | seconds |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
