"""Synthetic meters and readings: the bundled city's meters, and 15-minute readings of an
episode in which a few firms cheat.

:func:`meter_ids` gives each line of a synthetic plan one or two meters; it draws nothing
from the city's random generator (a checksum of the ids decides), so the rest of the city
stays as it was. :func:`synth_readings` writes the readings of the two baseline days and
of the episode's days, each line at the load it is told (1.0 before the warning), with a
little noise; ``cheat`` firms break their orders on one day each — a stopped line run at
full load from 00:00 to 06:00 (``night``), or a limited line run 0.3 above its allowed
load all day (``over``). The same arguments give the same readings.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from emergency import ONE_DAY
from emergency.dataset import Dataset
from emergency.meters.index import line_meters
from emergency.settings import CITY_OFFSET

QUARTER = dt.timedelta(minutes=15)
STANDBY = 0.02
"""What a stopped line draws, as a fraction of normal (below the 5 % threshold)."""
NOISE = 0.03
"""Each quarter hour's kWh varies by ± this fraction."""
NIGHT_HOURS = 6
"""A ``night`` cheat runs its stopped line at full load from 00:00 for this many hours."""
OVER = 0.3
"""An ``over`` cheat runs its limited line this far above its allowed load."""

Loads = Callable[[str, str, dt.date], float]
"""(source, line, day) → the load the line runs at (1.0 = normal, 0 = stopped)."""
Reading = tuple[str, dt.datetime, float]


def meter_ids(enterprise: str, line: str) -> list[str]:
    """The meters of a synthetic line: ``<enterprise>-<line>-E1``, and ``-E2`` for about
    a third of the lines (decided by a checksum of the ids, not by a random draw)."""
    two = zlib.crc32(f"{enterprise}/{line}".encode()) % 3 == 0
    return [f"{enterprise}-{line}-E{k}" for k in range(1, 3 if two else 2)]


def normal_kwh_d(value_added_yuan_d: float) -> float:
    """A synthetic line's daily kWh at normal load: a quarter of a kWh per yuan of value
    added, at least 2,000 kWh (plausible for heavy industry, not a measured ratio)."""
    return max(2000.0, round(0.25 * value_added_yuan_d, -1))


@dataclass(frozen=True)
class Cheat:
    """A firm that breaks its order on one day, on one line."""

    source: str
    line: str
    day: dt.date
    kind: Literal["night", "over"]
    allowed: float


def _quarters(day: dt.date) -> Iterator[dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), CITY_OFFSET)
    for k in range(96):
        yield start + k * QUARTER


def synth_readings(
    dataset: Dataset,
    first_day: dt.date,
    days: int,
    loads: Loads,
    *,
    cheat: int = 0,
    seed: int = 2016,
) -> tuple[list[Reading], list[Cheat]]:
    """Readings of every meter of ``dataset`` from two days before ``first_day`` to the
    episode's last day, and the cheats hidden in them.

    Parameters
    ----------
    loads
        The load each line is told to run at on each day of the episode (the orders).
    cheat
        How many firms cheat (at most those that have a line under a demand).
    seed
        Seed of the noise and of the choice of cheats.
    """
    rng = random.Random(seed)
    metered = line_meters(dataset.plans)
    episode = [first_day + k * ONE_DAY for k in range(days)]
    told = {(s, ln, d): loads(s, ln, d) for (s, ln) in metered for d in episode}
    candidates: dict[str, list[tuple[str, dt.date, float]]] = {}
    for (source, line, day), load in sorted(told.items()):
        if load < 1:
            candidates.setdefault(source, []).append((line, day, load))
    cheats: list[Cheat] = []
    for source in rng.sample(sorted(candidates), min(cheat, len(candidates))):
        line, day, load = candidates[source][rng.randrange(len(candidates[source]))]
        cheats.append(Cheat(source, line, day, "night" if load == 0 else "over", load))
    cheats.sort(key=lambda c: (c.source, c.line, c.day))
    broken = {(c.source, c.line, c.day): c for c in cheats}
    out: list[Reading] = []
    for (source, line), meters in sorted(metered.items()):
        plan = dataset.plans[source]
        normal = normal_kwh_d(plan.lines_by_id[line].value_added_yuan_d) / 96
        shares = [0.6, 0.4] if len(meters) == 2 else [1.0 / len(meters)] * len(meters)
        for day in [first_day - 2 * ONE_DAY, first_day - ONE_DAY, *episode]:
            load = told.get((source, line, day), 1.0)
            fault = broken.get((source, line, day))
            for t in _quarters(day):
                running = load
                if fault is not None and fault.kind == "night" and t.hour < NIGHT_HOURS:
                    running = 1.0
                elif fault is not None and fault.kind == "over":
                    running = min(1.0, load + OVER)
                level = running if running > 0 else STANDBY
                kwh = normal * level * rng.uniform(1 - NOISE, 1 + NOISE)
                for meter, share in zip(meters, shares, strict=True):
                    out.append((meter, t, round(kwh * share, 2)))
    return out, cheats


def floor_loads(dataset: Dataset, level: str) -> Loads:
    """Each line at its plan's floor measure of ``level`` (what a city without deeper
    orders asks)."""

    def load(source: str, line: str, _day: dt.date) -> float:
        plan = dataset.plans.get(source)
        return 1.0 if plan is None else plan.load(plan.floor(level), line)

    return load


def order_loads(orders: dict[tuple[str, dt.date], dict[str, float]]) -> Loads:
    """Each line at its allowed load under the order in force that day, from
    ``(source, day) → {line: allowed load}`` (normal where no order is)."""

    def load(source: str, line: str, day: dt.date) -> float:
        return float(orders.get((source, day), {}).get(line, 1.0))

    return load
