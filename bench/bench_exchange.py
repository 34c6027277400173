"""The LP's list rounded, its exchanges in turn, side by side in one run against HiGHS.

For each size (``--sizes``), a synthetic city (seed ``--seed``) × 3 days at orange, folded
to its one stationary day as the optimiser solves it: the LP relaxation once, HiGHS's
proven optimum on the same rows (one thread, ``--highs-limit``), then the rounding
(:func:`emergency.rounding.rounded`, no time limit that binds) seven ways, each timed:

- *paired*: single and paired moves only, no exchanges;
- *steps*: the exchanges' steps over one row each (mixed moves off:
  ``MIXED_TRIED = 0``), a target row held with the margin the rounding kept before
  (10⁻⁹ of its bound and a milligram);
- *steps, exact rows*: the same, every target row held exactly, in whole hundredths;
- *all, the margin*: with the moves that change two binding rows at once, the margin kept;
- *all, the cheapest descent*: with those moves and exact rows, the exchanges only from
  the cheapest descent (before 49abadb), not from the LP's own measures as well;
- *all, an eighth of the marks*: the marks that read an exchange back given an eighth of
  their room (a bit per move and state: as many moves as the byte per source-day and
  state before 49abadb held source-days);
- *all*: every exchange, from both starts, exact rows (this code).

Each list goes through the independent checker; its cost is exact from the list and
reported above HiGHS's optimum. Writes the section "## Exchanges, side by side" of
bench/RESULTS.md and prints it. Never asserts on time.

    python bench/bench_exchange.py [--sizes 400,5000,20000,50000] [--seed 7]
        [--highs-limit 600] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_load import git_commit, machine, write_section
from bench_optimiser import START, city

from emergency import exchange, rounding
from emergency.checker import check
from emergency.duties import build_instance
from emergency.highs import solve_highs
from emergency.instance import Choice
from emergency.lp import LpResult, SparseForm, solve_lp
from emergency.model import BuiltModel, build
from emergency.optimiser import candidates, capped_targets, list_cost, stationary

SECTION = "## Exchanges, side by side"


def old_margins(form: SparseForm) -> tuple[np.ndarray, np.ndarray]:
    """The rounding's bounds before 4f5d6e7: a decimal row drawn in by 10⁻⁹ of its bound
    and a milligram."""
    rows = form.matrix[form.first :].tocsr()
    lows, highs = form.lows[form.first :].copy(), form.highs[form.first :].copy()
    for r in range(rows.shape[0]):
        data = rows.data[rows.indptr[r] : rows.indptr[r + 1]]
        if (data != np.round(data)).any():
            lows[r] += 1e-9 * abs(lows[r]) + 1e-6 if np.isfinite(lows[r]) else 0.0
            highs[r] -= 1e-9 * abs(highs[r]) + 1e-6 if np.isfinite(highs[r]) else 0.0
    return lows, highs


Setting = tuple[object, str, object]
"""(module, name, value) set for one way of rounding."""

WAYS: dict[str, list[Setting]] = {
    "paired": [
        (rounding, "exchange", lambda *_, **__: None),
        (rounding, "_margins", old_margins),
    ],
    "steps": [(exchange, "MIXED_TRIED", 0), (rounding, "_margins", old_margins)],
    "steps, exact rows": [(exchange, "MIXED_TRIED", 0)],
    "all, the margin": [(rounding, "_margins", old_margins)],
    "all, the cheapest descent": [],
    "all, an eighth of the marks": [(exchange, "MAX_CHOICE_BYTES", exchange.MAX_CHOICE_BYTES // 8)],
    "all": [],
}
CHEAPEST_ONLY = "all, the cheapest descent"


def from_cheapest_descent(built: BuiltModel, lp: LpResult) -> Choice | None:
    """The rounding with its exchanges from the cheapest descent only: once to see where
    the exchanges would start, again with only the cheapest of those exchanged."""
    starts: list[float] = []
    run = exchange.exchange

    def record(form: SparseForm, *args: object, **kw: object) -> None:
        starts.append(float(form.cost[args[2]].sum()))  # type: ignore[index]

    def cheapest(form: SparseForm, *args: object, **kw: object) -> np.ndarray | None:
        if float(form.cost[args[2]].sum()) > min(starts):  # type: ignore[index]
            return None
        return run(form, *args, **kw)  # type: ignore[arg-type]

    for wrapper in (record, cheapest):
        undo = patched([(rounding, "exchange", wrapper)])
        try:
            choice = rounding.rounded(built, lp, deadline=time.perf_counter() + 600)
        finally:
            undo()
    return choice


def patched(settings: list[Setting]) -> Callable[[], None]:
    """Set ``settings``; the undo."""
    undo = [(module, name, getattr(module, name)) for module, name, _ in settings]
    for module, name, value in settings:
        setattr(module, name, value)

    def restore() -> None:
        for module, name, value in undo:
            setattr(module, name, value)

    return restore


def size_rows(n: int, args: argparse.Namespace, root: Path) -> list[list[str]]:
    ds, _, _ = city(n, args.seed, root)
    days = [(START + dt.timedelta(days=i), "orange") for i in range(3)]
    one = stationary(build_instance(ds, days))
    assert one is not None
    built = build(one, candidates(one), capped_targets(one)[0])
    lp = solve_lp(built.linear, one.n_days, keep_solution=True)
    highs = solve_highs(built, time_limit_s=args.highs_limit)
    if highs.choice is None:
        return [[f"{n:,}", "HiGHS found no list", "", "", ""]]
    least = list_cost(one, highs.choice)
    rows = []
    for way, settings in WAYS.items():
        undo = patched(settings)
        try:
            t0 = time.perf_counter()
            if way == CHEAPEST_ONLY:
                choice = from_cheapest_descent(built, lp)
            else:
                choice = rounding.rounded(built, lp, deadline=time.perf_counter() + 600)
            secs = time.perf_counter() - t0
        finally:
            undo()
        if choice is None:
            rows.append([f"{n:,}", way, "no list", "", ""])
            continue
        ok = check(one, choice).ok
        above = float(list_cost(one, choice) - least)
        rows.append(
            [
                f"{n:,}",
                way,
                f"{above:+,.0f}" + ("" if ok else " ✗"),
                f"{secs:.2f}",
                f"{float(least):,.0f} {highs.status} [{highs.seconds:.1f} s]",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="400,5000,20000,50000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--highs-limit", type=float, default=600.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    started = dt.datetime.now()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            rows += size_rows(n, args, Path(tmp))
    head = ["sources", "rounding", "above HiGHS's optimum, yuan", "s", "HiGHS yuan [s]"]
    table = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    body = "\n".join(
        [
            SECTION,
            "",
            f"Run {started:%Y-%m-%d %H:%M} at commit {git_commit()} on {machine()}. "
            f"Command: `python bench/bench_exchange.py --sizes {args.sizes} "
            f"--seed {args.seed}`.",
            "",
            "Synthetic cities × 3 days at orange, folded to one day. The LP's list rounded "
            "(`rounding.rounded`) seven ways in one process: *paired* — single and paired "
            "moves only; *steps* — the exchanges over one row at a time, a target row held "
            "with the margin kept before 4f5d6e7 (10⁻⁹ of its bound and a milligram); "
            "*steps, exact rows* — the same, target rows held exactly in whole hundredths; "
            "*all, the margin* — with the moves that change two binding rows at once, the "
            "margin kept; *all, the cheapest descent* — with those moves and exact rows, the "
            "exchanges only from the cheapest descent (before 49abadb); *all, an eighth of "
            "the marks* — the marks that read an exchange back given an eighth of their room "
            "(as many moves as a byte per source-day and state before 49abadb held "
            "source-days); *all* — every exchange, from the LP's own measures and from the "
            "split ones rounded up, exact rows (this code). Above "
            "HiGHS's proven optimum on the same rows; ✗: the checker rejects the list; s: "
            "the rounding's seconds, its exchanges included.",
            "",
            *table,
            "",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(body, SECTION)


if __name__ == "__main__":
    main()
