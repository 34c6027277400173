"""The verification page's plots, drawn server-side by matplotlib as SVG documents.

The page shows each as an image (``data:image/svg+xml``): an SVG loaded as an image keeps
its own styles under the pages' Content-Security-Policy, and runs no script. Text stays
text (``svg.fonttype: none``): the browser draws the Chinese labels in its own fonts.
"""

from __future__ import annotations

import base64
import functools
import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

from emergency.verification.scores import Pair
from emergency.verification.views import LeadScoreView

LEAD_COLOURS = ("#c0392b", "#e67e22", "#2e86c1", "#7d3c98", "#7f8c8d")
"""Lead 0–1, 2, 3, 4, 5 and more."""
P = ParamSpec("P")
FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "DejaVu Sans"]


STYLE: dict[Any, Any] = {"svg.fonttype": "none", "font.family": FONTS, "axes.unicode_minus": False}
"""Text as text; fonts with Chinese first (set for these plots only, not globally)."""


def _styled(draw: Callable[P, str | None]) -> Callable[P, str | None]:
    """Draw under :data:`STYLE` (the fonts are read when each text is made): a font of
    :data:`FONTS` missing on this host only changes how the text is measured."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str | None:
        import matplotlib

        matplotlib.use("Agg")
        with matplotlib.rc_context(STYLE), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            return draw(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _svg(fig: Any) -> str:
    import logging

    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)  # "findfont: Font family not found": not a problem
    try:
        fig.tight_layout()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        font_log.setLevel(level)
        plt.close(fig)
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    """An SVG document as a ``data:`` URI for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _lead_colour(lead: int) -> str:
    return LEAD_COLOURS[min(max(lead, 1), len(LEAD_COLOURS)) - 1]


@_styled
def range_plot(pairs: Sequence[Pair]) -> str | None:
    """Forecast range against observation per day: a bar from low to high per forecast
    (coloured by lead, shifted a little per lead), the observed AQI as black dots; the
    heavy-day line at 200. None without pairs."""
    if not pairs:
        return None
    import matplotlib.dates as mdates

    fig, ax = _figure(9.0, 4.2)
    leads = sorted({p.lead_days for p in pairs})
    offsets = {lead: (i - (len(leads) - 1) / 2) * 0.12 for i, lead in enumerate(leads)}
    for lead in leads:
        group = [p for p in pairs if p.lead_days == lead]
        xs = [mdates.date2num(p.date) + offsets[lead] for p in group]
        lows = [float(p.low if p.low is not None else p.mid) for p in group]
        highs = [float(p.high if p.high is not None else p.mid) for p in group]
        label = f"{lead} 天 day{'s' if lead != 1 else ''}"
        ax.vlines(xs, lows, highs, colors=_lead_colour(lead), linewidth=3, label=label)
        ax.plot(xs, [float(p.mid) for p in group], "_", color=_lead_colour(lead), markersize=8)
    observed = sorted({(p.date, p.observed) for p in pairs})
    ax.plot(
        [mdates.date2num(d) for d, _ in observed],
        [v for _, v in observed],
        "o-",
        color="#111",
        markersize=4,
        linewidth=1,
        label="观测 observed",
    )
    ax.axhline(200, color="#7d3c98", linestyle="--", linewidth=1)
    ax.text(
        0.005,
        200,
        " 200 重度污染 heavy",
        va="bottom",
        fontsize=8,
        transform=ax.get_yaxis_transform(),
    )
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.set_ylabel("AQI")
    ax.set_title("预报范围与观测 Forecast range vs observed (预报时效 lead)", fontsize=10)
    ax.legend(
        fontsize=8, ncols=min(len(leads) + 1, 6), loc="upper center", bbox_to_anchor=(0.5, -0.1)
    )
    ax.grid(alpha=0.3)
    return _svg(fig)


@_styled
def lead_plot(rows: Sequence[LeadScoreView]) -> str | None:
    """Bias (bars) and mean absolute error (line) by lead day. None without rows."""
    if not rows:
        return None
    fig, ax = _figure(6.0, 3.2)
    leads = [r.lead_days for r in rows]
    ax.bar(leads, [r.bias for r in rows], color="#85c1e9", label="偏差 bias")
    ax.plot(leads, [r.mae for r in rows], "o-", color="#c0392b", label="平均绝对误差 MAE")
    ax.axhline(0, color="#555", linewidth=0.8)
    ax.set_xticks(leads)
    ax.set_xlabel("预报时效（天）lead (days)")
    ax.set_ylabel("AQI")
    ax.set_title("按预报时效的评分 Scores by lead day", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)
