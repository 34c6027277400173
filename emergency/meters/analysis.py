"""What the meters say about a response: each metered line's baseline, load and anomalies.

Per line under an order and per city day (+08:00), up to the server's clock:

- **baseline**: the mean daily kWh of the line's meters on the two city days before the
  response's first day (the rule Jiyuan used in 2024). A baseline day counts when its
  meters sent at least half their quarter hours; its kWh is then scaled to the whole day.
  The engine computes it: what an enterprise declares plays no part;
- **observed load**: the kWh in the hours the order was in force that day, over the
  baseline's share of those hours (1.0 = as before the warning);
- **allowed load**: the line's load under the order in force that day (the newest one,
  when a re-plan replaced an order during the day).

Anomalies (evidence ``meter``), one at most per order, line and day, keyed
``meter:<order>:<line>:<day>`` so that an inspection task follows it:

- ``meter_stopped_draws``: a line ordered stopped drew more than ``standby_fraction`` of
  its baseline in some hour (``at``: the first such hour) — a kiln restarted at night is
  seen that night;
- ``meter_over_limit``: a limited line's observed load is above its allowed load plus
  ``load_tolerance``;
- ``meter_missing``: a finished day without a reading from one of the line's meters, or
  no baseline at all (no readings before the warning).

The excess kWh is what the line drew above its allowed load (above standby, hour by hour,
for a stopped line); the estimated excess emission per pollutant is that kWh over the
baseline times the line's normal kg/day: ``(observed − allowed load) × kg/day × the
fraction of the day``. Thresholds come from the city plan's ``supervision`` section.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from emergency import ONE_DAY, POLLUTANTS
from emergency.cityplan import Supervision
from emergency.dataset import Dataset
from emergency.meters.index import line_meters
from emergency.service.access import Action, Actor, require
from emergency.service.periods import starts_at
from emergency.service.planning import get_response, loaded_data
from emergency.service.views import Anomaly, AnomalyKind
from emergency.settings import CITY_OFFSET
from emergency.store.db import store_of
from emergency.store.models import MeterReading, Order, Response

QUARTER = dt.timedelta(minutes=15)
HOUR = dt.timedelta(hours=1)
QUARTERS_PER_DAY = 96
BASELINE_DAYS = 2
"""Days before the warning whose mean is the baseline (Jiyuan, 2024)."""
MIN_COVERAGE = 0.5
"""A baseline day counts when its meters sent at least this share of their quarter hours."""
IN_CHUNK = 500
"""Meters per query."""


class LineDay(BaseModel):
    """One metered line on one day under one order: what the meters measured."""

    order_id: int
    source: str
    line: str
    meters: list[str] = Field(description="the line's meters (their kWh are summed)")
    day: dt.date = Field(description="the city day (+08:00)")
    start: dt.datetime = Field(description="from when the day is counted (the order in force)")
    end: dt.datetime = Field(description="until when (24:00, or the server's clock today)")
    hours: float = Field(description="hours counted")
    complete: bool = Field(description="the day is over (false: today, so far)")
    readings: int = Field(description="quarter-hour readings received in those hours")
    expected_readings: int = Field(description="meters × quarter hours")
    baseline_kwh: float | None = Field(
        description="mean daily kWh of the two days before the warning; null: none"
    )
    kwh: float = Field(description="kWh drawn in the hours counted")
    load: float | None = Field(description="observed load: kWh over the baseline's share")
    allowed_load: float = Field(description="the order's load for the line (1.0 = normal)")
    excess_kwh: float = Field(description="kWh above what the order allows (≥ 0)")
    excess_kg: dict[str, float] = Field(description="estimated excess emission, kg")
    achieved_cut_kg: dict[str, float] = Field(
        description="emission cut as measured: (1 − load) × kg/day × hours/24; {} without load"
    )
    source_of_load: str = Field(default="meter", description="always 'meter' here")
    anomaly: AnomalyKind | None = Field(default=None, description="the anomaly seen, if any")
    anomaly_key: str | None = None


@dataclass
class _Series:
    """Effective 15-minute kWh per meter: (meter, UTC time) → kWh."""

    kwh: dict[tuple[str, dt.datetime], float] = field(default_factory=dict)

    def of(
        self, meters: Iterable[str], lo: dt.datetime, hi: dt.datetime
    ) -> dict[str, dict[dt.datetime, float]]:
        """Per meter, its readings in [lo, hi) by time."""
        out: dict[str, dict[dt.datetime, float]] = {m: {} for m in meters}
        t = lo
        while t < hi:
            for m in out:
                value = self.kwh.get((m, t))
                if value is not None:
                    out[m][t] = value
            t += QUARTER
        return out


def effective_readings(
    session: Session, meters: Iterable[str], lo: dt.datetime, hi: dt.datetime
) -> dict[tuple[str, dt.datetime], float]:
    """The reading in effect for every (meter, time) in [lo, hi): the newest correction,
    else the original."""
    t = MeterReading.__table__.c
    names = sorted(set(meters))
    original: dict[tuple[str, dt.datetime], float] = {}
    corrected: dict[tuple[str, dt.datetime], float] = {}
    for start in range(0, len(names), IN_CHUNK):
        rows = session.execute(
            select(t.meter, t.at, t.kwh, t.corrects)
            .where(t.meter.in_(names[start : start + IN_CHUNK]), t.at >= lo, t.at < hi)
            .order_by(t.id)
        )
        for meter, at, kwh, corrects in rows:
            (original if corrects is None else corrected)[meter, at] = kwh
    return original | corrected


def _city_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), CITY_OFFSET).astimezone(dt.UTC)


def _floor_quarter(at: dt.datetime) -> dt.datetime:
    at = at.astimezone(dt.UTC)
    return at.replace(minute=at.minute // 15 * 15, second=0, microsecond=0)


def _ceil_quarter(at: dt.datetime) -> dt.datetime:
    floor = _floor_quarter(at)
    return floor if floor == at else floor + QUARTER


def order_days(orders: Iterable[Order], today: dt.date) -> dict[tuple[str, dt.date], Order]:
    """(source, day) → the order in force that day (the newest, when two were), up to
    ``today``."""
    out: dict[tuple[str, dt.date], Order] = {}
    for order in sorted(orders, key=lambda o: o.id):
        if order.end is not None:
            last = order.end
        elif order.closed_at is not None:
            last = order.closed_at.astimezone(CITY_OFFSET).date()
        else:
            last = order.planned_end
        day = order.start
        while day <= min(last, today):
            out[order.source, day] = order
            day += ONE_DAY
    return out


def baselines(
    series: _Series, lines: Mapping[tuple[str, str], list[str]], first_day: dt.date
) -> dict[tuple[str, str], float | None]:
    """Each line's baseline kWh/day: the mean over the two days before ``first_day`` of
    the days its meters covered at least :data:`MIN_COVERAGE` (scaled to a whole day)."""
    out: dict[tuple[str, str], float | None] = {}
    for key, meters in lines.items():
        days = []
        for back in range(BASELINE_DAYS, 0, -1):
            lo = _city_midnight(first_day - back * ONE_DAY)
            found = series.of(meters, lo, lo + ONE_DAY)
            received = sum(len(v) for v in found.values())
            expected = QUARTERS_PER_DAY * len(meters)
            if received >= MIN_COVERAGE * expected:
                days.append(sum(sum(v.values()) for v in found.values()) * expected / received)
        out[key] = sum(days) / len(days) if days else None
    return out


def _thresholds(dataset: Dataset) -> Supervision:
    return dataset.city.supervision


def measured_loads(session: Session, response: Response) -> list[LineDay]:
    """Every metered line of every source under an order of ``response``, per day the
    order was in force up to the server's clock: baseline, kWh, observed and allowed
    load, excess and anomaly. Sorted by source, line, day."""
    return _analyse(session, response)[0]


def meter_anomalies(session: Session, response: Response) -> list[Anomaly]:
    """The meter anomalies of ``response``, the largest estimated excess emission first."""
    return _analyse(session, response)[1]


_CACHE = "emergency.meters.analysis"


def _analyse(session: Session, response: Response) -> tuple[list[LineDay], list[Anomaly]]:
    """The analysis of ``response``, once per transaction and quarter hour of the clock
    (it counts whole quarter hours up to the clock's: the compliance view and the review
    both need it, and its readings do not change in between)."""
    now = store_of(session).config.now()
    transaction = session.get_transaction()
    if transaction is None:  # outside a transaction: nothing to share
        return _analysis(session, response, now)
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_CACHE] = cached
    done: dict[tuple[int, dt.datetime], tuple[list[LineDay], list[Anomaly]]] = cached[1]
    key = (response.id, _floor_quarter(now))  # what the analysis depends on of the clock
    if key not in done:
        done[key] = _analysis(session, response, now)
    lines, anomalies = done[key]
    return list(lines), list(anomalies)


def _analysis(
    session: Session, response: Response, now: dt.datetime
) -> tuple[list[LineDay], list[Anomaly]]:
    dataset = loaded_data(session).dataset
    rules = _thresholds(dataset)
    orders = session.scalars(select(Order).where(Order.response_id == response.id)).all()
    in_force = order_days(orders, now.astimezone(CITY_OFFSET).date())
    metered = line_meters(dataset.plans)
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, line in metered:
        by_source[source].append(line)
    wanted = {
        (source, line): metered[source, line]
        for source in sorted({s for s, _ in in_force})
        for line in by_source.get(source, [])
    }
    if not wanted:
        return [], []
    lo = _city_midnight(response.start - BASELINE_DAYS * ONE_DAY)
    hi = _floor_quarter(now) + QUARTER
    series = _Series(effective_readings(session, (m for ms in wanted.values() for m in ms), lo, hi))
    base = baselines(series, wanted, response.start)
    rows: list[LineDay] = []
    anomalies: list[Anomaly] = []
    for (source, day), order in sorted(in_force.items()):
        plan = dataset.plans.get(source)
        if plan is None:
            continue
        start = _ceil_quarter(max(_city_midnight(day), starts_at(day, response.warning)))
        end = min(_city_midnight(day + ONE_DAY), _floor_quarter(now))
        if end <= start:
            continue
        for line_id in by_source.get(source, []):
            plan_line = plan.lines_by_id.get(line_id)
            if plan_line is None:
                continue
            row, anomaly = _line_day(
                order, line_id, plan_line.emissions(), wanted[source, line_id], day, start, end,
                series, base[source, line_id], rules, response.start,
            )  # fmt: skip
            rows.append(row)
            if anomaly is not None:
                anomalies.append(anomaly)
    rows.sort(key=lambda r: (r.source, r.line, r.day, r.order_id))
    anomalies.sort(key=lambda a: (-sum(a.excess_kg.values()), a.key))
    return rows, anomalies


def _line_day(
    order: Order,
    line: str,
    emissions: dict[str, float],
    meters: list[str],
    day: dt.date,
    start: dt.datetime,
    end: dt.datetime,
    series: _Series,
    baseline: float | None,
    rules: Supervision,
    first_day: dt.date,
) -> tuple[LineDay, Anomaly | None]:
    found = series.of(meters, start, end)
    quarters = round((end - start) / QUARTER)
    hours = quarters / 4
    kwh = sum(sum(v.values()) for v in found.values())
    readings = sum(len(v) for v in found.values())
    complete = end == _city_midnight(day + ONE_DAY)
    allowed = float(order.allowed_load.get(line, 1.0))
    share = hours / 24
    load = kwh / (baseline * share) if baseline and share else None
    key = f"meter:{order.id}:{line}:{day.isoformat()}"
    kind: AnomalyKind | None = None
    at: dt.datetime | None = None
    excess = 0.0
    message = message_zh = ""
    if not baseline and allowed < 1:
        d1, d2 = (first_day - k * ONE_DAY for k in (BASELINE_DAYS, 1))
        kind = "meter_missing"
        if baseline is None:
            message = (
                f"no baseline for {line}: its meters sent too few readings on {d1} and {d2},"
                " the two days before the warning"
            )
            message_zh = f"{line} 无基准用电：预警前两日（{d1}、{d2}）其电表读数不足"
        else:
            message = f"no baseline for {line}: its meters drew 0 kWh on {d1} and {d2}"
            message_zh = f"{line} 无基准用电：预警前两日（{d1}、{d2}）其电表用电为 0"
    elif not baseline:
        pass  # nothing is demanded of the line, and there is no baseline to measure it by
    elif allowed <= 0:
        standby = rules.standby_fraction * baseline / QUARTERS_PER_DAY  # kWh per quarter hour
        hourly: dict[dt.datetime, list[float]] = defaultdict(list)
        counted: dict[dt.datetime, int] = defaultdict(int)
        t = start
        while t < end:
            hour = t.astimezone(CITY_OFFSET).replace(minute=0).astimezone(dt.UTC)
            counted[hour] += 1
            hourly[hour] += [v[t] for v in found.values() if t in v]
            t += QUARTER
        for hour in sorted(counted):
            over = sum(hourly[hour]) - standby * counted[hour]
            if over > 1e-9:
                excess += over
                at = at or hour
        if at is not None:
            kind = "meter_stopped_draws"
            local = at.astimezone(CITY_OFFSET)
            message = (
                f"{line}, ordered stopped, draws {kwh:.0f} kWh on {day} ({_pct(load)} of its"
                f" baseline {baseline:.0f} kWh/day), above standby from {local:%H:%M}"
            )
            message_zh = (
                f"{line} 应停产，{day} 用电 {kwh:.0f} kWh（基准日用电 {baseline:.0f} kWh 的"
                f" {_pct(load)}），{local:%H:%M} 起超过待机用电"
            )
    elif allowed < 1 and load is not None and load > allowed + rules.load_tolerance:
        kind = "meter_over_limit"
        excess = kwh - allowed * baseline * share
        message = (
            f"{line} at load {load:.2f} on {day}, above allowed {allowed:.2f}"
            f" (+{rules.load_tolerance:.2f}): {kwh:.0f} kWh against a baseline of"
            f" {baseline:.0f} kWh/day"
        )
        message_zh = (
            f"{line} {day} 实测负荷 {load:.2f}，高于允许负荷 {allowed:.2f}"
            f"（容差 {rules.load_tolerance:.2f}）：用电 {kwh:.0f} kWh，基准 {baseline:.0f} kWh/日"
        )
    if kind is None and complete and allowed < 1 and baseline:
        silent = [m for m in meters if not found[m]]
        if silent:
            kind = "meter_missing"
            if len(silent) == len(meters):
                message = f"no readings of {line}'s meters on {day}"
                message_zh = f"{line} 的电表 {day} 无读数"
            else:
                names = ", ".join(silent)
                message = f"meter {names} of {line} sent no readings on {day}"
                message_zh = f"{line} 的电表 {names} {day} 无读数"
    excess_kg = (
        {p: round(excess / baseline * emissions[p], 3) for p in POLLUTANTS}
        if baseline and excess > 0
        else {}
    )
    achieved = (
        {p: round((1 - load) * emissions[p] * share, 3) for p in POLLUTANTS}
        if load is not None
        else {}
    )
    row = LineDay(
        order_id=order.id,
        source=order.source,
        line=line,
        meters=list(meters),
        day=day,
        start=start,
        end=end,
        hours=hours,
        complete=complete,
        readings=readings,
        expected_readings=quarters * len(meters),
        baseline_kwh=round(baseline, 3) if baseline else None,
        kwh=round(kwh, 3),
        load=round(load, 4) if load is not None else None,
        allowed_load=allowed,
        excess_kwh=round(max(excess, 0.0), 3),
        excess_kg=excess_kg,
        achieved_cut_kg=achieved,
        anomaly=kind,
        anomaly_key=key if kind else None,
    )
    if kind is None:
        return row, None
    return row, Anomaly(
        order_id=order.id,
        source=order.source,
        kind=kind,
        message=message,
        message_zh=message_zh,
        key=key,
        evidence="meter",
        line=line,
        day=day,
        at=at,
        excess_kwh=round(excess, 3) if excess > 0 else None,
        excess_kg=excess_kg,
    )


def _pct(load: float | None) -> str:
    return f"{load:.0%}" if load is not None else "?"


def read_lines(
    session: Session,
    actor: Actor,
    response_id: int | None,
    *,
    source: str | None = None,
    day: dt.date | None = None,
) -> list[LineDay]:
    """``GET /meters/lines``: :func:`measured_loads` of a response (default: the newest;
    none yet: nothing), for planners and inspectors, optionally of one source or one day."""
    require(actor, Action.read_supervision)
    if response_id is None:
        response_id = session.scalar(select(Response.id).order_by(Response.id.desc()).limit(1))
        if response_id is None:
            return []
    rows = measured_loads(session, get_response(session, response_id))
    return [r for r in rows if (source is None or r.source == source) and (day in (None, r.day))]
