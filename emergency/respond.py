"""From a warning to an approved-ready curtailment list.

:func:`plan_response` runs duties → optimiser → report; :func:`state_at` reads, from a list
already in force, which lines are stopped and for how long, so that an upgrade or downgrade
re-plans the remaining days from there; :func:`check_plan` runs any list through the
independent checker.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emergency import NORMAL
from emergency.checker import CheckReport, check
from emergency.collector import gc_paused
from emergency.duties import (
    Override,
    ResponseState,
    build_instance,
    supply_conflicts,
)
from emergency.errors import InputError, ValidationErrors
from emergency.heuristics import floor_choice
from emergency.instance import Choice, Instance
from emergency.measures import options_index, plan_options
from emergency.names import label
from emergency.optimiser import Solved, list_cost, optimise
from emergency.solution import (
    Assignment,
    DayResult,
    PollutantAmounts,
    ResponsePlan,
    TargetRow,
    WarningDecision,
)
from emergency.vocabulary import Fixed, PlanStatus

if TYPE_CHECKING:
    from emergency.dataset import Dataset

__all__ = [
    "Override",
    "ResponseState",
    "check_plan",
    "plan_response",
    "response_days",
    "state_at",
]


def response_days(warning: WarningDecision) -> list[tuple[dt.date, str]]:
    """(date, level) for every day of the warning's period."""
    if warning.level is None or warning.start is None:
        return []
    end = warning.end or warning.start
    n = (end - warning.start).days + 1
    return [(warning.start + dt.timedelta(days=i), warning.level) for i in range(n)]


def plan_response(
    dataset: Dataset,
    warning: WarningDecision,
    *,
    days: Sequence[tuple[dt.date, str]] | None = None,
    state: ResponseState | None = None,
    overrides: Sequence[Override] = (),
    time_limit_s: float = 20.0,
    progress: Callable[[str], None] | None = None,
    season_floor: Mapping[tuple[str, dt.date], Mapping[str, float]] | None = None,
    gap_limit: float = 0.0,
) -> ResponsePlan:
    """The least-cost list for ``days`` (default: the warning's period at its level).

    ``time_limit_s`` is the budget of the whole call: building the duties counts against
    it, and the optimiser returns the best list found so far, with its bound and gap.
    ``season_floor``: the approved season schedule's line loads per (source, date), a
    floor of the list (:func:`emergency.duties.build_instance`). ``gap_limit``: stop once
    the list is proven within this fraction of the least cost.
    """
    started = time.perf_counter()
    days = list(days) if days is not None else response_days(warning)
    if warning.level is None or not days:
        return ResponsePlan(warning=warning, status=PlanStatus.no_warning)
    with gc_paused():  # the collections would rescan the whole city at every turn
        if progress is not None:
            progress("building the duties")
        inst = build_instance(
            dataset, days, overrides=overrides, state=state, season_floor=season_floor
        )
        # From here on the instance is all: a caller that let go of the dataset (half the
        # memory at 50,000 sources) has it freed while the optimiser runs.
        del dataset
        conflicts = supply_conflicts(inst)
        if conflicts:
            raise ValidationErrors(conflicts)
        left = max(1.0, time_limit_s - (time.perf_counter() - started))
        solved = optimise(inst, time_limit_s=left, progress=progress, gap_limit=gap_limit)
        return report(inst, solved, warning)


def _amounts(values: Sequence[float]) -> PollutantAmounts:
    # Built from the instance's own floats, not from input: no validation needed (a list
    # of 50,000 sources makes hundreds of thousands of these).
    so2, nox, pm, vocs = (round(float(v), 6) for v in values)
    return PollutantAmounts.model_construct(so2=so2, nox=nox, pm=pm, vocs=vocs)


def report(inst: Instance, solved: Solved, warning: WarningDecision) -> ResponsePlan:
    """The ResponsePlan (docs/FORMATS.md) from a solved instance."""
    choice = solved.choice
    days = []
    reachable = inst.reachable_by_day()
    cuts: list[list[float]] = []
    for d in range(inst.n_days):
        same = inst.earlier_alike(choice, d)
        if same is not None:
            cut = cuts[same]
        else:
            cut = [0.0] * 4
            for s, src in enumerate(inst.sources):
                for i, v in enumerate(src.options[choice[s][d]].cut_kg):
                    cut[i] += v
        cuts.append(cut)
        rows = []
        short = [0.0] * 4
        for name, idx in inst.pooled_rows(d):
            got = sum(cut[i] for i in idx)
            target = inst.row_target(d, idx)
            sf = solved.shortfall_kg[d][name]
            rows.append(
                TargetRow(
                    row=name,
                    target_kg=round(target, 6),
                    capped_kg=round(solved.capped_targets_kg[d][name], 6),
                    cut_kg=round(got, 6),
                    shortfall_kg=round(sf, 6),
                    reachable_kg=round(solved.reachable_kg[d][name], 6),
                    marginal_cost_yuan_per_kg=round(
                        solved.marginal_yuan_per_kg[d].get(name, 0.0), 6
                    ),
                )
            )
            # A pooled row's shortfall is shown on its pollutants in proportion to their T.
            weights = [max(inst.targets_kg[d][i], 0.0) for i in idx]
            total_w = sum(weights) or float(len(idx))
            for i, w in zip(idx, weights, strict=True):
                short[i] = sf * ((w / total_w) if sum(weights) else 1.0 / len(idx))
        days.append(
            DayResult(
                date=inst.dates[d],
                level=inst.levels[d],
                target_kg=_amounts([max(t, 0.0) for t in inst.targets_kg[d]]),
                cut_kg=_amounts(cut),
                shortfall_kg=_amounts(short),
                reachable_kg=_amounts(reachable[d]),
                pooled_so2_nox=inst.pooled[d],
                rows=rows,
            )
        )
    marginal = [0.0] * 4
    for d in range(inst.n_days):
        for name, idx in inst.pooled_rows(d):
            for i in idx:
                marginal[i] = max(marginal[i], solved.marginal_yuan_per_kg[d].get(name, 0.0))
    floor_cost = float(list_cost(inst, floor_choice(inst)))
    return ResponsePlan(
        warning=warning,
        status=PlanStatus(solved.status),
        total_cost_yuan=float(solved.cost_yuan),
        floor_cost_yuan=round(floor_cost, 6),
        bound_yuan=round(solved.bound_yuan, 6),
        gap=round(solved.gap, 9),
        solve_seconds=round(solved.build_seconds + solved.solve_seconds, 3),
        notes=solved.notes,
        days=days,
        marginal_cost_yuan_per_kg=_amounts(marginal),
        assignments=_assignments(inst, solved),
    )


def _assignments(inst: Instance, solved: Solved) -> list[Assignment]:
    out = []
    # What a row's reasons depend on besides the source, per day: its level, pooling and
    # the targets' marginal costs. Days alike share them, and a source taking the same
    # measure on them the same reasons (written once: 145,000 rows at 50,000 sources).
    days = [
        (inst.levels[d], inst.pooled[d], tuple(sorted(solved.marginal_yuan_per_kg[d].items())))
        for d in range(inst.n_days)
    ]
    # Per option, whatever the days that take it: its cuts and line loads (the engine's
    # values, shared by the rows, never changed).
    cuts: dict[tuple[int, int], tuple[PollutantAmounts, dict[str, float] | None]] = {}
    for s, src in enumerate(inst.sources):
        prev_stopped = [inst.stopped_before.get((s, li), 0) > 0 for li in range(len(src.lines))]
        whys: dict[tuple[Any, ...], tuple[str, str]] = {}
        upstream = inst.edges_into(s)
        for d in range(inst.n_days):
            m = solved.choice[s][d]
            opt = src.options[m]
            restart = 0.0
            for li, line in enumerate(src.lines):
                now = opt.stops(li)
                if now and not prev_stopped[li]:
                    restart += line.restart_cost_yuan
                prev_stopped[li] = now
            if opt.id == NORMAL and src.fixed[d] != "exempt":
                continue
            floor = src.options[src.floor[d]]
            context = (
                m,
                src.floor[d],
                src.fixed[d],
                src.note[d],
                days[d],
                tuple(solved.choice[e.src[0]][d] for e in upstream),
            )
            why = whys.get(context)
            if why is None:
                why = whys[context] = (_why(inst, solved, s, d), _why(inst, solved, s, d, "zh"))
            if (s, m) not in cuts:
                cuts[s, m] = (_amounts(opt.cut_kg), _line_loads(src.lines, opt.loads))
            cut, loads = cuts[s, m]
            out.append(
                _ROW.model_copy(  # the engine's own values (see _amounts)
                    update=dict(
                        source=src.id,
                        date=inst.dates[d],
                        measure=opt.id,
                        measure_name=opt.name,
                        floor=floor.id,
                        deepened=m != src.floor[d],
                        fixed=Fixed(src.fixed[d]),
                        cut_kg=cut,
                        cost_yuan=round(opt.cost_yuan_d + restart, 6),
                        restart_cost_yuan=restart,
                        why=why[0],
                        why_zh=why[1],
                        loads=loads,
                        floor_cost_yuan=round(floor.cost_yuan_d, 6),
                    )
                )
            )
    return out


_ROW = Assignment.model_construct(
    source="",
    date=dt.date.min,
    measure="",
    floor="",
    deepened=False,
    cut_kg=PollutantAmounts.model_construct(so2=0.0, nox=0.0, pm=0.0, vocs=0.0),
    cost_yuan=0.0,
    why="",
)
"""What a list row is copied from, every field then set (``model_copy``: about 3 µs a
row against 5–7 for ``model_construct``, which weighs each field's aliases and
defaults: 0.5 s of the 194,104 rows at 50,000 sources)."""


def _supply_why(inst: Instance, solved: Solved, s: int, d: int, lang: str = "en") -> str:
    """The supply edges that rule out the floor of source ``s`` on day ``d``, if any.

    An edge ``load(w) <= 1 - share (1 - load(u))`` binds when the upstream line's chosen
    load leaves the downstream line less than its floor load: then the edge, not the
    targets, is why the source goes below its plan measure.
    """
    src = inst.sources[s]
    floor = src.options[src.floor[d]]
    reasons = []
    for edge in inst.edges_into(s) if floor.loads else ():
        (us, ul), (_, wl) = edge.src, edge.dst
        upstream = inst.sources[us]
        chosen = upstream.options[solved.choice[us][d]]
        up_load = chosen.loads[ul] if chosen.loads else 1.0
        bound = 1.0 - edge.share * (1.0 - up_load)
        if floor.loads[wl] > bound + 1e-9 and lang == "zh":
            reasons.append(
                f"{src.lines[wl].id} 由 {upstream.id}/{upstream.lines[ul].id} 供应（占比 "
                f"{edge.share:g}），其负荷为 {up_load:g}，故本线负荷至多 {bound:g}（供应关系；"
                f"底线措施下负荷 {floor.loads[wl]:g}）"
            )
        elif floor.loads[wl] > bound + 1e-9:
            reasons.append(
                f"{src.lines[wl].id} is supplied by {upstream.id}/{upstream.lines[ul].id} "
                f"(share {edge.share:g}), which runs at {up_load:g}, so it may run at most at "
                f"{bound:g} (supply edge; its floor runs it at {floor.loads[wl]:g})"
            )
    return ("；" if lang == "zh" else "; ").join(reasons)


def _line_loads(lines: Sequence[Any], loads: Sequence[float]) -> dict[str, float] | None:
    if not loads:
        return None
    return {line.id: float(load) for line, load in zip(lines, loads, strict=True)}


_LABEL = {"so2": "SO2", "nox": "NOx", "pm": "PM", "vocs": "VOCs", "so2+nox": "SO2+NOx"}


_NOTE_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^guaranteed firm \((\w+)\)$"), "保障类企业（{}）"),
    (re.compile(r"^grade (\S+) \(protect_grades\)$"), "绩效等级 {}（受保护等级）"),
    (
        re.compile(r"^(\S+) stopped (\d+) day\(s\) ago; minimum stop (\d+) days$"),
        "{} 已停产 {} 天，最少停产 {} 天",
    ),
)


def _note_zh(note: str) -> str:
    """A duty's note (guarantee, protected grade, stop in force) in Chinese; a planner's
    reason is kept as written."""
    for pattern, zh in _NOTE_ZH:
        found = pattern.match(note)
        if found:
            parts = list(found.groups())
            if zh.startswith("保障类"):
                parts = [label("guarantee", parts[0], "zh")]
            elif zh.startswith("绩效等级"):
                parts = [label("grade", parts[0], "zh")]
            return zh.format(*parts)
    return note


def _why(inst: Instance, solved: Solved, s: int, d: int, lang: str = "en") -> str:
    """Why source ``s`` takes its measure on day ``d``, in ``lang`` (en or zh)."""
    if lang == "zh":
        return _why_zh(inst, solved, s, d)
    src = inst.sources[s]
    m = solved.choice[s][d]
    level = inst.levels[d]
    fixed, note = src.fixed[d], src.note[d]
    if fixed == "override":
        return f"planner override: {note}"
    if fixed == "exempt":
        return f"exempted by the planner: {note}"
    if fixed == "guaranteed":
        return f"{note}: held at its plan measure for {level}, not deepened"
    if fixed == "protected_grade":
        return f"{note}: held at its plan measure for {level}, not deepened"
    if fixed == "state":
        return f"stop continued: {note}"
    if m == src.floor[d]:
        return f"plan measure for {level} (floor)"
    chosen, at_floor = src.options[m], src.options[src.floor[d]]
    supplied = _supply_why(inst, solved, s, d)
    if supplied:
        return f"deepened from {at_floor.id} to {chosen.id}: {supplied}"
    deep = _deepening(inst, solved, s, d)
    gains = [f"+{extra:,.0f} kg {_LABEL[name]}" for name, extra in deep.gains]
    binding = [f"{_LABEL[n]} {v:,.1f}" for n, v in deep.binding]
    text = (
        f"deepened from {at_floor.id} to {chosen.id} to meet the {level} targets: "
        f"{', '.join(gains) or 'no extra cut'} for {deep.extra_cost:,.0f} yuan/day"
    )
    if binding:
        text += (
            f"; binding targets (yuan/kg): {', '.join(binding)}; cuts worth {deep.value:,.0f} yuan"
        )
    return text


@dataclass(frozen=True)
class _Deepening:
    """What a source's measure beyond its floor buys on a day, in any language."""

    gains: list[tuple[str, float]]
    """(target row, extra kg) for every row the deeper measure cuts more on."""
    binding: list[tuple[str, float]]
    """(target row, marginal yuan/kg) of every binding target of the day."""
    value: float
    """The extra cuts valued at the marginal costs, yuan."""
    extra_cost: float
    """Yuan a day beyond the floor measure."""


def _deepening(inst: Instance, solved: Solved, s: int, d: int) -> _Deepening:
    src = inst.sources[s]
    chosen, at_floor = src.options[solved.choice[s][d]], src.options[src.floor[d]]
    gains, value = [], 0.0
    for name, idx in inst.pooled_rows(d):
        extra = sum(chosen.cut_kg[i] - at_floor.cut_kg[i] for i in idx)
        if extra > 0:
            gains.append((name, extra))
            value += extra * solved.marginal_yuan_per_kg[d].get(name, 0.0)
    binding = [(n, v) for n, v in solved.marginal_yuan_per_kg[d].items() if v > 1e-9]
    return _Deepening(gains, binding, value, chosen.cost_yuan_d - at_floor.cost_yuan_d)


def _why_zh(inst: Instance, solved: Solved, s: int, d: int) -> str:
    src = inst.sources[s]
    m = solved.choice[s][d]
    level = label("level", inst.levels[d], "zh") + "预警"
    fixed, note = src.fixed[d], _note_zh(src.note[d])
    if fixed == "override":
        return f"人工指定措施：{note}"
    if fixed == "exempt":
        return f"人工豁免：{note}"
    if fixed in ("guaranteed", "protected_grade"):
        return f"{note}：执行{level}下的预案措施，不加严"
    if fixed == "state":
        return f"继续停产：{note}"
    if m == src.floor[d]:
        return f"{level}下的预案措施（底线）"
    chosen, at_floor = src.options[m], src.options[src.floor[d]]
    supplied = _supply_why(inst, solved, s, d, "zh")
    if supplied:
        return f"由 {at_floor.id} 加严至 {chosen.id}：{supplied}"
    deep = _deepening(inst, solved, s, d)
    gains = [f"{_LABEL[name]} +{extra:,.0f} kg" for name, extra in deep.gains]
    binding = [f"{_LABEL[n]} {v:,.1f}" for n, v in deep.binding]
    text = (
        f"为完成{level}减排目标，由 {at_floor.id} 加严至 {chosen.id}："
        f"{'，'.join(gains) or '无额外减排'}，每天多花 {deep.extra_cost:,.0f} 元"
    )
    if binding:
        text += f"；起约束作用的目标（元/kg）：{'，'.join(binding)}；减排价值 {deep.value:,.0f} 元"
    return text


def state_at(plan: ResponsePlan, dataset: Dataset, before: dt.date) -> ResponseState:
    """Which lines a list in force has stopped, and for how many days, up to ``before``."""
    by_source: dict[str, dict[dt.date, Assignment]] = {}
    for a in plan.assignments:
        if a.date < before:
            by_source.setdefault(a.source, {})[a.date] = a
    stopped: dict[str, int] = {}
    for sid, per_day in by_source.items():
        p = dataset.plans.get(sid)
        if p is None:
            continue
        lines, options = plan_options(p)
        for li, line in enumerate(lines):
            count = 0
            day = before - dt.timedelta(days=1)
            while day in per_day and _stopped(per_day[day], options, li, line.id):
                count += 1
                day -= dt.timedelta(days=1)
            if count:
                stopped[f"{sid}/{line.id}"] = count
    return ResponseState(stopped_days=stopped)


def _stopped(a: Assignment, options: Sequence[Any], li: int, line_id: str) -> bool:
    """Whether an assignment stopped a line: from the loads it was planned with, or (lists
    stored before they carried loads) from the measure in the plan in force."""
    if a.loads is not None:
        return a.loads.get(line_id) == 0.0
    try:
        return bool(options[options_index(options, a.measure)].stops(li))
    except KeyError:
        return False


def check_plan(
    dataset: Dataset,
    plan: ResponsePlan,
    *,
    overrides: Sequence[Override] = (),
    state: ResponseState | None = None,
) -> CheckReport:
    """Run a reported list through the independent checker, and compare reported totals."""
    days = [(day.date, day.level) for day in plan.days]
    inst = build_instance(dataset, days, overrides=overrides, state=state)
    index = {src.id: s for s, src in enumerate(inst.sources)}
    choice: Choice = [[0] * inst.n_days for _ in inst.sources]
    pos = {day: d for d, day in enumerate(inst.dates)}
    for a in plan.assignments:
        if a.source not in index or a.date not in pos:
            raise InputError(f"assignment: unknown source or date {a.source} {a.date}")
        s = index[a.source]
        choice[s][pos[a.date]] = options_index(inst.sources[s].options, a.measure)
    allowed = [{r.row: r.shortfall_kg for r in day.rows} for day in plan.days]
    rep = check(inst, choice, allowed_shortfall_kg=allowed)
    if abs(float(rep.cost_yuan) - plan.total_cost_yuan) > 0.5:
        rep.violations.append(
            f"reported total {plan.total_cost_yuan:,.2f} yuan differs from the list's "
            f"{float(rep.cost_yuan):,.2f} yuan"
        )
    return rep
