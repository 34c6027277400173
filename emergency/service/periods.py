"""From a plan to orders: periods of consecutive days with the same measure and level.

Pure functions, no database. An order covers one source and one period; a period that
runs to the last planned day of the response is open-ended (``end`` is None) — it lasts
until the response is changed or released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emergency import NORMAL, ONE_DAY, POLLUTANTS
from emergency.measures import allowed_loads, floor_cost_yuan_d, measure_name
from emergency.settings import CITY_OFFSET
from emergency.solution import Assignment, ResponsePlan
from emergency.vocabulary import BY_PLANNER

if TYPE_CHECKING:
    from emergency.dataset import Dataset


OrderKey = tuple[str, str, str, dt.date, dt.date | None]
"""(source, measure, level, start, end): two orders with the same key are the same order."""


@dataclass(frozen=True)
class Period:
    """What one order tells one source to do, and for how long."""

    source: str
    measure_id: str
    measure_name: str
    level: str
    start: dt.date
    last: dt.date
    open_ended: bool
    fixed: str
    cut_kg_d: dict[str, float]
    allowed_load: dict[str, float]
    allowed_load_total: float

    @property
    def end(self) -> dt.date | None:
        return None if self.open_ended else self.last

    @property
    def key(self) -> OrderKey:
        return (self.source, self.measure_id, self.level, self.start, self.end)


def _cut(assignment: Assignment) -> dict[str, float]:
    return {p: round(float(getattr(assignment.cut_kg, p)), 3) for p in POLLUTANTS}


def periods(plan: ResponsePlan, dataset: Dataset) -> list[Period]:
    """The periods of a plan: per source, maximal runs of days with one measure and level.

    Days at normal operation form no period. Sorted by source, then start.
    """
    dates = sorted(day.date for day in plan.days)
    if not dates:
        return []
    level_of = {day.date: day.level for day in plan.days}
    last_day = dates[-1]
    by_source: dict[str, dict[dt.date, Assignment]] = {}
    for a in plan.assignments:
        if a.measure != NORMAL:
            by_source.setdefault(a.source, {})[a.date] = a
    out: list[Period] = []
    for source in sorted(by_source):
        days = by_source[source]
        run: list[Assignment] = []
        for date in dates:
            found = days.get(date)
            same = (
                found is not None
                and run
                and run[-1].measure == found.measure
                and level_of[run[-1].date] == level_of[date]
                and run[-1].date + ONE_DAY == date
            )
            if run and not same:
                out.append(_period(run, level_of, last_day, dataset))
                run = []
            if found is not None:
                run.append(found)
        if run:
            out.append(_period(run, level_of, last_day, dataset))
    return out


def stamp_loads(plan: ResponsePlan, dataset: Dataset) -> ResponsePlan:
    """Write into each assignment the loads it allows, from the data it was planned with.

    A list keeps what it was made with: once stamped, orders and re-plans read an
    assignment's loads and floor cost from the assignment, never from a plan approved
    later (which may have renamed or changed the measure).
    """
    for a in plan.assignments:
        if a.load_total is None:
            loads, a.load_total = allowed_loads(dataset, a.source, a.measure)
            if a.loads is None and loads:
                a.loads = loads
        if a.floor_cost_yuan is None:
            a.floor_cost_yuan = round(floor_cost_yuan_d(dataset, a.source, a.floor), 6)
    return plan


def _period(
    run: list[Assignment], level_of: dict[dt.date, str], last_day: dt.date, dataset: Dataset
) -> Period:
    first = run[0]
    if first.load_total is not None:
        loads, total = dict(first.loads or {}), first.load_total
    else:  # a list stored before assignments carried their loads
        loads, total = allowed_loads(dataset, first.source, first.measure)
    fixed = next((a.fixed for a in run if a.fixed in BY_PLANNER), first.fixed)
    return Period(
        source=first.source,
        measure_id=first.measure,
        measure_name=first.measure_name or measure_name(dataset, first.source, first.measure),
        level=level_of[first.date],
        start=first.date,
        last=run[-1].date,
        open_ended=run[-1].date == last_day,
        fixed=fixed,
        cut_kg_d=_cut(first),
        allowed_load=loads,
        allowed_load_total=total,
    )


def merge_plans(
    before: ResponsePlan | None, after: ResponsePlan, effective_from: dt.date, dataset: Dataset
) -> ResponsePlan:
    """One timeline: ``before``'s days up to ``effective_from``, then ``after``'s days.

    The days already behind a change cannot be changed: their assignments, cuts and costs
    are kept as they were; the totals add them to the re-planned remainder (an
    assignment's ``cost_yuan`` includes its restart cost).
    """
    if before is None:
        return after
    kept_days = [d for d in before.days if d.date < effective_from]
    kept = [a for a in before.assignments if a.date < effective_from]
    kept_cost = sum(a.cost_yuan for a in kept)
    kept_floor = sum(
        a.floor_cost_yuan
        if a.floor_cost_yuan is not None
        else floor_cost_yuan_d(dataset, a.source, a.floor)
        for a in kept
    )
    days = kept_days + [d for d in after.days if d.date >= effective_from]
    start = days[0].date if days else after.warning.start
    end = days[-1].date if days else after.warning.end
    warning = after.warning.model_copy(update={"start": start, "end": end})
    status = after.status
    if status == "no_warning" and kept:
        status = before.status
    return after.model_copy(
        update={
            "warning": warning,
            "status": status,
            "total_cost_yuan": round(after.total_cost_yuan + kept_cost, 6),
            "floor_cost_yuan": round(after.floor_cost_yuan + kept_floor, 6),
            "bound_yuan": round(after.bound_yuan + kept_cost, 6),
            "days": days,
            "assignments": kept + [a for a in after.assignments if a.date >= effective_from],
        }
    )


def starts_at(day: dt.date, warning: Mapping[str, Any]) -> dt.datetime:
    """When something starting on ``day`` takes effect, in the city's time: the warning's
    ``start_at`` (the forecast's ``effective_at``) on the warning's first day, else 00:00."""
    start_at = warning.get("start_at")
    if start_at and warning.get("start") == day.isoformat():
        return dt.datetime.fromisoformat(start_at).astimezone(CITY_OFFSET)
    return dt.datetime.combine(day, dt.time(0), CITY_OFFSET)


def ends_at(day: dt.date | None) -> dt.datetime | None:
    """24:00 of ``day`` in the city's time (None for an open end)."""
    if day is None:
        return None
    return dt.datetime.combine(day + ONE_DAY, dt.time(0), CITY_OFFSET)
