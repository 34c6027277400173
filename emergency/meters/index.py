"""Which line of which plan each meter measures, and the check that a meter has one line.

A meter is the evidence for one line: counted on two lines (of one plan or of two
enterprises) it would prove the load of both, and an enterprise could claim another's
meter to hide its own. :func:`meter_problems` finds every meter named twice in a data
folder; :func:`claimed_elsewhere` checks one plan submitted against the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emergency.plans import Plan
from emergency.yamlfile import Problem


@dataclass(frozen=True)
class MeterLine:
    """Where a meter is: the enterprise, its line and the meter's place in ``meters``."""

    enterprise: str
    line: str
    line_index: int
    meter_index: int


def meter_index(plans: Mapping[str, Plan]) -> dict[str, MeterLine]:
    """Meter id → its line (the first place it is named, plans in id order)."""
    index: dict[str, MeterLine] = {}
    for key in sorted(plans):
        for i, line in enumerate(plans[key].lines):
            for j, meter in enumerate(line.meters):
                index.setdefault(meter, MeterLine(key, line.id, i, j))
    return index


def line_meters(plans: Mapping[str, Plan]) -> dict[tuple[str, str], list[str]]:
    """(enterprise, line) → its meters, for every line that has one."""
    index = meter_index(plans)
    out: dict[tuple[str, str], list[str]] = {}
    for key in sorted(plans):
        for line in plans[key].lines:
            mine = [
                m for m in line.meters if index[m].enterprise == key and index[m].line == line.id
            ]
            if mine:
                out[key, line.id] = list(dict.fromkeys(mine))
    return out


def meter_problems(plans: Mapping[str, Plan]) -> dict[str, list[Problem]]:
    """Meters named more than once in the folder, per plan key (file), each problem at
    ``lines[i].meters[j]`` of the later place, naming the first."""
    first: dict[str, tuple[str, str, int, int]] = {}
    problems: dict[str, list[Problem]] = {}
    for key in sorted(plans):
        for i, line in enumerate(plans[key].lines):
            for j, meter in enumerate(line.meters):
                seen = first.get(meter)
                if seen is None:
                    first[meter] = (key, line.id, i, j)
                    continue
                owner, owner_line, oi, oj = seen
                where = (
                    f"lines[{oi}].meters[{oj}]"
                    if owner == key
                    else f"{owner}'s line {owner_line!r}"
                )
                problems.setdefault(key, []).append(
                    Problem(
                        ("lines", i, "meters", j),
                        f"meter {meter!r} already measures {where}: a meter belongs to one line",
                    )
                )
    return problems


def claimed_elsewhere(plan: Plan, others: Mapping[str, Plan], *, reveal: bool) -> list[Problem]:
    """Problems of a submitted plan whose meters another enterprise's plan already names.

    Without ``reveal`` (an enterprise submitting its own plan) the other enterprise is not
    named: a competitor's meters are not to be learnt from error messages."""
    taken = {
        meter: key
        for key, other in others.items()
        if key != plan.enterprise
        for line in other.lines
        for meter in line.meters
    }
    problems = []
    for i, line in enumerate(plan.lines):
        for j, meter in enumerate(line.meters):
            owner = taken.get(meter)
            if owner is None:
                continue
            whose = f"{owner}'s plan" if reveal else "another enterprise's plan"
            problems.append(
                Problem(
                    ("lines", i, "meters", j),
                    f"meter {meter!r} is named in {whose}: a meter belongs to one line",
                )
            )
    return problems
