"""A province at once: many synthetic cities solved on the local pool against one by one.

Henan has 17 cities and Jiyuan: ``--cities`` (18) synth cities of ``--sources`` (5,000)
sources, seeds 1, 2, …, under the orange example forecast, each city's time limit the
CLI's default (20 s). (a) One by one, in this process: :func:`emergency.province.solve_city`
for each city in turn, what ``emergency respond --data CITY`` does, without its start-up.
(b) The same cities at once with :func:`emergency.province.solve_cities`, as
``emergency respond --cities`` runs them: the local process pool (``--jobs``, default the
CPU count), or the Ray cluster of ``EMERGENCY_RAY_ADDRESS`` when it is set. Reports the
wall time of each, the speed-up, every city's seconds and status both ways and whether its
list is the same both ways; writes the section "A province at once" of bench/RESULTS.md
(other sections kept) and prints it. Never asserts on time.

    python bench/bench_cities.py [--cities 18] [--sources 5000] [--time-limit 20]
                                 [--jobs N] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_load import REPO, git_commit, machine, write_section

from emergency.forecast import load_forecast
from emergency.province import CityJob, CityResult, ray_address, solve_cities, solve_city
from emergency.synth import synthesize, write_city

SECTION = "## A province at once"
FORECAST = REPO / "examples" / "forecast-orange.json"


def changed_engine() -> list[str]:
    """Files of the engine that differ from the commit (what ran is not only the commit;
    files not yet in git count only if a changed one imports them)."""
    done = subprocess.run(
        ["git", "diff", "--name-only", "HEAD", "--", "emergency"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in done.stdout.splitlines() if line.strip()]


def make_cities(root: Path, n: int, sources: int) -> list[Path]:
    folders = []
    for seed in range(1, n + 1):
        folder = root / f"city-{seed:02d}"
        write_city(synthesize(sources, seed), folder, copy_rules=True)
        folders.append(folder)
        print(f"… wrote {folder.name} ({sources:,} sources, seed {seed})", flush=True)
    return folders


def same_list(a: CityResult, b: CityResult) -> bool:
    """The same choice for every source and day, and the same cost."""
    if a.plan is None or b.plan is None:
        return False
    choice = {(x.source, x.date): x.measure for x in a.plan.assignments}
    other = {(x.source, x.date): x.measure for x in b.plan.assignments}
    return choice == other and a.plan.total_cost_yuan == b.plan.total_cost_yuan


def spread(values: list[float]) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def status(r: CityResult) -> str:
    if r.plan is None:
        return f"error: {(r.error or '').splitlines()[0]}"
    gap = f" (gap {r.plan.gap:.4%})" if r.plan.status != "optimal" else ""
    return r.plan.status + gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=18)
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--time-limit", type=float, default=20.0, help="per city (the CLI's)")
    parser.add_argument("--jobs", type=int, default=None, help="default: the CPU count")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    forecast = load_forecast(FORECAST)
    address = ray_address()
    load_before = os.getloadavg()[0]
    changed = changed_engine()
    with tempfile.TemporaryDirectory(prefix="province-") as tmp:
        t0 = time.perf_counter()
        folders = make_cities(Path(tmp), args.cities, args.sources)
        synth_s = time.perf_counter() - t0
        jobs = [
            CityJob(
                folder=f,
                forecast=forecast,
                forecast_name=str(FORECAST),
                time_limit_s=args.time_limit,
            )
            for f in folders
        ]
        t0 = time.perf_counter()
        alone = []
        for job in jobs:
            alone.append(solve_city(job))
            print(f"… alone {job.folder.name}: {alone[-1].seconds:.1f} s", flush=True)
        alone_s = time.perf_counter() - t0
        print("… all at once", flush=True)
        run = solve_cities(jobs, workers=args.jobs, address=address)
    import ortools

    first = next((r.plan for r in alone if r.plan is not None), None)
    episode = (
        f"{len(first.days)} days at {first.warning.level}"
        if first is not None and first.warning.level
        else "no warning"
    )
    where = (
        f"the Ray cluster at {run.address} ({run.nodes} nodes, {run.workers} CPUs)"
        if run.backend == "ray"
        else f"the local pool, {run.workers} processes"
    )
    load_after = os.getloadavg()[0]
    at_once = run.results
    same = sum(same_list(a, b) for a, b in zip(alone, at_once, strict=True))
    rows = [
        f"| {i} | {a.sources or 0:,} | {a.seconds:.1f} | {status(a)} | {b.seconds:.1f} | "
        f"{status(b)} | {'yes' if same_list(a, b) else 'no'} |"
        for i, (a, b) in enumerate(zip(alone, at_once, strict=True), start=1)
    ]
    cost = sum(r.plan.total_cost_yuan for r in alone if r.plan is not None)
    jobs_flag = f" --jobs {args.jobs}" if args.jobs else ""
    body = "\n".join(
        [
            SECTION,
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {git_commit()} on "
            f"{machine()}, OR-Tools {ortools.__version__}. Command: "
            f"`python bench/bench_cities.py --cities {args.cities} "
            f"--sources {args.sources} --time-limit {args.time_limit:g}{jobs_flag}`. "
            f"{args.cities} synth cities of {args.sources:,} sources (seeds 1–{args.cities}), "
            f"the orange example forecast ({episode}), each city's time limit "
            f"{args.time_limit:g} s (the CLI's default); writing them took {synth_s:.0f} s. "
            "One by one: each city in turn in one process, as `respond --data` does it; at "
            f"once: `respond --cities` on {where}. Seconds per city are the whole city "
            "(read, assess, load, solve). Load average (1 min) "
            f"{load_before:.1f} before, {load_after:.1f} after (other work on the machine "
            "shows here)" + (f"; uncommitted changes in {', '.join(changed)}." if changed else "."),
            "",
            "| run | wall s | city s, min / median / max | optimal | total cost yuan |",
            "|---|---|---|---|---|",
            f"| one by one | {alone_s:.1f} | {spread([r.seconds for r in alone])} | "
            f"{sum(r.plan is not None and r.plan.status == 'optimal' for r in alone)}"
            f"/{len(alone)} | {cost:,.0f} |",
            f"| at once ({run.backend}, {run.workers}) | {run.seconds:.1f} | "
            f"{spread([r.seconds for r in at_once])} | "
            f"{sum(r.plan is not None and r.plan.status == 'optimal' for r in at_once)}"
            f"/{len(at_once)} | "
            f"{sum(r.plan.total_cost_yuan for r in at_once if r.plan is not None):,.0f} |",
            "",
            f"Speed-up {alone_s / run.seconds:.2f}× on {os.cpu_count()} cores; the same list "
            f"(every source's measure each day, and the cost) both ways for {same} of "
            f"{len(alone)} cities.",
            "",
            "| city | sources | alone s | alone | at once s | at once | same list |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
