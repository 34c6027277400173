"""Electricity sub-meters (分表计电): independent evidence that orders were carried out.

Plans map meters to lines (``lines[].meters``); the power utility's gateway sends
15-minute kWh per meter (:mod:`emergency.meters.ingest`); the engine computes each line's
baseline (the mean daily kWh of the two days before the warning, the rule Jiyuan used in
2024), its observed load per day and hour, and the anomalies of the lines that draw more
than their orders allow (:mod:`emergency.meters.analysis`). docs/METERS.md describes it.

The submodules import what they need; this package imports nothing, so that the data
folder's checks (:mod:`emergency.dataset`) may use :mod:`emergency.meters.index` without
pulling in the database.
"""
