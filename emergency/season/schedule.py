"""The season schedule: one measure per planned source and day, by CP-SAT.

Sources: every source with a plan file (lines, measures with per-line loads). Per day the
allowed measures are all of the plan's, except on key-period days, where the level's floor
of the plan applies (a measure at least as strict on every line); exempt sources
(guaranteed firms, ``exempt_grades``) keep exactly their floor every day (normal outside
key periods) and carry no quota.

Constraints: one measure per source and day; a stop start pays the line's restart cost and
keeps the line stopped for its ``min_stop_days`` (cut at the season's end); every industry
of ``min_running_share`` runs at least that share of its normal value added each day
(capped at what the day's floors allow); quotas, each with a shortfall variable counted in
thousandths of the requirement: ``stop_days`` per selected line (days with load 0),
``output_cut`` over the selected lines (or per firm): Σ value added × (1 − load) ≥ f × Σ
value added × days.

Phases (lexicographic): (0) least total shortfall (per mille of each quota row); then,
shortfall fixed, (1) least cost: lost value added + restarts, yuan (integer-scaled exactly,
:mod:`emergency.scaling`); then, cost ≤ the cost found, (2) the most risk-weighted cut
Σ_days risk × Σ_pollutants cut / city baseline (scaled by 10⁶ and rounded: a tie-breaker).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ortools.sat.python import cp_model

from emergency import NORMAL, POLLUTANTS
from emergency.cpsat import run
from emergency.instance import Option
from emergency.measures import plan_options
from emergency.scaling import UNBOUNDED, decimal_scale, scale_row
from emergency.season.model import (
    SeasonInput,
    exempt_grades,
    exempt_reason,
    selected_lines,
)

if TYPE_CHECKING:
    import datetime as dt

    from emergency.dataset import Dataset

PER_MILLE = 1000
RISK_SCALE = 10**6


@dataclass
class SeasonLine:
    id: str
    value_added_yuan_d: float
    restart_cost_yuan: float
    min_stop_days: int


@dataclass
class SeasonSource:
    """A planned source over the season: its lines, measures and allowed choices per day."""

    id: str
    industry: str
    lines: list[SeasonLine]
    options: tuple[Option, ...]
    floor: list[int]
    allowed: list[tuple[int, ...]]
    exempt: str | None

    def load(self, m: int, li: int) -> float:
        return self.options[m].loads[li]


def build_sources(inp: SeasonInput, dataset: Dataset) -> list[SeasonSource]:
    """Every planned source with its allowed measures per day (floors, exemptions)."""
    season = inp.season
    levels = season.levels()
    grades = exempt_grades(season, dataset)
    out = []
    for src in dataset.sources:
        plan = dataset.plans.get(src.id)
        if plan is None:
            continue
        _, options = plan_options(plan)
        ids = [o.id for o in options]
        reason = exempt_reason(src, grades)
        floors: list[int] = []
        allowed: list[tuple[int, ...]] = []
        for level in levels:
            floor_id = plan.floor(level) if level else NORMAL
            floor = ids.index(floor_id) if floor_id in ids else 0
            floors.append(floor)
            if reason is not None:
                allowed.append((floor,))
            elif level is None:
                allowed.append(tuple(range(len(options))))
            else:
                allowed.append(
                    tuple(i for i, mid in enumerate(ids) if plan.at_least_as_strict(mid, floor_id))
                )
        lines = [
            SeasonLine(
                ln.id, float(ln.value_added_yuan_d), float(ln.restart_cost_yuan), ln.min_stop_days
            )
            for ln in plan.lines
        ]
        out.append(SeasonSource(src.id, src.industry, lines, options, floors, allowed, reason))
    return out


def supply_edges(
    dataset: Dataset, sources: list[SeasonSource]
) -> list[tuple[tuple[int, int], tuple[int, int], float]]:
    """Supply couplings between planned lines: ((source, line), (source, line), share)."""
    index = {s.id: i for i, s in enumerate(sources)}
    out = []
    for plan in dataset.plans.values():
        if plan.enterprise not in index:
            continue
        s1 = index[plan.enterprise]
        for edge in plan.supplies:
            s2 = index.get(edge.to_enterprise)
            if s2 is None:
                continue
            u = [ln.id for ln in sources[s1].lines].index(edge.line)
            w = [ln.id for ln in sources[s2].lines].index(edge.to_line)
            out.append(((s1, u), (s2, w), float(edge.share)))
    return out


@dataclass
class QuotaRow:
    """One row of a quota: a line's stop days, or an output cut of a group of lines."""

    quota: int
    label: str
    """``source/line`` (stop days), ``source`` (per firm) or ``all`` (output cut)."""
    members: list[tuple[int, int]]
    """(source index, line index)."""
    required: float
    """Days, or yuan of lost value added over the season."""


def quota_rows(inp: SeasonInput, dataset: Dataset, sources: list[SeasonSource]) -> list[QuotaRow]:
    """The rows of every quota over non-exempt selected lines."""
    index = {s.id: i for i, s in enumerate(sources)}
    n = len(inp.season.days())
    rows: list[QuotaRow] = []
    for q, quota in enumerate(inp.season.quotas):
        members = []
        for sid, lid in selected_lines(quota, dataset):
            s = index[sid]
            if sources[s].exempt is None:
                li = [ln.id for ln in sources[s].lines].index(lid)
                members.append((s, li))
        if quota.stop_days is not None:
            for s, li in members:
                label = f"{sources[s].id}/{sources[s].lines[li].id}"
                rows.append(QuotaRow(q, label, [(s, li)], float(quota.stop_days)))
            continue
        assert quota.output_cut is not None
        groups: dict[str, list[tuple[int, int]]] = {}
        for s, li in members:
            groups.setdefault(sources[s].id if quota.per == "firm" else "all", []).append((s, li))
        for label, group in groups.items():
            total = sum(sources[s].lines[li].value_added_yuan_d for s, li in group)
            rows.append(QuotaRow(q, label, group, quota.output_cut * total * n))
    return rows


@dataclass
class Schedule:
    """The result: status, cost, bound, quotas, runs of measures and per-day figures."""

    season: str
    status: str
    """optimal | feasible | short | infeasible | unknown"""
    total_cost_yuan: float = 0.0
    bound_yuan: float = 0.0
    gap: float = 0.0
    risk_weighted_cut: float = 0.0
    seconds: float = 0.0
    quotas: list[dict[str, Any]] = field(default_factory=list)
    running_share_short: list[dict[str, Any]] = field(default_factory=list)
    """Days where floors and supply couplings leave an industry below its share."""
    assignments: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "season": self.season,
            "status": self.status,
            "total_cost_yuan": self.total_cost_yuan,
            "bound_yuan": self.bound_yuan,
            "gap": self.gap,
            "risk_weighted_cut": self.risk_weighted_cut,
            "seconds": self.seconds,
            "message": self.message,
            "quotas": self.quotas,
            "running_share_short": self.running_share_short,
            "assignments": self.assignments,
            "days": self.days,
        }


class _Builder:
    """The CP-SAT model of a season, kept across the three phases."""

    def __init__(self, sources: list[SeasonSource], n: int) -> None:
        self.model = cp_model.CpModel()
        self.sources = sources
        self.n = n
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.starts: dict[tuple[int, int, int], cp_model.IntVar] = {}
        for s, src in enumerate(sources):
            for d in range(n):
                options = src.allowed[d]
                if len(options) > 1:
                    keys = [(s, d, m) for m in options]
                    for k in keys:
                        self.x[k] = self.model.new_bool_var(f"x{k}")
                    self.model.add_exactly_one([self.x[k] for k in keys])

    def terms(self, s: int, d: int, coef: list[float]) -> tuple[list[tuple[float, Any]], float]:
        """Σ coef[m]·x[s,d,m] as variable terms and a constant (forced choice)."""
        options = self.sources[s].allowed[d]
        if len(options) == 1:
            return [], coef[options[0]]
        return [(coef[m], self.x[(s, d, m)]) for m in options if coef[m]], 0.0

    def add(
        self,
        terms: list[tuple[float, Any]],
        const: float,
        lo: float,
        hi: float = math.inf,
        short: cp_model.IntVar | None = None,
    ) -> bool:
        """``lo ≤ const + Σ terms ≤ hi`` scaled to integers; with ``short`` (per mille of
        the requirement, lower side only). Returns False when a constant row is violated."""
        lo, hi = lo - const, hi - const
        if not terms:
            if short is not None:
                return True
            return lo <= 1e-9 and hi >= -1e-9
        ints, lo_i, hi_i = scale_row([c for c, _ in terms], lo, hi)
        expr = sum(c * v for c, (_, v) in zip(ints, terms, strict=True))
        if short is not None:
            if lo_i > 0:
                self.model.add(PER_MILLE * expr + lo_i * short >= PER_MILLE * lo_i)
            return True
        if lo_i != -UNBOUNDED:
            self.model.add(expr >= lo_i)
        if hi_i != UNBOUNDED:
            self.model.add(expr <= hi_i)
        return True


def _solve(
    model: cp_model.CpModel, seconds: float, hint: dict[Any, int] | None
) -> tuple[cp_model.CpSolver, str]:
    model.clear_hints()
    for var, value in (hint or {}).items():
        model.add_hint(var, value)
    return run(model, max(0.05, seconds))


def _no_schedule(season_id: str, status: str, began: float) -> Schedule:
    why = "infeasible" if status == "infeasible" else "no schedule within the time limit"
    return Schedule(season_id, status, message=why, seconds=time.monotonic() - began)


def plan_season(inp: SeasonInput, dataset: Dataset, *, time_limit_s: float = 30.0) -> Schedule:
    """The least-cost season schedule, then the most risk-weighted cut at that cost."""
    began = time.monotonic()
    season = inp.season
    days = season.days()
    n = len(days)
    sources = build_sources(inp, dataset)
    rows = quota_rows(inp, dataset, sources)
    b = _Builder(sources, n)
    model = b.model
    infeasible: list[str] = []

    # Stops: restarts and minimum stop days.
    cost_terms: list[tuple[float, Any]] = []
    cost_const = 0.0
    stopped: dict[tuple[int, int], list[tuple[list[tuple[float, Any]], float]]] = {}
    for s, src in enumerate(sources):
        for li, line in enumerate(src.lines):
            stops = [1.0 if o.loads[li] == 0.0 else 0.0 for o in src.options]
            if not any(stops[m] for d in range(n) for m in src.allowed[d]):
                continue
            z = [b.terms(s, d, stops) for d in range(n)]
            stopped[(s, li)] = z
            if line.restart_cost_yuan <= 0 and line.min_stop_days <= 1:
                continue
            for d in range(n):
                y = model.new_bool_var(f"start{(s, li, d)}")
                b.starts[(s, li, d)] = y
                terms = [(1.0, y)] + [(-c, v) for c, v in z[d][0]]
                const = -z[d][1]
                if d > 0:
                    terms += z[d - 1][0]
                    const += z[d - 1][1]
                b.add(terms, const, 0.0)
                for later in range(d + 1, min(d + line.min_stop_days, n)):
                    if not b.add([*z[later][0], (-1.0, y)], z[later][1], 0.0):
                        infeasible.append(f"{src.id}/{line.id}: minimum stop")
                if line.restart_cost_yuan:
                    cost_terms.append((line.restart_cost_yuan, y))

    # Daily costs.
    for s, src in enumerate(sources):
        costs = [o.cost_yuan_d for o in src.options]
        for d in range(n):
            t, c = b.terms(s, d, costs)
            cost_terms += t
            cost_const += c

    # Supply couplings: load(dst) ≤ 1 − share × (1 − load(src)).
    for edge in supply_edges(dataset, sources):
        (s1, u), (s2, w), share = edge
        up = [o.loads[u] for o in sources[s1].options]
        down = [o.loads[w] for o in sources[s2].options]
        for d in range(n):
            t2, c2 = b.terms(s2, d, down)
            t1, c1 = b.terms(s1, d, up)
            terms = t2 + [(-share * c, v) for c, v in t1]
            if not b.add(terms, c2 - share * c1, -math.inf, 1.0 - share):
                infeasible.append(f"{sources[s2].id} {days[d]}: supply")

    # Minimum running share per industry and day (capped at what each source's floors
    # allow); a shortfall (per mille) is possible where floors and supply couplings
    # together leave less, and weighs more than every quota's in phase 0.
    share_shorts: list[cp_model.IntVar] = []
    for industry, share in season.min_running_share.items():
        members = [s for s, src in enumerate(sources) if src.industry == industry]
        total = sum(ln.value_added_yuan_d for s in members for ln in sources[s].lines)
        if total <= 0 or share <= 0:
            continue
        for d in range(n):
            terms, const, reach = [], 0.0, 0.0
            for s in members:
                src = sources[s]
                out = [
                    sum(ln.value_added_yuan_d * o.loads[li] for li, ln in enumerate(src.lines))
                    for o in src.options
                ]
                reach += max(out[m] for m in src.allowed[d])
                t, c = b.terms(s, d, out)
                terms += t
                const += c
            need = min(share * total, reach)
            sh = model.new_int_var(0, PER_MILLE, f"share_short{(industry, d)}")
            share_shorts.append(sh)
            if terms:
                b.add(terms, const, need, short=sh)
            else:
                model.add(sh == _per_mille(need - const, need))

    # Quotas, with shortfall in per mille of each row's requirement.
    shorts: list[cp_model.IntVar] = []
    for r, row in enumerate(rows):
        sh = model.new_int_var(0, PER_MILLE, f"short{r}")
        shorts.append(sh)
        terms, const = [], 0.0
        for s, li in row.members:
            src = sources[s]
            if season.quotas[row.quota].stop_days is not None:
                for d in range(n):
                    t, c = stopped.get((s, li), [([], 0.0)] * n)[d]
                    terms += t
                    const += c
            else:
                va = src.lines[li].value_added_yuan_d
                coef = [va * (1.0 - o.loads[li]) for o in src.options]
                for d in range(n):
                    t, c = b.terms(s, d, coef)
                    terms += t
                    const += c
        if not terms:  # nothing to choose: the shortfall is what it is
            model.add(sh == _per_mille(row.required - const, row.required))
        else:
            b.add(terms, const, row.required, short=sh)

    if infeasible:
        return Schedule(
            season.id,
            "infeasible",
            message="floors alone break: " + "; ".join(infeasible[:5]),
            seconds=time.monotonic() - began,
        )

    def left() -> float:
        return max(0.05, time_limit_s - (time.monotonic() - began))

    variables = list(b.x.values()) + list(b.starts.values()) + shorts + share_shorts

    # Phase 0: least total shortfall.
    total_short = 0
    hint: dict[Any, int] | None = None
    if shorts or share_shorts:
        weight = PER_MILLE * len(shorts) + 1
        shortfall = weight * sum(share_shorts) + sum(shorts)
        model.minimize(shortfall)
        solver, status = _solve(model, left() / 3, None)
        if status in ("infeasible", "unknown"):
            return _no_schedule(season.id, status, began)
        total_short = round(solver.objective_value)
        model.add(shortfall <= total_short)
        hint = {v: solver.value(v) for v in variables}

    # Phase 1: least cost.
    scale = decimal_scale([abs(c) for c, _ in cost_terms])
    ints = [round(c * scale) for c, _ in cost_terms]
    cost_expr = sum(c * v for c, (_, v) in zip(ints, cost_terms, strict=True))
    model.minimize(cost_expr)
    solver, status = _solve(model, left() / 2, hint)
    if status in ("infeasible", "unknown"):
        return _no_schedule(season.id, status, began)
    cost_units = round(solver.objective_value)
    bound_units = solver.best_objective_bound
    cost_optimal = status == "optimal"
    values = {v: solver.value(v) for v in variables}

    # Phase 2: the most risk-weighted cut at that cost.
    baseline = dataset.city.baseline_kg_d
    weights = [
        sum(o.cut_kg[i] / baseline[p] for i, p in enumerate(POLLUTANTS) if baseline.get(p))
        for src in sources
        for o in src.options
    ]
    risk_terms = []
    k = 0
    for s, src in enumerate(sources):
        per_option = weights[k : k + len(src.options)]
        k += len(src.options)
        for d in range(n):
            for w_cut, var in b.terms(s, d, per_option)[0]:
                risk_terms.append((round(w_cut * inp.risk[d] * RISK_SCALE), var))
    if risk_terms and any(c for c, _ in risk_terms):
        model.add(cost_expr <= cost_units)
        model.maximize(sum(c * v for c, v in risk_terms))
        solver2, status2 = _solve(model, left(), values)
        if status2 in ("optimal", "feasible"):
            values = {v: solver2.value(v) for v in variables}

    choice = _choice(b, values)
    total_cost = cost_units / scale + cost_const
    bound = max(bound_units / scale + cost_const, 0.0)
    out_status = "short" if total_short > 0 else ("optimal" if cost_optimal else "feasible")
    return report(
        inp,
        dataset,
        sources,
        rows,
        choice,
        status=out_status,
        total_cost=total_cost,
        bound=min(bound, total_cost),
        seconds=time.monotonic() - began,
    )


def _per_mille(gap: float, required: float) -> int:
    """A fixed shortfall in thousandths of the requirement (0 when met)."""
    if required <= 0 or gap <= 1e-9:
        return 0
    return min(PER_MILLE, math.ceil(PER_MILLE * gap / required - 1e-9))


def _choice(b: _Builder, values: dict[Any, int]) -> list[list[int]]:
    choice = []
    for s, src in enumerate(b.sources):
        row = []
        for d in range(b.n):
            options = src.allowed[d]
            if len(options) == 1:
                row.append(options[0])
            else:
                row.append(next(m for m in options if values.get(b.x[(s, d, m)])))
        choice.append(row)
    return choice


def report(
    inp: SeasonInput,
    dataset: Dataset,
    sources: list[SeasonSource],
    rows: list[QuotaRow],
    choice: list[list[int]],
    *,
    status: str,
    total_cost: float,
    bound: float,
    seconds: float,
) -> Schedule:
    """The schedule's figures, recomputed from the choice (floats; the checker is exact)."""
    season = inp.season
    days = season.days()
    n = len(days)
    baseline = dataset.city.baseline_kg_d
    # quotas
    quotas = []
    for q, quota in enumerate(season.quotas):
        mine = [row for row in rows if row.quota == q]
        detail = []
        for row in mine:
            if quota.stop_days is not None:
                s, li = row.members[0]
                got = float(sum(sources[s].load(choice[s][d], li) == 0.0 for d in range(n)))
                detail.append((row.label, got, float(quota.stop_days)))
            else:
                lost = sum(
                    sources[s].lines[li].value_added_yuan_d
                    * (1.0 - sources[s].load(choice[s][d], li))
                    for s, li in row.members
                    for d in range(n)
                )
                normal = sum(sources[s].lines[li].value_added_yuan_d for s, li in row.members) * n
                detail.append((row.label, round(lost / normal, 6) if normal else 0.0, 0.0))
        required = float(quota.stop_days if quota.stop_days is not None else quota.output_cut or 0)
        achieved = min((got for _, got, _ in detail), default=required)
        short = [
            {"of": label, "achieved": got, "short_by": round(required - got, 6)}
            for label, got, _ in detail
            if got < required - 1e-9
        ]
        quotas.append(
            {
                "id": season.quota_id(q),
                "kind": quota.kind,
                "required": required,
                "achieved": achieved,
                "unit": "days" if quota.stop_days is not None else "share",
                "short_by": round(max(0.0, required - achieved), 6),
                "short": short,
            }
        )
    # runs
    assignments = []
    for s, src in enumerate(sources):
        d = 0
        while d < n:
            m = choice[s][d]
            e = d
            while e + 1 < n and choice[s][e + 1] == m:
                e += 1
            if m != 0:
                option = src.options[m]
                assignments.append(
                    {
                        "source": src.id,
                        "measure": option.id,
                        "line_loads": {ln.id: option.loads[li] for li, ln in enumerate(src.lines)},
                        "start": days[d].isoformat(),
                        "end": days[e].isoformat(),
                    }
                )
            d = e + 1
    # days
    industries = sorted({src.industry for src in sources})
    names = season.key_period_names()
    levels = season.levels()
    out_days = []
    share_short: list[dict[str, Any]] = []
    risk_cut = 0.0
    for d in range(n):
        cut = [0.0] * 4
        run: dict[str, list[float]] = {i: [0.0, 0.0] for i in industries}
        for s, src in enumerate(sources):
            option = src.options[choice[s][d]]
            for i in range(4):
                cut[i] += option.cut_kg[i]
            for li, ln in enumerate(src.lines):
                run[src.industry][0] += ln.value_added_yuan_d * option.loads[li]
                run[src.industry][1] += ln.value_added_yuan_d
        for industry, need in season.min_running_share.items():
            got, total = run.get(industry, (0.0, 0.0))
            if total and got / total < need - 1e-9:
                share_short.append(
                    {
                        "industry": industry,
                        "date": days[d].isoformat(),
                        "required": need,
                        "achieved": round(got / total, 6),
                    }
                )
        weighted = sum(cut[i] / baseline[p] for i, p in enumerate(POLLUTANTS) if baseline.get(p))
        risk_cut += inp.risk[d] * weighted
        out_days.append(
            {
                "date": days[d].isoformat(),
                "risk": inp.risk[d],
                "key_period": names[d] or None,
                "level": levels[d],
                "running_share": {i: round(a / t, 6) if t else 1.0 for i, (a, t) in run.items()},
                "cut_kg": {p: round(cut[i], 3) for i, p in enumerate(POLLUTANTS)},
            }
        )
    gap = (total_cost - bound) / total_cost if total_cost > 0 else 0.0
    return Schedule(
        season.id,
        status,
        total_cost_yuan=round(total_cost, 2),
        bound_yuan=round(bound, 2),
        gap=round(max(gap, 0.0), 6),
        risk_weighted_cut=round(risk_cut, 6),
        seconds=round(seconds, 3),
        quotas=quotas,
        running_share_short=share_short,
        assignments=assignments,
        days=out_days,
    )


def day_index(days: list[dt.date]) -> dict[dt.date, int]:
    """Date → position in the season."""
    return {day: i for i, day in enumerate(days)}
