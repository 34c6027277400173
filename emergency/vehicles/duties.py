"""Transport duties of a plan (移动源管控): the vehicles banned and a daily cap on heavy-truck
entries, per warning level.

A plan's optional ``transport`` maps a level to its duties::

    transport:
      orange: {banned: [{vehicle: heavy_truck, max_standard: 4}], max_truck_entries_per_day: 40}
      red:
        banned: [{vehicle: heavy_truck, max_standard: 5, fuels: [diesel]}]
        max_truck_entries_per_day: 20

- ``banned``: a vehicle of that kind whose China emission standard (国I…国VI as 1…6) is at
  most ``max_standard`` may not enter, of the listed ``fuels`` only (none listed: any fuel).
  Zero-emission vehicles (standard ``electric``) are never banned by a standard.
- ``max_truck_entries_per_day``: heavy trucks entering in one city day, zero-emission
  ones (electric, hydrogen) not counted.

A level the plan does not list has the duties of the nearest lower level it lists (none
below the lowest), so a higher level is never milder by omission; the levels listed must
be at least as strict going up (every ban of a lower level covered, the cap not higher).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from emergency import LEVELS
from emergency.yamlfile import Problem

VEHICLES: dict[str, str] = {
    "heavy_truck": "重型货车",
    "medium_truck": "中型货车",
    "light_truck": "轻型货车",
    "bus": "客车",
    "car": "小型汽车",
}
"""Vehicle kinds at a gate, with their Chinese names."""
FUELS: dict[str, str] = {
    "diesel": "柴油",
    "gasoline": "汽油",
    "gas": "燃气",
    "lng": "液化天然气",
    "cng": "压缩天然气",
    "electric": "纯电动",
    "hydrogen": "氢燃料",
}
"""Fuels, with their Chinese names."""
ZERO_EMISSION_FUELS = frozenset({"electric", "hydrogen"})
"""Fuels of vehicles without exhaust: their standard is ``electric``."""
ELECTRIC = "electric"
STANDARDS: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", ELECTRIC)
"""China emission standards 国I…国VI as ``"1"``…``"6"``; ``electric`` for zero-emission."""
CAPPED_VEHICLE = "heavy_truck"
"""The kind ``max_truck_entries_per_day`` counts."""
MAX_CAP = 100_000


def _one_of(allowed: Mapping[str, str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} (expected {', '.join(allowed)})")
        return value

    return AfterValidator(check)


VehicleKey = Annotated[str, _one_of(VEHICLES, "vehicle")]
FuelKey = Annotated[str, _one_of(FUELS, "fuel")]

CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)


class Ban(BaseModel):
    """Vehicles of a kind at or below a China emission standard may not enter."""

    model_config = CONFIG

    vehicle: VehicleKey
    max_standard: int = Field(
        ge=3, le=6, description="国III…国VI as 3…6: this standard and older are banned"
    )
    fuels: list[FuelKey] = Field(
        default_factory=list, description="only these fuels (none listed: any fuel)"
    )

    def bans(self, vehicle: str, standard: str, fuel: str) -> bool:
        """Whether this ban keeps out a vehicle of that kind, standard and fuel."""
        if vehicle != self.vehicle or not standard.isdigit():
            return False
        return int(standard) <= self.max_standard and (not self.fuels or fuel in self.fuels)

    def covers(self, other: Ban) -> bool:
        """Whether this ban keeps out every vehicle ``other`` keeps out."""
        return (
            self.vehicle == other.vehicle
            and self.max_standard >= other.max_standard
            and (not self.fuels or (bool(other.fuels) and set(other.fuels) <= set(self.fuels)))
        )

    def text(self) -> str:
        fuels = f" ({'/'.join(self.fuels)})" if self.fuels else ""
        return f"{self.vehicle} ≤ {self.max_standard}{fuels}"


class TransportDuty(BaseModel):
    """What one level asks of the vehicles entering an enterprise."""

    model_config = CONFIG

    banned: list[Ban] = Field(default_factory=list)
    max_truck_entries_per_day: int | None = Field(
        default=None,
        ge=0,
        le=MAX_CAP,
        description="heavy trucks entering in a city day (zero-emission ones not counted)",
    )

    def banning(self, vehicle: str, standard: str, fuel: str) -> Ban | None:
        """The first ban that keeps this vehicle out, if any."""
        return next((b for b in self.banned if b.bans(vehicle, standard, fuel)), None)


def duties_at(transport: Mapping[str, TransportDuty], level: str | None) -> TransportDuty | None:
    """The duties at ``level``: its own, else the nearest lower level's (None below the
    lowest level listed, or for no level)."""
    if level not in LEVELS:
        return None
    for lower in reversed(LEVELS[: LEVELS.index(level) + 1]):
        if lower in transport:
            return transport[lower]
    return None


def transport_problems(transport: Mapping[str, TransportDuty]) -> list[Problem]:
    """Going up the levels listed, each must be at least as strict as the one below: every
    ban below covered by a ban above, the cap not higher (nor dropped)."""
    problems: list[Problem] = []
    listed = [level for level in LEVELS if level in transport]
    for lower, higher in itertools.pairwise(listed):
        low, high = transport[lower], transport[higher]
        for ban in low.banned:
            if not any(b.covers(ban) for b in high.banned):
                problems.append(
                    Problem(
                        ("transport", higher, "banned"),
                        f"level {higher} is milder than {lower}: it does not ban {ban.text()}",
                    )
                )
        low_cap, high_cap = low.max_truck_entries_per_day, high.max_truck_entries_per_day
        if low_cap is not None and (high_cap is None or high_cap > low_cap):
            more = (
                f"no cap on heavy-truck entries where {lower} allows {low_cap} a day"
                if high_cap is None
                else f"{high_cap} heavy-truck entries a day where {lower} allows {low_cap}"
            )
            problems.append(
                Problem(
                    ("transport", higher, "max_truck_entries_per_day"),
                    f"level {higher} is milder than {lower}: {more}",
                )
            )
    return problems
