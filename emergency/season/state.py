"""What is settled when a season is re-planned from a date (``season plan --from``).

Days before ``from_date`` are facts: each source held the loads given in
:attr:`SeasonState.held` (days and sources not given held normal, every line at 1). They
count toward every quota and the running-share figures, their cost (lost value added and
restarts) is part of the season's total, and a line stopped on the day before
``from_date`` stays stopped until its ``min_stop_days`` (counted from the start of that
stop) are over, without a new restart. Floors, exemptions, supply couplings and running
shares are rules from ``from_date`` on.

Stop days an approved emergency response ordered are part of ``held`` like any other, so
they count toward the stop quotas.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emergency.errors import InputError, ValidationErrors
from emergency.instance import Option
from emergency.measures import exact

if TYPE_CHECKING:
    from pathlib import Path

    from emergency.dataset import Dataset
    from emergency.season.model import SeasonInput

SETTLED = "settled"
"""Measure id of settled loads that match none of the source's plan measures."""
SETTLED_NAME = "已执行 / settled loads"


@dataclass(frozen=True)
class SeasonState:
    """What is settled when the season is re-planned from ``from_date``."""

    from_date: dt.date
    held: dict[str, dict[dt.date, dict[str, float]]] = field(default_factory=dict)
    """source id → date before ``from_date`` → line id → load held that day (0 = stopped).
    Days and sources not given held normal (every line at 1)."""


def first_planned(state: SeasonState | None, inp: SeasonInput) -> int:
    """Index of the first planned day: 0 without state or when ``from_date`` is on or
    before the season's start; :class:`InputError` when it is after the season's end."""
    if state is None:
        return 0
    season = inp.season
    if state.from_date > season.end:
        raise InputError(
            f"from {state.from_date}: after the end of season {season.id} ({season.end})"
        )
    if state.from_date <= season.start:
        return 0
    return (state.from_date - season.start).days


def check_state(state: SeasonState, inp: SeasonInput, dataset: Dataset) -> list[str]:
    """Problems with the held loads: unknown sources or lines, dates outside the settled
    days, loads outside 0..1."""
    season = inp.season
    out: list[str] = []
    for sid, per_day in state.held.items():
        plan = dataset.plans.get(sid)
        if plan is None:
            out.append(f"held.{sid}: no source with a plan {sid!r}")
            continue
        line_ids = {ln.id for ln in plan.lines}
        for day, loads in per_day.items():
            if not season.start <= day < state.from_date:
                out.append(
                    f"held.{sid}.{day}: not a settled day "
                    f"({season.start} .. the day before {state.from_date})"
                )
                continue
            for lid, load in loads.items():
                if lid not in line_ids:
                    out.append(f"held.{sid}.{day}.{lid}: {sid} has no line {lid!r}")
                elif not (isinstance(load, (int, float)) and 0 <= load <= 1):
                    out.append(f"held.{sid}.{day}.{lid}: load must be within 0 .. 1 (got {load!r})")
    return out


def held_loads(
    state: SeasonState | None, sid: str, day: dt.date, line_ids: list[str]
) -> tuple[float, ...]:
    """The loads a source held on a settled day (1 where not given)."""
    given = state.held.get(sid, {}).get(day, {}) if state is not None else {}
    return tuple(float(given.get(lid, 1.0)) for lid in line_ids)


def settled_option(
    loads: tuple[float, ...],
    value_added: list[float],
    emissions: list[tuple[float, float, float, float]],
) -> Option:
    """Loads matching none of the plan's measures as an option: cost = lost value added
    Σ va × (1 − load), cuts pro rata Σ emission × (1 − load)."""
    cut = [0.0, 0.0, 0.0, 0.0]
    cost = 0.0
    for load, va, em in zip(loads, value_added, emissions, strict=True):
        off = 1.0 - load
        cost += off * va
        for i in range(4):
            cut[i] += off * em[i]
    return Option(
        SETTLED,
        SETTLED_NAME,
        (exact(cut[0]), exact(cut[1]), exact(cut[2]), exact(cut[3])),
        exact(cost),
        loads,
    )


def _field(label: str, value: Any, problems: list[str]) -> Any:
    if value is None:
        problems.append(f"{label}: missing")
    return value


def state_from_schedule(
    schedule: Any, name: str, inp: SeasonInput, dataset: Dataset, from_date: dt.date
) -> SeasonState:
    """The held loads before ``from_date`` from a previous ``season plan --json`` output:
    its runs' ``line_loads`` (days not in a run held normal). Raises
    :class:`ValidationErrors` naming the file and the field."""
    problems: list[str] = []
    if not isinstance(schedule, dict):
        raise ValidationErrors([f"{name}: expected a JSON object (season plan --json)"])
    if schedule.get("season") != inp.season.id:
        raise ValidationErrors(
            [
                f"{name}: season: the schedule is for season {schedule.get('season')!r}, "
                f"not {inp.season.id!r}"
            ]
        )
    runs = schedule.get("assignments")
    if not isinstance(runs, list):
        raise ValidationErrors([f"{name}: assignments: expected a list of runs"])
    held: dict[str, dict[dt.date, dict[str, float]]] = {}
    season = inp.season
    for k, run in enumerate(runs):
        label = f"{name}: assignments[{k}]"
        if not isinstance(run, dict):
            problems.append(f"{label}: expected an object")
            continue
        sid = run.get("source")
        plan = dataset.plans.get(sid) if isinstance(sid, str) else None
        if plan is None:
            problems.append(f"{label}.source: no source with a plan {sid!r}")
            continue
        dates: list[dt.date] = []
        for key in ("start", "end"):
            try:
                dates.append(dt.date.fromisoformat(str(run.get(key))))
            except ValueError:
                problems.append(f"{label}.{key}: not a date {run.get(key)!r}")
        loads = run.get("line_loads")
        if not isinstance(loads, dict):
            problems.append(f"{label}.line_loads: expected {{line: load}}")
            continue
        line_ids = {ln.id for ln in plan.lines}
        clean: dict[str, float] = {}
        for lid, load in loads.items():
            if lid not in line_ids:
                problems.append(f"{label}.line_loads.{lid}: {sid} has no line {lid!r}")
            elif (
                isinstance(load, bool)
                or not isinstance(load, (int, float))
                or not math.isfinite(load)
                or not 0 <= load <= 1
            ):
                problems.append(f"{label}.line_loads.{lid}: a load within 0 .. 1 (got {load!r})")
            else:
                clean[lid] = float(load)
        if len(dates) < 2:
            continue
        start, end = dates
        if end < start or start < season.start or end > season.end:
            problems.append(f"{label}: {start} .. {end} is not within the season")
            continue
        day = start
        while day <= end and day < from_date:
            per_day = held.setdefault(str(sid), {})
            if day in per_day:
                problems.append(f"{label}: {sid} {day} is in two runs")
            per_day[day] = dict(clean)
            day += dt.timedelta(days=1)
    if problems:
        raise ValidationErrors(problems, what=name)
    return SeasonState(from_date, held)


def read_state(path: Path, inp: SeasonInput, dataset: Dataset, from_date: dt.date) -> SeasonState:
    """:func:`state_from_schedule` of a JSON file."""
    import json

    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON schedule ({exc})") from None
    return state_from_schedule(loaded, str(path), inp, dataset, from_date)


def with_risk(inp: SeasonInput, values: dict[dt.date, float]) -> SeasonInput:
    """The season with its risk replaced on the days given (other days keep theirs)."""
    from emergency.season.model import SeasonInput as _SeasonInput

    days = inp.season.days()
    risk = [values.get(day, inp.risk[i]) for i, day in enumerate(days)]
    return _SeasonInput(inp.season, risk, inp.name)
