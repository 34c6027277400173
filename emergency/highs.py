"""The same model solved by HiGHS, an independent MIP solver: the reference the tests and
benchmarks hold the optimiser to (``highspy``, a development dependency).

It reads the very rows CP-SAT gets (:mod:`emergency.model`), in natural units, and knows
nothing of the core, the LP by parts or the warm starts, so a defect in any of those shows
as a cost above HiGHS's optimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from emergency.instance import Choice
from emergency.model import BuiltModel, Key, read_choice


@dataclass
class HighsResult:
    status: str
    """optimal | feasible | infeasible | unknown (HiGHS's model status, simplified)"""
    choice: Choice | None
    objective_yuan: float
    bound_yuan: float
    seconds: float


def solve_highs(
    built: BuiltModel, *, time_limit_s: float, gap: float = 0.0, relax: bool = False
) -> HighsResult:
    """Solve ``built`` with HiGHS (one thread) to ``gap`` (relative) or the time limit;
    with ``relax`` its LP relaxation (the objective only: no list)."""
    import highspy

    t0 = time.perf_counter()
    linear = built.linear
    keys: list[Key] = list(linear.binaries) + list(linear.continuous)
    col = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    lower = np.zeros(n)
    upper = np.ones(n)
    for k, ub in linear.continuous.items():
        upper[col[k]] = ub
    cost = np.zeros(n)
    for c, k in linear.objective:
        cost[col[k]] += c
    lo: list[float] = []
    hi: list[float] = []
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []

    def add(terms: list[tuple[float, Key]], row_lo: float, row_hi: float) -> None:
        starts.append(len(index))
        lo.append(row_lo if math.isfinite(row_lo) else -highspy.kHighsInf)
        hi.append(row_hi if math.isfinite(row_hi) else highspy.kHighsInf)
        merged: dict[int, float] = {}
        for c, k in terms:  # a variable may appear twice in a row (a source's own edge)
            merged[col[k]] = merged.get(col[k], 0.0) + c
        for i, c in merged.items():
            if c:
                index.append(i)
                value.append(c)

    for group in linear.one_of:
        add([(1.0, k) for k in group], 1.0, 1.0)
    for row in linear.rows:
        add(row.terms, row.lo, row.hi)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(gap))
    calls = [h.addVars(n, lower, upper)]
    calls.append(h.changeColsCost(n, np.arange(n, dtype=np.int32), cost))
    if len(linear.binaries) and not relax:
        integer = np.full(len(linear.binaries), 1, dtype=np.uint8)  # kInteger
        calls.append(
            h.changeColsIntegrality(
                len(linear.binaries), np.arange(len(linear.binaries), dtype=np.int32), integer
            )
        )
    calls.append(
        h.addRows(
            len(lo),
            np.array(lo),
            np.array(hi),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value),
        )
    )
    calls.append(h.changeObjectiveOffset(linear.objective_const))
    if any(c != highspy.HighsStatus.kOk for c in calls):
        raise RuntimeError(f"HiGHS refused the model: {calls}")
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    names = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
    }
    name = names.get(status, "unknown")
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if name == "unknown" and has_solution:
        name = "feasible"
    if relax:
        return HighsResult(name, None, info.objective_function_value, math.nan, seconds)
    if not has_solution:
        return HighsResult(name, None, math.inf, info.mip_dual_bound, seconds)
    x = h.getSolution().col_value
    values = {k: round(x[col[k]]) for k in linear.binaries}
    return HighsResult(
        name,
        read_choice(built, values),
        info.objective_function_value,
        info.mip_dual_bound,
        seconds,
    )


__all__ = ["HighsResult", "solve_highs"]
