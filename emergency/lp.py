"""The LP relaxation (GLOP): a proven lower bound and the marginal cost of each pollutant.

The same rows as the integer model (:mod:`emergency.model`) with every binary relaxed to
[0, 1]. The dual value of a day's target row is what one more kilogram of that pollutant
(or of SO2+NOx where pooled) would cost on that day, in yuan per kg.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver.python import model_builder_helper as mb
from scipy import sparse

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


GLOP_PARAMETERS = "use_dual_simplex: true"
"""The dual simplex: 5,000 sources' LP in 0.04 s instead of 0.12 s, 20,000 sources' in
0.24 s instead of 1.7 s (the primal simplex, GLOP's default; bench/RESULTS.md)."""


def solve_lp(linear: LinearModel, n_days: int, *, keep_solution: bool = False) -> LpResult:
    """Solve the relaxation of ``linear``; with ``keep_solution`` its primal values and
    reduced costs too (what :mod:`emergency.core` reads to choose the sources in play).

    The rows go to GLOP as one sparse matrix (no Python call per coefficient)."""
    t0 = time.perf_counter()
    keys: list[Key] = [*linear.binaries, *linear.continuous]
    index = {k: i for i, k in enumerate(keys)}
    upper = np.ones(len(keys))
    for k, ub in linear.continuous.items():
        upper[index[k]] = ub
    cost = np.zeros(len(keys))
    for c, k in linear.objective:
        cost[index[k]] += c
    row_of: list[int] = []
    col_of: list[int] = []
    coefs: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for group in linear.one_of:
        row_of.extend([len(lows)] * len(group))
        col_of.extend(index[k] for k in group)
        coefs.extend([1.0] * len(group))
        lows.append(1.0)
        highs.append(1.0)
    targets: list[tuple[int, str, int]] = []
    for row in linear.rows:
        if row.tag and row.tag[0] == "target":
            targets.append((row.tag[1], row.tag[2], len(lows)))
        row_of.extend([len(lows)] * len(row.terms))
        col_of.extend(index[k] for _, k in row.terms)
        coefs.extend(c for c, _ in row.terms)
        lows.append(row.lo if math.isfinite(row.lo) else -np.inf)
        highs.append(row.hi if math.isfinite(row.hi) else np.inf)
    matrix = sparse.csr_matrix((coefs, (row_of, col_of)), shape=(len(lows), len(keys)))
    model = mb.ModelBuilderHelper()
    # OR-Tools' stubs spell the arrays' type in a form numpy's own types never match.
    model.fill_model_from_sparse_data(
        np.zeros(len(keys)),  # type: ignore[arg-type]
        upper,  # type: ignore[arg-type]
        cost,  # type: ignore[arg-type]
        np.array(lows),  # type: ignore[arg-type]
        np.array(highs),  # type: ignore[arg-type]
        matrix,
    )
    model.set_objective_offset(linear.objective_const)
    solver = mb.ModelSolverHelper("glop")
    solver.set_solver_specific_parameters(GLOP_PARAMETERS)
    solver.solve(model)
    status = solver.status()
    if status != mb.SolveStatus.OPTIMAL:
        return LpResult(
            "infeasible" if status == mb.SolveStatus.INFEASIBLE else "unknown",
            0.0,
            [{} for _ in range(n_days)],
            seconds=time.perf_counter() - t0,
        )
    row_duals = solver.dual_values()
    duals: list[dict[str, float]] = [{} for _ in range(n_days)]
    for d, name, r in targets:
        duals[d][name] = max(0.0, float(row_duals[r]))
    out = LpResult("optimal", solver.objective_value(), duals)
    if keep_solution:
        out.values = dict(zip(keys, solver.variable_values().tolist(), strict=True))
        out.reduced_costs = dict(zip(keys, solver.reduced_costs().tolist(), strict=True))
    out.seconds = time.perf_counter() - t0
    return out
