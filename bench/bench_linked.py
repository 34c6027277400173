"""Days linked by stops at a large size, this code against a baseline commit, side by side.

The instance is the "days that differ" of bench_optimiser.py at ``--sources`` (50,000)
synthetic sources (seed 7): two orange days in force, then red from the second day,
re-planned from the stops begun. ``optimise`` with ``--time-limit`` (20 s) runs on it in a
fresh process per run, by this code and by ``--baseline`` (a commit, its tree taken with
``git archive``) in turn, ``--repeat`` times each. Reports each side's wall seconds
(median, min–max), cost, bound, gap and notes; writes the section "## Days linked at
50,000 sources, side by side" of bench/RESULTS.md and prints it. Never asserts on time.

    python bench/bench_linked.py [--sources 50000] [--time-limit 20] [--baseline COMMIT]
                                 [--repeat 2] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_load import REPO, code_of, git_commit, machine, write_section
from bench_optimiser import START, warning

from emergency.dataset import load_dataset
from emergency.duties import build_instance
from emergency.respond import plan_response, state_at
from emergency.synth import synthesize, write_city

RUN = """
import json, pickle, sys, time
from emergency.optimiser import optimise
inst = pickle.load(open(sys.argv[1], "rb"))
t0 = time.perf_counter()
solved = optimise(inst, time_limit_s=float(sys.argv[2]))
print(json.dumps({
    "seconds": time.perf_counter() - t0,
    "cost": float(solved.cost_yuan),
    "bound": solved.bound_yuan,
    "gap": solved.gap,
    "status": solved.status,
    "notes": solved.notes,
}))
"""


def upgrade(n: int, root: Path) -> tuple[Path, int]:
    """The upgrade instance of ``n`` sources, pickled; and the lines stopped at its start."""
    folder = root / f"city-{n}"
    write_city(synthesize(n, 7), folder)
    ds = load_dataset(folder)
    first = plan_response(ds, warning("orange", 2), time_limit_s=20)
    state = state_at(first, ds, START + dt.timedelta(days=1))
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2, 3, 4)]
    path = root / "upgrade.pkl"
    with path.open("wb") as f:
        pickle.dump(build_instance(ds, days, state=state), f)
    return path, len(state.stopped_days)


def run(code: Path, instance: Path, limit: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(instance), str(limit)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=50000)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--baseline", default="0abe10a")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    head = git_commit()
    began = dt.datetime.now()
    with tempfile.TemporaryDirectory(prefix="bench-linked-") as tmp, code_of(args.baseline) as old:
        instance, stopped = upgrade(args.sources, Path(tmp))
        runs: dict[str, list[dict[str, object]]] = {head: [], args.baseline: []}
        for _ in range(args.repeat):
            for commit, code in ((args.baseline, old), (head, REPO)):
                runs[commit].append(run(code, instance, args.time_limit))
                print(commit, runs[commit][-1], flush=True)
    rows = []
    for commit, results in runs.items():
        secs = [float(r["seconds"]) for r in results]  # type: ignore[arg-type]
        last = results[-1]
        rows.append(
            f"| {commit} | {statistics.median(secs):.1f} ({min(secs):.1f}–{max(secs):.1f}) "
            f"| {float(last['cost']):,.0f} | {float(last['bound']):,.0f} "  # type: ignore[arg-type]
            f"| {float(last['gap']):.4%} | {last['status']} "  # type: ignore[arg-type]
            f"| {'; '.join(last['notes'])} |"  # type: ignore[arg-type]
        )
    title = f"## Days linked at {args.sources:,} sources, side by side"
    body = "\n".join(
        [
            title,
            "",
            f"Run {began:%Y-%m-%d %H:%M} on {machine()}. Command: `python bench/bench_linked.py "
            f"--sources {args.sources} --time-limit {args.time_limit:g} --baseline "
            f"{args.baseline} --repeat {args.repeat}`.",
            "",
            f'The upgrade of bench_optimiser.py\'s "days that differ" at {args.sources:,} '
            f"sources (red after orange, {stopped:,} lines stopped), `optimise` with a "
            f"{args.time_limit:g} s limit in a fresh process, the baseline and this code in "
            f"turn, {args.repeat} runs each: wall seconds median (min–max), and the last "
            "run's list.",
            "",
            "| code | s | cost yuan | bound yuan | gap | status | notes |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, title)


if __name__ == "__main__":
    main()
