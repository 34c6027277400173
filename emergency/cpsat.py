"""Emit a :class:`~emergency.model.LinearModel` to CP-SAT and solve it.

CP-SAT takes integer coefficients only. Each row is scaled here, and only here, by the
smallest power of ten that makes its coefficients and bounds integers
(:func:`emergency.scaling.decimal_scale`), then divided by the gcd of its coefficients;
lower bounds are rounded up and upper bounds down, which is exact because the left side
is an integer. The objective is scaled the same way and its scale kept, so the cost read
back is exact in yuan.

Settings: one worker with ``linearization_level=2`` (the default parallel portfolio
stalled at a 20 % gap on two cores for these models), ``presolve_inclusion_work_limit=0``
(avoids a 9.15 presolve defect on rows whose coefficients sum past 2**31). Two workers
where asked: the reduced-cost cores of a few thousand measures of a large model
(:mod:`emergency.core`), which they close in a third of one worker's time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from emergency.collector import release_freed_memory
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


Watch = Callable[[float, float], None]
"""Told (objective, bound) in the model's integer units at each new solution and bound."""


class _Found(cp_model.CpSolverSolutionCallback):
    """Whether the search has found a solution yet; ``watch`` is told of each solution and
    each better bound; the search stops at a solution whose objective is ``stop_at`` or
    less."""

    def __init__(self, watch: Watch | None = None, stop_at: float | None = None) -> None:
        super().__init__()
        self.found = False
        self.best = math.inf
        self.watch = watch
        self.stop_at = stop_at

    def on_solution_callback(self) -> None:
        self.found = True
        self.best = self.objective_value
        if self.watch is not None:
            self.watch(self.best, self.best_objective_bound)
        if self.stop_at is not None and self.best <= self.stop_at:
            self.stop_search()

    def on_bound(self, bound: float) -> None:
        if self.watch is not None:
            self.watch(self.best, bound)


def run(
    model: cp_model.CpModel,
    time_limit_s: float,
    give_up_s: float | None = None,
    *,
    whole_lp: bool = False,
    dual_presolve: bool = True,
    watch: Watch | None = None,
    gap_limit: float = 0.0,
    stop_at: float | None = None,
    workers: int = 1,
) -> tuple[cp_model.CpSolver, str]:
    """Solve ``model`` with the project's parameters; the solver and the status name.

    ``workers`` workers (one: deterministic and fastest on these knapsack-like models as a
    whole, see bench/RESULTS.md), linearization 2 and no presolve inclusion work, seed 0.
    Status: ``optimal``,
    ``feasible``, ``infeasible`` or ``unknown`` (no solution within the time limit).
    With ``give_up_s``, the search stops after that many seconds if it has found no
    solution by then. With ``whole_lp``, every row is in the LP from the start (not added
    lazily as it is violated); without ``dual_presolve``, presolve keeps every feasible
    solution (no dual reductions). Both together bring CP-SAT's first strong bound on a
    stationary response of 20,000 sources from about 25 s to about 10 s (the dual
    reductions add hundreds of thousands of implications that slow everything after
    them); on models whose days are linked by stops the dual reductions pay, and those
    keep them (bench/RESULTS.md). ``watch`` is told of every new solution
    and bound; the search ends once a list is proven within ``gap_limit`` (relative) of the
    bound — CP-SAT then says ``optimal``: read the bound, not the status. With ``stop_at``
    (the objective, in the model's units) it ends at the first solution that good: a
    bound known outside CP-SAT (the LP's) may prove it close enough already.
    """
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = workers
    p.linearization_level = 2
    p.presolve_inclusion_work_limit = 0
    p.random_seed = 0
    p.max_time_in_seconds = max(0.01, time_limit_s)
    if gap_limit > 0:
        p.relative_gap_limit = gap_limit
    if whole_lp:
        p.add_lp_constraints_lazily = False
    if not dual_presolve:
        p.keep_all_feasible_solutions_in_presolve = True
    seen = _Found(watch, stop_at)
    if watch is not None:
        solver.best_bound_callback = seen.on_bound
    if give_up_s is None:
        status = solver.solve(model, seen)
    else:

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
    gap_limit: float = 0.0,
    watch: Watch | None = None,
    enough_yuan: float | None = None,
    workers: int = 1,
) -> CpResult:
    """Solve ``linear``; ``objective`` (integer weights) replaces the model's own when given.

    The search stops when it has proven its list within ``gap_limit`` (relative) of the
    least cost, at its first list costing ``enough_yuan`` or less (the model's own
    objective), or at the time limit. ``watch`` is told (cost, bound) in yuan — the
    model's own objective — at each new solution and bound. The time limit covers writing
    the model as well as the search."""
    began = time.perf_counter()
    model = cp_model.CpModel()
    var: dict[Key, cp_model.IntVar] = {}
    for k in linear.binaries:
        var[k] = model.new_bool_var("")
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
            expr = cp_model.LinearExpr.weighted_sum([var[k] for k in keys], ints)
            model.add(expr >= round_up(row.lo * scale))
            continue
        ints, lo_i, hi_i = scale_row(coefs, row.lo, row.hi)
        expr = cp_model.LinearExpr.weighted_sum([var[k] for k in keys], ints)
        if lo_i != -UNBOUNDED:
            model.add(expr >= lo_i)
        if hi_i != UNBOUNDED:
            model.add(expr <= hi_i)

    if objective is not None:
        obj_scale = 1
        model.minimize(
            cp_model.LinearExpr.weighted_sum(
                [var[k] for _, k in objective], [w for w, _ in objective]
            )
        )
    else:
        obj_scale = decimal_scale([abs(c) for c, _ in linear.objective])
        model.minimize(
            cp_model.LinearExpr.weighted_sum(
                [var[k] for _, k in linear.objective],
                [round(c * obj_scale) for c, _ in linear.objective],
            )
        )
    if hint:
        for k, v in hint.items():
            if k in var:
                model.add_hint(var[k], v)

    told = None
    if watch is not None and objective is None:
        const = linear.objective_const

        def told(cost: float, bound: float) -> None:
            watch(cost / obj_scale + const, bound / obj_scale + const)

    left = max(0.05, time_limit_s - (time.perf_counter() - began))
    # Days linked by stops (start variables): the dual reductions pay there.
    linked = any(k[0] == "start" for k in linear.binaries)
    stop_at = None
    if enough_yuan is not None and objective is None:
        stop_at = (enough_yuan - linear.objective_const) * obj_scale
    solver, name = run(
        model,
        left,
        whole_lp=True,
        dual_presolve=linked,
        watch=told,
        gap_limit=gap_limit,
        stop_at=stop_at,
        workers=workers,
    )
    values: dict[Key, int] = {}
    obj, bound = 0, 0.0
    if name in ("optimal", "feasible"):
        values = {k: solver.value(v) for k, v in var.items()}
        obj = round(solver.objective_value)
        bound = solver.best_objective_bound
    seconds = solver.wall_time
    del solver, model
    release_freed_memory()  # CP-SAT's working memory, freed, back to the system
    return CpResult(name, values, obj, bound, obj_scale, seconds)


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
