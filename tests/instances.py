"""Tiny hand-built optimisation instances for the optimiser and checker tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emergency.instance import Edge, Instance, Line, Option, SourceDuty

if TYPE_CHECKING:
    import pytest

    from emergency.lp import LpResult
    from emergency.model import BuiltModel

DAY0 = dt.date(2016, 12, 16)
NORMAL_OPT = Option("normal", "normal operation", (0.0, 0.0, 0.0, 0.0), 0.0)


def opt(
    mid: str,
    so2: float = 0,
    nox: float = 0,
    pm: float = 0,
    vocs: float = 0,
    *,
    cost: float,
    loads: Sequence[float] = (),
) -> Option:
    return Option(mid, mid, (so2, nox, pm, vocs), cost, tuple(loads))


def source(
    sid: str,
    options: Sequence[Option],
    *,
    days: int = 1,
    floor: int = 0,
    fixed: str = "",
    lines: Sequence[Line] = (),
) -> SourceDuty:
    """A source whose measures are ``normal`` plus ``options``; allowed = floor and deeper."""
    opts = (NORMAL_OPT if not lines else _normal(len(lines)), *options)
    allowed = (floor,) if fixed else tuple(range(floor, len(opts)))
    return SourceDuty(
        sid,
        tuple(lines),
        opts,
        [floor] * days,
        [allowed] * days,
        [fixed] * days,
        ["test"] * days if fixed else [""] * days,
    )


def _normal(n_lines: int) -> Option:
    return Option("normal", "normal operation", (0.0, 0.0, 0.0, 0.0), 0.0, (1.0,) * n_lines)


def instance(
    sources: Sequence[SourceDuty],
    targets: Sequence[tuple[float, float, float, float]],
    *,
    pooled: bool = False,
    edges: Sequence[Edge] = (),
    stopped_before: dict[tuple[int, int], int] | None = None,
) -> Instance:
    n = len(targets)
    return Instance(
        dates=[DAY0 + dt.timedelta(days=i) for i in range(n)],
        levels=["orange"] * n,
        sources=list(sources),
        targets_kg=list(targets),
        pooled=[pooled] * n,
        edges=list(edges),
        stopped_before=dict(stopped_before or {}),
    )


def stationary_city(factory: pytest.TempPathFactory, n: int, seed: int) -> Instance:
    """A synthetic city of ``n`` sources, three orange days, folded to its one stationary
    day (as the optimiser solves it)."""
    from emergency.dataset import load_dataset
    from emergency.duties import build_instance
    from emergency.optimiser import stationary
    from emergency.synth import synthesize, write_city

    folder: Path = factory.mktemp(f"city-{n}-{seed}") / "city"
    write_city(synthesize(n, seed), folder)
    days = [(DAY0 + dt.timedelta(days=i), "orange") for i in range(3)]
    one = stationary(build_instance(load_dataset(folder), days))
    assert one is not None
    return one


def solved_lp(inst: Instance) -> tuple[BuiltModel, LpResult]:
    """The optimiser's model of ``inst`` and its LP relaxation, the solution kept."""
    from emergency.lp import solve_lp
    from emergency.model import build
    from emergency.optimiser import candidates, capped_targets

    built = build(inst, candidates(inst), capped_targets(inst)[0])
    return built, solve_lp(built.linear, inst.n_days, keep_solution=True)
