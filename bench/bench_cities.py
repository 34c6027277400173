"""A province at once: many synthetic cities solved on the local pool against one by one.

Henan has 17 cities and Jiyuan: ``--cities`` (18) synth cities of ``--sources`` (5,000)
sources, seeds 1, 2, …, under the orange example forecast, each city's time limit the
CLI's default (20 s). (a) One by one, in this process: :func:`emergency.province.solve_city`
for each city in turn, what ``emergency respond --data CITY`` does, without its start-up.
(b) The same cities at once with :func:`emergency.province.solve_cities`, as
``emergency respond --cities`` runs them: the local process pool (``--jobs``, default the
CPU count), or the Ray cluster of ``EMERGENCY_RAY_ADDRESS`` when it is set. Reports the
wall time of each, the speed-up, every city's seconds and status both ways and whether
its list is the same both ways, once per ``--gaps`` value (``respond --gap``: a search
that stops at a proven gap, not at the time limit, is the same search in any process);
writes the section "A province at once" of bench/RESULTS.md (other sections kept) and
prints it. Never asserts on time.

    python bench/bench_cities.py [--cities 18] [--sources 5000] [--time-limit 20]
                                 [--gaps 0,0.1] [--jobs N] [--no-write]
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
from emergency.province import (
    CityJob,
    CityResult,
    ProvinceRun,
    ray_address,
    solve_cities,
    solve_city,
)
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


def compare(alone: list[CityResult], at_once: ProvinceRun, alone_s: float, gap: float) -> list[str]:
    """The subsection of one ``--gap``: both runs summed up, then city by city."""
    results = at_once.results
    same = sum(same_list(a, b) for a, b in zip(alone, results, strict=True))

    def optimal(rs: list[CityResult]) -> str:
        return f"{sum(r.plan is not None and r.plan.status == 'optimal' for r in rs)}/{len(rs)}"

    def cost(rs: list[CityResult]) -> str:
        return f"{sum(r.plan.total_cost_yuan for r in rs if r.plan is not None):,.0f}"

    stop = (
        f"stop once proven within {gap:g} % (`--gap {gap:g}`) or at the time limit"
        if gap
        else "search until proven optimal or the time limit (no `--gap`)"
    )
    return [
        f"### {stop[0].upper()}{stop[1:]}",
        "",
        "| run | wall s | city s, min / median / max | optimal | total cost yuan |",
        "|---|---|---|---|---|",
        f"| one by one | {alone_s:.1f} | {spread([r.seconds for r in alone])} | "
        f"{optimal(alone)} | {cost(alone)} |",
        f"| at once ({at_once.backend}, {at_once.workers}) | {at_once.seconds:.1f} | "
        f"{spread([r.seconds for r in results])} | {optimal(results)} | {cost(results)} |",
        "",
        f"Speed-up {alone_s / at_once.seconds:.2f}× on {os.cpu_count()} cores; the same list "
        f"(every source's measure each day, and the cost) both ways for {same} of "
        f"{len(alone)} cities.",
        "",
        "| city | alone s | alone | at once s | at once | same list |",
        "|---|---|---|---|---|---|",
        *(
            f"| {i} | {a.seconds:.1f} | {status(a)} | {b.seconds:.1f} | {status(b)} | "
            f"{'yes' if same_list(a, b) else 'no'} |"
            for i, (a, b) in enumerate(zip(alone, results, strict=True), start=1)
        ),
        "",
    ]


def main() -> None:
    import ortools

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=int, default=18)
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--time-limit", type=float, default=20.0, help="per city (the CLI's)")
    parser.add_argument(
        "--gaps", default="0,0.1", help="per cent, as respond --gap: one comparison each"
    )
    parser.add_argument("--jobs", type=int, default=None, help="default: the CPU count")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    gaps = [float(g) for g in args.gaps.split(",")]
    forecast = load_forecast(FORECAST)
    address = ray_address()
    commit, changed = git_commit(), changed_engine()
    load_before = os.getloadavg()[0]
    sections: list[str] = []
    where = ""
    episode = "no warning"
    with tempfile.TemporaryDirectory(prefix="province-") as tmp:
        t0 = time.perf_counter()
        folders = make_cities(Path(tmp), args.cities, args.sources)
        synth_s = time.perf_counter() - t0
        for gap in gaps:
            jobs = [
                CityJob(
                    folder=f,
                    forecast=forecast,
                    forecast_name=str(FORECAST),
                    time_limit_s=args.time_limit,
                    gap_limit=gap / 100,
                )
                for f in folders
            ]
            t0 = time.perf_counter()
            alone = []
            for job in jobs:
                alone.append(solve_city(job))
                print(f"… gap {gap:g} %, alone {job.folder.name}: {alone[-1].seconds:.1f} s")
            alone_s = time.perf_counter() - t0
            print(f"… gap {gap:g} %, all at once", flush=True)
            run = solve_cities(jobs, workers=args.jobs, address=address)
            sections += compare(alone, run, alone_s, gap)
            print("\n".join(sections[-len(alone) - 12 :]), flush=True)
            where = (
                f"the Ray cluster at {run.address} ({run.nodes} nodes, {run.workers} CPUs)"
                if run.backend == "ray"
                else f"the local pool, {run.workers} processes"
            )
            first = next((r.plan for r in alone if r.plan is not None), None)
            if first is not None and first.warning.level:
                episode = f"{len(first.days)} days at {first.warning.level}"
    load_after = os.getloadavg()[0]
    flags = f" --jobs {args.jobs}" if args.jobs else ""
    body = "\n".join(
        [
            SECTION,
            "",
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {commit} on "
            f"{machine()}, OR-Tools {ortools.__version__}. Command: "
            f"`python bench/bench_cities.py --cities {args.cities} --sources {args.sources} "
            f"--time-limit {args.time_limit:g} --gaps {args.gaps}{flags}`. "
            f"{args.cities} synth cities of {args.sources:,} sources (seeds 1–{args.cities}), "
            f"the orange example forecast ({episode}), each city's time limit "
            f"{args.time_limit:g} s (the CLI's default); writing them took {synth_s:.0f} s. "
            "One by one: each city in turn in one process, as `respond --data` does it; at "
            f"once: `respond --cities` on {where}. Seconds per city are the whole city "
            "(read, assess, load, solve). Load average (1 min) "
            f"{load_before:.1f} before, {load_after:.1f} after (other work on the machine "
            "shows here)" + (f"; uncommitted changes in {', '.join(changed)}." if changed else "."),
            "",
            *sections,
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
