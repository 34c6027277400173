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
from ortools.linear_solver import pywraplp

from emergency.instance import Choice
from emergency.model import BuiltModel, Key, LinearModel, Row


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


SAMPLE = 3000
"""Simple source-days free in the first, pricing LP (the rest held at the warm start)."""
FREE = 4000
"""Simple source-days free in each later LP: those nearest to changing their measure."""
ROUNDS = 8
_TOL = 1e-9


def solve_lp_by_parts(
    built: BuiltModel, start: Choice, *, sample: int = SAMPLE, free_size: int = FREE
) -> LpResult:
    """The same LP optimum as :func:`solve_lp` (with its solution), found on small LPs.

    A source-day whose measure variables appear only in its choice row and the target rows
    ("simple") takes, at the LP optimum, the measure that is cheapest at the target rows'
    prices (c − λ·a), unless two tie. So: price the targets on an LP where ``sample`` of
    the simple source-days are free and the rest hold the warm start ``start`` (a valid
    list, so that LP is feasible); then hold every simple source-day at its cheapest
    measure at those prices except the ``free_size`` nearest to a tie, solve, and price
    again; free every held source-day whose measure is no longer the cheapest and solve
    again, until none is (each round's optimum is no higher than the last). The held
    measures, the part's primal and dual solution and, for each held choice row, the held
    measure's priced cost as its dual then satisfy the whole LP's optimality conditions,
    so the part's optimum is the whole LP's. Falls back to the whole LP when a part is
    infeasible or the rounds run out.
    """
    t0 = time.perf_counter()
    linear = built.linear
    n_days = built.instance.n_days
    tags: dict[tuple[int, str], int] = {}
    in_targets: dict[Key, list[tuple[int, float]]] = {}
    not_simple: set[Key] = set()
    for row in linear.rows:
        if row.tag and row.tag[0] == "target":
            t = tags.setdefault((row.tag[1], row.tag[2]), len(tags))
            for c, k in row.terms:
                in_targets.setdefault(k, []).append((t, c))
        else:
            not_simple.update(k for _, k in row.terms)
    simple = [g for g in linear.one_of if not any(k in not_simple for k in g)]
    if len(simple) <= sample + free_size:
        return solve_lp(linear, n_days, keep_solution=True)
    # Costs and target coefficients as arrays: one row per simple source-day, one column
    # per measure (padding costs +inf, so it is never the cheapest).
    width = max(len(g) for g in simple)
    cost = np.full((len(simple), width), np.inf)
    coef = np.zeros((len(tags), len(simple), width))
    where = {k: (i, n) for i, g in enumerate(simple) for n, k in enumerate(g)}
    for i, g in enumerate(simple):
        cost[i, : len(g)] = 0.0
    for c, k in linear.objective:
        if k in where:
            cost[where[k]] += c
    for k, entries in in_targets.items():
        if k in where:
            i, n = where[k]
            for t, c in entries:
                coef[t, i, n] += c

    def price(duals: list[dict[str, float]]) -> np.ndarray:
        prices = np.array([duals[d].get(name, 0.0) for d, name in tags])
        return cost - np.tensordot(prices, coef, axes=1)

    rows = np.arange(len(simple))
    held = np.array([_index(g, start) for g in simple])
    is_free = np.zeros(len(simple), dtype=bool)
    is_free[:: max(1, len(simple) // sample)] = True
    for round_ in range(ROUNDS):
        free = set(np.flatnonzero(is_free).tolist())
        res = solve_lp(_restricted(linear, simple, free, held.tolist()), n_days, keep_solution=True)
        if res.status != "optimal":
            break
        priced = price(res.duals)
        at_held = priced[rows, held]
        if round_ == 0:
            # The sample's prices: hold every simple source-day at its cheapest measure,
            # free the nearest to a tie.
            held = priced.argmin(axis=1)
            two = np.partition(priced, 1, axis=1) if width > 1 else np.full((len(rows), 2), np.inf)
            margins = two[:, 1] - two[:, 0]
            is_free = np.zeros(len(simple), dtype=bool)
            is_free[np.argsort(margins, kind="stable")[:free_size]] = True
            continue
        wrong = ~is_free & (priced.min(axis=1) < at_held - _TOL * (1.0 + np.abs(at_held)))
        if not wrong.any():
            for i in np.flatnonzero(~is_free).tolist():
                h = int(held[i])
                for n, k in enumerate(simple[i]):
                    res.values[k] = 1.0 if n == h else 0.0
                    res.reduced_costs[k] = float(priced[i, n] - priced[i, h])
            res.seconds = time.perf_counter() - t0
            return res
        is_free |= wrong  # a held measure no longer the cheapest: let the LP choose
    return solve_lp(linear, n_days, keep_solution=True)


def _index(group: list[Key], choice: Choice) -> int:
    """Position in ``group`` of the measure ``choice`` takes for its source-day (0 if none)."""
    _, s, d, _ = group[0]  # type: ignore[misc]
    m = choice[s][d]
    return next((n for n, k in enumerate(group) if k[3] == m), 0)  # type: ignore[misc]


def _restricted(
    linear: LinearModel, simple: list[list[Key]], free: set[int], held: list[int]
) -> LinearModel:
    """``linear`` with every simple choice row not in ``free`` held at its measure
    ``held``: those variables become constants (1 for the held measure, else 0)."""
    fixed: dict[Key, float] = {}
    for i, g in enumerate(simple):
        if i not in free:
            for n, k in enumerate(g):
                fixed[k] = 1.0 if n == held[i] else 0.0
    part = LinearModel(
        binaries=[k for k in linear.binaries if k not in fixed],
        continuous=dict(linear.continuous),
        one_of=[g for g in linear.one_of if g[0] not in fixed],
        objective_const=linear.objective_const,
    )
    for c, k in linear.objective:
        if k in fixed:
            part.objective_const += c * fixed[k]
        else:
            part.objective.append((c, k))
    for row in linear.rows:
        const = sum(c * fixed[k] for c, k in row.terms if k in fixed)
        terms = [(c, k) for c, k in row.terms if k not in fixed]
        part.rows.append(Row(terms, row.lo - const, row.hi - const, row.tag))
    return part
