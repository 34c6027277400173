"""Decision engine for heavy-pollution weather emergencies (重污染天气应急).

Data flows one way: files → models → warning decision → duties → optimiser → report.
"""

import datetime as dt

__version__ = "0.1.0"

POLLUTANTS: tuple[str, ...] = ("so2", "nox", "pm", "vocs")
"""Emission pollutant keys used everywhere (kg/day quantities)."""

LEVELS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
"""Warning levels from mild to severe; a rule set may use a subset."""

NORMAL = "normal"
"""The measure id of normal operation (every line at full load); every source has it."""

ONE_DAY = dt.timedelta(days=1)
