"""Transport duties of the synthetic city's key vehicle-using firms (emergency synth).

Steel, coking, cement and power plants move coal, ore, coke, clinker and ash by heavy
truck; their plans get the duties the Henan practice asks of such firms (no China III
heavy truck from yellow, no China IV from orange, no China V diesel at red) and a daily
cap on heavy-truck entries of 70 % (orange) and 50 % (red) of a normal day's, which is
taken as one truck per 50,000 yuan of daily value added (10 to 400). Deterministic: no
random draw, so the rest of the generated city does not change.
"""

from __future__ import annotations

from typing import Any

TRANSPORT_INDUSTRIES = frozenset({"steel", "coking", "cement", "power"})
YUAN_PER_TRUCK = 50_000


def transport_duties(industry: str, value_added_yuan_d: float) -> dict[str, Any] | None:
    """The plan's ``transport`` for a plant of ``industry`` (None: it has none)."""
    if industry not in TRANSPORT_INDUSTRIES:
        return None
    normal = min(400, max(10, round(value_added_yuan_d / YUAN_PER_TRUCK)))
    old = {"vehicle": "heavy_truck", "max_standard": 4}
    return {
        "yellow": {"banned": [{"vehicle": "heavy_truck", "max_standard": 3}]},
        "orange": {"banned": [old], "max_truck_entries_per_day": round(normal * 0.7)},
        "red": {
            "banned": [old, {"vehicle": "heavy_truck", "max_standard": 5, "fuels": ["diesel"]}],
            "max_truck_entries_per_day": round(normal * 0.5),
        },
    }


def with_transport(plan: dict[str, Any], industry: str) -> dict[str, Any]:
    """``plan`` (a synthetic plan dict) with its transport duties, if its industry has any."""
    value_added = sum(float(line["value_added_yuan_d"]) for line in plan["lines"])
    duties = transport_duties(industry, value_added)
    return plan if duties is None else {**plan, "transport": duties}
