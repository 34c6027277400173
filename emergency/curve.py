"""The least-cost curve: cost of meeting a cut fraction of every pollutant at once.

Like EPA CoST's control-cost curves, but the four pollutants are cut together, so the cost
at 20 % is the least cost of a list that cuts 20 % of SO2, NOx, PM *and* VOCs (less the
city's non-listed cuts), with the level's floors and protections in force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from emergency import POLLUTANTS
from emergency.duties import build_instance
from emergency.optimiser import optimise

if TYPE_CHECKING:
    from emergency.dataset import Dataset


@dataclass
class CurvePoint:
    fraction: float
    status: str
    cost_yuan: float
    gap: float
    shortfall_kg: dict[str, float]
    marginal_yuan_per_kg: dict[str, float]


def fractions(start: float, stop: float, step: float) -> list[float]:
    """start, start+step, … ≤ stop, in exact decimal steps."""
    a, b, s = (Fraction(str(x)) for x in (start, stop, step))
    out = []
    while a <= b:
        out.append(float(a))
        a += s
    return out


def least_cost_curve(
    dataset: Dataset,
    level: str,
    points: Sequence[float],
    *,
    time_limit_s: float = 20.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[CurvePoint]:
    """One day at ``level`` with the cut fraction of every pollutant set to each point."""
    base = build_instance(dataset, [(dt.date(2000, 1, 1), level)])
    other = dataset.city.levels[level].other_cut_kg_d
    baseline = dataset.city.baseline_kg_d
    out = []
    for k, f in enumerate(points):
        t = [
            float(
                Fraction(str(f)) * Fraction(str(baseline.get(p, 0.0)))
                - Fraction(str(other.get(p, 0.0)))
            )
            for p in POLLUTANTS
        ]
        base.targets_kg = [(t[0], t[1], t[2], t[3])]
        solved = optimise(base, time_limit_s=time_limit_s)
        out.append(
            CurvePoint(
                fraction=f,
                status=solved.status,
                cost_yuan=float(solved.cost_yuan),
                gap=solved.gap,
                shortfall_kg={k2: v for k2, v in solved.shortfall_kg[0].items() if v > 1e-6},
                marginal_yuan_per_kg=dict(solved.marginal_yuan_per_kg[0]),
            )
        )
        if progress:
            progress(k + 1, len(points))
    return out


def plot(points: Sequence[CurvePoint], path: str, title: str) -> None:
    """Cost against cut fraction; short points marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [p.fraction * 100 for p in points]
    ys = [p.cost_yuan / 1e4 for p in points]
    ax.plot(xs, ys, marker="o", color="#c0392b")
    for p, x, y in zip(points, xs, ys, strict=True):
        if p.status == "short":
            ax.annotate("short", (x, y), textcoords="offset points", xytext=(0, 8), ha="center")
    ax.set_xlabel("cut of SO2, NOx, PM and VOCs (% of whole-society baseline)")
    ax.set_ylabel("least cost (10^4 yuan/day)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
