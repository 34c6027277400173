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

Re-plan (``state``, :class:`SeasonState`): the days before ``from_date`` hold the loads
given and count toward everything; the rules apply from that date on (docs/SEASON.md).

Speed: groups of sources that share no row are separate models; a source whose rules see
only its stops is scheduled alone by dynamic programming; sources with no role are fixed
outside the span of their forced stops (docs/SEASON.md, "The model").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ortools.sat.python import cp_model

from emergency import NORMAL, POLLUTANTS
from emergency.cpsat import run
from emergency.errors import ValidationErrors
from emergency.instance import Option
from emergency.measures import plan_options
from emergency.scaling import UNBOUNDED, decimal_scale, scale_row
from emergency.season.context import Context as _Context
from emergency.season.context import QuotaRow, SeasonLine, SeasonSource
from emergency.season.dp import PER_MILLE, RISK_SCALE, per_mille, solve_alone, sticky
from emergency.season.model import (
    SeasonInput,
    exempt_grades,
    exempt_reason,
    selected_lines,
)
from emergency.season.split import Part, fix_suppliers, row_short, solve_shared
from emergency.season.state import (
    SeasonState,
    check_state,
    first_planned,
    held_loads,
    settled_option,
)
from emergency.season.warmstart import source_cost, warm_start

__all__ = [
    "Schedule",
    "SeasonState",
    "build_sources",
    "plan_season",
    "quota_rows",
    "report",
    "warm_schedule",
]

if TYPE_CHECKING:
    import datetime as dt

    from emergency.dataset import Dataset


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
    from_date: str | None = None
    """Re-planned from this date (``YYYY-MM-DD``): the days before it are settled."""
    settled_cost_yuan: float = 0.0
    """Of ``total_cost_yuan``, what the settled days cost (lost value added, restarts)."""
    build_seconds: float = 0.0
    """Of ``seconds``, building the models (the rest is solving and the report)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "season": self.season,
            "from": self.from_date,
            "status": self.status,
            "total_cost_yuan": self.total_cost_yuan,
            "settled_cost_yuan": self.settled_cost_yuan,
            "bound_yuan": self.bound_yuan,
            "gap": self.gap,
            "risk_weighted_cut": self.risk_weighted_cut,
            "seconds": self.seconds,
            "build_seconds": self.build_seconds,
            "message": self.message,
            "quotas": self.quotas,
            "running_share_short": self.running_share_short,
            "assignments": self.assignments,
            "days": self.days,
        }


class _Builder:
    """A CP-SAT model of some sources of a season (a pack of independent groups)."""

    def __init__(self, sources: list[SeasonSource], members: list[int], n: int) -> None:
        self.model = cp_model.CpModel()
        self.sources = sources
        self.members = members
        self.n = n
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.starts: list[cp_model.IntVar] = []
        for s in members:
            allowed = sources[s].allowed
            for d in range(n):
                options = allowed[d]
                if len(options) > 1:
                    keys = [(s, d, m) for m in options]
                    for k in keys:
                        self.x[k] = self.model.new_bool_var("")
                    self.model.add_exactly_one([self.x[k] for k in keys])

    def terms(self, s: int, d: int, coef: list[float]) -> tuple[list[tuple[float, Any]], float]:
        """Σ coef[m]·x[s,d,m] as variable terms and a constant (forced choice)."""
        options = self.sources[s].allowed[d]
        if len(options) == 1:
            return [], coef[options[0]]
        x = self.x
        return [(coef[m], x[(s, d, m)]) for m in options if coef[m]], 0.0

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
        expr = cp_model.LinearExpr.weighted_sum([v for _, v in terms], ints)
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


def _solve_or_give_up(
    model: cp_model.CpModel, seconds: float, give_up: float
) -> tuple[cp_model.CpSolver, str]:
    """As :func:`_solve` with no hint, but stopped after ``give_up`` seconds when no
    solution is found by then."""
    model.clear_hints()
    return run(model, max(0.05, seconds), give_up_s=give_up)


def _evaluate(
    model: cp_model.CpModel, variables: list[Any], hint: dict[Any, int], seconds: float
) -> tuple[dict[Any, int] | None, int]:
    """The values of every variable with the choices fixed at ``hint`` (a copy of the
    model; its objective's least value given them): None when they break a hard row."""
    fixed = model.clone()
    for var, value in hint.items():
        fixed.add(fixed.get_int_var_from_proto_index(var.index) == value)
    solver, status = run(fixed, max(0.5, seconds))
    if status not in ("optimal", "feasible"):
        return None, 0
    values = {v: int(solver.value(v)) for v in variables}
    objective = round(solver.objective_value) if fixed.has_objective() else 0
    return values, objective


def _no_schedule(season_id: str, status: str, began: float, why: str = "") -> Schedule:
    if not why:
        why = "infeasible" if status == "infeasible" else "no schedule within the time limit"
    return Schedule(season_id, status, message=why, seconds=time.monotonic() - began)


@dataclass
class _Pack:
    members: list[int]
    rows: list[int]
    edges: list[int]
    industries: list[str]
    size: int


@dataclass
class _PackResult:
    status: str
    short: int = 0
    bound: float = 0.0
    message: str = ""
    build_seconds: float = 0.0


def _settle(
    sources: list[SeasonSource],
    dataset: Dataset,
    state: SeasonState | None,
    days: list[dt.date],
    first: int,
) -> None:
    """Hold each source on the settled days (before ``first``) at the loads given: one of
    its measures when the loads are equal, else a settled option (:func:`settled_option`)."""
    for src in sources:
        plan = dataset.plans[src.id]
        line_ids = [ln.id for ln in src.lines]
        known = {o.loads: m for m, o in reversed(list(enumerate(src.options)))}
        extra: list[Option] = []
        for d in range(first):
            loads = held_loads(state, src.id, days[d], line_ids)
            m = known.get(loads)
            if m is None:
                emissions = [
                    (ln.so2_kg_d, ln.nox_kg_d, ln.pm_kg_d, ln.vocs_kg_d) for ln in plan.lines
                ]
                extra.append(
                    settled_option(loads, [ln.value_added_yuan_d for ln in src.lines], emissions)
                )
                m = len(src.options) + len(extra) - 1
                known[loads] = m
            src.allowed[d] = (m,)
            src.floor[d] = m
        if extra:
            src.options = src.options + tuple(extra)


def _fix_roleless(ctx: _Context, s: int) -> bool:
    """Fix the days of a source with no role (no quota, no running share, no supply
    coupling) where its choice is plain: the cheapest allowed measure stopping no sticky
    line, ties broken by the larger risk-weighted cut. Only the days from its first
    forced stop (a floor stopping a sticky line, or a stop still binding from the settled
    days) to the last one's minimum stop stay free: stopping earlier or longer only adds
    cost, and between forced stops bridging may save a restart. True when days stay free."""
    src = ctx.sources[s]
    n, first = ctx.n, ctx.first
    held = [li for li, ln in enumerate(src.lines) if sticky(ln)]
    longest = max((src.lines[li].min_stop_days for li in held), default=1)
    forced = [
        d for d in range(first, n) if any(src.options[src.floor[d]].loads[li] == 0.0 for li in held)
    ]
    if first > 0 and any(src.options[src.allowed[first - 1][0]].loads[li] == 0.0 for li in held):
        forced.insert(0, first)
    lo, hi = (forced[0], min(n - 1, forced[-1] + longest - 1)) if forced else (n, n - 1)
    costs = [o.cost_yuan_d for o in src.options]
    weights = ctx.weights[s]
    risk = ctx.inp.risk
    for d in range(first, n):
        if lo <= d <= hi or len(src.allowed[d]) == 1:
            continue
        plain = [
            m for m in src.allowed[d] if not any(src.options[m].loads[li] == 0.0 for li in held)
        ]
        cheapest = min(costs[m] for m in plain)
        best = max(
            (m for m in plain if costs[m] <= cheapest),
            key=lambda m: (weights[m] * risk[d], -m),
        )
        src.allowed[d] = (best,)
    return bool(forced)


def _prune(ctx: _Context, s: int) -> None:
    """Drop, for a source whose rules see only which lines stop (stop-day quotas,
    restarts, minimum stops: no output cut, running share or supply coupling), every
    allowed measure that costs more than another stopping the same lines: no least-cost
    schedule uses it (ties are kept for the risk-weighted cut)."""
    src = ctx.sources[s]
    stops = [frozenset(li for li, load in enumerate(o.loads) if load == 0.0) for o in src.options]
    costs = [o.cost_yuan_d for o in src.options]
    cache: dict[tuple[int, ...], tuple[int, ...]] = {}
    for d in range(ctx.first, ctx.n):
        allowed = src.allowed[d]
        if len(allowed) < 2:
            continue
        if allowed not in cache:
            cheapest: dict[frozenset[int], float] = {}
            for m in allowed:
                cheapest[stops[m]] = min(cheapest.get(stops[m], math.inf), costs[m])
            cache[allowed] = tuple(m for m in allowed if costs[m] <= cheapest[stops[m]])
        src.allowed[d] = cache[allowed]


def _groups(ctx: _Context) -> tuple[list[list[int]], list[int]]:
    """Independent groups of sources tied by quota rows, running shares and supply
    couplings; and the sources with no role at all."""
    parent = list(range(len(ctx.sources)))
    role = [False] * len(ctx.sources)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def tie(members: list[int]) -> None:
        for s in members:
            role[s] = True
        root = find(members[0])
        for s in members[1:]:
            other = find(s)
            if other != root:
                parent[other] = root

    for row in ctx.rows:
        tie([s for s, _ in row.members])
    for _, members, _ in ctx.shares.values():
        tie(members)
    for (s1, _), (s2, _), _ in ctx.edges:
        tie([s1, s2])
    groups: dict[int, list[int]] = {}
    roleless = []
    for s in range(len(ctx.sources)):
        if role[s]:
            groups.setdefault(find(s), []).append(s)
        else:
            roleless.append(s)
    return list(groups.values()), roleless


PACK_SIZE = 500
"""Choice variables per CP-SAT model: small independent groups are solved together."""


REPORT_SHARE = 0.02
"""Of the time limit, kept for the report after the solves (at most a second)."""

SPLIT_SIZE = 10_000
"""Choice variables above which a group held by running shares is solved in parts first."""


def _size(ctx: _Context, members: list[int]) -> int:
    """Choice variables of a model of ``members``: allowed measures on days with a choice."""
    return sum(len(a) for s in members for a in ctx.sources[s].allowed[ctx.first :] if len(a) > 1)


def _split(ctx: _Context, group: list[int]) -> bool:
    """Whether ``group`` is held by a running share and too large for one model."""
    held = any(set(group).issuperset(members) for _, members, _ in ctx.shares.values())
    return held and _size(ctx, group) > SPLIT_SIZE


def _packs(ctx: _Context, groups: list[list[int]]) -> list[_Pack]:
    """Groups packed into models of about :data:`PACK_SIZE` variables, smallest first."""
    where = {}
    for g, members in enumerate(groups):
        for s in members:
            where[s] = g
    rows: dict[int, list[int]] = {}
    for r, row in enumerate(ctx.rows):
        if row.members[0][0] in where:
            rows.setdefault(where[row.members[0][0]], []).append(r)
    edges: dict[int, list[int]] = {}
    for e, ((s1, _), _, _) in enumerate(ctx.edges):
        if s1 in where:
            edges.setdefault(where[s1], []).append(e)
    industries: dict[int, list[str]] = {}
    for industry, (_, members, _) in ctx.shares.items():
        if members[0] in where:
            industries.setdefault(where[members[0]], []).append(industry)

    def size(members: list[int]) -> int:
        return _size(ctx, members)

    order = sorted(range(len(groups)), key=lambda g: size(groups[g]))
    out: list[_Pack] = []
    current = _Pack([], [], [], [], 0)
    for g in order:
        k = size(groups[g])
        if current.members and current.size + k > PACK_SIZE:
            out.append(current)
            current = _Pack([], [], [], [], 0)
        current.members += groups[g]
        current.rows += rows.get(g, [])
        current.edges += edges.get(g, [])
        current.industries += industries.get(g, [])
        current.size += k
    if current.members:
        out.append(current)
    return out


def _context(
    inp: SeasonInput,
    dataset: Dataset,
    sources: list[SeasonSource],
    rows: list[QuotaRow],
    first: int,
) -> _Context:
    baseline = dataset.city.baseline_kg_d
    return _Context(
        inp,
        sources,
        rows,
        supply_edges(dataset, sources),
        _shares(inp.season.min_running_share, sources),
        [
            [
                sum(o.cut_kg[i] / baseline[p] for i, p in enumerate(POLLUTANTS) if baseline.get(p))
                for o in src.options
            ]
            for src in sources
        ],
        len(inp.season.days()),
        first,
    )


def warm_schedule(inp: SeasonInput, dataset: Dataset) -> Schedule:
    """The warm start alone over the whole season (no solver): every source at its floor,
    the quotas met where simple (:mod:`emergency.season.warmstart`); status ``short``
    when a quota row or a running share falls short, else ``feasible``."""
    began = time.monotonic()
    sources = build_sources(inp, dataset)
    rows = quota_rows(inp, dataset, sources)
    ctx = _context(inp, dataset, sources, rows, 0)
    warm = warm_start(ctx, list(range(len(sources))), list(range(len(rows))))
    choice = [warm[s] for s in range(len(sources))]
    total = sum(source_cost(src, row) for src, row in zip(sources, choice, strict=True))
    out = report(
        inp,
        dataset,
        sources,
        rows,
        choice,
        status="feasible",
        total_cost=total,
        bound=0.0,
        seconds=time.monotonic() - began,
    )
    if out.running_share_short or any(q["short"] for q in out.quotas):
        out.status = "short"
    return out


def plan_season(
    inp: SeasonInput,
    dataset: Dataset,
    *,
    time_limit_s: float = 30.0,
    state: SeasonState | None = None,
) -> Schedule:
    """The least-cost season schedule, then the most risk-weighted cut at that cost;
    with ``state``, re-planned from ``state.from_date`` (days before it settled)."""
    began = time.monotonic()
    # the solves end a little before the limit: the report is made within it
    limit = time_limit_s - min(1.0, REPORT_SHARE * time_limit_s)
    season = inp.season
    days = season.days()
    first = first_planned(state, inp)
    if state is not None:
        problems = check_state(state, inp, dataset)
        if problems:
            raise ValidationErrors(problems, what="the season state")
    sources = build_sources(inp, dataset)
    if first:
        _settle(sources, dataset, state, days, first)
    rows = quota_rows(inp, dataset, sources)
    ctx = _context(inp, dataset, sources, rows, first)
    # Groups too large for one model: couplings from plain suppliers become allowed
    # measures (emergency.season.split), then the groups are found again.
    fix_suppliers(ctx, {s for g in _groups(ctx)[0] if _split(ctx, g) for s in g})
    groups, roleless = _groups(ctx)
    for s in roleless:
        if _fix_roleless(ctx, s):
            groups.append([s])
    # Sources whose rules see only stops and their total output (stop-day quotas,
    # restarts, minimum stops, running shares): costlier measures stopping the same lines
    # go; a single such source is scheduled alone, exactly.
    coupled = {s for (s1, _), (s2, _), _ in ctx.edges for s in (s1, s2)}
    coupled |= {
        s for row in rows if season.quotas[row.quota].stop_days is None for s, _ in row.members
    }
    shared = {s for _, members, _ in ctx.shares.values() for s in members}
    own_rows: dict[int, list[int]] = {}
    for r, row in enumerate(rows):
        own_rows.setdefault(row.members[0][0], []).append(r)
    choice = [[a[0] if len(a) == 1 else -1 for a in src.allowed] for src in sources]
    dp_seconds = 0.0
    total_short = 0
    for group in list(groups):
        for s in group:
            if s not in coupled:
                _prune(ctx, s)
        if len(group) == 1 and group[0] not in coupled | shared:
            t0 = time.monotonic()
            done = solve_alone(ctx, group[0], own_rows.get(group[0], []), choice)
            dp_seconds += time.monotonic() - t0
            if done == "broken":
                return _no_schedule(
                    season.id,
                    "infeasible",
                    began,
                    f"floors alone break: {sources[group[0]].id}: minimum stop",
                )
            if done is not None:
                groups.remove(group)
                total_short += sum(row_short(ctx, r, choice) for r in own_rows.get(group[0], []))
    built = time.monotonic() - began

    statuses: list[str] = []
    slack = 0.0

    # Groups held together by running shares: solved in parts (emergency.season.split).
    def size(members: list[int]) -> int:
        return _size(ctx, members)

    def fallback(part: Part, budget: float) -> tuple[str, float]:
        found = _solve_pack(ctx, _Pack(part.members, part.rows, part.edges, [], 0), budget, choice)
        return found.status, found.bound

    size_left = sum(size(g) for g in groups) + len(groups)
    for group in sorted(groups, key=size):
        if not _split(ctx, group):
            continue
        t0 = time.monotonic()
        budget = (limit - (t0 - began)) * (size(group) + 1) / size_left
        size_left -= size(group) + 1
        split = solve_shared(ctx, group, choice, budget / 2, fallback)
        if split is None:
            continue  # with the other groups, as one model
        groups.remove(group)
        # the rest of its time: the whole group as one model, from the parts' schedule
        [pack] = _packs(ctx, [group])
        spare = budget - (time.monotonic() - t0)
        warm = {s: list(choice[s]) for s in group}
        whole = _solve_pack(ctx, pack, spare, choice, warm) if spare > 1.0 else None
        if whole is not None:
            built += whole.build_seconds
        status = "optimal" if whole is not None and whole.status == "optimal" else split[0]
        bound = max(split[1], whole.bound if whole is not None else 0.0)
        statuses.append(status)
        if status != "optimal":
            cost = sum(source_cost(sources[s], choice[s]) for s in group)
            slack += max(0.0, cost - bound)

    packs = _packs(ctx, groups)
    weight_left = sum(p.size + 1 for p in packs)
    for k, pack in enumerate(packs):
        left = limit - (time.monotonic() - began)
        share = left * (pack.size + 1) / weight_left
        budget = max(0.05, min(left, max(share, left / (len(packs) - k))))
        weight_left -= pack.size + 1
        result = _solve_pack(ctx, pack, budget, choice)
        if result.status == "unknown" and limit - (time.monotonic() - began) > budget:
            # nothing found in its share: once more with what the others may spare
            spare = (limit - (time.monotonic() - began)) / 2
            result = _solve_pack(ctx, pack, spare, choice)
        if result.status in ("infeasible", "unknown", "broken"):
            status = "infeasible" if result.status == "broken" else result.status
            return _no_schedule(season.id, status, began, result.message)
        statuses.append(result.status)
        built += result.build_seconds
        total_short += result.short
        if result.status != "optimal":
            cost = sum(source_cost(sources[s], choice[s]) for s in pack.members)
            slack += max(0.0, cost - result.bound)

    total_cost = sum(source_cost(src, row) for src, row in zip(sources, choice, strict=True))
    settled = sum(source_cost(src, row[:first]) for src, row in zip(sources, choice, strict=True))
    out_status = (
        "short"
        if total_short > 0
        else ("optimal" if all(s == "optimal" for s in statuses) else "feasible")
    )
    out = report(
        inp,
        dataset,
        sources,
        rows,
        choice,
        status=out_status,
        total_cost=total_cost,
        bound=max(0.0, total_cost - slack),
        seconds=time.monotonic() - began,
        first_planned=first,
        settled_cost=settled,
        from_date=state.from_date
        if state is not None and state.from_date >= season.start
        else None,
    )
    out.build_seconds = round(built, 3)
    return out


def _shares(
    minimum: dict[str, float], sources: list[SeasonSource]
) -> dict[str, tuple[float, list[int], float]]:
    out = {}
    for industry, share in minimum.items():
        members = [s for s, src in enumerate(sources) if src.industry == industry]
        total = sum(ln.value_added_yuan_d for s in members for ln in sources[s].lines)
        if members and total > 0 and share > 0:
            out[industry] = (share, members, total)
    return out


def _solve_pack(
    ctx: _Context,
    pack: _Pack,
    budget: float,
    choice: list[list[int]],
    warm: dict[int, list[int]] | None = None,
) -> _PackResult:
    """Build and solve one pack's model (three phases); writes its choices into ``choice``.
    ``warm``: the schedule to start from (default the warm start of
    :mod:`emergency.season.warmstart`); the result is never worse than it when it meets
    every hard row."""
    began = time.monotonic()
    sources, n, first = ctx.sources, ctx.n, ctx.first
    season = ctx.inp.season
    days = season.days()
    b = _Builder(sources, pack.members, n)
    model = b.model
    broken: list[str] = []

    # Stops: restarts and minimum stop days (from the first planned day on; a stop
    # begun on a settled day still binds its minimum).
    cost_terms: list[tuple[float, Any]] = []
    cost_const = 0.0
    stopped: dict[tuple[int, int], list[tuple[list[tuple[float, Any]], float]]] = {}
    for s in pack.members:
        src = sources[s]
        for li, line in enumerate(src.lines):
            stops = [1.0 if o.loads[li] == 0.0 else 0.0 for o in src.options]
            if not any(stops[m] for d in range(n) for m in src.allowed[d]):
                continue
            z = [b.terms(s, d, stops) for d in range(n)]
            stopped[(s, li)] = z
            if line.restart_cost_yuan <= 0 and line.min_stop_days <= 1:
                continue
            for d in range(n):
                fixed = not z[d][0] and (d == 0 or not z[d - 1][0])
                if fixed:
                    begins = z[d][1] > 0.5 and (d == 0 or z[d - 1][1] < 0.5)
                    if not begins:
                        continue
                    cost_const += line.restart_cost_yuan
                    for later in range(max(d + 1, first), min(d + line.min_stop_days, n)):
                        if not b.add(*z[later], 1.0):
                            broken.append(f"{src.id}/{line.id} {days[later]}: minimum stop")
                    continue
                y = model.new_bool_var("")
                b.starts.append(y)
                terms = [(1.0, y)] + [(-c, v) for c, v in z[d][0]]
                const = -z[d][1]
                if d > 0:
                    terms += z[d - 1][0]
                    const += z[d - 1][1]
                b.add(terms, const, 0.0)
                for later in range(d + 1, min(d + line.min_stop_days, n)):
                    if not b.add([*z[later][0], (-1.0, y)], z[later][1], 0.0):
                        broken.append(f"{src.id}/{line.id} {days[later]}: minimum stop")
                if line.restart_cost_yuan:
                    cost_terms.append((line.restart_cost_yuan, y))

    # Daily costs.
    for s in pack.members:
        src = sources[s]
        costs = [o.cost_yuan_d for o in src.options]
        for d in range(n):
            t, c = b.terms(s, d, costs)
            cost_terms += t
            cost_const += c

    # Supply couplings: load(dst) ≤ 1 − share × (1 − load(src)), planned days.
    for e in pack.edges:
        (s1, u), (s2, w), share = ctx.edges[e]
        up = [o.loads[u] for o in sources[s1].options]
        down = [o.loads[w] for o in sources[s2].options]
        for d in range(first, n):
            t2, c2 = b.terms(s2, d, down)
            t1, c1 = b.terms(s1, d, up)
            terms = t2 + [(-share * c, v) for c, v in t1]
            if not b.add(terms, c2 - share * c1, -math.inf, 1.0 - share):
                broken.append(f"{sources[s2].id} {days[d]}: supply")

    # Minimum running share per industry and planned day (capped at what each source's
    # floors allow); a shortfall (per mille) is possible where floors and supply
    # couplings together leave less, and weighs more than every quota's in phase 0.
    share_shorts: list[cp_model.IntVar] = []
    for industry in pack.industries:
        share, members, total = ctx.shares[industry]
        outputs = {
            s: [
                sum(ln.value_added_yuan_d * o.loads[li] for li, ln in enumerate(sources[s].lines))
                for o in sources[s].options
            ]
            for s in members
        }
        for d in range(first, n):
            terms, const, reach = [], 0.0, 0.0
            for s in members:
                out = outputs[s]
                reach += max(out[m] for m in ctx.allowed_before(s, d))
                t, c = b.terms(s, d, out)
                terms += t
                const += c
            need = min(share * total, reach)
            if terms:
                sh = model.new_int_var(0, PER_MILLE, "")
                share_shorts.append(sh)
                b.add(terms, const, need, short=sh)
            elif per_mille(need - const, need):
                sh = model.new_int_var(0, PER_MILLE, "")
                share_shorts.append(sh)
                model.add(sh == per_mille(need - const, need))

    # Quotas, with shortfall in per mille of each row's requirement.
    shorts: list[cp_model.IntVar] = []
    none: list[tuple[list[tuple[float, Any]], float]] = [([], 0.0)] * n
    for r in pack.rows:
        row = ctx.rows[r]
        sh = model.new_int_var(0, PER_MILLE, "")
        shorts.append(sh)
        terms, const = [], 0.0
        for s, li in row.members:
            src = sources[s]
            if season.quotas[row.quota].stop_days is not None:
                for t, c in stopped.get((s, li), none):
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
            model.add(sh == per_mille(row.required - const, row.required))
        else:
            b.add(terms, const, row.required, short=sh)

    if broken:
        return _PackResult("broken", message="floors alone break: " + "; ".join(broken[:5]))
    build_seconds = time.monotonic() - began

    def left() -> float:
        return max(0.05, budget - (time.monotonic() - began))

    variables = list(b.x.values()) + b.starts + shorts + share_shorts

    # The warm start (emergency.season.warmstart): as the hint of phase 0 and, when it
    # meets every hard row, the fallback of a phase that finds nothing better in time.
    given = warm is not None
    if warm is None:
        warm = warm_start(ctx, pack.members, pack.rows)
    hint = {var: int(warm[s][d] == m) for (s, d, m), var in b.x.items()}
    shortfall: Any = None
    if shorts or share_shorts:
        weight = PER_MILLE * len(shorts) + 1
        shortfall = weight * sum(share_shorts) + sum(shorts)
        model.minimize(shortfall)
    warm_values, warm_short = _evaluate(model, variables, hint, left() / 10)
    if warm_values is not None:
        hint = warm_values

    # Phase 0: least total shortfall.
    total_short = 0
    found: dict[Any, int] | None = warm_values
    if shortfall is not None:
        solver, status = _solve(model, left() / 2, hint)
        if status == "infeasible" or (status == "unknown" and warm_values is None):
            return _PackResult(status)
        if status == "unknown" or (
            warm_values is not None and warm_short < round(solver.objective_value)
        ):
            total_short = warm_short
        else:
            total_short = round(solver.objective_value)
            found = {v: solver.value(v) for v in variables}
        model.add(shortfall <= total_short)

    if given and warm_values is not None and warm_short <= total_short:
        found = warm_values  # the schedule handed in: phase 1's start and fallback

    # Phase 1: least cost.
    scale = decimal_scale([abs(c) for c, _ in cost_terms])
    ints = [round(c * scale) for c, _ in cost_terms]
    cost_expr = cp_model.LinearExpr.weighted_sum([v for _, v in cost_terms], ints)
    model.minimize(cost_expr)
    # (no hint from phase 0: its schedule, cost aside, leads the search astray; only
    # when nothing is found in half the time, the rest starts from it)
    spend = left() * 0.8
    if found is None:
        solver, status = _solve(model, spend, None)
    elif given:
        solver, status = _solve(model, spend, found)
    else:
        solver, status = _solve_or_give_up(model, spend, spend / 2)
        if status == "unknown":
            solver, status = _solve(model, left() * 0.8, found)
    if status == "infeasible" or (status == "unknown" and found is None):
        return _PackResult(status)

    def units(values: dict[Any, int]) -> int:
        return sum(c * values[v] for c, (_, v) in zip(ints, cost_terms, strict=True))

    if status == "unknown":
        # nothing better in time: phase 0's schedule (or the warm start) stands
        assert found is not None
        values = found
        cost_units = units(values)
        status = "feasible"
    else:
        cost_units = round(solver.objective_value)
        values = {v: solver.value(v) for v in variables}
        if found is not None and units(found) < cost_units:
            values, cost_units, status = found, units(found), "feasible"
    lower = solver.best_objective_bound
    bound = max(lower / scale + cost_const, 0.0) if math.isfinite(lower) else 0.0

    # Phase 2: the most risk-weighted cut at that cost.
    risk = ctx.inp.risk
    risk_vars, risk_coefs = [], []
    for (s, d, m), var in b.x.items():
        weighted = round(ctx.weights[s][m] * risk[d] * RISK_SCALE)
        if weighted:
            risk_vars.append(var)
            risk_coefs.append(weighted)
    if risk_vars:
        model.add(cost_expr <= cost_units)
        model.maximize(cp_model.LinearExpr.weighted_sum(risk_vars, risk_coefs))
        solver2, status2 = _solve(model, min(left(), max(0.2, budget / 5)), values)
        if status2 in ("optimal", "feasible"):
            values = {v: solver2.value(v) for v in variables}

    for (s, d, m), var in b.x.items():
        if values[var]:
            choice[s][d] = m
    return _PackResult(status, short=total_short, bound=bound, build_seconds=build_seconds)


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
    first_planned: int = 0,
    settled_cost: float = 0.0,
    from_date: dt.date | None = None,
) -> Schedule:
    """The schedule's figures, recomputed from the choice (floats; the checker is exact).
    Days before ``first_planned`` are settled: no running share is short on them."""
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
            if d >= first_planned and total and got / total < need - 1e-9:
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
        from_date=from_date.isoformat() if from_date is not None else None,
        settled_cost_yuan=round(settled_cost, 2),
    )


def day_index(days: list[dt.date]) -> dict[dt.date, int]:
    """Date → position in the season."""
    return {day: i for i, day in enumerate(days)}
