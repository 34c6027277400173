"""Optimiser benchmark: synth cities × 3 days at orange, the optimum against baselines.

For each size: time to generate, load, build and solve; status and proven gap; the cost of
(a) the floors alone, (b) a CoST-style greedy (cost per kg of one pollutant, pollutant after
pollutant), (c) a multi-pollutant greedy, (d) the LP bound — every list run through the
independent checker. Writes a table to bench/RESULTS.md (section "Optimiser") and prints it.
Never asserts on time.

    python bench/bench_optimiser.py [--sizes 400,5000,20000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from emergency.checker import check
from emergency.dataset import load_dataset
from emergency.duties import build_instance
from emergency.heuristics import floor_choice, greedy_multi, greedy_single
from emergency.optimiser import optimise
from emergency.synth import synthesize, write_city

RESULTS = Path(__file__).with_name("RESULTS.md")
START = dt.date(2016, 12, 16)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import ortools

    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
        f"OR-Tools {ortools.__version__}"
    )


def fmt_cost(rep, short: bool) -> str:  # type: ignore[no-untyped-def]
    text = f"{float(rep.cost_yuan):,.0f}"
    if not rep.ok:
        text += f" ✗ ({len(rep.violations)} violations)" if not short else " ✗ short"
    return text


def run(n: int, time_limit: float, seed: int) -> dict[str, str]:
    row: dict[str, str] = {"sources": f"{n:,}"}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_city(synthesize(n, seed), Path(tmp))
        row["synth s"] = f"{time.perf_counter() - t0:.1f}"
        t0 = time.perf_counter()
        ds = load_dataset(Path(tmp))
        row["load s"] = f"{time.perf_counter() - t0:.2f}"
    t0 = time.perf_counter()
    days = [(START + dt.timedelta(days=i), "orange") for i in range(3)]
    inst = build_instance(ds, days)
    row["duties s"] = f"{time.perf_counter() - t0:.2f}"
    t0 = time.perf_counter()
    solved = optimise(inst, time_limit_s=time_limit)
    total = time.perf_counter() - t0
    rep = check(inst, solved.choice, allowed_shortfall_kg=solved.shortfall_kg)
    assert rep.cost_yuan == solved.cost_yuan, "reported cost differs from the checker's"
    row["build s"] = f"{solved.build_seconds:.2f}"
    row["solve s"] = f"{solved.solve_seconds:.2f}"
    row["optimise s"] = f"{total:.2f}"
    row["status"] = solved.status + ("" if rep.ok else " ✗")
    row["gap"] = f"{solved.gap:.4%}"
    row["optimum yuan"] = f"{float(solved.cost_yuan):,.0f}"
    lp = solved.lp.objective_yuan if solved.lp else float("nan")
    row["LP bound yuan"] = f"{lp:,.0f}"
    baselines = (
        ("floors", floor_choice),
        ("CoST greedy", greedy_single),
        ("multi greedy", greedy_multi),
    )
    for name, fn in baselines:
        t0 = time.perf_counter()
        choice = fn(inst)
        secs = time.perf_counter() - t0
        r = check(inst, choice)
        extra = "" if not r.ok else f" (+{(float(r.cost_yuan) / float(solved.cost_yuan) - 1):.2%})"
        row[f"{name} yuan"] = fmt_cost(r, name == "floors") + extra + f" [{secs:.1f} s]"
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,5000,20000")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        print(f"… {n} sources", flush=True)
        rows.append(run(n, args.time_limit, args.seed))
        print(rows[-1], flush=True)
    cols = list(rows[0])
    table = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    table += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    section = "\n".join(
        [
            "## Optimiser",
            "",
            f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} at commit {rev or '?'} on "
            f"{machine()}. Command: `make bench` (`python bench/bench_optimiser.py "
            f"--sizes {args.sizes} --time-limit {args.time_limit:g} --seed {args.seed}`).",
            "Synth cities (seed above), 3 days at orange, targets above the floors. "
            "`optimise s` is build + LP + CP-SAT; ✗ marks a list the checker rejects "
            "(for the floors: targets not met); (+x %) is the extra cost over the optimum.",
            "",
            *table,
            "",
        ]
    )
    print(section)
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    if "## Optimiser" in text:
        head, _, rest = text.partition("## Optimiser")
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
