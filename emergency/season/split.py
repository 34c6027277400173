"""Large season groups taken apart: plain suppliers fixed, running shares solved in parts.

Two things tie a 5,000-source city's steel or cement works into one model too large for
CP-SAT in the time given: supply couplings to firms with no quota of their own (coke
ovens, power plants feeding a steel works), and an industry's running share, which
holds every source of the industry together day by day.

- **Plain suppliers** (:func:`fix_suppliers`). A coupling inside one source is a
  property of each measure: measures breaking it are not allowed. A source with no
  quota and no running share, fed by no coupling still open, whose cheapest allowed
  measure on each day also leaves the most load on every line it supplies and stops
  no line with a restart cost or minimum stop, takes that measure every day: nothing
  else costs it less, and nothing else leaves its customers more room. Its couplings
  become limits on its customers' measures, day by day, and fall away.
- **Running shares** (:func:`solve_shared`). Without its running shares a group falls
  into parts (a firm, or firms tied by a quota row or a coupling). Every part's least
  cost is at most what it costs in the group's least-cost schedule, so the parts'
  least costs (or their lower bounds) summed bound the group's from below. Each part is
  scheduled alone: a source with stop-day quotas exactly by dynamic programming
  (:mod:`emergency.season.dp`); a source with one output-cut row by a Lagrangian
  search over the price of the cut (each price's schedule exact by the same dynamic
  programme, the best bound kept, the least-cost schedule meeting the cut then
  trimmed), anything else by CP-SAT. Where the parts together leave an industry below
  its share on a day, parts are re-scheduled one at a time with the measures that would
  leave less than the rest of the industry needs that day not allowed; a held day
  stays held, so the shortfall only falls. When every day holds, the group's schedule
  meets all its rows; its gap is the parts' costs over the summed bounds.

docs/SEASON.md, "The model", says where each is used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emergency.season.dp import per_mille, solve_alone, sticky
from emergency.season.warmstart import source_cost

if TYPE_CHECKING:
    from emergency.season.context import Context, SeasonSource

EPS = 1e-9
BISECTIONS = 40
"""Most prices the Lagrangian search tries between the first two schedules."""


def output(src: SeasonSource, m: int) -> float:
    """Value added a day that measure ``m`` leaves running."""
    loads = src.options[m].loads
    return sum(ln.value_added_yuan_d * loads[li] for li, ln in enumerate(src.lines))


def _restrict(ctx: Context, s: int, keep: Callable[[int, int], bool]) -> bool:
    """Limit the allowed measures of ``s`` on the planned days to ``keep(day, measure)``;
    False, and nothing changed, when a day would keep none."""
    src = ctx.sources[s]
    new = []
    for d in range(ctx.first, ctx.n):
        kept = tuple(m for m in src.allowed[d] if keep(d, m))
        if not kept:
            return False
        new.append(kept)
    src.allowed[ctx.first :] = new
    return True


def _fits(share: float, up: float, down: float) -> bool:
    """The supply coupling ``down ≤ 1 − share × (1 − up)``."""
    return down <= 1.0 - share * (1.0 - up) + EPS


def _inside(src: SeasonSource, u: int, w: int, share: float) -> Callable[[int, int], bool]:
    """A coupling from line ``u`` to line ``w`` of one source, as a test of its measures."""
    loads = [o.loads for o in src.options]

    def keep(_d: int, m: int) -> bool:
        return _fits(share, loads[m][u], loads[m][w])

    return keep


def _fed(up: list[float], dst: SeasonSource, w: int, share: float) -> Callable[[int, int], bool]:
    """A coupling from a fixed supplier (its load ``up`` per day) to line ``w`` of ``dst``."""
    down = [o.loads[w] for o in dst.options]

    def keep(d: int, m: int) -> bool:
        return _fits(share, up[d], down[m])

    return keep


def _plain(ctx: Context, s: int, supplied: list[int]) -> list[int] | None:
    """Per planned day, the cheapest allowed measure of ``s`` leaving the most load on
    every ``supplied`` line and stopping no sticky line (ties: the larger risk-weighted
    cut); None when some day has none, or a sticky stop runs in from the settled days."""
    src = ctx.sources[s]
    first, n = ctx.first, ctx.n
    held = [li for li, ln in enumerate(src.lines) if sticky(ln)]
    if first > 0 and any(src.options[src.allowed[first - 1][0]].loads[li] == 0.0 for li in held):
        return None
    costs = [o.cost_yuan_d for o in src.options]
    cache: dict[tuple[int, ...], list[int]] = {}
    plan = []
    for d in range(first, n):
        allowed = src.allowed[d]
        if allowed not in cache:
            cheapest = min(costs[m] for m in allowed)
            top = [max(src.options[m].loads[u] for m in allowed) for u in supplied]
            cache[allowed] = [
                m
                for m in allowed
                if costs[m] <= cheapest + EPS
                and all(
                    src.options[m].loads[u] >= t - EPS for u, t in zip(supplied, top, strict=True)
                )
                and not any(src.options[m].loads[li] == 0.0 for li in held)
            ]
        fits = cache[allowed]
        if not fits:
            return None
        plan.append(max(fits, key=lambda m: (ctx.weights[s][m] * ctx.inp.risk[d], -m)))
    return plan


def fix_suppliers(ctx: Context, among: set[int]) -> None:
    """Couplings inside a source and from plain suppliers, of the sources ``among``,
    become allowed measures (see the module's description); ``ctx.edges`` keeps the
    rest."""
    sources = ctx.sources
    ctx.reach = [list(src.allowed) for src in sources]
    edges = []
    for edge in ctx.edges:
        (s1, u), (s2, w), share = edge
        if s1 == s2 and s1 in among and _restrict(ctx, s1, _inside(sources[s1], u, w, share)):
            continue
        edges.append(edge)
    roles = {s for row in ctx.rows for s, _ in row.members}
    roles |= {s for _, members, _ in ctx.shares.values() for s in members}
    fixed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for s in range(len(sources)):
            if s in roles or s in fixed or s not in among:
                continue
            out = [e for e in edges if e[0][0] == s]
            if not out or any(e[1][0] == s for e in edges):
                continue
            plan = _plain(ctx, s, sorted({u for (_, u), _, _ in out}))
            if plan is None:
                continue
            fixed.add(s)
            changed = True
            src = sources[s]
            for d, m in enumerate(plan, start=ctx.first):
                src.allowed[d] = (m,)
            for edge in out:
                (_, u), (t, w), share = edge
                up = [0.0] * ctx.first + [src.options[m].loads[u] for m in plan]
                if _restrict(ctx, t, _fed(up, sources[t], w, share)):
                    edges.remove(edge)
    ctx.edges[:] = edges


@dataclass
class Part:
    """Sources of a group tied by quota rows or couplings (not by running shares)."""

    members: list[int]
    rows: list[int]
    edges: list[int]


def parts(ctx: Context, group: list[int], loose: set[int] | None = None) -> list[Part]:
    """The parts of ``group`` once its running shares (and the ``loose`` couplings) are
    set aside."""
    parent = {s: s for s in group}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def tie(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    rows = [r for r, row in enumerate(ctx.rows) if row.members[0][0] in parent]
    edges = [
        e for e, ((s1, _), _, _) in enumerate(ctx.edges) if s1 in parent and e not in (loose or ())
    ]
    for r in rows:
        first = ctx.rows[r].members[0][0]
        for s, _ in ctx.rows[r].members:
            tie(first, s)
    for e in edges:
        (s1, _), (s2, _), _ = ctx.edges[e]
        tie(s1, s2)
    out: dict[int, Part] = {}
    for s in group:
        out.setdefault(find(s), Part([], [], [])).members.append(s)
    for r in rows:
        out[find(ctx.rows[r].members[0][0])].rows.append(r)
    for e in edges:
        out[find(ctx.edges[e][0][0])].edges.append(e)
    return list(out.values())


def row_short(ctx: Context, r: int, choice: list[list[int]]) -> int:
    """The shortfall of quota row ``r`` under ``choice``, per mille of its requirement."""
    row = ctx.rows[r]
    stop = ctx.inp.season.quotas[row.quota].stop_days is not None
    achieved = 0.0
    for s, li in row.members:
        src = ctx.sources[s]
        if stop:
            achieved += sum(1 for m in choice[s] if src.options[m].loads[li] == 0.0)
        else:
            va = src.lines[li].value_added_yuan_d
            achieved += sum(va * (1.0 - src.options[m].loads[li]) for m in choice[s])
    return per_mille(row.required - achieved, row.required)


def _stopped(src: SeasonSource, row: list[int], li: int, d: int) -> bool:
    return 0 <= d < len(row) and src.options[row[d]].loads[li] == 0.0


def _run_ok(src: SeasonSource, row: list[int], li: int, d: int, first: int) -> bool:
    """The stop run of line ``li`` through day ``d`` (if any) lasts its minimum (cut at
    the season's end); a run wholly on settled days is history."""
    if not _stopped(src, row, li, d):
        return True
    start, end = d, d + 1
    while _stopped(src, row, li, start - 1):
        start -= 1
    while _stopped(src, row, li, end):
        end += 1
    need = min(src.lines[li].min_stop_days, len(row) - start)
    return end - start >= need or end <= first


def _move(src: SeasonSource, row: list[int], d: int, m: int, first: int) -> float | None:
    """What moving day ``d`` of ``row`` to measure ``m`` changes in cost (daily cost and
    restarts), or None when a minimum stop would break."""
    now = row[d]
    delta = src.options[m].cost_yuan_d - src.options[now].cost_yuan_d
    changed = [
        li
        for li, _ in enumerate(src.lines)
        if (src.options[m].loads[li] == 0.0) != (src.options[now].loads[li] == 0.0)
    ]
    if not changed:
        return delta

    def starts(li: int) -> int:
        at = [_stopped(src, row, li, x) and not _stopped(src, row, li, x - 1) for x in (d, d + 1)]
        return sum(at)

    before = {li: starts(li) for li in changed}
    row[d] = m
    try:
        for li in changed:
            line = src.lines[li]
            delta += line.restart_cost_yuan * (starts(li) - before[li])
            if line.min_stop_days > 1 and not all(
                _run_ok(src, row, li, x, first) for x in (d - 1, d, d + 1)
            ):
                return None
    finally:
        row[d] = now
    return delta


class _Lagrange:
    """One source with one output-cut row (and any stop-day rows): see the module."""

    def __init__(self, ctx: Context, s: int, stop_rows: list[int], r: int) -> None:
        self.ctx, self.s, self.stop_rows = ctx, s, stop_rows
        src = ctx.sources[s]
        self.src = src
        lines = [li for _, li in ctx.rows[r].members]
        self.cut = [
            sum(src.lines[li].value_added_yuan_d * (1.0 - o.loads[li]) for li in lines)
            for o in src.options
        ]
        self.required = ctx.rows[r].required
        self.bound = -math.inf
        self.best: list[int] | None = None
        self.best_cost = math.inf

    def cut_of(self, row: list[int]) -> float:
        return sum(self.cut[m] for m in row)

    def at(self, mu: float, choice: list[list[int]]) -> list[int] | None:
        """The schedule least in cost − mu × cut (exact to the DP's unit); records the
        bound it proves and the best schedule meeting the cut. None: DP not possible."""
        work = list(choice)
        work[self.s] = list(choice[self.s])
        price = [-mu * c for c in self.cut]
        if solve_alone(self.ctx, self.s, self.stop_rows, work, price) != "optimal":
            return None
        row = work[self.s]
        if any(row_short(self.ctx, r, work) for r in self.stop_rows):
            return None
        cost, cut = source_cost(self.src, row), self.cut_of(row)
        slack = 0.01 * self.ctx.n  # the DP's rounding, at most half a unit a day each way
        self.bound = max(self.bound, cost - mu * (cut - self.required) - slack)
        if cut >= self.required - EPS and cost < self.best_cost:
            self.best, self.best_cost = row, cost
        return row

    def solve(self, choice: list[list[int]]) -> tuple[str, float] | None:
        low = self.at(0.0, choice)
        if low is None:
            return None
        if self.best is not None:
            choice[self.s] = self.best
            return "optimal", max(self.bound, self.best_cost)
        ratios = [
            o.cost_yuan_d / c for o, c in zip(self.src.options, self.cut, strict=True) if c > 0
        ]
        if not ratios:
            return None
        under, mu = low, max(ratios)
        for _ in range(12):
            over = self.at(mu, choice)
            if over is None:
                return None
            if self.cut_of(over) >= self.required - EPS:
                break
            under, mu = over, mu * 4
        else:
            return None  # the cut is out of reach alone: CP-SAT weighs the shortfall
        # the price where the schedules just short of and just over the cut tie; a
        # schedule better than both there replaces one of them, else that price is best
        for _ in range(BISECTIONS):
            c_under, k_under = source_cost(self.src, under), self.cut_of(under)
            c_over, k_over = source_cost(self.src, over), self.cut_of(over)
            if k_over - k_under <= EPS:
                break
            mu = (c_over - c_under) / (k_over - k_under)
            row = self.at(mu, choice)
            if row is None:
                return None
            value = source_cost(self.src, row) - mu * self.cut_of(row)
            if value >= c_under - mu * k_under - 0.02 * self.ctx.n:
                break
            if self.cut_of(row) >= self.required - EPS:
                over = row
            else:
                under = row
        assert self.best is not None
        best = self.trim(self.best, under)
        choice[self.s] = best
        cost = source_cost(self.src, best)
        return ("optimal" if cost <= self.bound + 1.0 else "feasible"), min(self.bound, cost)

    def trim(self, row: list[int], under: list[int]) -> list[int]:
        """The cheaper of ``row`` trimmed and ``under`` filled then trimmed (:meth:`greedy`)."""
        down = self.greedy(list(row), raise_cut=False)
        up = self.greedy(self.greedy(list(under), raise_cut=True), raise_cut=False)
        if self.cut_of(up) < self.required - EPS:
            return down
        return min(down, up, key=lambda r: source_cost(self.src, r))

    def greedy(self, row: list[int], *, raise_cut: bool) -> list[int]:
        """One day's measure changed at a time. ``raise_cut``: until the cut is met, the
        change adding cut at the least cost per yuan of cut; else, while the cut stays
        met, the change saving the most per yuan of cut given up (restarts and minimum
        stops counted exactly; ties: the least risk-weighted cut lost)."""
        src, ctx = self.src, self.ctx
        first, n = ctx.first, ctx.n
        weights, risk = ctx.weights[self.s], ctx.inp.risk
        cut = self.cut_of(row)

        def moves(d: int) -> list[tuple[float, float, int, float]]:
            """(value, risk key, measure, cut gained) of each allowed change of day d."""
            now, out = row[d], []
            for m in src.allowed[d]:
                gain = self.cut[m] - self.cut[now]
                if (gain <= EPS) if raise_cut else (gain > EPS):
                    continue
                delta = _move(src, row, d, m, first)
                if delta is None or (not raise_cut and delta >= -EPS):
                    continue
                value = -delta / gain if raise_cut else -delta / max(-gain, EPS)
                out.append((value, (weights[m] - weights[now]) * risk[d], m, gain))
            return out

        table = {d: moves(d) for d in range(first, n)}
        while not raise_cut or cut < self.required - EPS:
            best: tuple[float, float, int, int, float] | None = None
            for d, options in table.items():
                for value, tie, m, gain in options:
                    if not raise_cut and cut + gain < self.required - EPS:
                        continue
                    if best is None or (value, tie) > best[:2]:
                        best = (value, tie, d, m, gain)
            if best is None:
                return row
            _, _, d, m, gain = best
            row[d] = m
            cut += gain
            # the changes whose cost or minimum stops this one may alter: its runs' days
            lo, hi = d - 1, d + 1
            for li in range(len(src.lines)):
                while _stopped(src, row, li, lo - 1) and lo > first:
                    lo -= 1
                while _stopped(src, row, li, hi + 1):
                    hi += 1
            for x in range(max(first, lo - 1), min(n, hi + 2)):
                table[x] = moves(x)
        return row


Fallback = Callable[[Part, float], tuple[str, float]]
"""CP-SAT on one part (no running share) within a time: its status and cost bound."""

ATTEMPTS = 3
"""Most re-schedules of one part while mending the running shares."""


def _of(ctx: Context, sources: set[int]) -> list[tuple[int, SeasonSource]]:
    return [(s, ctx.sources[s]) for s in sorted(sources)]


def _solve_part(
    ctx: Context, part: Part, choice: list[list[int]], budget: float, fallback: Fallback
) -> tuple[str, float]:
    """Schedule one part alone (dynamic programming, the Lagrangian search or CP-SAT);
    its status and a lower bound on its least cost (the cost itself when exact)."""
    for s in part.members:
        for d, allowed in enumerate(ctx.sources[s].allowed):
            if len(allowed) == 1:
                choice[s][d] = allowed[0]
    if len(part.members) == 1 and not part.edges:
        s = part.members[0]
        quotas = ctx.inp.season.quotas
        stops = [r for r in part.rows if quotas[ctx.rows[r].quota].stop_days is not None]
        cuts = [r for r in part.rows if r not in stops]
        if not cuts:
            done = solve_alone(ctx, s, stops, choice)
            if done == "optimal":
                return "optimal", source_cost(ctx.sources[s], choice[s])
            if done == "broken":
                return "broken", 0.0
        elif len(cuts) == 1 and {m for m, _ in ctx.rows[cuts[0]].members} == {s}:
            found = _Lagrange(ctx, s, stops, cuts[0]).solve(choice)
            if found is not None:
                return found
    return fallback(part, budget)


def solve_shared(
    ctx: Context,
    group: list[int],
    choice: list[list[int]],
    budget: float,
    fallback: Fallback,
) -> tuple[str, float] | None:
    """Schedule a group held together by running shares part by part, then mend the
    shares (the module's description). Writes ``choice`` for the group and returns the
    status (``optimal`` or ``feasible``) and the bound on the group's least cost; None
    when a part falls short of a quota alone or a share cannot be mended (the caller
    then solves the whole group as one model)."""
    began = time.monotonic()
    roles = {s for row in ctx.rows for s, _ in row.members}
    roles |= {s for _, members, _ in ctx.shares.values() for s in members}
    mine = set(group)
    loose = {e for e, ((s1, _), _, _) in enumerate(ctx.edges) if s1 in mine and s1 not in roles}
    pieces = parts(ctx, group, loose)
    upstream = {ctx.edges[e][0][0] for e in loose}
    downstream = {ctx.edges[e][1][0] for e in loose}
    if len(pieces) < 2 or any(
        upstream & set(p.members) and downstream & set(p.members) for p in pieces
    ):
        return None
    # suppliers first, then small parts before large
    pieces.sort(key=lambda p: (not upstream & set(p.members), len(p.members)))
    saved = [list(choice[s]) for s in group]
    allowed = {s: list(ctx.sources[s].allowed) for s in group}

    def undo() -> None:
        for s, row in zip(group, saved, strict=True):
            choice[s] = row
        for s, days in allowed.items():
            ctx.sources[s].allowed = days

    statuses, bounds = [], []
    try:
        for k, part in enumerate(pieces):
            left = (budget - (time.monotonic() - began)) / (len(pieces) - k)
            status, bound = _solve_part(ctx, part, choice, left, fallback)
            fed = [e for e in loose if ctx.edges[e][1][0] in part.members]
            if fed and status in ("optimal", "feasible"):
                # the bound without the suppliers' couplings; the schedule with them,
                # the suppliers' loads as they are now
                for e in fed:
                    (s1, u), (t, w), share = ctx.edges[e]
                    up = [ctx.sources[s1].options[m].loads[u] for m in choice[s1]]
                    if not _restrict(ctx, t, _fed(up, ctx.sources[t], w, share)):
                        undo()
                        return None
                status, _ = _solve_part(ctx, part, choice, left, fallback)
                status = "feasible" if status == "optimal" else status
            met = all(row_short(ctx, r, choice) == 0 for r in part.rows)
            if status not in ("optimal", "feasible") or not met:
                undo()
                return None
            statuses.append(status)
            bounds.append(bound)
        relaxed = sum(source_cost(ctx.sources[s], choice[s]) for s in group)
        if not _mend(ctx, group, pieces, choice, budget - (time.monotonic() - began), fallback):
            undo()
            return None
    finally:
        for s, days in allowed.items():
            ctx.sources[s].allowed = days
    cost = sum(source_cost(ctx.sources[s], choice[s]) for s in group)
    exact = all(st == "optimal" for st in statuses) and cost <= relaxed + 1e-6 * max(1.0, cost)
    return ("optimal" if exact else "feasible"), min(sum(bounds), cost)


def _mend(
    ctx: Context,
    group: list[int],
    pieces: list[Part],
    choice: list[list[int]],
    budget: float,
    fallback: Fallback,
) -> bool:
    """Re-schedule parts until every running share of the group holds each planned day
    (see the module's description); False when time or the parts run out first."""
    began = time.monotonic()
    first, n = ctx.first, ctx.n
    mine = set(group)
    shares = {
        ind: members for ind, (_, members, _) in ctx.shares.items() if mine.issuperset(members)
    }
    outs = {s: [output(src, m) for m in range(len(src.options))] for s, src in _of(ctx, mine)}
    top = {
        s: [max(outs[s][m] for m in src.allowed[d]) for d in range(n)] for s, src in _of(ctx, mine)
    }
    need = {}
    for ind, members in shares.items():
        share, _, total = ctx.shares[ind]
        need[ind] = [
            min(
                share * total,
                sum(max(outs[s][m] for m in ctx.allowed_before(s, d)) for s in members),
            )
            for d in range(n)
        ]
    industry = {s: ind for ind, members in shares.items() for s in members}
    tries = [0] * len(pieces)

    def totals(ind: str) -> list[float]:
        return [sum(outs[s][choice[s][d]] for s in shares[ind]) for d in range(n)]

    while True:
        now = {ind: totals(ind) for ind in shares}
        slack = {ind: [now[ind][d] - need[ind][d] for d in range(n)] for ind in shares}
        short = {
            (ind, d)
            for ind in shares
            for d in range(first, n)
            if slack[ind][d] < -1e-6 * need[ind][d]
        }
        if not short:
            return True

        def score(k: int, short: set[tuple[str, int]] = short) -> float:
            """How much part ``k`` holds back on the days short: output it could add."""
            return sum(
                top[s][d] - outs[s][choice[s][d]]
                for s in pieces[k].members
                if s in industry
                for ind, d in short
                if ind == industry[s]
            )

        order = sorted(
            (k for k in range(len(pieces)) if tries[k] < ATTEMPTS), key=lambda k: -score(k)
        )
        if not order or score(order[0]) <= 0 or time.monotonic() - began > budget:
            return False
        k = order[0]
        tries[k] += 1
        part = pieces[k]
        sharing = [s for s in part.members if s in industry]
        before = {s: list(choice[s]) for s in part.members}
        allowed = {s: list(ctx.sources[s].allowed) for s in sharing}
        for s in sharing:
            ind, src = industry[s], ctx.sources[s]
            for d in range(first, n):
                floor = outs[s][choice[s][d]] - slack[ind][d] / len(sharing)
                most = max(outs[s][m] for m in src.allowed[d])
                keep = tuple(m for m in src.allowed[d] if outs[s][m] >= min(floor, most) - 1e-6)
                src.allowed[d] = keep
        left = budget - (time.monotonic() - began)
        status, _ = _solve_part(ctx, part, choice, max(0.1, left / 4), fallback)
        for s, rows in allowed.items():
            ctx.sources[s].allowed = rows
        if status not in ("optimal", "feasible") or any(
            row_short(ctx, r, choice) for r in part.rows
        ):
            for s, row in before.items():
                choice[s] = row
