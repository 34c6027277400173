"""Solver-independent checker: the specification of a valid curtailment list.

Given an :class:`~emergency.instance.Instance` and a choice of one measure per source and
day, it recomputes in exact rational arithmetic the cuts, the daily costs, the stop starts
and their restart costs, and reports every violated rule of the model: measures outside the
allowed set (floors, guaranteed firms, protected grades, overrides), minimum stop days,
supply couplings and the (capped) targets. Every optimiser test and the benchmark run
their lists through it; it shares no code with the optimiser. A new constraint family in
:mod:`emergency.model` needs its rule here too, written again from the specification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from emergency.instance import Choice, Instance


@lru_cache(maxsize=65536)
def exact_decimal(x: float) -> Fraction:
    """The decimal a data file wrote, exactly (0.7 → 7/10, not the binary float)."""
    return Fraction(repr(float(x)))


@dataclass
class CheckReport:
    violations: list[str] = field(default_factory=list)
    daily_cost_yuan: Fraction = Fraction(0)
    restart_cost_yuan: Fraction = Fraction(0)
    cut_kg: list[list[Fraction]] = field(default_factory=list)
    """Per day, per pollutant."""
    shortfall_kg: list[dict[str, Fraction]] = field(default_factory=list)
    """Per day, per target row: capped target minus cut, where positive."""
    starts: list[tuple[int, int, int]] = field(default_factory=list)
    """(source, line, day) of every stop start."""

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def cost_yuan(self) -> Fraction:
        return self.daily_cost_yuan + self.restart_cost_yuan


def _load(instance: Instance, s: int, m: int, line: int) -> Fraction:
    loads = instance.sources[s].options[m].loads
    return exact_decimal(loads[line]) if loads else Fraction(1)


def check(
    instance: Instance,
    choice: Choice,
    *,
    allowed_shortfall_kg: list[dict[str, float]] | None = None,
) -> CheckReport:
    """Recompute everything about ``choice`` and list what it violates.

    Parameters
    ----------
    instance:
        The decision's data.
    choice:
        ``choice[s][d]``: index of the measure of source ``s`` on day ``d``.
    allowed_shortfall_kg:
        Per day and target row ("so2", "so2+nox", ...), a shortfall the list declares
        (when capped targets cannot all be met together); a row may fall short of
        its capped target by at most that much.
    """
    rep = CheckReport()
    n = instance.n_days
    if len(choice) != len(instance.sources):
        rep.violations.append(f"choice has {len(choice)} sources, instance {len(instance.sources)}")
        return rep
    for s, src in enumerate(instance.sources):
        if len(choice[s]) != n:
            rep.violations.append(f"{src.id}: {len(choice[s])} days chosen, expected {n}")
            return rep
        for d in range(n):
            m = choice[s][d]
            if not 0 <= m < len(src.options):
                rep.violations.append(f"{src.id} day {d + 1}: unknown measure index {m}")
                return rep
            if m not in src.allowed[d]:
                why = src.fixed[d] or "below the floor"
                rep.violations.append(
                    f"{src.id} {instance.dates[d]}: measure {src.options[m].id} not allowed "
                    f"({why}; floor {src.options[src.floor[d]].id})"
                )

    # Cuts and daily costs, exactly.
    for d in range(n):
        cut = [Fraction(0)] * 4
        for s, src in enumerate(instance.sources):
            opt = src.options[choice[s][d]]
            for i in range(4):
                cut[i] += exact_decimal(opt.cut_kg[i])
            rep.daily_cost_yuan += exact_decimal(opt.cost_yuan_d)
        rep.cut_kg.append(cut)

    # Stops: restart costs and minimum stop days (state before day 1 included).
    for s, src in enumerate(instance.sources):
        for li, line in enumerate(src.lines):
            before = instance.stopped_before.get((s, li), 0)
            stopped = [_load(instance, s, choice[s][d], li) == 0 for d in range(n)]
            # A stop that began before this instance still binds its remaining days.
            if before > 0:
                for d in range(min(line.min_stop_days - before, n)):
                    if not stopped[d]:
                        rep.violations.append(
                            f"{src.id}/{line.id} {instance.dates[d]}: restarted before its "
                            f"minimum stop of {line.min_stop_days} days"
                        )
            prev = before > 0
            for d in range(n):
                if stopped[d] and not prev:
                    rep.starts.append((s, li, d))
                    rep.restart_cost_yuan += exact_decimal(line.restart_cost_yuan)
                    for t in range(d, min(d + line.min_stop_days, n)):
                        if not stopped[t]:
                            rep.violations.append(
                                f"{src.id}/{line.id} {instance.dates[t]}: restarted before its "
                                f"minimum stop of {line.min_stop_days} days"
                            )
                prev = stopped[d]

    # Supply couplings.
    for e in instance.edges:
        (s1, u), (s2, w) = e.src, e.dst
        for d in range(n):
            up = _load(instance, s1, choice[s1][d], u)
            down = _load(instance, s2, choice[s2][d], w)
            if down > 1 - exact_decimal(e.share) * (1 - up):
                rep.violations.append(
                    f"{instance.sources[s2].id}/{instance.sources[s2].lines[w].id} "
                    f"{instance.dates[d]}: load {float(down):g} exceeds what its supplier "
                    f"{instance.sources[s1].id}/{instance.sources[s1].lines[u].id} at "
                    f"{float(up):g} allows (share {e.share:g})"
                )

    # Targets, capped at what is reachable that day.
    for d in range(n):
        short: dict[str, Fraction] = {}
        for name, idx in instance.pooled_rows(d):
            target = sum((exact_decimal(instance.targets_kg[d][i]) for i in idx), Fraction(0))
            reach = Fraction(0)
            for src in instance.sources:
                reach += max(
                    sum((exact_decimal(src.options[m].cut_kg[i]) for i in idx), Fraction(0))
                    for m in src.allowed[d]
                )
            capped = min(target, reach)
            got = sum((rep.cut_kg[d][i] for i in idx), Fraction(0))
            if got < capped:
                short[name] = capped - got
                allowed = Fraction(0)
                if allowed_shortfall_kg is not None:
                    allowed = exact_decimal(allowed_shortfall_kg[d].get(name, 0.0))
                if capped - got > allowed + Fraction(1, 1000):
                    rep.violations.append(
                        f"{instance.dates[d]} {name}: cut {float(got):.2f} kg below the "
                        f"target {float(capped):.2f} kg"
                    )
        rep.shortfall_kg.append(short)
    return rep
