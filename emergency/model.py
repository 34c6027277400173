"""The model of SPEC §4 as solver-neutral linear rows, one function per constraint family.

The same rows go to CP-SAT (:mod:`emergency.cpsat`, integers) and to the LP relaxation
(:mod:`emergency.lp`, floats), so the two can never describe different problems.

Variables are keyed tuples: ``("x", s, d, m)`` — source s takes measure m on day d (binary);
``("start", s, line, d)`` — a stop of that line starts on day d (binary);
``("short", d, row)`` — a shortfall on a target row (kg, continuous ≥ 0; phase 1 only).
Coefficients are in natural units (kg, yuan, loads); :mod:`emergency.scaling` turns rows
into integers for CP-SAT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emergency.instance import Instance

Key = tuple[str, int, int, int] | tuple[str, int, str]
Term = tuple[float, Key]


@dataclass
class Row:
    """``lo ≤ const + Σ coef·var ≤ hi``; ``name`` tags target rows as ("target", d, row)."""

    terms: list[Term]
    lo: float = -math.inf
    hi: float = math.inf
    tag: tuple[str, int, str] | None = None


@dataclass
class LinearModel:
    binaries: list[Key] = field(default_factory=list)
    continuous: dict[Key, float] = field(default_factory=dict)
    """Continuous variables ≥ 0 with their upper bound."""
    one_of: list[list[Key]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    objective: list[Term] = field(default_factory=list)
    objective_const: float = 0.0


@dataclass
class Built:
    instance: Instance
    cand: list[list[tuple[int, ...]]]
    lm: LinearModel


def pick(b: Built, s: int, d: int) -> list[tuple[int, Key | None]]:
    """(measure, variable) for a source-day; the variable is None when the choice is forced."""
    c = b.cand[s][d]
    if len(c) == 1:
        return [(c[0], None)]
    return [(m, ("x", s, d, m)) for m in c]


def _expr(b: Built, s: int, d: int, coef: list[float]) -> tuple[list[Term], float]:
    """Σ coef[m]·x[s,d,m] split into variable terms and a constant (forced choices)."""
    terms: list[Term] = []
    const = 0.0
    for m, key in pick(b, s, d):
        c = coef[m]
        if not c:
            continue
        if key is None:
            const += c
        else:
            terms.append((c, key))
    return terms, const


def add_row(b: Built, terms: list[Term], const: float, lo: float, hi: float, tag=None) -> None:
    """Add ``lo ≤ const + Σ terms ≤ hi``; a row with no variables is checked, not added."""
    if not terms:
        if const < lo - 1e-9 or const > hi + 1e-9:
            raise Infeasible(f"forced choices violate {tag or 'a constraint'}")
        return
    b.lm.rows.append(Row(terms, lo - const, hi - const, tag))


class Infeasible(Exception):
    """The forced choices alone break a constraint (e.g. a supply edge)."""


def add_choice(b: Built) -> None:
    """Exactly one measure per source and day; daily costs in the objective."""
    inst = b.instance
    for s, src in enumerate(inst.sources):
        costs = [o.cost_yuan_d for o in src.options]
        for d in range(inst.n_days):
            if len(b.cand[s][d]) == 1:
                b.lm.objective_const += costs[b.cand[s][d][0]]
                continue
            keys: list[Key] = [("x", s, d, m) for m in b.cand[s][d]]
            b.lm.binaries.extend(keys)
            b.lm.one_of.append(keys)
            b.lm.objective.extend((costs[k[3]], k) for k in keys if costs[k[3]])  # type: ignore[misc]


def stop_lines(b: Built) -> list[tuple[int, int]]:
    """Lines whose stops matter across days: some candidate stops them, and a stop costs a
    restart, lasts several days, or continues a stop from before the instance."""
    inst = b.instance
    out = []
    for s, src in enumerate(inst.sources):
        for li, line in enumerate(src.lines):
            relevant = (
                line.restart_cost_yuan > 0
                or line.min_stop_days > 1
                or inst.stopped_before.get((s, li), 0) > 0
            )
            if relevant and any(
                src.options[m].stops(li) for d in range(inst.n_days) for m in b.cand[s][d]
            ):
                out.append((s, li))
    return out


def add_stops(b: Built) -> None:
    """A stop start costs the restart and keeps the line stopped for its minimum days."""
    inst = b.instance
    n = inst.n_days
    for s, li in stop_lines(b):
        line = inst.sources[s].lines[li]
        stops = [1.0 if o.stops(li) else 0.0 for o in inst.sources[s].options]
        z = [_expr(b, s, d, stops) for d in range(n)]
        before = inst.stopped_before.get((s, li), 0)
        if before:
            for d in range(min(line.min_stop_days - before, n)):
                add_row(b, *z[d], 1.0, math.inf, ("stopped", d, f"{s}/{li}"))
        for d in range(n):
            y: Key = ("start", s, li, d)
            b.lm.binaries.append(y)
            # y ≥ z[d] − z[d−1]   ⇔   y − z[d] + z[d−1] ≥ 0
            terms = [(1.0, y)] + [(-c, k) for c, k in z[d][0]]
            const = -z[d][1]
            if d == 0:
                const += 1.0 if before else 0.0
            else:
                terms += z[d - 1][0]
                const += z[d - 1][1]
            add_row(b, terms, const, 0.0, math.inf)
            for t in range(d + 1, min(d + line.min_stop_days, n)):
                add_row(b, [*z[t][0], (-1.0, y)], z[t][1], 0.0, math.inf)
            if line.restart_cost_yuan:
                b.lm.objective.append((line.restart_cost_yuan, y))


def add_supply(b: Built) -> None:
    """load(dst) ≤ 1 − σ (1 − load(src))   ⇔   load(dst) − σ·load(src) ≤ 1 − σ."""
    inst = b.instance
    for e in inst.edges:
        (s1, u), (s2, w) = e.src, e.dst
        up = [_load(inst, s1, m, u) for m in range(len(inst.sources[s1].options))]
        dn = [_load(inst, s2, m, w) for m in range(len(inst.sources[s2].options))]
        for d in range(inst.n_days):
            t2, c2 = _expr(b, s2, d, dn)
            t1, c1 = _expr(b, s1, d, up)
            terms = t2 + [(-e.share * c, k) for c, k in t1]
            add_row(b, terms, c2 - e.share * c1, -math.inf, 1.0 - e.share, ("supply", d, ""))


def _load(inst: Instance, s: int, m: int, li: int) -> float:
    loads = inst.sources[s].options[m].loads
    return loads[li] if loads else 1.0


def add_targets(b: Built, capped: list[dict[str, float]], slack: bool = False) -> None:
    """Σ cut ≥ min(T, R) per day and row (pollutant, or SO2+NOx pooled)."""
    inst = b.instance
    for d in range(inst.n_days):
        for name, idx in inst.pooled_rows(d):
            target = capped[d][name]
            if target <= 0:
                continue
            terms: list[Term] = []
            const = 0.0
            for s, src in enumerate(inst.sources):
                cut = [sum(o.cut_kg[i] for i in idx) for o in src.options]
                t, c = _expr(b, s, d, cut)
                terms += t
                const += c
            if slack:
                key: Key = ("short", d, name)
                b.lm.continuous[key] = target
                terms.append((1.0, key))
            add_row(b, terms, const, target, math.inf, ("target", d, name))


FAMILIES = (add_choice, add_stops, add_supply)


def build(
    inst: Instance,
    cand: list[list[tuple[int, ...]]],
    capped: list[dict[str, float]],
    *,
    slack: bool = False,
) -> Built:
    """The whole model: every constraint family, then the targets."""
    b = Built(inst, cand, LinearModel())
    for family in FAMILIES:
        family(b)
    add_targets(b, capped, slack=slack)
    return b
