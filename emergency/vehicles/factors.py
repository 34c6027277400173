"""Indicative emission of one vehicle entry, to rank vehicle breaches against the others.

The kilograms are **indicative**: an order of magnitude to place a banned truck or a day
over the cap among the other anomalies, not an inventory. They are built from typical
per-kilometre factors of heavy trucks by China emission standard and fuel, of the order of
the base emission factors in the Ministry of Ecology and Environment's technical guide for
road vehicle emission inventories (《道路机动车大气污染物排放清单编制技术指南（试行）》,
2014) and their later updates for 国V/国VI; scaled for smaller vehicles; over one loaded
trip of :data:`TRIP_KM` within the region per entry. Zero-emission vehicles count 0
(road dust is left out).
"""

from __future__ import annotations

from emergency.vehicles.duties import ZERO_EMISSION_FUELS

TRIP_KM = 50.0
"""Kilometres driven in the region for one entry (to the works and back, loaded one way)."""

HEAVY_G_KM: dict[str, dict[str, tuple[float, float, float]]] = {
    # standard: (NOx, PM, VOCs) in g/km, heavy truck
    "diesel": {
        "1": (11.0, 0.80, 1.00),
        "2": (9.5, 0.50, 0.80),
        "3": (8.0, 0.30, 0.50),
        "4": (6.0, 0.10, 0.30),
        "5": (4.5, 0.05, 0.20),
        "6": (0.8, 0.01, 0.05),
    },
    "gas": {  # natural gas (gas, LNG, CNG)
        "1": (8.0, 0.05, 2.00),
        "2": (8.0, 0.05, 2.00),
        "3": (6.0, 0.03, 1.50),
        "4": (4.0, 0.02, 1.00),
        "5": (3.0, 0.01, 0.80),
        "6": (0.5, 0.005, 0.20),
    },
    "gasoline": {
        "1": (3.0, 0.05, 3.00),
        "2": (2.0, 0.03, 2.00),
        "3": (1.0, 0.02, 1.00),
        "4": (0.5, 0.01, 0.50),
        "5": (0.3, 0.005, 0.30),
        "6": (0.1, 0.003, 0.10),
    },
}
"""Typical heavy-truck factors, g/km (NOx, PM, VOCs) by fuel group and standard."""
FUEL_GROUP = {"diesel": "diesel", "gas": "gas", "lng": "gas", "cng": "gas", "gasoline": "gasoline"}
SIZE = {"heavy_truck": 1.0, "bus": 0.8, "medium_truck": 0.5, "light_truck": 0.2, "car": 0.05}
"""A vehicle kind's emission relative to a heavy truck of the same standard and fuel."""


def entry_kg(vehicle: str, standard: str, fuel: str) -> dict[str, float]:
    """Indicative kilograms per pollutant (``nox``, ``pm``, ``vocs``) of one entry; empty
    for a zero-emission vehicle."""
    if fuel in ZERO_EMISSION_FUELS or not standard.isdigit():
        return {}
    table = HEAVY_G_KM[FUEL_GROUP.get(fuel, "diesel")]
    nox, pm, vocs = table.get(standard, table["1"])
    scale = SIZE.get(vehicle, 1.0) * TRIP_KM / 1000.0
    return {p: round(g * scale, 4) for p, g in (("nox", nox), ("pm", pm), ("vocs", vocs))}


def total(amounts: list[dict[str, float]]) -> dict[str, float]:
    """Per pollutant, the sum of several entries' kilograms."""
    out: dict[str, float] = {}
    for amount in amounts:
        for pollutant, kg in amount.items():
            out[pollutant] = round(out.get(pollutant, 0.0) + kg, 4)
    return out
