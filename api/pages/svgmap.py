"""Sources on a map from their lon/lat, coloured by what they do on a day (inline SVG).

No tiles, no script: an equirectangular projection scaled by the cosine of the mean
latitude (true to scale within a city), district names at the centre of their sources,
a 10 km scale bar. Each dot links to the source's page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from api.pages.views import CATEGORIES
from emergency import POLLUTANTS
from emergency.solution import Assignment

if TYPE_CHECKING:
    from emergency.dataset import Dataset

WIDTH = 960
HEIGHT = 600
PAD = 36
KM_PER_DEGREE = 111.32
MIN_SPAN_DEG = 0.1


@dataclass
class MapLegend:
    key: str
    label: str
    count: int


def _radius(total_kg_d: float, largest: float) -> float:
    if largest <= 0:
        return 4.0
    return 3.5 + 7.5 * math.sqrt(max(0.0, total_kg_d) / largest)


def source_map(
    dataset: Dataset,
    categories: Mapping[str, tuple[str, Assignment | None]],
    link: str,
    *,
    label: str,
    names: Mapping[str, str] = CATEGORIES,
    notes: Mapping[str, str] | None = None,
) -> tuple[Markup, list[MapLegend]]:
    """The SVG map and its legend (with counts).

    Parameters
    ----------
    categories : per source with an assignment: (category, assignment); others ``normal``.
    link : the link of a dot, with ``{source}`` for the source id.
    label : the accessible name of the map.
    names : the categories and their legend labels (default: what a source does on a day).
    notes : per source, what its dot's title says instead of its measure.
    """
    sources = [s for s in dataset.sources if math.isfinite(s.lon) and math.isfinite(s.lat)]
    if not sources:
        return Markup(""), []
    lat0 = sum(s.lat for s in sources) / len(sources)
    kx = math.cos(math.radians(lat0))
    xs = [s.lon * kx for s in sources]
    ys = [s.lat for s in sources]
    # At least MIN_SPAN_DEG across, so that a few close sources are not blown up to a city.
    span_x = max(max(xs) - min(xs), MIN_SPAN_DEG)
    span_y = max(max(ys) - min(ys), MIN_SPAN_DEG)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)
    min_x = (max(xs) + min(xs) - span_x) / 2
    max_y = (max(ys) + min(ys) + span_y) / 2
    off_x = (WIDTH - scale * span_x) / 2
    off_y = (HEIGHT - scale * span_y) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return off_x + (lon * kx - min_x) * scale, off_y + (max_y - lat) * scale

    totals = {s.id: sum(getattr(s, f"{p}_kg_d") for p in POLLUTANTS) for s in sources}
    largest = max(totals.values(), default=0.0)
    parts = [
        f'<svg class="map" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f'<rect class="map-bg" x="0" y="0" width="{WIDTH}" height="{HEIGHT}"/>',
    ]
    districts: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in sources:
        districts[s.district].append(project(s.lon, s.lat))
    for name, points in sorted(districts.items()):
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        parts.append(
            f'<text class="district" x="{cx:.1f}" y="{cy - 12:.1f}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    counts: dict[str, int] = dict.fromkeys(names, 0)
    # Largest first, so that small sources stay visible on top.
    for s in sorted(sources, key=lambda s: (-totals[s.id], s.id)):
        kind, assignment = categories.get(s.id, ("normal", None))
        counts[kind] = counts.get(kind, 0) + 1
        x, y = project(s.lon, s.lat)
        measure = assignment.measure_name or assignment.measure if assignment else "normal"
        if notes is not None and s.id in notes:
            measure = notes[s.id]
        text = f"{s.id} {s.name} ({s.district}): {measure} — {names.get(kind, kind)}"
        href = link.format(source=s.id)
        parts.append(
            f'<a href="{escape(href)}" aria-label="{escape(text)}">'
            f'<circle class="dot cat-{kind} kind-{escape(s.kind)}" cx="{x:.1f}" cy="{y:.1f}" '
            f'r="{_radius(totals[s.id], largest):.1f}"><title>{escape(text)}</title></circle></a>'
        )
    parts += _scale_bar(scale)
    parts.append(
        f'<text class="north" x="{WIDTH - 24}" y="30" text-anchor="middle">N</text>'
        f'<path class="north" d="M{WIDTH - 24},34 l-6,14 l6,-4 l6,4 z"/>'
    )
    parts.append("</svg>")
    legend = [MapLegend(k, names[k], counts.get(k, 0)) for k in names]
    return Markup("".join(parts)), legend


def _scale_bar(scale: float) -> list[str]:
    """A 10 km bar (5 km if 10 km would not fit) at the bottom left."""
    px_per_km = scale / KM_PER_DEGREE  # projected units are degrees of latitude
    km = 10 if px_per_km * 10 < WIDTH / 3 else 5
    length = px_per_km * km
    y = HEIGHT - 16
    return [
        f'<line class="scale" x1="16" x2="{16 + length:.1f}" y1="{y}" y2="{y}"/>',
        f'<text class="tick" x="{16 + length / 2:.1f}" y="{y - 6}" text-anchor="middle">'
        f"{km} km</text>",
    ]
