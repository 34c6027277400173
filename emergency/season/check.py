"""Independent checker of a season schedule, in exact rational arithmetic.

Reads the schedule as the planner writes it (``emergency season plan --json``: runs of
non-normal measures per source), rebuilds each source's measure per day from the plan
files, and recomputes, sharing no code with the solver: floors on key-period days and
exempt sources held at their floor, minimum stop days and restart costs, supply couplings,
each industry's running share (capped at what the day's floors allow), every quota, and the
total cost. It lists every violation; a quota falling short is one unless the schedule says
``short`` and declares at least that shortfall.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from emergency import NORMAL
from emergency.checker import exact_decimal
from emergency.errors import InputError
from emergency.season.model import SeasonInput, exempt_grades, exempt_reason, selected_lines
from emergency.season.state import SETTLED, SeasonState

if TYPE_CHECKING:
    from emergency.dataset import Dataset
    from emergency.plans import Plan

TOLERANCE = Fraction(1, 100)
"""Reported figures are rounded: costs to the fen, shares to 1e-6."""


@dataclass
class SeasonCheck:
    violations: list[str] = field(default_factory=list)
    cost_yuan: Fraction = Fraction(0)
    settled_cost_yuan: Fraction = Fraction(0)
    quotas: dict[str, Fraction] = field(default_factory=dict)
    """Quota id → achieved (the least over its lines or firms)."""

    @property
    def ok(self) -> bool:
        return not self.violations


def _loads(plan: Plan, measure: str) -> dict[str, Fraction]:
    return {ln.id: exact_decimal(plan.load(measure, ln.id)) for ln in plan.lines}


def _as_strict(plan: Plan, measure: str, floor: str) -> bool:
    a, b = _loads(plan, measure), _loads(plan, floor)
    return all(a[k] <= b[k] for k in a)


def _output(plan: Plan, measure: str) -> Fraction:
    loads = _loads(plan, measure)
    return sum(
        (exact_decimal(ln.value_added_yuan_d) * loads[ln.id] for ln in plan.lines), Fraction(0)
    )


def choice_from_runs(
    schedule: dict[str, Any],
    dataset: Dataset,
    days: list[dt.date],
    settled: dict[tuple[str, int], dict[str, Fraction]] | None = None,
) -> tuple[dict[str, list[str]], list[str]]:
    """Measure per planned source and day from the schedule's runs; problems found. Runs
    of settled loads (measure ``settled``) put their ``line_loads`` into ``settled``."""
    problems: list[str] = []
    choice = {sid: [NORMAL] * len(days) for sid in dataset.plans}
    where = {day: i for i, day in enumerate(days)}
    for k, run in enumerate(schedule.get("assignments") or []):
        label = f"assignments[{k}]"
        try:
            source, measure = str(run["source"]), str(run["measure"])
            start = dt.date.fromisoformat(str(run["start"]))
            end = dt.date.fromisoformat(str(run["end"]))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{label}: malformed run ({exc})")
            continue
        plan = dataset.plans.get(source)
        if plan is None:
            problems.append(f"{label}: no planned source {source!r}")
            continue
        loads: dict[str, Fraction] | None = None
        if measure == SETTLED and measure not in plan.measures_by_id:
            loads = _run_loads(run, plan, label, problems)
            if loads is None:
                continue
        elif measure != NORMAL and measure not in plan.measures_by_id:
            problems.append(f"{label}: {source} has no measure {measure!r}")
            continue
        if start not in where or end not in where or end < start:
            problems.append(f"{label}: {start} .. {end} is not within the season")
            continue
        for i in range(where[start], where[end] + 1):
            if choice[source][i] != NORMAL:
                problems.append(f"{label}: {source} {days[i]} has two measures")
            choice[source][i] = measure
            if loads is not None and settled is not None:
                settled[(source, i)] = loads
    return choice, problems


def _run_loads(
    run: dict[str, Any], plan: Plan, label: str, problems: list[str]
) -> dict[str, Fraction] | None:
    given = run.get("line_loads")
    if not isinstance(given, dict):
        problems.append(f"{label}: settled loads without line_loads")
        return None
    out = {ln.id: Fraction(1) for ln in plan.lines}
    for lid, value in given.items():
        if lid not in out or isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{label}: line_loads.{lid}: not a load of a line of {plan.enterprise}")
            return None
        out[lid] = exact_decimal(value)
    return out


def check_season_schedule(
    inp: SeasonInput,
    dataset: Dataset,
    schedule: dict[str, Any],
    *,
    state: SeasonState | None = None,
) -> SeasonCheck:
    """Recompute everything about ``schedule`` and list what it violates. With ``state``
    (a re-plan), the days before ``state.from_date`` must hold exactly the loads given
    (normal where none are), the rules apply from that date on, a stop begun before it
    still binds its minimum, and the cost covers the whole season."""
    season = inp.season
    days = season.days()
    n = len(days)
    rep = SeasonCheck()
    if schedule.get("season") not in (None, season.id):
        rep.violations.append(
            f"schedule is for season {schedule.get('season')!r}, not {season.id!r}"
        )
    first = _first_planned(state, season.start, season.end)
    declared_from = schedule.get("from")
    expected_from = (
        state.from_date.isoformat()
        if state is not None and state.from_date >= season.start
        else None
    )
    if declared_from != expected_from:
        rep.violations.append(
            f"schedule re-planned from {declared_from!r}, but the state is from {expected_from!r}"
        )
    settled_loads: dict[tuple[str, int], dict[str, Fraction]] = {}
    choice, problems = choice_from_runs(schedule, dataset, days, settled_loads)
    rep.violations += problems
    levels = season.levels()
    grades = exempt_grades(season, dataset)
    cache: dict[tuple[str, str], dict[str, Fraction]] = {}

    def loads_of(sid: str, d: int) -> dict[str, Fraction]:
        got = settled_loads.get((sid, d))
        if got is not None:
            return got
        key = (sid, choice[sid][d])
        if key not in cache:
            cache[key] = _loads(dataset.plans[sid], choice[sid][d])
        return cache[key]

    # Settled days: held exactly as given; settled loads nowhere else.
    for (sid, d), _ in sorted(settled_loads.items()):
        if d >= first:
            rep.violations.append(f"{sid} {days[d]}: settled loads on a planned day")
    for sid, plan in dataset.plans.items():
        given = state.held.get(sid, {}) if state is not None else {}
        for d in range(first):
            want = given.get(days[d], {})
            have = loads_of(sid, d)
            for ln in plan.lines:
                target = exact_decimal(want.get(ln.id, 1.0))
                if have[ln.id] != target:
                    rep.violations.append(
                        f"{sid}/{ln.id} {days[d]}: settled at {float(target):g}, "
                        f"the schedule has {float(have[ln.id]):g}"
                    )

    # Floors and exemptions; what each source may reach (for the running-share cap).
    reach: dict[str, list[Fraction]] = {}
    for sid, plan in dataset.plans.items():
        source = dataset.by_id[sid]
        reason = exempt_reason(source, grades)
        reach[sid] = [Fraction(0)] * first
        reach_of: dict[str, Fraction] = {}
        for d in range(first, n):
            floor = plan.floor(levels[d]) if levels[d] else NORMAL
            if floor != NORMAL and floor not in plan.measures_by_id:
                floor = NORMAL
            measure = choice[sid][d]
            if reason is not None:
                allowed = [floor]
                if (sid, d) in settled_loads:
                    pass
                elif measure != floor:
                    rep.violations.append(
                        f"{sid} {days[d]}: {measure} but held at its floor {floor} ({reason})"
                    )
            else:
                if floor not in reach_of:
                    reach_of[floor] = max(
                        _output(plan, m) for m in plan.measure_ids() if _as_strict(plan, m, floor)
                    )
                allowed = []
                if (sid, d) not in settled_loads and not _as_strict(plan, measure, floor):
                    rep.violations.append(
                        f"{sid} {days[d]}: {measure} is milder than the key-period floor "
                        f"{floor} ({levels[d]})"
                    )
            reach[sid].append(_output(plan, floor) if allowed else reach_of[floor])

    # Daily costs, stops, restarts, minimum stop days.
    cost = Fraction(0)
    settled_cost = Fraction(0)
    stop_days: dict[tuple[str, str], int] = {}
    for sid, plan in dataset.plans.items():
        for ln in plan.lines:
            va = exact_decimal(ln.value_added_yuan_d)
            day_loads = [loads_of(sid, d)[ln.id] for d in range(n)]
            stopped = [load == 0 for load in day_loads]
            stop_days[(sid, ln.id)] = sum(stopped)
            for d in range(n):
                lost = va * (1 - day_loads[d])
                if stopped[d] and (d == 0 or not stopped[d - 1]):
                    lost += exact_decimal(ln.restart_cost_yuan)
                    for t in range(max(d, first), min(d + ln.min_stop_days, n)):
                        if not stopped[t]:
                            rep.violations.append(
                                f"{sid}/{ln.id} {days[t]}: restarted before its minimum stop "
                                f"of {ln.min_stop_days} days"
                            )
                cost += lost
                if d < first:
                    settled_cost += lost
    rep.cost_yuan = cost
    rep.settled_cost_yuan = settled_cost
    declared_settled = schedule.get("settled_cost_yuan")
    if isinstance(declared_settled, (int, float)) and abs(
        Fraction(repr(float(declared_settled))) - settled_cost
    ) > (TOLERANCE):
        rep.violations.append(
            f"settled_cost_yuan {declared_settled} differs from the recomputed "
            f"{float(settled_cost):.2f}"
        )
    declared = schedule.get("total_cost_yuan")
    if isinstance(declared, (int, float)) and abs(Fraction(repr(float(declared))) - cost) > (
        TOLERANCE
    ):
        rep.violations.append(
            f"total_cost_yuan {declared} differs from the recomputed {float(cost):.2f}"
        )

    # Supply couplings.
    for sid, plan in dataset.plans.items():
        for edge in plan.supplies:
            other = dataset.plans.get(edge.to_enterprise)
            if other is None:
                continue
            share = exact_decimal(edge.share)
            for d in range(first, n):
                up = loads_of(sid, d)[edge.line]
                down = loads_of(edge.to_enterprise, d)[edge.to_line]
                if down > 1 - share * (1 - up):
                    rep.violations.append(
                        f"{edge.to_enterprise}/{edge.to_line} {days[d]}: load {float(down):g} "
                        f"exceeds what {sid}/{edge.line} at {float(up):g} allows"
                    )

    # Running share per industry and day (a schedule `short` may declare days where
    # floors and supply couplings leave less).
    is_short = schedule.get("status") == "short"
    declared_share_short = {
        (str(r.get("industry")), str(r.get("date")))
        for r in schedule.get("running_share_short") or []
        if isinstance(r, dict)
    }
    for industry, min_share in season.min_running_share.items():
        members = [s for s in dataset.plans if dataset.by_id[s].industry == industry]
        total = sum((_output(dataset.plans[s], NORMAL) for s in members), Fraction(0))
        if total == 0:
            continue
        for d in range(first, n):
            running = sum(
                (
                    exact_decimal(ln.value_added_yuan_d) * loads_of(s, d)[ln.id]
                    for s in members
                    for ln in dataset.plans[s].lines
                ),
                Fraction(0),
            )
            need = min(
                exact_decimal(min_share) * total, sum((reach[s][d] for s in members), Fraction(0))
            )
            if running < need and not (
                is_short and (industry, days[d].isoformat()) in declared_share_short
            ):
                rep.violations.append(
                    f"{industry} {days[d]}: running share {float(running / total):.4f} below "
                    f"{float(need / total):.4f}"
                )

    # Quotas.
    declared_short = {
        str(q.get("id")): Fraction(repr(float(q.get("short_by") or 0)))
        for q in schedule.get("quotas") or []
        if isinstance(q, dict)
    }
    for q, quota in enumerate(season.quotas):
        qid = season.quota_id(q)
        chosen = [
            (s, lid)
            for s, lid in selected_lines(quota, dataset)
            if exempt_reason(dataset.by_id[s], grades) is None
        ]
        if quota.stop_days is not None:
            required = Fraction(quota.stop_days)
            got = [Fraction(stop_days[m]) for m in chosen]
        else:
            required = exact_decimal(quota.output_cut or 0)
            groups: dict[str, list[tuple[str, str]]] = {}
            for s, lid in chosen:
                groups.setdefault(s if quota.per == "firm" else "all", []).append((s, lid))
            got = []
            for group in groups.values():
                lost, normal = Fraction(0), Fraction(0)
                for s, lid in group:
                    plan = dataset.plans[s]
                    va = exact_decimal(plan.line(lid).value_added_yuan_d)
                    normal += va * n
                    lost += sum((va * (1 - loads_of(s, d)[lid]) for d in range(n)), Fraction(0))
                got.append(lost / normal if normal else Fraction(0))
        achieved = min(got, default=required)
        rep.quotas[qid] = achieved
        short = required - achieved
        if short > 0:
            tolerated = declared_short.get(qid, Fraction(0)) if is_short else Fraction(0)
            if short > tolerated + Fraction(1, 10**6):
                rep.violations.append(
                    f"quota {qid}: achieved {float(achieved):g} of {float(required):g} "
                    f"({'days' if quota.stop_days is not None else 'share'})"
                )
    return rep


def _first_planned(state: SeasonState | None, start: dt.date, end: dt.date) -> int:
    """The first day the rules apply to (0 without state)."""
    if state is None or state.from_date <= start:
        return 0
    if state.from_date > end:
        raise InputError(f"from {state.from_date}: after the end of the season ({end})")
    return (state.from_date - start).days
