"""Heating-season benchmark: the season schedule against the common practice, in one run.

(a) The bundled city × its season (plans/season.yaml, 121 days): the optimiser's time,
status, cost, bound, gap, risk-weighted cut and the share of the quota lines' stop days on
the riskiest quarter of days; the same figures for the common practice "every quota line
stops from the first day, one block" (:mod:`emergency.season.baseline`), and whether the
independent checker accepts each. (b) A synth city of 5,000 sources with its season file:
the same. Targets (issue 13): bundled optimal or gap ≤ 0.1 % in ≤ 30 s; 5,000 sources gap
≤ 1 % in ≤ 120 s. Writes the section "Heating season" of bench/RESULTS.md and prints it.
Never asserts on time.

    python bench/bench_season.py [--sources 5000] [--seed 2016] [--bundled-limit 30]
                                 [--large-limit 120]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from emergency.dataset import Dataset, load_dataset
from emergency.paths import REPO_ROOT
from emergency.season.baseline import first_day_blocks, stop_share_on_riskiest
from emergency.season.check import check_season_schedule
from emergency.season.model import SeasonInput, load_season
from emergency.season.schedule import Schedule, plan_season
from emergency.synth import synthesize, write_city

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Heating season"
KINDS = (
    ("running share", "running share"),
    ("quota", "quota"),
    ("exceeds what", "supply"),
    ("floor", "floor"),
    ("restarted before", "minimum stop"),
)


def machine() -> str:
    """CPU model, cores, RAM; Python and OR-Tools versions."""
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


def kinds(violations: list[str]) -> str:
    """Violations counted by kind: ``running share 95, supply 2``."""
    counts: Counter[str] = Counter()
    for text in violations:
        counts[next((kind for key, kind in KINDS if key in text), "other")] += 1
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common())


def row(
    case: str, schedule: str, inp: SeasonInput, ds: Dataset, result: Schedule, seconds: float
) -> dict[str, str]:
    out = result.to_json()
    optimised = schedule == "optimiser"
    if optimised and result.status in ("unknown", "infeasible"):
        verdict = f"no schedule: {result.message}"
    else:
        t0 = time.perf_counter()
        rep = check_season_schedule(inp, ds, out)
        check_s = time.perf_counter() - t0
        verdict = "accepts" if rep.ok else f"✗ {len(rep.violations)} ({kinds(rep.violations)})"
        verdict += f" [{check_s:.0f} s]"
    return {
        "case": case,
        "schedule": schedule,
        "seconds": f"{seconds:.1f}",
        "status": result.status,
        "cost yuan": f"{result.total_cost_yuan:,.0f}",
        "bound yuan": f"{result.bound_yuan:,.0f}" if optimised else "–",
        "gap": f"{result.gap:.3%}" if optimised else "–",
        "risk-weighted cut": f"{result.risk_weighted_cut:.3f}",
        "stop days on riskiest ¼": f"{stop_share_on_riskiest(inp, ds, out):.1%}",
        "checker": verdict,
    }


def case(name: str, root: Path, limit: float) -> tuple[list[dict[str, str]], dict[str, Any]]:
    ds = load_dataset(root)
    inp = load_season(None, ds)
    n_plans = len(ds.plans)
    label = f"{name} ({len(ds.sources):,} sources, {n_plans:,} plans, {len(inp.season.days())} d)"
    print(f"… {label}: optimiser, limit {limit:g} s", flush=True)
    t0 = time.perf_counter()
    best = plan_season(inp, ds, time_limit_s=limit)
    opt_s = time.perf_counter() - t0
    rows = [row(label, "optimiser", inp, ds, best, opt_s)]
    print(rows[-1], flush=True)
    print(f"… {label}: first-day blocks", flush=True)
    t0 = time.perf_counter()
    base = first_day_blocks(inp, ds)
    rows.append(row(label, "first-day blocks", inp, ds, base, time.perf_counter() - t0))
    print(rows[-1], flush=True)
    facts = {"seconds": opt_s, "status": best.status, "gap": best.gap, "limit": limit}
    return rows, facts


def verdict(facts: dict[str, Any], gap: float, seconds: float) -> str:
    solved = facts["status"] in ("optimal", "feasible")
    met = solved and (facts["status"] == "optimal" or facts["gap"] <= gap)
    met = met and facts["seconds"] <= seconds
    figures = f"{facts['status']}, gap {facts['gap']:.3%} in {facts['seconds']:.1f} s"
    return f"{'met' if met else 'MISSED'} ({figures})"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sources", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument("--bundled-limit", type=float, default=30.0)
    ap.add_argument("--large-limit", type=float, default=120.0)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    rows, bundled = case("bundled city", REPO_ROOT, args.bundled_limit)
    with tempfile.TemporaryDirectory() as tmp:
        write_city(synthesize(args.sources, args.seed), Path(tmp), copy_rules=True)
        more, large = case(f"synth {args.sources:,}", Path(tmp), args.large_limit)
    rows += more
    cols = list(rows[0])
    table = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    table += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    command = (
        f"python bench/bench_season.py --sources {args.sources} --seed {args.seed} "
        f"--bundled-limit {args.bundled_limit:g} --large-limit {args.large_limit:g}"
    )
    section = "\n".join(
        [
            SECTION,
            "",
            f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} at commit {rev or '?'} on "
            f"{machine()}; load average {load_before:.1f} at the start (other work on the "
            f"machine slows the solves). Command: `make bench-season` (`{command}`).",
            "The bundled city with plans/season.yaml (winter 2016-2017, 121 days) and a synth "
            f"city (`emergency synth --sources {args.sources} --seed {args.seed}`) with the "
            "season file it writes. `seconds`: the whole schedule (build and every solve) or "
            "the baseline with its check; `bound`/`gap`: the least-cost phase; first-day "
            "blocks: every quota line stops from the season's first day in one block, the "
            "rest at its floor (docs/SEASON.md). `checker`: what the independent checker "
            "says (✗: violations by kind) and its time.",
            "",
            *table,
            "",
            f"Targets: bundled optimal or gap ≤ 0.1 % in ≤ 30 s: "
            f"{verdict(bundled, 0.001, 30.0)}; {args.sources:,} sources gap ≤ 1 % in ≤ 120 s: "
            f"{verdict(large, 0.01, 120.0)}.",
            "",
        ]
    )
    print(section)
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    if SECTION in text:
        head, _, rest = text.partition(SECTION)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
