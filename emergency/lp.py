"""The LP relaxation (GLOP): a proven lower bound and the marginal cost of each pollutant.

The same rows as the integer model (:mod:`emergency.model`) with every binary relaxed to
[0, 1]. The dual value of a day's target row is what one more kilogram of that pollutant
(or of SO2+NOx where pooled) would cost on that day, in yuan per kg.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from emergency.collector import release_freed_memory
from emergency.model import Key, LinearModel

if TYPE_CHECKING:
    from scipy.sparse import csc_matrix, csr_matrix


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
    form: SparseForm | None = None
    """The rows as one sparse matrix (``keep_solution``)."""


GLOP_PARAMETERS = "use_dual_simplex: true"
"""The dual simplex: 5,000 sources' LP in 0.04 s instead of 0.12 s, 20,000 sources' in
0.24 s instead of 1.7 s (the primal simplex, GLOP's default; bench/RESULTS.md)."""


@dataclass
class SparseForm:
    """The rows as one sparse matrix: the choice rows first (``first`` of them), then
    ``linear.rows`` in order; one column per variable (``keys``), binaries first."""

    keys: list[Key]
    upper: np.ndarray
    cost: np.ndarray
    matrix: csr_matrix
    lows: np.ndarray
    highs: np.ndarray
    first: int
    targets: list[tuple[int, str, int]]
    """(day, row name, matrix row) of every target row."""


def holds_rows(rows: csc_matrix, columns: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether taking ``columns`` (one per choice row) keeps every row of ``rows`` (a
    :class:`SparseForm`'s rows after its choice rows) within ``lo`` and ``hi``."""
    x = np.zeros(rows.shape[1])
    x[columns] = 1.0
    act = rows @ x
    return not bool(((act < lo) | (act > hi)).any())


def sparse_form(linear: LinearModel) -> SparseForm:
    """``linear`` as a :class:`SparseForm` (a variable twice in a row, as a source's own
    supply edge can write it, summed)."""
    # Imported here, not with the module: 27 MB that a command which never solves (or
    # has not yet: a large city's duties are its peak of memory) need not hold.
    from scipy import sparse

    keys: list[Key] = [*linear.binaries, *linear.continuous]
    index = {k: i for i, k in enumerate(keys)}
    upper = np.ones(len(keys))
    for k, ub in linear.continuous.items():
        upper[index[k]] = ub
    cost = np.zeros(len(keys))
    for c, k in linear.objective:
        cost[index[k]] += c
    # The rows as CSR arrays filled in place (no Python list of every coefficient: at
    # 50,000 sources those lists alone were 150 MB at the peak).
    sizes = [len(group) for group in linear.one_of] + [len(row.terms) for row in linear.rows]
    nnz = sum(sizes)
    cols = np.fromiter(
        itertools.chain(
            (index[k] for group in linear.one_of for k in group),
            (index[k] for row in linear.rows for _, k in row.terms),
        ),
        dtype=np.int32,
        count=nnz,
    )
    coefs = np.fromiter(
        itertools.chain(
            itertools.repeat(1.0, nnz - sum(len(row.terms) for row in linear.rows)),
            (c for row in linear.rows for c, _ in row.terms),
        ),
        dtype=np.float64,
        count=nnz,
    )
    starts = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    del sizes
    first = len(linear.one_of)
    lows = np.ones(first + len(linear.rows))
    highs = np.ones(first + len(linear.rows))
    targets: list[tuple[int, str, int]] = []
    for r, row in enumerate(linear.rows, start=first):
        if row.tag and row.tag[0] == "target":
            targets.append((row.tag[1], row.tag[2], r))
        lows[r] = row.lo if math.isfinite(row.lo) else -np.inf
        highs[r] = row.hi if math.isfinite(row.hi) else np.inf
    matrix = sparse.csr_matrix((coefs, cols, starts), shape=(len(lows), len(keys)))
    del cols, coefs, starts
    matrix.sum_duplicates()
    return SparseForm(keys, upper, cost, matrix, lows, highs, first, targets)


def solve_lp(
    linear: LinearModel,
    n_days: int,
    *,
    keep_solution: bool = False,
    time_limit_s: float | None = None,
) -> LpResult:
    """Solve the relaxation of ``linear``; with ``keep_solution`` its primal values and
    reduced costs too, and the rows as a sparse matrix (what :mod:`emergency.core` and
    :mod:`emergency.rounding` read). GLOP stops after ``time_limit_s`` seconds, when
    given (status ``unknown``: no bound).

    The rows go to GLOP as one sparse matrix (no Python call per coefficient)."""
    from ortools.linear_solver.python import model_builder_helper as mb

    t0 = time.perf_counter()
    form = sparse_form(linear)
    keys, matrix = form.keys, form.matrix
    model = mb.ModelBuilderHelper()
    # OR-Tools' stubs spell the arrays' type in a form numpy's own types never match.
    model.fill_model_from_sparse_data(
        np.zeros(len(keys)),  # type: ignore[arg-type]
        form.upper,  # type: ignore[arg-type]
        form.cost,  # type: ignore[arg-type]
        form.lows,  # type: ignore[arg-type]
        form.highs,  # type: ignore[arg-type]
        matrix,
    )
    model.set_objective_offset(linear.objective_const)
    solver = mb.ModelSolverHelper("glop")
    solver.set_solver_specific_parameters(GLOP_PARAMETERS)
    if time_limit_s is not None:
        solver.set_time_limit_in_seconds(max(0.01, time_limit_s))
    solver.solve(model)
    del model, matrix
    status = solver.status()
    if status != mb.SolveStatus.OPTIMAL:
        del solver
        release_freed_memory()
        return LpResult(
            "infeasible" if status == mb.SolveStatus.INFEASIBLE else "unknown",
            0.0,
            [{} for _ in range(n_days)],
            seconds=time.perf_counter() - t0,
        )
    row_duals = solver.dual_values()
    duals: list[dict[str, float]] = [{} for _ in range(n_days)]
    for d, name, r in form.targets:
        duals[d][name] = max(0.0, float(row_duals[r]))
    out = LpResult("optimal", solver.objective_value(), duals)
    if keep_solution:
        out.values = dict(zip(keys, solver.variable_values().tolist(), strict=True))
        out.reduced_costs = dict(zip(keys, solver.reduced_costs().tolist(), strict=True))
        out.form = form
    del solver, form
    release_freed_memory()
    out.seconds = time.perf_counter() - t0
    return out
