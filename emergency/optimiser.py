"""The least-cost decision: prepare → build → solve → read back.

- prepare: prune dominated measures (:func:`candidates`) and cap each target at what is
  reachable that day (:func:`capped_targets`);
- build: the solver-neutral rows of :mod:`emergency.model`;
- solve: the LP relaxation first (GLOP: a proven bound, the marginal costs and the reduced
  costs), then small models around its optimum (:mod:`emergency.core`; the last of them
  exact, a proof by itself; where days are linked by stops, whole sources, then each day
  alone with the stops held: :mod:`emergency.heldstops`), then CP-SAT on the whole model
  warm-started from their list;
- read back: the choice, its exact cost, the bound and gap, the shortfalls.

If the capped targets cannot all be met together (supply couplings), the least weighted
shortfall Σ short/T is found first and the cost minimised under it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from emergency.collector import gc_paused
from emergency.core import (
    CORE_SIZE,
    CORE_SIZE_LINKED,
    IMPROVE_MIN_S,
    improve,
    solve_by_reduced_costs,
    solve_core,
)
from emergency.cpsat import CpResult, continuous_scales, solve_cpsat
from emergency.heldstops import by_day
from emergency.heuristics import greedy_multi
from emergency.instance import Choice, Instance, Line, Option, SourceDuty
from emergency.lp import LpResult, solve_lp
from emergency.model import BuiltModel, Infeasible, build, hint_of, links_days, read_choice
from emergency.rounding import rounded

Progress = Callable[[str], None]


@dataclass
class Solved:
    """What the optimiser found."""

    choice: Choice
    status: str
    """optimal | feasible | short"""
    cost_yuan: Fraction
    bound_yuan: float
    gap: float
    capped_targets_kg: list[dict[str, float]]
    """Per day and target row: the target actually imposed, min(T, R) (less any shortfall
    that couplings made unavoidable)."""
    shortfall_kg: list[dict[str, float]]
    """Per day and target row: T minus what the list cuts, where positive."""
    reachable_kg: list[dict[str, float]]
    marginal_yuan_per_kg: list[dict[str, float]]
    """Per day and target row: the LP relaxation's dual value."""
    lp: LpResult | None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def candidates(inst: Instance) -> list[list[tuple[int, ...]]]:
    """Allowed measures per source and day, without dominated ones.

    Measure m is dropped on a day when another allowed measure cuts at least as much of every
    pollutant, costs no more per day and stops no line that m keeps running; and, over two
    days or more, stops exactly the lines m stops among those whose stops link the days (a
    restart cost, a minimum stop, a stop in force before the first day): running such a
    line on one day of a stop may break its minimum stop or split it in two, a second
    restart, so a measure that stops fewer of them is not the better one. Sources in a
    supply edge keep all measures: loads matter.
    A new constraint family (:mod:`emergency.model`) must not make a dropped measure the
    better one; if it can, say so here as the supply edges do.
    """
    coupled = {e.src[0] for e in inst.edges} | {e.dst[0] for e in inst.edges}
    out: list[list[tuple[int, ...]]] = []
    for s, src in enumerate(inst.sources):
        per_day: list[tuple[int, ...]] = []
        cache: dict[tuple[int, ...], tuple[int, ...]] = {}
        held = _linking_lines(inst, s)
        for d in range(inst.n_days):
            allowed = src.allowed[d]
            if len(allowed) == 1 or s in coupled:
                per_day.append(allowed)
                continue
            if allowed not in cache:
                cache[allowed] = _undominated(src.options, allowed, held)
            per_day.append(cache[allowed])
        out.append(per_day)
    return out


def _linking_lines(inst: Instance, s: int) -> frozenset[int]:
    """The lines of source ``s`` whose stops link the days (none over one day: a stop
    there is a restart at most, which a measure stopping fewer lines does not add)."""
    if inst.n_days < 2:
        return frozenset()
    return frozenset(li for li in range(len(inst.sources[s].lines)) if links_days(inst, s, li))


def _stopset(o: Option) -> frozenset[int]:
    return frozenset(i for i, load in enumerate(o.loads) if load == 0.0)


def _undominated(
    options: tuple[Option, ...], allowed: tuple[int, ...], held: frozenset[int] = frozenset()
) -> tuple[int, ...]:
    """The measures of ``allowed`` no other dominates; one that stops another set of the
    lines ``held`` dominates none."""
    keep = []
    stops = {m: _stopset(options[m]) for m in allowed}
    for m in allowed:
        om, sm = options[m], stops[m]
        for m2 in allowed:
            o2, s2 = options[m2], stops[m2]
            if m2 == m or o2.cost_yuan_d > om.cost_yuan_d or not s2 <= sm:
                continue
            if held and s2 & held != sm & held:
                continue
            if any(o2.cut_kg[i] < om.cut_kg[i] for i in range(4)):
                continue
            strictly = (
                o2.cost_yuan_d < om.cost_yuan_d
                or s2 < sm
                or any(o2.cut_kg[i] > om.cut_kg[i] for i in range(4))
            )
            if strictly or m2 < m:
                break
        else:
            keep.append(m)
    return tuple(keep)


def capped_targets(inst: Instance) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Per day and target row: (min(T, R), R)."""
    capped, reach = [], []
    for d in range(inst.n_days):
        rd = inst.rows_reachable(d)
        cd = {name: min(inst.row_target(d, idx), rd[name]) for name, idx in inst.pooled_rows(d)}
        capped.append(cd)
        reach.append(rd)
    return capped, reach


def stationary(inst: Instance) -> Instance | None:
    """The one-day equivalent of an instance whose days are all alike, else None.

    When every day has the same allowed measures, floors and targets and no stop carries
    over from before, a stationary list (the same measure every day) is optimal: take the
    cheapest day of any optimal list and repeat it — each day still meets its targets and
    couplings, no line restarts, and restarts cannot cost less than one per line stopped
    on that day. The one-day model carries n × the daily cost plus each restart once.
    A new constraint family (:mod:`emergency.model`) that links or tells apart days must
    keep this argument true, or make this function return None.
    """
    n = inst.n_days
    if n <= 1 or inst.stopped_before:
        return None
    if any(t != inst.targets_kg[0] for t in inst.targets_kg) or len(set(inst.pooled)) > 1:
        return None
    for src in inst.sources:
        if len(set(src.allowed)) > 1 or len(set(src.floor)) > 1 or len(set(src.fixed)) > 1:
            return None
    sources = []
    for src in inst.sources:
        # Over one stationary day a stop starts exactly when the measure stops the line, so
        # its restart cost folds into the measure's cost (no start variables needed).
        costly = [
            (li, ln.restart_cost_yuan) for li, ln in enumerate(src.lines) if ln.restart_cost_yuan
        ]
        options = tuple(
            Option(
                o.id,
                o.name,
                o.cut_kg,
                o.cost_yuan_d * n
                # the restarts of the lines it stops, in line order (a measure stopping no
                # line, or a source with no restart cost, has none: no sum for it)
                + (
                    sum([r for li, r in costly if li < len(o.loads) and o.loads[li] == 0.0])
                    if costly and 0.0 in o.loads
                    else 0
                ),
                o.loads,
            )
            for o in src.options
        )
        sources.append(
            SourceDuty(
                src.id,
                tuple(Line(ln.id) for ln in src.lines),
                options,
                src.floor[:1],
                src.allowed[:1],
                src.fixed[:1],
                src.note[:1],
            )
        )
    return Instance(
        dates=inst.dates[:1],
        levels=inst.levels[:1],
        sources=sources,
        targets_kg=inst.targets_kg[:1],
        pooled=inst.pooled[:1],
        edges=inst.edges,
    )


FINISH_S_PER_SOURCE_DAY = 4e-6
"""Time kept from the search for what follows it, per source and day of the instance
(0.6 s at 50,000 sources × 3 days, measured)."""
CORE_FROM = 4000
"""Models with at least this many measure variables solve the sources in play
(:mod:`emergency.core`) first, for a warm start close to the least cost."""
NEIGHBOURHOODS_FROM = 20000
NEIGHBOURHOODS_ONE_DAY = 100000
"""Models with at least this many variables (the first: days linked by stops; the second:
the rest, e.g. one stationary day of 50,000 sources) spend the time after the core on its
neighbourhoods (:func:`emergency.core.improve`), not on the whole model, which CP-SAT does
not move on in seconds at that size (bench/RESULTS.md)."""
CORE_SHARE = 0.4
CORE_MAX_S = 10.0
"""The whole-source core's share of the time left after the LP (days linked, large
models, the whole model searched after it), at most this many seconds. Where
neighbourhoods follow instead, the core has all the time but the held stops' share
(:data:`HELD_SHARE`) and a second: on the upgrade of 5,000 synthetic sources × 4 days, 10 s
of core and the neighbourhoods after it ended 12,705 yuan above HiGHS's optimum with a 20 s
and a 40 s limit alike, the core alone 2,475 (runs by hand)."""
HELD_SHARE = 0.2
"""Days linked by stops, large (4,000 measure variables or more, the LP solved): the share
of the time left after the LP kept for searching each day alone with the core's stops
held (:mod:`emergency.heldstops`), taken from the core where neighbourhoods follow, else
from the whole model's search. On the upgrade of 5,000 synthetic sources × 4 days the four
days take 2.5–4 s and bring the core's list from 2,475 yuan above HiGHS's optimum to it
(runs by hand)."""
LP_SHARE_LINKED = 0.4
"""Where days are linked by stops, the LP relaxation may take this share of the time left
after building the model (5,000 sources × 4 days after an upgrade: 1 s; 50,000: 85 s)."""
LINKED_LP_MAX = 250_000
"""Days linked by stops: above this many variables the LP relaxation is not tried (its
share of the time would be lost: 494,628 variables took GLOP 85 s, HiGHS 69–106 s)."""
APART_SHARE = 0.5
"""When it does not finish, the LP of the days apart may take this share of what is left
(built and solved in 7 s at 50,000 sources × 4 days), the rest kept for the greedy list."""
CORE_WORKERS = 2
"""CP-SAT workers on the reduced-cost cores of large models (HiGHS, the reference, runs
one thread)."""
ROUNDING_SHARE = 0.8
"""The LP's list rounded (:mod:`emergency.rounding`) takes at most this share of the time
left after the LP; it ends once stuck (with its exchanges 0.13 s at 400 sources, 1.3 s at
5,000, 3.4 s at 20,000 and 9.3 s at 50,000, where its list is the least cost:
bench/RESULTS.md). At 5,000 sources with 1.3 s in all (a quarter of HiGHS's time), half
of what the LP left ended its exchanges 40 yuan above the least cost, 0.8 reached it."""
PRICED_KEPT = 4
"""The lists whose exact cost one optimisation keeps (each a key of one tuple per source)."""
WHOLE_MODEL_NONE_S = 0.2
"""With a list in hand and less time than this left, the whole model is not searched."""
WHOLE_MODEL_MIN_S = 2.0
"""With less time than this left after the LP the core takes all of it: the whole
model's search (writing and presolving a large model alone takes a second) would not
improve on the core's list in the rest."""


def _watcher(say: Progress, lp_res: LpResult | None) -> Callable[[float, float], None]:
    """Tells ``say`` the search's best cost and its gap to the better of the bounds."""
    lp_bound = lp_res.objective_yuan if lp_res and lp_res.status == "optimal" else 0.0

    def watch(cost: float, bound: float) -> None:
        if not math.isfinite(cost) or cost <= 0:
            return
        gap = max(0.0, (cost - max(bound, lp_bound)) / cost)
        say(f"searching: {cost:,.0f} yuan, gap {gap:.4%}")

    return watch


def optimise(
    inst: Instance,
    *,
    time_limit_s: float = 20.0,
    progress: Progress | None = None,
    gap_limit: float = 0.0,
) -> Solved:
    """Choose one measure per source and day at least cost.

    The search ends at ``time_limit_s`` or once its list is proven within ``gap_limit``
    (relative, 0: proven optimal) of the least cost."""
    with gc_paused():
        return _folded(inst, time_limit_s, progress, gap_limit)


def _folded(
    inst: Instance,
    time_limit_s: float,
    progress: Progress | None,
    gap_limit: float,
) -> Solved:
    """:func:`optimise`, the days folded to one when they are alike."""
    began = time.perf_counter()
    one = stationary(inst)
    # The limit is the whole call's: folding the days, reading the list back, its exact
    # cost and shortfalls and unfolding it (0.6 s at 50,000 sources) come out of it.
    finish = FINISH_S_PER_SOURCE_DAY * len(inst.sources) * inst.n_days
    left = time_limit_s * 0.97 - finish - (time.perf_counter() - began)
    solved = _optimise(
        inst if one is None else one,
        time_limit_s=max(0.05, left),
        progress=progress,
        gap_limit=gap_limit,
    )
    if one is None:
        return solved
    n = inst.n_days
    solved.choice = [row * n for row in solved.choice]
    solved.cost_yuan = list_cost(inst, solved.choice)
    solved.capped_targets_kg = solved.capped_targets_kg * n
    solved.reachable_kg = solved.reachable_kg * n
    # every day the one day's targets and measures: its shortfalls (Instance.earlier_alike)
    solved.shortfall_kg = [dict(row) for row in solved.shortfall_kg * n]
    # A kg more on one day alone costs at most the stationary price spread over n days.
    solved.marginal_yuan_per_kg = [
        {k: v / n for k, v in row.items()} for row in solved.marginal_yuan_per_kg
    ] * n
    solved.notes.append(f"all {n} days alike: solved as one stationary day (exact)")
    return solved


def _optimise(
    inst: Instance,
    *,
    time_limit_s: float,
    progress: Progress | None,
    gap_limit: float,
) -> Solved:
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    candidate_measures = candidates(inst)
    capped, reach = capped_targets(inst)
    notes: list[str] = []
    say("building the model")
    built = build(inst, candidate_measures, capped)
    big = len(built.linear.binaries) >= CORE_FROM
    linked = any(k[0] == "start" for k in built.linear.binaries)
    greedy_list: list[Choice] = []

    def greedy() -> Choice:
        """The multi-pollutant greedy's valid list (where the neighbourhoods start when the
        core found none, and what is given if nothing better), made once, when asked."""
        if not greedy_list:
            greedy_list.append(greedy_multi(inst, candidates=candidate_measures))
        return greedy_list[0]

    priced: dict[tuple[tuple[int, ...], ...], Fraction] = {}

    def cost_of(choice: Choice) -> Fraction:
        """:func:`list_cost`, each list priced once (the one list is priced by the rounding,
        the cores and the end alike: 0.15 s each at 50,000 sources)."""
        key = tuple(map(tuple, choice))
        cost = priced.get(key)
        if cost is None:
            if len(priced) >= PRICED_KEPT:
                del priced[next(iter(priced))]  # the oldest
            cost = priced[key] = list_cost(inst, choice)
        return cost

    build_s = time.perf_counter() - t0
    deadline = t0 + time_limit_s
    say("solving the LP relaxation")
    # Days linked by stops: the LP may take a share of the time only (50,000 sources
    # × 4 days after an upgrade: 85 s), and none above LINKED_LP_MAX variables; then the
    # days are bounded apart.
    size = len(built.linear.binaries)
    lp_limit = max(0.01, LP_SHARE_LINKED * (deadline - time.perf_counter())) if linked else None
    if linked and size > LINKED_LP_MAX:
        lp_res = LpResult("unknown", 0.0, [{} for _ in range(inst.n_days)])
        why = f"is not solved above {LINKED_LP_MAX:,} variables ({size:,} here)"
    else:
        lp_res = solve_lp(built.linear, inst.n_days, keep_solution=True, time_limit_s=lp_limit)
        why = f"did not finish in its {lp_limit or 0:.1f} s"
    lp_ok = lp_res.status == "optimal"
    apart_bound = 0.0
    if linked and lp_res.status == "unknown":
        apart = _days_apart(inst, candidate_measures, capped, deadline)
        if apart is None:
            notes.append(f"the LP relaxation of the linked days {why}: no bound")
        else:
            apart_bound, lp_res.duals = apart.objective_yuan, apart.duals
            notes.append(
                f"the LP relaxation of the linked days {why}; the bound and the marginal "
                "costs are those of the days apart (restarts after the first day and "
                "minimum stops left out)"
            )
    t1 = time.perf_counter()
    start: Choice | None = None
    origin = "greedy"
    lowest: Fraction | None = None
    # Asked for a gap: a list within it of the LP bound needs no more search.
    enough = None
    if gap_limit > 0 and lp_ok:
        enough = lp_res.objective_yuan / (1.0 - min(gap_limit, 0.999))
    # The whole model is searched unless the neighbourhoods took its time (CP-SAT would
    # not move on it), the list is already within the gap asked, or an exact core proved
    # it the least.
    whole_model = True
    proven_by_core = False
    core_bound = 0.0  # an exact core's bound on the whole model, when one was searched
    width = CORE_SIZE_LINKED if linked else CORE_SIZE
    by_neighbourhoods = big and size >= (NEIGHBOURHOODS_FROM if linked else NEIGHBOURHOODS_ONE_DAY)
    if lp_ok and (big or not linked):
        say("solving the sources in play first")
        left = deadline - time.perf_counter()
        # Days not linked: the reduced-cost cores may take all the time (the last is
        # exact, or frees half the model and leaves the rest to the whole model's search).
        # Linked, large: the whole-source core keeps time for the whole model's bound,
        # unless neighbourhoods follow: they only go on from the core's list, which goes
        # on improving with its time (at 50,000 sources building the core alone takes
        # 2 s), so they have what it leaves.
        budget = max(0.5, min(CORE_SHARE * left, CORE_MAX_S)) if big and linked else left
        if left < WHOLE_MODEL_MIN_S:
            budget = left
        if by_neighbourhoods:
            budget = max(budget, left - 1.0)
        found: Choice | None
        if linked:
            held_s = HELD_SHARE * left
            if by_neighbourhoods:
                budget = min(left, max(0.5, budget - held_s))
            found = solve_core(built, lp_res, time_limit_s=budget, size=width, enough_yuan=enough)
            if found is not None and (enough is None or cost_of(found) > enough):
                found = _held_days(
                    built, found, min(deadline, time.perf_counter() + held_s), say, notes
                )
            found_cost = cost_of(found) if found is not None else None
        else:
            # The LP's measures rounded and improved by single moves: where the cores
            # start, in milliseconds (emergency.rounding).
            cores_end = time.perf_counter() + budget
            start = rounded(
                built,
                lp_res,
                deadline=time.perf_counter() + ROUNDING_SHARE * left,
                enough_yuan=enough,
            )
            if start is not None:
                origin, lowest = "LP rounded", cost_of(start)
            staged = solve_by_reduced_costs(
                built,
                lp_res,
                start,
                cost_of,
                deadline=cores_end,
                enough_yuan=enough,
                workers=CORE_WORKERS if big else 1,
            )
            found, found_cost = staged.choice, staged.cost
            core_bound = staged.bound_yuan or 0.0
            if staged.proven:
                proven_by_core = True
                whole_model = False
                notes.append(
                    "proven least cost on the measures within the gap's reach of the LP "
                    "optimum (reduced costs): the whole model was not searched"
                )
        if found is not None and found_cost is not None and (lowest is None or found_cost < lowest):
            start, origin, lowest = found, "sources in play", found_cost
        if enough is not None and lowest is not None and lowest <= enough:
            whole_model = False
            notes.append(
                "within the gap asked of the LP relaxation's bound: "
                "the whole model was not searched"
            )
        elif by_neighbourhoods and not proven_by_core:
            whole_model = False
            # Where days are not linked the cores have had the time: no neighbourhood
            # (nor the note) unless some is left.
            if deadline - 0.5 - time.perf_counter() > IMPROVE_MIN_S:
                say("improving the list by neighbourhoods")
                start = improve(
                    built,
                    lp_res,
                    start if start is not None else greedy(),
                    cost_of,
                    deadline=deadline - 0.5,
                    size=width,
                    enough_yuan=enough,
                )
                origin = "sources in play"
                notes.append(
                    "improved on neighbourhoods of the sources in play; "
                    "the bound is the LP relaxation's"
                )
            elif start is not None:
                notes.append(
                    "the sources in play list is given: the whole model is not searched at "
                    "this size; the bound is the LP relaxation's"
                )
    if by_neighbourhoods and lp_res.status == "unknown" and start is None:
        # No LP, no sources in play; and CP-SAT does not move on the whole model at this
        # size (nor writes it in seconds).
        whole_model = False
        start, origin = greedy(), "greedy"
        notes.append(
            "the greedy list is given: without the LP relaxation no sources in play are "
            "cut out, and CP-SAT does not move on the whole model at this size"
        )
        if linked and deadline - 0.5 - time.perf_counter() > 1.0:
            start = _held_days(built, start, deadline - 0.5, say, notes)
    # The time limit is the whole optimisation's budget: CP-SAT gets what is left, if
    # that is enough to write and presolve the model at all.
    left = max(0.05, deadline - time.perf_counter())
    if whole_model and start is not None and left < WHOLE_MODEL_NONE_S:
        whole_model = False
        notes.append("no time left to search the whole model: the core's list is given")
    watch = _watcher(say, lp_res)
    if not whole_model:
        res = CpResult("unknown", {}, 0, 0.0, 1, 0.0)
    else:
        say("solving the integer model (CP-SAT)")
        # From the core's list; a small model with none and days linked from the greedy's
        # (unlinked, CP-SAT's own first list comes sooner: the greedy took a third of a
        # 0.13 s limit at 400 sources).
        hinted = start if start is not None or big or not linked else greedy()
        res = solve_cpsat(
            built.linear,
            time_limit_s=left,
            hint=hint_of(built, hinted) if hinted is not None else None,
            gap_limit=gap_limit,
            watch=watch,
            enough_yuan=enough,
        )
    forced_short = False
    if res.status == "infeasible":
        notes.append("the capped targets cannot all be met together; shortfall minimised first")
        forced_short = True
        half = max(0.25, (deadline - time.perf_counter()) / 2)
        capped, least = _least_shortfall(inst, candidate_measures, capped, half)
        built = build(inst, candidate_measures, capped)
        left = max(0.25, deadline - time.perf_counter())
        if least is not None:
            start, origin = least, "least shortfall"
        res = solve_cpsat(
            built.linear,
            time_limit_s=left,
            hint=hint_of(built, start) if start is not None else None,
            watch=watch,
        )
    solve_s = time.perf_counter() - t1

    if not whole_model and start is not None:
        choice, cp_bound, proven = start, core_bound, proven_by_core
    elif res.has_solution:
        choice = read_choice(built, res.values)
        cp_bound = (res.bound_units / res.objective_scale) + built.linear.objective_const
        cp_bound = max(cp_bound, core_bound)
        # With a gap limit CP-SAT says "optimal" once within it: only a closed gap proves.
        proven = res.status == "optimal" and res.bound_units >= res.objective_units
        if start is not None and lowest is not None and cost_of(choice) > lowest:
            # Stopped before it repaired its hint: the core's list stays (the bound holds).
            choice = start
    else:
        limit = f"{time_limit_s:g}"
        if origin == "sources in play":
            notes.append(
                f"CP-SAT found no list within {limit} s; the sources in play list is given"
            )
        elif origin == "least shortfall":
            notes.append(
                f"CP-SAT found no list within {limit} s; the least shortfall list is given"
            )
        elif origin == "LP rounded":
            notes.append(f"CP-SAT found no list within {limit} s; the LP's list rounded is given")
        else:
            notes.append(f"CP-SAT found no list within {limit} s; the greedy list is given")
        choice, cp_bound, proven = start if start is not None else greedy(), core_bound, False

    cost = cost_of(choice)
    # Shortfall minimised: the targets were lowered since, and the bounds of the LPs
    # (of the targets as they were) no longer hold.
    lp_bound = 0.0 if forced_short else lp_res.objective_yuan if lp_ok else apart_bound
    # The cores and the rounding have read them: 100 MB at 50,000 sources.
    lp_res.values, lp_res.reduced_costs, lp_res.form = {}, {}, None
    bound = float(cost) if proven else min(max(cp_bound, lp_bound), float(cost))
    gap = 0.0 if cost == 0 else max(0.0, (float(cost) - bound) / float(cost))
    short = shortfalls(inst, choice)
    is_short = forced_short or any(
        inst.row_target(d, idx) > capped[d][name] + 1e-6
        for d in range(inst.n_days)
        for name, idx in inst.pooled_rows(d)
    )
    return Solved(
        choice=choice,
        status="short" if is_short else ("optimal" if proven else "feasible"),
        cost_yuan=cost,
        bound_yuan=bound,
        gap=gap,
        capped_targets_kg=capped,
        shortfall_kg=short,
        reachable_kg=reach,
        marginal_yuan_per_kg=lp_res.duals,
        lp=lp_res,
        build_seconds=build_s,
        solve_seconds=solve_s,
        notes=notes,
    )


def _held_days(
    built: BuiltModel, choice: Choice, deadline: float, say: Progress, notes: list[str]
) -> Choice:
    """``choice`` searched day by day with its stops held (:func:`by_day`) until
    ``deadline``; told to ``say``, and in ``notes`` when some day became cheaper."""
    say("solving each day with the stops held")
    out, cheaper = by_day(built, choice, list_cost, deadline=deadline)
    if cheaper:
        notes.append(
            f"then searched day by day with the list's stops held: {cheaper} of "
            f"{built.instance.n_days} days cheaper"
        )
    return out


def _days_apart(
    inst: Instance,
    candidate_measures: list[list[tuple[int, ...]]],
    capped: list[dict[str, float]],
    deadline: float,
) -> LpResult | None:
    """The LP of the days apart (:func:`emergency.model.build`'s ``days_apart``): a
    weaker lower bound, found in seconds where the linked LP is not; None when it is not
    solved in half the time left (and never with less than a second left)."""
    left = deadline - time.perf_counter()
    if left < 1.0:
        return None
    try:
        apart = build(inst, candidate_measures, capped, days_apart=True)
    except Infeasible:
        return None
    limit = APART_SHARE * left - (time.perf_counter() - (deadline - left))
    if limit <= 0.1:
        return None
    res = solve_lp(apart.linear, inst.n_days, time_limit_s=limit)
    return res if res.status == "optimal" else None


def list_cost(inst: Instance, choice: Choice) -> Fraction:
    """Daily costs plus restart costs of a list, exact in yuan (decimal data): every value
    scaled by the power of ten that makes them all whole (:meth:`Instance.decimals`)."""
    n = inst.n_days
    values: list[float] = []
    for s, src in enumerate(inst.sources):
        row = choice[s][:n]
        options = src.options
        values += [options[m].cost_yuan_d for m in row]
        values += inst.restart_costs(s, row)
    # The smallest power making every value whole is the largest each alone needs. Each
    # distinct value scaled once, times how often it comes (the same few costs recur).
    counts = Counter(values)
    scale = 10 ** inst.decimals(counts)
    return Fraction(sum(round(v * scale) * k for v, k in counts.items()), scale)


def row_cut(inst: Instance, choice: Choice, d: int, idx: tuple[int, ...]) -> float:
    """What a list cuts on day ``d`` of the pollutants ``idx`` (a target row), kg."""
    return sum(
        src.options[choice[s][d]].cut_kg[i] for s, src in enumerate(inst.sources) for i in idx
    )


def shortfalls(inst: Instance, choice: Choice) -> list[dict[str, float]]:
    """T − cut per day and target row, where positive."""
    out: list[dict[str, float]] = []
    for d in range(inst.n_days):
        alike = inst.earlier_alike(choice, d)
        if alike is not None:
            out.append(dict(out[alike]))
            continue
        row = {}
        for name, idx in inst.pooled_rows(d):
            cut = row_cut(inst, choice, d, idx)
            row[name] = max(0.0, inst.row_target(d, idx) - cut)
        out.append(row)
    return out


def _least_shortfall(
    inst: Instance,
    candidate_measures: list[list[tuple[int, ...]]],
    capped: list[dict[str, float]],
    time_limit_s: float,
) -> tuple[list[dict[str, float]], Choice | None]:
    """Phase 1: the capped targets less the least Σ shortfall/T (weights per kg ∝ 1/T),
    and the list that showed it.

    Each target becomes what that list cuts (when below the capped target): phase 2 then
    has at least that list, whereas the shortfall read back in the scaled units of phase 1
    could ask phase 2 for a fraction of a unit more than any list cuts."""
    zero = [{k: 0.0 for k in row} for row in capped]
    try:
        built = build(inst, candidate_measures, capped, slack=True)
    except Infeasible:
        return zero, None

    units = continuous_scales(built.linear)
    weights = [
        (max(1, round(1e9 / (ub * units[k]))), k) for k, ub in built.linear.continuous.items()
    ]
    res = solve_cpsat(built.linear, time_limit_s=time_limit_s, objective=weights)
    if not res.has_solution:
        return zero, None
    choice = read_choice(built, res.values)
    out = [dict(row) for row in capped]
    for d in range(inst.n_days):
        for name, idx in inst.pooled_rows(d):
            cut = row_cut(inst, choice, d, idx)
            out[d][name] = min(capped[d][name], cut)
    return out, choice
