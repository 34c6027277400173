"""Emit a :class:`~emergency.model.LinearModel` to CP-SAT and solve it.

CP-SAT takes integer coefficients only. Each row is scaled here, and only here, by the
smallest power of ten that makes its coefficients and bounds integers
(:func:`emergency.scaling.decimal_scale`), then divided by the gcd of its coefficients;
lower bounds are rounded up and upper bounds down, which is exact because the left side
is an integer. The objective is scaled the same way and its scale kept, so the cost read
back is exact in yuan.

Settings: one worker with ``linearization_level=2`` (the default parallel portfolio
stalled at a 20 % gap on two cores for these models), ``presolve_inclusion_work_limit=0``
(avoids a 9.15 presolve defect on rows whose coefficients sum past 2**31).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ortools.sat.python import cp_model

from emergency.model import Key, LinearModel
from emergency.scaling import UNBOUNDED, decimal_scale, round_up, scale_row


@dataclass
class CpResult:
    status: str
    """optimal | feasible | infeasible | unknown"""
    values: dict[Key, int]
    objective_units: int
    bound_units: float
    objective_scale: int
    seconds: float

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "feasible")


class _Found(cp_model.CpSolverSolutionCallback):
    """Whether the search has found a solution yet."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def on_solution_callback(self) -> None:
        self.found = True


def run(
    model: cp_model.CpModel, time_limit_s: float, give_up_s: float | None = None
) -> tuple[cp_model.CpSolver, str]:
    """Solve ``model`` with the project's parameters; the solver and the status name.

    One worker, linearization 2 and no presolve inclusion work (deterministic and fastest on
    these knapsack-like models, see bench/RESULTS.md), seed 0. Status: ``optimal``,
    ``feasible``, ``infeasible`` or ``unknown`` (no solution within the time limit).
    With ``give_up_s``, the search stops after that many seconds if it has found no
    solution by then.
    """
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = 1
    p.linearization_level = 2
    p.presolve_inclusion_work_limit = 0
    p.random_seed = 0
    p.max_time_in_seconds = max(0.01, time_limit_s)
    if give_up_s is None:
        status = solver.solve(model)
    else:
        seen = _Found()

        def stop() -> None:
            if not seen.found:
                solver.stop_search()

        timer = threading.Timer(max(0.05, give_up_s), stop)
        timer.start()
        try:
            status = solver.solve(model, seen)
        finally:
            timer.cancel()
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError("CP-SAT rejected the model: " + model.validate())
    name = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(status, "unknown")
    return solver, name


def solve_cpsat(
    linear: LinearModel,
    *,
    time_limit_s: float,
    hint: dict[Key, int] | None = None,
    objective: list[tuple[int, Key]] | None = None,
) -> CpResult:
    """Solve ``linear``; ``objective`` (integer weights) replaces the model's own when given."""
    model = cp_model.CpModel()
    var: dict[Key, cp_model.IntVar] = {}
    for k in linear.binaries:
        var[k] = model.new_bool_var(str(k))
    # A continuous variable (a shortfall, kg) lives in one target row and is counted in
    # that row's integer unit (1/scale kg).
    units = continuous_scales(linear)
    for k, ub in linear.continuous.items():
        var[k] = model.new_int_var(0, math.ceil(ub * units[k]), str(k))
    for group in linear.one_of:
        model.add_exactly_one([var[k] for k in group])
    for row in linear.rows:
        coefs = [c for c, _ in row.terms]
        keys = [k for _, k in row.terms]
        if any(k in units for k in keys):
            scale = next(units[k] for k in keys if k in units)
            ints = [round(c * scale) for c in coefs]
            expr = sum(c * var[k] for c, k in zip(ints, keys, strict=True))
            model.add(expr >= round_up(row.lo * scale))
            continue
        ints, lo_i, hi_i = scale_row(coefs, row.lo, row.hi)
        expr = sum(c * var[k] for c, k in zip(ints, keys, strict=True))
        if lo_i != -UNBOUNDED:
            model.add(expr >= lo_i)
        if hi_i != UNBOUNDED:
            model.add(expr <= hi_i)

    if objective is not None:
        obj_scale = 1
        model.minimize(sum(w * var[k] for w, k in objective))
    else:
        obj_scale = decimal_scale([abs(c) for c, _ in linear.objective])
        model.minimize(sum(round(c * obj_scale) * var[k] for c, k in linear.objective))
    if hint:
        for k, v in hint.items():
            if k in var:
                model.add_hint(var[k], v)

    solver, name = run(model, time_limit_s)
    values: dict[Key, int] = {}
    obj, bound = 0, 0.0
    if name in ("optimal", "feasible"):
        values = {k: solver.value(v) for k, v in var.items()}
        obj = round(solver.objective_value)
        bound = solver.best_objective_bound
    return CpResult(name, values, obj, bound, obj_scale, solver.wall_time)


def continuous_scales(linear: LinearModel) -> dict[Key, int]:
    """The integer unit (1/scale kg) CP-SAT uses for each continuous variable."""
    out: dict[Key, int] = {}
    for row in linear.rows:
        keys = [k for _, k in row.terms]
        for k in keys:
            if k in linear.continuous:
                rest = [abs(c) for c, kk in row.terms if kk not in linear.continuous]
                out[k] = decimal_scale([*rest, abs(row.lo)])
    return out
