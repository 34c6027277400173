"""Cut against target, per target row and day, as inline SVG bar charts (server-side).

One chart per target row of the plan (``so2``, ``nox``, ``pm``, ``vocs``; ``so2+nox`` where
the city pools them): a bar per day for the cut, a dashed line at the target, and the
shortfall in red. No script, no external file: the SVG is part of the page.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from api.pages.render import number, pollutant_label
from emergency.solution import ResponsePlan

WIDTH = 320
HEIGHT = 160
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 14, 34


@dataclass
class Bar:
    date: dt.date
    level: str
    target_kg: float
    capped_kg: float
    cut_kg: float
    shortfall_kg: float
    marginal_yuan_per_kg: float


@dataclass
class Chart:
    key: str
    label: str
    bars: list[Bar]
    svg: Markup

    @property
    def met(self) -> bool:
        return all(b.shortfall_kg <= 1e-6 for b in self.bars)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _svg(key: str, label: str, bars: list[Bar]) -> Markup:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top = _nice_max(max([max(b.cut_kg, b.target_kg, 0.0) for b in bars] or [0.0]) * 1.05)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - max(0.0, value) / top)

    slot = plot_w / max(1, len(bars))
    bar_w = min(44.0, slot * 0.62)
    ident = f"chart-{key.replace('+', '-')}"
    summary = f"{label}: " + "; ".join(
        f"{b.date:%m-%d} cut {number(b.cut_kg)} kg, target {number(b.target_kg)} kg"
        + (f", short {number(b.shortfall_kg)} kg" if b.shortfall_kg > 1e-6 else "")
        for b in bars
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(label)}: 减排量与目标 cut against target (kg)</title>',
        f'<desc id="{ident}-d">{escape(summary)}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        value = top * fraction
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(_short(value))}</text>"
        )
    for i, b in enumerate(bars):
        cx = LEFT + slot * (i + 0.5)
        x0 = cx - bar_w / 2
        cut_y = y(b.cut_kg)
        parts.append(
            f'<rect class="bar" x="{x0:.1f}" y="{cut_y:.1f}" width="{bar_w:.1f}" '
            f'height="{max(0.0, TOP + plot_h - cut_y):.1f}"><title>{b.date} '
            f"cut {escape(number(b.cut_kg))} kg</title></rect>"
        )
        if b.shortfall_kg > 1e-6:
            short_y = y(b.cut_kg + b.shortfall_kg)
            parts.append(
                f'<rect class="short" x="{x0:.1f}" y="{short_y:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.0, cut_y - short_y):.1f}"><title>short '
                f"{escape(number(b.shortfall_kg))} kg</title></rect>"
            )
        ty = y(b.target_kg)
        parts.append(
            f'<line class="target" x1="{x0 - 4:.1f}" x2="{x0 + bar_w + 4:.1f}" '
            f'y1="{ty:.1f}" y2="{ty:.1f}"><title>target {escape(number(b.target_kg))} kg'
            f"</title></line>"
        )
        parts.append(
            f'<text class="day" x="{cx:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
            f"{b.date:%m-%d}</text>"
        )
        parts.append(
            f'<text class="day level-{escape(b.level)}" x="{cx:.1f}" y="{HEIGHT - BOTTOM + 27}" '
            f'text-anchor="middle">{escape(b.level)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def target_charts(plan: ResponsePlan) -> list[Chart]:
    """One chart per target row, days in order (a day without that row is left out)."""
    keys: list[str] = []
    bars: dict[str, list[Bar]] = {}
    for day in plan.days:
        for row in day.rows:
            if row.row not in bars:
                keys.append(row.row)
                bars[row.row] = []
            bars[row.row].append(
                Bar(
                    date=day.date,
                    level=day.level,
                    target_kg=row.target_kg,
                    capped_kg=row.capped_kg,
                    cut_kg=row.cut_kg,
                    shortfall_kg=row.shortfall_kg,
                    marginal_yuan_per_kg=row.marginal_cost_yuan_per_kg,
                )
            )
    charts = []
    for key in keys:
        label = pollutant_label(key)
        charts.append(Chart(key=key, label=label, bars=bars[key], svg=_svg(key, label, bars[key])))
    return charts
