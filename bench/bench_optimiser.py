"""Optimiser benchmark: synth cities, the optimiser against HiGHS and the greedy baselines.

(a) Sizes (``--sizes``): a synth city × 3 days at orange; our ``optimise`` (time limit
``--time-limit``, stopping once proven within ``--gap``) against HiGHS (highspy, one
thread, proven optimum or ``--highs-limit``) on the same rows, and the floors, a
CoST-style greedy and the multi-pollutant greedy — every list run through the independent
checker, costs exact from the list; and ours again with a quarter of HiGHS's time.
(b) Days that differ: ``--differ`` sources, two orange days in force, then red re-planned
from the stops begun (4 days, nothing folds to one day), ours (to the time limit, and
stopping at ``--differ-gap``) against HiGHS.
(c) End to end: ``emergency respond --gap E2E_GAP --json`` on a ``--e2e`` source city (the
example orange forecast, 4 days), wall time and peak RSS, the data folder's cache cold
then warm.

Writes the section "## Optimiser" of bench/RESULTS.md and prints it. Never asserts.

    python bench/bench_optimiser.py [--sizes 400,5000,20000,50000] [--gap 0.01]
        [--time-limit 20] [--differ 5000] [--differ-gap 0.1] [--e2e 50000]
        [--e2e-limit 20] [--e2e-gap 0.05] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_load import REPO, git_commit, machine, write_section

from emergency.checker import check
from emergency.dataset import Dataset, load_dataset
from emergency.duties import build_instance
from emergency.heuristics import floor_choice, greedy_multi, greedy_single
from emergency.highs import solve_highs
from emergency.instance import Instance
from emergency.model import build
from emergency.optimiser import candidates, capped_targets, list_cost, optimise, stationary
from emergency.respond import plan_response, state_at
from emergency.solution import WarningDecision
from emergency.synth import synthesize, write_city

SECTION = "## Optimiser"
START = dt.date(2016, 12, 16)
FORECAST = REPO / "examples" / "forecast-orange.json"


def city(n: int, seed: int, root: Path) -> tuple[Dataset, float, float]:
    t0 = time.perf_counter()
    folder = root / f"city-{n}"
    write_city(synthesize(n, seed), folder)
    synth_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = load_dataset(folder)
    return ds, synth_s, time.perf_counter() - t0


def highs_of(inst: Instance, limit: float) -> tuple[str, float | None, float]:
    """HiGHS on the rows our optimiser builds for ``inst`` (folded to one day when it
    folds): status, the exact cost of its list, seconds (model writing included)."""
    one = stationary(inst) or inst
    capped, _ = capped_targets(one)
    t0 = time.perf_counter()
    built = build(one, candidates(one), capped)
    res = solve_highs(built, time_limit_s=limit)
    secs = time.perf_counter() - t0
    if res.choice is None:
        return res.status, None, secs
    n = inst.n_days if one is not inst else 1
    full = [row * n for row in res.choice]
    return res.status, float(list_cost(inst, full)), secs


OURS = ["ours s", "status", "gap", "ours yuan"]
VERSUS = ["HiGHS yuan [s]", "vs HiGHS", "time ×"]
QUARTER = "ours at ¼ HiGHS's time, no --gap"
BASELINES = ["floors", "CoST greedy", "multi greedy"]


def versus(ours: float, ours_s: float, highs: tuple[str, float | None, float]) -> list[str]:
    status, cost, secs = highs
    if cost is None:
        return [f"{status} (no list) [{secs:.1f} s]", "–", "–"]
    diff = ours - cost
    return [
        f"{cost:,.0f} {status} [{secs:.1f} s]",
        f"{diff:+,.0f} ({diff / cost:+.4%})",
        f"{ours_s / secs:.2f}",
    ]


def sizes_row(n: int, args: argparse.Namespace, root: Path) -> list[str]:
    ds, synth_s, load_s = city(n, args.seed, root)
    t0 = time.perf_counter()
    days = [(START + dt.timedelta(days=i), "orange") for i in range(3)]
    inst = build_instance(ds, days)
    duties_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    solved = optimise(inst, time_limit_s=args.time_limit, gap_limit=args.gap / 100)
    ours_s = time.perf_counter() - t0
    rep = check(inst, solved.choice, allowed_shortfall_kg=solved.shortfall_kg)
    assert rep.cost_yuan == solved.cost_yuan, "reported cost differs from the checker's"
    cost = float(solved.cost_yuan)
    row = [
        f"{n:,}",
        f"{synth_s:.1f} / {load_s:.1f} / {duties_s:.1f}",
        f"{ours_s:.1f}",
        solved.status + ("" if rep.ok else " ✗"),
        f"{solved.gap:.4%}",
        f"{cost:,.0f}",
    ]
    highs = highs_of(inst, args.highs_limit)
    row += [*versus(cost, ours_s, highs), quarter(inst, highs)]
    for fn in (floor_choice, greedy_single, greedy_multi):
        t0 = time.perf_counter()
        choice = fn(inst)
        secs = time.perf_counter() - t0
        r = check(inst, choice)
        if not r.ok:
            row.append(f"{float(r.cost_yuan):,.0f} ✗ [{secs:.1f} s]")
        else:
            row.append(f"+{float(r.cost_yuan) / cost - 1:.2%} [{secs:.1f} s]")
    print(row, flush=True)
    return row


def warning(level: str, days: int) -> WarningDecision:
    end = START + dt.timedelta(days=days - 1)
    return WarningDecision(level=level, start=START, end=end, rule_set="henan-2019", reason="")


def differ_row(n: int, args: argparse.Namespace, root: Path) -> list[list[str]]:
    """The upgrade re-planned from state: ours to the time limit, ours stopping at
    ``--differ-gap``, each against HiGHS's optimum; and ours at a quarter of HiGHS's time."""
    ds, _, _ = city(n, args.seed, root)
    first = plan_response(ds, warning("orange", 2), time_limit_s=args.time_limit)
    state = state_at(first, ds, START + dt.timedelta(days=1))
    days = [(START + dt.timedelta(days=i), "red") for i in (1, 2, 3, 4)]
    inst = build_instance(ds, days, state=state)
    assert stationary(inst) is None
    highs = highs_of(inst, args.highs_limit)
    rows = []
    for gap in (0.0, args.differ_gap):
        t0 = time.perf_counter()
        solved = optimise(inst, time_limit_s=args.time_limit, gap_limit=gap / 100)
        ours_s = time.perf_counter() - t0
        rep = check(inst, solved.choice, allowed_shortfall_kg=solved.shortfall_kg)
        cost = float(solved.cost_yuan)
        asked = f"--gap {gap:g}" if gap else "no --gap"
        rows.append(
            [
                f"{n:,} × 4 days (red after orange, {len(state.stopped_days)} lines stopped), "
                + asked,
                f"{ours_s:.1f}",
                solved.status + ("" if rep.ok else " ✗"),
                f"{solved.gap:.4%}",
                f"{cost:,.0f}",
                *versus(cost, ours_s, highs),
                quarter(inst, highs) if not gap else "",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def quarter(inst: Instance, highs: tuple[str, float | None, float]) -> str:
    """Ours, searching to the proof (no gap), with a quarter of HiGHS's time: its cost
    against HiGHS's optimum and the seconds it took."""
    status, reference, secs = highs
    if reference is None or status != "optimal":
        return "–"
    t0 = time.perf_counter()
    solved = optimise(inst, time_limit_s=secs / 4)
    took = time.perf_counter() - t0
    diff = float(solved.cost_yuan) - reference
    return f"{diff:+,.0f} ({diff / reference:+.4%}) [{took:.1f} s]"


def end_to_end(n: int, args: argparse.Namespace, root: Path) -> list[list[str]]:
    """``emergency respond --json`` in a fresh process: wall time, peak RSS (its own
    rusage), status and gap; the cache in a fresh folder, so cold then warm."""
    folder = root / f"e2e-{n}"
    write_city(synthesize(n, args.seed), folder)
    env = dict(os.environ, EMERGENCY_CACHE_DIR=str(root / "cache"))
    runner = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "out = subprocess.run(sys.argv[1:], capture_output=True); "
        "s = time.perf_counter() - t; "
        "sys.stderr.write(out.stderr.decode()); sys.stdout.write(out.stdout.decode()); "
        "print(f'\\n{s} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', "
        "file=sys.stderr); sys.exit(out.returncode)"
    )
    cli = [str(Path(sys.executable).parent / "emergency")]
    rows = []
    for cache in ("cold", "warm"):
        cmd = [
            sys.executable,
            "-c",
            runner,
            *cli,
            "respond",
            "-f",
            str(FORECAST),
            "--data",
            str(folder),
            "--time-limit",
            f"{args.e2e_limit:g}",
            "--gap",
            f"{args.e2e_gap:g}",
            "--json",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        secs, rss_kb = done.stderr.strip().splitlines()[-1].split()
        if done.returncode != 0:
            rows.append(
                [f"{n:,}", cache, f"{float(secs):.1f}", "–", f"failed: {done.stderr[-200:]}"]
            )
            continue
        plan = json.loads(done.stdout)
        rows.append(
            [
                f"{n:,}",
                cache,
                f"{float(secs):.1f}",
                f"{int(rss_kb) / 1024:,.0f}",
                f"{plan['status']}, gap {plan['gap']:.4%}, {len(plan['assignments']):,} rows",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,5000,20000,50000")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--gap", type=float, default=0.0, help="per cent; 0: proven optimal")
    ap.add_argument("--highs-limit", type=float, default=600.0)
    ap.add_argument("--differ", type=int, default=5000)
    ap.add_argument("--e2e", type=int, default=50000)
    ap.add_argument("--e2e-limit", type=float, default=20.0)
    ap.add_argument("--e2e-gap", type=float, default=0.05, help="per cent, the goal's")
    ap.add_argument("--differ-gap", type=float, default=0.1, help="per cent, the goal's")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    started = dt.datetime.now()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sizes = [sizes_row(int(x), args, root) for x in args.sizes.split(",") if x]
        differ = differ_row(args.differ, args, root) if args.differ else []
        e2e = end_to_end(args.e2e, args, root) if args.e2e else []
    argv = " ".join(sys.argv[1:])
    body = [
        SECTION,
        "",
        f"Run {started:%Y-%m-%d %H:%M} at commit {git_commit()} on {machine()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end. Command: `python bench/bench_optimiser.py "
        f"{argv}`.",
        "",
        f"Synth cities (seed {args.seed}), 3 days at orange. Ours: `optimise` with a "
        f"{args.time_limit:g} s limit{f', stopping once within {args.gap:g} %' if args.gap else ''}"
        " (the LP, the cores and CP-SAT; model writing included). HiGHS: the same "
        "rows, one thread, to its proven optimum (limit "
        f"{args.highs_limit:g} s). vs HiGHS: our cost minus HiGHS's (negative: ours is lower); "
        "time ×: our seconds over HiGHS's; ours at ¼ HiGHS's time: `optimise` again, "
        "searching for the proof with a quarter of HiGHS's seconds as its limit, its cost "
        "against HiGHS's optimum. ✗: the checker rejects the list.",
        "",
        *table(
            ["sources", "synth / load / duties s", *OURS, *VERSUS, QUARTER, *BASELINES],
            sizes,
        ),
        "",
    ]
    if differ:
        body += [
            "Days that differ: two orange days in force, then red from the second day "
            "re-planned from the stops begun.",
            "",
            *table(
                ["instance", *OURS, *VERSUS, QUARTER],
                differ,
            ),
            "",
        ]
    if e2e:
        body += [
            f"End to end: `emergency respond -f examples/forecast-orange.json --data CITY "
            f"--time-limit {args.e2e_limit:g} --gap {args.e2e_gap:g} --json` in a fresh "
            "process (4 days at orange); "
            "peak RSS from its rusage; the data folder's cache empty, then filled.",
            "",
            *table(["sources", "cache", "wall s", "peak RSS MiB", "result"], e2e),
            "",
        ]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section(text, SECTION, SECTION)


if __name__ == "__main__":
    main()
