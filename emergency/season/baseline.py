"""The common practice to compare the season schedule with: every quota line stops from the
first day, in one block.

:func:`first_day_blocks` builds that calendar: each line a ``stop_days`` quota selects
stops from the season's first day for the quota's days; the lines of an ``output_cut`` row
(all selected lines, or one firm's) stop together from the first day for as many days as the
cut needs; every other source and day stays at its floor (normal, the key period's level,
an exempt source's floor). On each day a source takes the cheapest measure allowed that
day (at least as strict as the key-period floor) that stops every line it must stop. Where
a supplier's load (a coke oven held at its key-period floor) leaves less than a consumer's
measure needs, the consumer takes the cheapest stricter measure that fits, as the plans'
supply couplings require.
Nothing is optimised and nothing is spread: the calendar may well break a running share;
the independent checker (:func:`emergency.season.check.check_season_schedule`) says so.

:func:`stop_share_on_riskiest` measures where a schedule puts its stops: the share of the
quota lines' stop days (line-days at load 0) that fall on the riskiest quarter of the
season's days.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import TYPE_CHECKING, Any

from emergency.season.check import check_season_schedule
from emergency.season.model import SeasonInput, exempt_grades, exempt_reason, selected_lines
from emergency.season.schedule import (
    QuotaRow,
    Schedule,
    SeasonSource,
    build_sources,
    quota_rows,
    report,
    supply_edges,
)

if TYPE_CHECKING:
    from emergency.dataset import Dataset

SHOWN_VIOLATIONS = 5
EPS = 1e-9


def _pick(src: SeasonSource, d: int, must_stop: set[int]) -> int:
    """The cheapest measure allowed on day ``d`` that stops every line of ``must_stop``;
    failing that, the one stopping most of them (the checker reports the shortfall)."""
    allowed = src.allowed[d]
    if not must_stop:
        return src.floor[d]

    def key(m: int) -> tuple[int, float, int]:
        option = src.options[m]
        missed = sum(1 for li in must_stop if option.loads[li] != 0.0)
        return missed, option.cost_yuan_d, m

    return min(allowed, key=key)


class _Calendar:
    """Per source and day the lines that must stop, and the measure chosen for it."""

    def __init__(self, sources: list[SeasonSource], n: int) -> None:
        self.sources = sources
        self.n = n
        self.must: list[list[set[int]]] = [[set() for _ in range(n)] for _ in sources]
        self.choice = [[src.floor[d] for d in range(n)] for src in sources]

    def stop(self, s: int, li: int, days: int) -> None:
        for d in range(min(days, self.n)):
            if li not in self.must[s][d]:
                self.must[s][d].add(li)
                self.choice[s][d] = _pick(self.sources[s], d, self.must[s][d])

    def couple(self, edges: list[tuple[tuple[int, int], tuple[int, int], float]]) -> None:
        """Lower consumers to what their suppliers allow: ``load(w) ≤ 1 − share × (1 −
        load(u))``, by the cheapest allowed measure no milder on any line than the one
        chosen (so every pass only tightens, and the passes end)."""
        changed = True
        while changed:
            changed = False
            for (s1, u), (s2, w), share in edges:
                src = self.sources[s2]
                for d in range(self.n):
                    bound = 1.0 - share * (1.0 - self.sources[s1].load(self.choice[s1][d], u))
                    current = src.options[self.choice[s2][d]]
                    if current.loads[w] <= bound + EPS:
                        continue
                    fits = [
                        m
                        for m in src.allowed[d]
                        if src.options[m].loads[w] <= bound + EPS
                        and all(
                            a <= b + EPS
                            for a, b in zip(src.options[m].loads, current.loads, strict=True)
                        )
                    ]
                    if fits:
                        self.choice[s2][d] = min(
                            fits, key=lambda m: (src.options[m].cost_yuan_d, m)
                        )
                        changed = True

    def lost(self, members: list[tuple[int, int]]) -> float:
        """Value added the lines lose over the season, yuan."""
        return sum(
            self.sources[s].lines[li].value_added_yuan_d
            * (1.0 - self.sources[s].load(self.choice[s][d], li))
            for s, li in members
            for d in range(self.n)
        )


def _cost(sources: list[SeasonSource], choice: list[list[int]]) -> float:
    """Lost value added plus a restart for every stop start (the first day included)."""
    total = 0.0
    for s, src in enumerate(sources):
        for li, line in enumerate(src.lines):
            before = False
            for m in choice[s]:
                load = src.load(m, li)
                total += line.value_added_yuan_d * (1.0 - load)
                stopped = load == 0.0
                if stopped and not before:
                    total += line.restart_cost_yuan
                before = stopped
    return total


def _blocks(inp: SeasonInput, rows: list[QuotaRow], cal: _Calendar) -> None:
    quotas = inp.season.quotas
    for row in rows:  # stop days first: an output cut counts what they already stop
        days = quotas[row.quota].stop_days
        if days is not None:
            s, li = row.members[0]
            cal.stop(s, li, days)
    for row in rows:
        if quotas[row.quota].stop_days is not None:
            continue
        k = 0
        while cal.lost(row.members) < row.required - 1e-6 and k < cal.n:
            k += 1
            for s, li in row.members:
                cal.stop(s, li, k)


def first_day_blocks(inp: SeasonInput, dataset: Dataset) -> Schedule:
    """Every quota line stops from the first day, in one block; the rest at its floor.

    Returns
    -------
    Schedule
        Status ``feasible`` when the independent checker accepts the calendar, else
        ``infeasible`` with the number of violations and the first few in ``message``.
        ``bound_yuan`` is 0 (nothing is optimised).
    """
    began = time.monotonic()
    sources = build_sources(inp, dataset)
    rows = quota_rows(inp, dataset, sources)
    cal = _Calendar(sources, len(inp.season.days()))
    _blocks(inp, rows, cal)
    cal.couple(supply_edges(dataset, sources))
    total = round(_cost(sources, cal.choice), 2)
    schedule = report(
        inp,
        dataset,
        sources,
        rows,
        cal.choice,
        status="feasible",
        total_cost=total,
        bound=0.0,
        seconds=time.monotonic() - began,
    )
    check = check_season_schedule(inp, dataset, schedule.to_json())
    if not check.ok:
        schedule.status = "infeasible"
        shown = "; ".join(check.violations[:SHOWN_VIOLATIONS])
        more = len(check.violations) - SHOWN_VIOLATIONS
        schedule.message = f"the checker lists {len(check.violations)} violations: {shown}" + (
            f"; and {more} more" if more > 0 else ""
        )
    schedule.seconds = round(time.monotonic() - began, 3)
    return schedule


def riskiest_days(inp: SeasonInput, fraction: float = 0.25) -> set[dt.date]:
    """The ``ceil(fraction × days)`` days of highest risk (ties: the earlier day)."""
    days = inp.season.days()
    k = math.ceil(fraction * len(days))
    order = sorted(range(len(days)), key=lambda d: (-inp.risk[d], d))
    return {days[d] for d in order[:k]}


def stop_share_on_riskiest(
    inp: SeasonInput, dataset: Dataset, schedule: dict[str, Any], fraction: float = 0.25
) -> float:
    """Share of the quota lines' stop days (line-days at load 0) on the riskiest days.

    ``schedule`` is a schedule as JSON (:meth:`Schedule.to_json`): its runs give the loads;
    quota lines are the non-exempt lines some quota selects. 0 when nothing stops.
    """
    grades = exempt_grades(inp.season, dataset)
    lines = {
        (sid, lid)
        for quota in inp.season.quotas
        for sid, lid in selected_lines(quota, dataset)
        if exempt_reason(dataset.by_id[sid], grades) is None
    }
    risky = riskiest_days(inp, fraction)
    stopped = on_risky = 0
    for run in schedule.get("assignments") or []:
        start = dt.date.fromisoformat(str(run["start"]))
        end = dt.date.fromisoformat(str(run["end"]))
        span = (end - start).days + 1
        inside = sum(1 for i in range(span) if start + dt.timedelta(days=i) in risky)
        for lid, load in (run.get("line_loads") or {}).items():
            if load == 0 and (run["source"], lid) in lines:
                stopped += span
                on_risky += inside
    return on_risky / stopped if stopped else 0.0
