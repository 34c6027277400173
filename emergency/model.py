"""The model as solver-neutral linear rows, one function per constraint family.

The same rows go to CP-SAT (:mod:`emergency.cpsat`, integers) and to the LP relaxation
(:mod:`emergency.lp`, floats), so the two can never describe different problems.

Variables are keyed tuples: ``("x", s, d, m)`` — source s takes measure m on day d (binary);
``("start", s, line, d)`` — a stop of that line starts on day d (binary);
``("short", d, row)`` — a shortfall on a target row (kg, continuous ≥ 0; phase 1 only).
Coefficients are in natural units (kg, yuan, loads); :mod:`emergency.scaling` turns rows
into integers for CP-SAT.

Every constraint family is one function ``add_…(built: BuiltModel) -> None`` that reads the
instance, the candidate measures and the targets from ``built`` and appends to
``built.linear``; :data:`FAMILIES` lists them and :func:`build` runs them in that order. A
new family is one more such function in :data:`FAMILIES`, a feasible and an infeasible case
in ``tests/test_model.py``, and it touches four other places:

- the checker (:func:`emergency.checker.check`) must test the same rule, independently: it
  is the specification every list is held to;
- the dominance pruning (:func:`emergency.optimiser.candidates`) drops a measure when
  another is at least as good on cuts, cost and stopped lines; if the new rule can make a
  dominated measure the better one (as supply edges do with loads), the pruning must know;
- the stationary-day folding (:func:`emergency.optimiser.stationary`), if the rule links
  days (as stops do) or differs between days: the one-day equivalent must stay exact, or
  refuse to fold;
- the days with the stops held (:func:`emergency.heldstops.day_instance`), if the rule
  links days: holding each line's stop state is what parts the days there, so a rule
  linking them otherwise must be held there too.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from emergency.instance import Choice, Instance

Key = tuple[str, int, int, int] | tuple[str, int, str]
Term = tuple[float, Key]


@dataclass
class Row:
    """``lo ≤ Σ coef·var ≤ hi``; ``tag`` names the row, target rows as ("target", d, row)."""

    terms: list[Term]
    lo: float = -math.inf
    hi: float = math.inf
    tag: tuple[str, int, str] | None = None


@dataclass
class LinearModel:
    """Variables, rows and objective, in natural units (no solver attached)."""

    binaries: list[Key] = field(default_factory=list)
    continuous: dict[Key, float] = field(default_factory=dict)
    """Continuous variables ≥ 0 with their upper bound."""
    one_of: list[list[Key]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    objective: list[Term] = field(default_factory=list)
    objective_const: float = 0.0


@dataclass
class BuiltModel:
    """The rows of one instance, and what every constraint family reads to write them."""

    instance: Instance
    candidates: list[list[tuple[int, ...]]]
    """Per source and day: the measures the model may choose (``optimiser.candidates``)."""
    targets_kg: list[dict[str, float]]
    """Per day and target row: the cut imposed (already capped at what is reachable)."""
    slack: bool
    """Target rows may fall short, by a continuous ``("short", d, row)`` variable (phase 1)."""
    linear: LinearModel = field(default_factory=LinearModel)


def measure_vars(built: BuiltModel, s: int, d: int) -> list[tuple[int, Key | None]]:
    """(measure, variable) for a source-day; the variable is None when the choice is forced."""
    options = built.candidates[s][d]
    if len(options) == 1:
        return [(options[0], None)]
    return [(m, ("x", s, d, m)) for m in options]


def _per_measure(built: BuiltModel, s: int, d: int, coef: list[float]) -> tuple[list[Term], float]:
    """Σ coef[m]·x[s,d,m] split into variable terms and a constant (forced choices)."""
    terms: list[Term] = []
    const = 0.0
    for m, key in measure_vars(built, s, d):
        c = coef[m]
        if not c:
            continue
        if key is None:
            const += c
        else:
            terms.append((c, key))
    return terms, const


def add_row(
    built: BuiltModel,
    terms: list[Term],
    const: float,
    lo: float,
    hi: float,
    tag: tuple[str, int, str] | None = None,
) -> None:
    """Add ``lo ≤ const + Σ terms ≤ hi``; a row with no variables is checked, not added."""
    if not terms:
        if const < lo - 1e-9 or const > hi + 1e-9:
            raise Infeasible(f"forced choices violate {tag or 'a constraint'}")
        return
    built.linear.rows.append(Row(terms, lo - const, hi - const, tag))


class Infeasible(Exception):
    """The forced choices alone break a constraint (e.g. a supply edge)."""


def add_choice(built: BuiltModel) -> None:
    """Exactly one measure per source and day; daily costs in the objective."""
    inst, linear = built.instance, built.linear
    for s, src in enumerate(inst.sources):
        costs = [o.cost_yuan_d for o in src.options]
        for d in range(inst.n_days):
            options = built.candidates[s][d]
            if len(options) == 1:
                linear.objective_const += costs[options[0]]
                continue
            keys: list[Key] = [("x", s, d, m) for m in options]
            linear.binaries.extend(keys)
            linear.one_of.append(keys)
            linear.objective.extend((costs[k[3]], k) for k in keys if costs[k[3]])  # type: ignore[misc]


def links_days(inst: Instance, s: int, li: int) -> bool:
    """Whether a stop of line ``li`` of source ``s`` matters beyond its day: it costs a
    restart, lasts several days, or continues a stop from before the instance."""
    line = inst.sources[s].lines[li]
    return (
        line.restart_cost_yuan > 0
        or line.min_stop_days > 1
        or inst.stopped_before.get((s, li), 0) > 0
    )


def stop_lines(built: BuiltModel) -> list[tuple[int, int]]:
    """Lines whose stops matter across days (:func:`links_days`) and some candidate
    stops."""
    inst = built.instance
    out = []
    for s, src in enumerate(inst.sources):
        for li in range(len(src.lines)):
            if links_days(inst, s, li) and any(
                src.options[m].stops(li) for d in range(inst.n_days) for m in built.candidates[s][d]
            ):
                out.append((s, li))
    return out


def add_stops(built: BuiltModel, *, days_apart: bool = False) -> None:
    """A stop start costs the restart and keeps the line stopped for its minimum days.

    ``days_apart``: only the rows of the first day (the stops in force, and the restart of
    a stop begun that day) — no start after it, no minimum stop (rows over two days)."""
    inst, linear = built.instance, built.linear
    n = inst.n_days
    for s, li in stop_lines(built):
        line = inst.sources[s].lines[li]
        stops = [1.0 if o.stops(li) else 0.0 for o in inst.sources[s].options]
        z = [_per_measure(built, s, d, stops) for d in range(n)]
        before = inst.stopped_before.get((s, li), 0)
        if before:
            for d in range(min(line.min_stop_days - before, n)):
                add_row(built, *z[d], 1.0, math.inf, ("stopped", d, f"{s}/{li}"))
        last = 1 if days_apart else n  # the days whose rows are written
        for d in range(last):
            y: Key = ("start", s, li, d)
            linear.binaries.append(y)
            # y ≥ z[d] − z[d−1]   ⇔   y − z[d] + z[d−1] ≥ 0
            terms = [(1.0, y)] + [(-c, k) for c, k in z[d][0]]
            const = -z[d][1]
            if d == 0:
                const += 1.0 if before else 0.0
            else:
                terms += z[d - 1][0]
                const += z[d - 1][1]
            add_row(built, terms, const, 0.0, math.inf)
            for t in range(d + 1, min(d + line.min_stop_days, last)):
                add_row(built, [*z[t][0], (-1.0, y)], z[t][1], 0.0, math.inf)
            if line.restart_cost_yuan:
                linear.objective.append((line.restart_cost_yuan, y))


def add_supply(built: BuiltModel) -> None:
    """load(dst) ≤ 1 − σ (1 − load(src)), written as the pairs of measures it allows.

    For each load t that a measure of the user (dst) runs its line at, every measure at t
    or above needs a measure of the supplier (src) that allows t:

        Σ x[dst, m : load(m) ≥ t]  ≤  Σ x[src, n : t ≤ 1 − σ (1 − load(n))]

    One row per such t that some supplier measure does not allow. With one measure per
    source these rows allow exactly the pairs the coupling allows (take t = the user's
    load), but their LP relaxation is far tighter than the single row
    load(dst) − σ·load(src) ≤ 1 − σ, which a mix of a source's measures meets half-way:
    on the synthetic city of 5,000 sources the LP bound rose from 88,000 to 5,800 yuan
    below the least cost, and so the reduced-cost cores (:mod:`emergency.core`) shrank.
    Loads and shares are compared as the decimals the data wrote (exact). A line coupled to
    another line of its own source allows or forbids each measure alone."""
    inst = built.instance
    for e in inst.edges:
        (s1, u), (s2, w) = e.src, e.dst
        share = _decimal(e.share)
        for d in range(inst.n_days):
            dst = measure_vars(built, s2, d)
            if s1 == s2:
                bad = [
                    (1.0, key)
                    for m, key in dst
                    if not _allows(_share_of(inst, s2, m, w), _share_of(inst, s1, m, u), share)
                ]
                _add_pairs(built, bad, d)
                continue
            src = measure_vars(built, s1, d)
            down = {m: _share_of(inst, s2, m, w) for m, _ in dst}
            up = {n: _share_of(inst, s1, n, u) for n, _ in src}
            for t in sorted(set(down.values())):
                allowed = [(-1.0, key) for n, key in src if _allows(t, up[n], share)]
                if len(allowed) == len(src):
                    continue  # every supplier measure allows t
                users = [(1.0, key) for m, key in dst if down[m] >= t]
                _add_pairs(built, users + allowed, d)


def _add_pairs(built: BuiltModel, terms: list[tuple[float, Key | None]], d: int) -> None:
    """Σ terms ≤ 0, a forced measure (key None) counted as a constant."""
    variable: list[Term] = [(c, k) for c, k in terms if k is not None]
    const = sum(c for c, k in terms if k is None)
    add_row(built, variable, const, -math.inf, 0.0, ("supply", d, ""))


def _share_of(inst: Instance, s: int, m: int, li: int) -> Fraction:
    """The load measure ``m`` runs line ``li`` of source ``s`` at, as written (exact)."""
    return _decimal(_load(inst, s, m, li))


@functools.cache
def _decimal(x: float) -> Fraction:
    """The decimal a data file wrote (0.7 → 7/10, not the binary float nearest it)."""
    return Fraction(repr(float(x)))


@functools.cache
def _allows(down: Fraction, up: Fraction, share: Fraction) -> bool:
    """A user's line may run at ``down`` while its supplier's runs at ``up``."""
    return down <= 1 - share * (1 - up)


def _load(inst: Instance, s: int, m: int, li: int) -> float:
    loads = inst.sources[s].options[m].loads
    return loads[li] if loads else 1.0


def add_targets(built: BuiltModel) -> None:
    """Σ cut ≥ target per day and row (pollutant, or SO2+NOx pooled); the targets are
    ``built.targets_kg``, already capped at min(T, R)."""
    inst, linear = built.instance, built.linear
    for d in range(inst.n_days):
        for name, idx in inst.pooled_rows(d):
            target = built.targets_kg[d][name]
            if target <= 0:
                continue
            terms: list[Term] = []
            const = 0.0
            for s, src in enumerate(inst.sources):
                options = built.candidates[s][d]
                if len(options) == 1:
                    const += sum(src.options[options[0]].cut_kg[i] for i in idx)
                    continue
                for m in options:
                    cut = sum(src.options[m].cut_kg[i] for i in idx)
                    if cut:
                        terms.append((cut, ("x", s, d, m)))
            if built.slack:
                key: Key = ("short", d, name)
                linear.continuous[key] = target
                terms.append((1.0, key))
            add_row(built, terms, const, target, math.inf, ("target", d, name))


Family = Callable[[BuiltModel], None]

FAMILIES: tuple[Family, ...] = (add_choice, add_stops, add_supply, add_targets)
"""Every constraint family, in the order the rows are written (``add_choice`` first: it
declares the measure variables the others use)."""


def build(
    inst: Instance,
    candidates: list[list[tuple[int, ...]]],
    targets_kg: list[dict[str, float]],
    *,
    slack: bool = False,
    days_apart: bool = False,
) -> BuiltModel:
    """The whole model: every constraint family of :data:`FAMILIES`, in order.

    With ``days_apart`` the rows that link a line's days are left out (stop starts after
    the first day, with their restarts, and minimum stops): each day alone, a relaxation,
    its least cost a lower bound on the whole model's (what the optimiser reports when the
    linked model's LP is not solved in time). Stops in force and the restarts of stops
    begun on the first day are kept (rows of that day alone).

    Raises :class:`Infeasible` when the forced choices alone break a row.
    """
    built = BuiltModel(inst, candidates, targets_kg, slack)
    for family in FAMILIES:
        if family is add_stops:
            add_stops(built, days_apart=days_apart)
            continue
        family(built)
    return built


def hint_of(built: BuiltModel, choice: Choice) -> dict[Key, int]:
    """The measure variables' values for the list ``choice`` (a CP-SAT hint)."""
    hint: dict[Key, int] = {}
    for k in built.linear.binaries:
        if k[0] == "x":
            _, s, d, m = k  # type: ignore[misc]
            hint[k] = int(choice[s][d] == m)
    return hint


def read_choice(built: BuiltModel, values: dict[Key, int]) -> Choice:
    """The measure of each source and day in a solution's ``values``."""
    inst = built.instance
    choice: Choice = []
    for s in range(len(inst.sources)):
        row = []
        for d in range(inst.n_days):
            options = built.candidates[s][d]
            row.append(
                options[0]
                if len(options) == 1
                else next(m for m in options if values[("x", s, d, m)])
            )
        choice.append(row)
    return choice
