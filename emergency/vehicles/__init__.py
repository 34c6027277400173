"""Vehicles (移动源): transport duties of the plans, gate records (门禁) and their breaches.

- :mod:`emergency.vehicles.duties`: the plan's ``transport`` per level (bans, daily cap);
- :mod:`emergency.vehicles.plates`: Chinese number plates;
- :mod:`emergency.vehicles.factors`: indicative emission per vehicle entry;
- :mod:`emergency.vehicles.records`: gate records in (API, CSV), append-only, idempotent;
- :mod:`emergency.vehicles.breaches`: ``vehicle_banned`` and ``vehicle_over_cap``.

See docs/VEHICLES.md.
"""
