"""A small hand-made verification set shared by the verification tests.

Rule set henan-2019 (ranges read at their upper end; yellow: > 200 on 2 days running,
orange: 3 days running, red: 4 days running and > 300 on 2 days, or ≥ 500; one clean day
between heavy days does not split an episode).

Observed (city): 16 Dec 230, 17 Dec 280, 18 Dec 310, 19 Dec 250, 20 Dec 160, 21 Dec 90.
The observed episode 16–19 Dec runs 4 days > 200 with one day > 300: orange on 16–19 Dec.

Forecast A, issued 15 Dec 16:00 (+08:00) by environment:
  16 Dec [210, 260], 17 Dec [240, 290], 18 Dec 200, 19 Dec [190, 240]
  read at the upper end: 260, 290, 200, 240; 18 Dec (200) is a one-day gap, so one
  episode 16–19 Dec whose longest run > 200 is 2 days: yellow on 16–19 Dec.
Forecast B, issued 16 Dec 10:00 (+08:00) by meteorology:
  17 Dec [250, 310], 18 Dec [300, 340], 19 Dec [280, 320], 20 Dec [190, 230], 21 Dec [100, 150]
  upper ends 310, 340, 320, 230, 150: 4 days > 200 and 3 > 300 → red on 17–20 Dec.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

D = dt.date(2016, 12, 16)

OBSERVED: dict[dt.date, int] = {
    D + dt.timedelta(days=i): aqi for i, aqi in enumerate([230, 280, 310, 250, 160, 90])
}

FORECAST_A: dict[str, Any] = {
    "issued_at": "2016-12-15T16:00:00+08:00",
    "issued_by": ["environment"],
    "rule_set": "henan-2019",
    "days": [
        {"date": "2016-12-16", "aqi": [210, 260]},
        {"date": "2016-12-17", "aqi": [240, 290]},
        {"date": "2016-12-18", "aqi": 200},
        {"date": "2016-12-19", "aqi": [190, 240]},
    ],
}
FORECAST_B: dict[str, Any] = {
    "issued_at": "2016-12-16T10:00:00+08:00",
    "issued_by": ["meteorology"],
    "rule_set": "henan-2019",
    "days": [
        {"date": "2016-12-17", "aqi": [250, 310]},
        {"date": "2016-12-18", "aqi": [300, 340]},
        {"date": "2016-12-19", "aqi": [280, 320]},
        {"date": "2016-12-20", "aqi": [190, 230]},
        {"date": "2016-12-21", "aqi": [100, 150]},
    ],
}


def observations_csv() -> str:
    return "date,aqi\n" + "".join(f"{d},{v}\n" for d, v in OBSERVED.items())
