"""The LP relaxation (GLOP): a proven lower bound and the marginal cost of each pollutant.

The same rows as the integer model (:mod:`emergency.model`) with every binary relaxed to
[0, 1]. The dual value of a day's target row is what one more kilogram of that pollutant
(or of SO2+NOx where pooled) would cost on that day, in yuan per kg.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ortools.linear_solver import pywraplp

from emergency.model import Key, LinearModel


@dataclass
class LpResult:
    status: str
    objective_yuan: float
    """A lower bound on the least cost (valid when status is optimal)."""
    duals: list[dict[str, float]] = field(default_factory=list)
    """Per day and target row: yuan per kg."""
    seconds: float = 0.0
    values: dict[Key, float] = field(default_factory=dict)
    """The relaxed value of every variable (``keep_solution``)."""
    reduced_costs: dict[Key, float] = field(default_factory=dict)
    """What raising each variable from the LP optimum would cost, yuan per unit
    (``keep_solution``)."""


def solve_lp(linear: LinearModel, n_days: int, *, keep_solution: bool = False) -> LpResult:
    """Solve the relaxation of ``linear``; with ``keep_solution`` its primal values and
    reduced costs too (what :mod:`emergency.core` reads to choose the sources in play)."""
    t0 = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("GLOP")
    inf = solver.infinity()
    var: dict[Key, pywraplp.Variable] = {}
    for k in linear.binaries:
        var[k] = solver.NumVar(0.0, 1.0, "")
    for k, ub in linear.continuous.items():
        var[k] = solver.NumVar(0.0, ub, "")
    for group in linear.one_of:
        ct = solver.Constraint(1.0, 1.0)
        for k in group:
            ct.SetCoefficient(var[k], 1.0)
    targets: list[tuple[int, str, pywraplp.Constraint]] = []
    for row in linear.rows:
        lo = row.lo if math.isfinite(row.lo) else -inf
        hi = row.hi if math.isfinite(row.hi) else inf
        ct = solver.Constraint(lo, hi)
        for c, k in row.terms:
            ct.SetCoefficient(var[k], c)
        if row.tag and row.tag[0] == "target":
            targets.append((row.tag[1], row.tag[2], ct))
    obj = solver.Objective()
    for c, k in linear.objective:
        obj.SetCoefficient(var[k], obj.GetCoefficient(var[k]) + c)
    obj.SetOffset(linear.objective_const)
    obj.SetMinimization()
    st = solver.Solve()
    if st != pywraplp.Solver.OPTIMAL:
        return LpResult(
            "infeasible" if st == pywraplp.Solver.INFEASIBLE else "unknown",
            0.0,
            [{} for _ in range(n_days)],
            seconds=time.perf_counter() - t0,
        )
    duals: list[dict[str, float]] = [{} for _ in range(n_days)]
    for d, name, ct in targets:
        duals[d][name] = max(0.0, ct.dual_value())
    out = LpResult("optimal", obj.Value(), duals)
    if keep_solution:
        out.values = {k: v.solution_value() for k, v in var.items()}
        out.reduced_costs = {k: v.reduced_cost() for k, v in var.items()}
    out.seconds = time.perf_counter() - t0
    return out
