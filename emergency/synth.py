"""Deterministic synthetic Jiyuan-like city: inventory, one-plant-one-policy plans, city plan.

The data is SYNTHETIC. Magnitudes are public order-of-magnitude knowledge (see
``docs/DATA.md``); names are invented; coordinates are spread around the real towns and
parks of Jiyuan. The tables (line types, schedules, districts, names, city-plan defaults)
are data in ``emergency/data/synth_*.yaml`` (:mod:`emergency.synth_tables`); this module
draws a city from them and :mod:`emergency.synth_write` writes it. The same
``(n_sources, seed)`` gives byte-identical files: every random draw comes from one
``random.Random(seed)`` in a fixed order, nothing depends on set order, hashing or the clock.

Loads are kept in percent (integers) while building, so that the level monotonicity and
the supply-edge inequalities hold exactly, not up to float rounding. Emissions are integer
kg/day and value added integer yuan/day, so the inventory row is the exact sum of its lines.
"""

from __future__ import annotations

import fnmatch
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from emergency import POLLUTANTS
from emergency.errors import InputError
from emergency.meters.synth import meter_ids
from emergency.synth_tables import (
    HALF,
    LEVELS,
    Industry,
    LineType,
    city_tables,
    industry_tables,
    season_tables,
)
from emergency.synth_write import SynthCity
from emergency.synth_write import write_city as write_city  # callers import it from here
from emergency.vehicles.synth import with_transport

# --------------------------------------------------------------------------- in the making


@dataclass
class _Line:
    id: str
    name: str
    lt: LineType
    emissions_kg_d: dict[str, int]
    value_added_yuan_d: int
    restart_cost_yuan: int
    loads_pct: list[int]  # yellow, orange, red


@dataclass
class _Plant:
    id: str
    name: str
    industry: str
    district: str
    lon: float
    lat: float
    grade: str
    guarantee: str
    lines: list[_Line]
    supplies: list[tuple[str, str, str, int]] = field(default_factory=list)  # line, to, line, σ%


# --------------------------------------------------------------------------- helpers


def _pick(rng: random.Random, weighted: Iterable[tuple[str, int | float]]) -> str:
    items = list(weighted)
    total = sum(w for _, w in items)
    x = rng.random() * total
    for key, w in items:
        x -= w
        if x < 0:
            return key
    return items[-1][0]


def _allocate(total: int, weights: list[tuple[str, int]], keep_one: bool) -> dict[str, int]:
    """Split ``total`` by weights (largest remainder); at least one each when it fits."""
    wsum = sum(w for _, w in weights)  # integer arithmetic: no float ties
    counts = {k: total * w // wsum for k, w in weights}
    rest = total - sum(counts.values())
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i][1] % wsum), i))
    for i in order[:rest]:
        counts[weights[i][0]] += 1
    if keep_one and total >= len(weights):
        for k, _ in weights:
            while counts[k] == 0:
                donor = max(counts, key=lambda d: (counts[d], -_order(weights, d)))
                counts[donor] -= 1
                counts[k] += 1
    return counts


def _order(weights: list[tuple[str, int]], key: str) -> int:
    return [k for k, _ in weights].index(key)


def _place(rng: random.Random, weights: dict[str, int]) -> tuple[str, float, float]:
    name = _pick(rng, weights.items())
    district = industry_tables().districts[name]
    r = district.radius_deg * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    lon = min(max(district.lon + r * math.cos(a), 112.0), 112.8)
    lat = min(max(district.lat + r * math.sin(a) * 0.82, 34.9), 35.3)  # degrees of lon are shorter
    return name, round(lon, 5), round(lat, 5)


def _jitter(rng: random.Random, base: int, scale: float) -> int:
    return 0 if base == 0 else max(1, round(base * scale * rng.uniform(0.8, 1.2)))


def _clamp(load: int, lt: LineType) -> int:
    """Make a scheduled load operable: a line runs at ≥ its minimum or, if it can, stops."""
    if load == 0 and lt.can_stop:
        return 0
    return max(load, lt.min_load_pct)


def _brand_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct invented trade names (字号), two syllables first, then three."""
    syllables = industry_tables().names.syllables
    two = [a + b for a in syllables for b in syllables if a != b]
    rng.shuffle(two)
    if n <= len(two):
        return two[:n]
    three = [a + b + c for a in syllables for b in syllables for c in syllables]
    three = [t for t in three if len(set(t)) == 3]
    rng.shuffle(three)
    names = two + three
    while len(names) < n:
        names += [f"{t}{len(names) // len(two)}" for t in two]
    return names[:n]


# --------------------------------------------------------------------------- plants


def _make_lines(rng: random.Random, industry: Industry, grade: str, guarantee: str) -> list[_Line]:
    schedules = industry_tables().schedules
    size = min(max(rng.lognormvariate(0.0, 0.35), 0.5), 2.0)
    lines: list[_Line] = []
    smelters = 0
    for lt in industry.lines:
        n = rng.randint(*lt.per_plant) if lt.key != "acid" else smelters
        if lt.key == "smelt":
            smelters = n
        sched = schedules[lt.schedule][grade]
        for k in range(1, n + 1):
            e = {
                "so2": _jitter(rng, lt.so2_kg_d, size),
                "nox": _jitter(rng, lt.nox_kg_d, size),
                "pm": _jitter(rng, lt.pm_kg_d, size),
                "vocs": _jitter(rng, lt.vocs_kg_d, size),
            }
            va = round(_jitter(rng, lt.value_added_yuan_d, size), -2)
            restart = (
                round(_jitter(rng, lt.restart_cost_yuan, size), -3) if lt.restart_cost_yuan else 0
            )
            loads = list(sched)
            if loads[0] == HALF:  # stop every other line; a single line runs at half
                loads[0] = (0 if k % 2 == 1 else 100) if n > 1 else 50
            if guarantee:  # guaranteed: production untouched, only dust control on yards
                loads = [100, 50, 50] if lt.schedule == "aux" else [100, 100, 100]
            loads = [_clamp(x, lt) for x in loads]
            for i in (1, 2):  # stricter level never milder
                loads[i] = min(loads[i], loads[i - 1])
            lines.append(_Line(f"{lt.key}-{k}", f"{k}#{lt.name}", lt, e, va, restart, loads))
    return lines


def _link(rng: random.Random, plants: list[_Plant]) -> None:
    """Supply edges: coke ovens → blast furnaces / methanol; CHP units → heat users.

    Edges run from a lower to a higher rank of industry, so there is no cycle; an acid plant
    takes the off-gas of its smelting furnace inside the same works.
    """
    by_ind: dict[str, list[_Plant]] = {}
    for p in plants:
        by_ind.setdefault(p.industry, []).append(p)
    for p in by_ind.get("lead_zinc_smelting", []):
        for ln in p.lines:
            if ln.lt.key == "acid":
                p.supplies.append((ln.id.replace("acid", "smelt"), p.id, ln.id, 100))
    coke = [(p, ln) for p in by_ind.get("coking", []) for ln in p.lines if ln.lt.key == "coke"]
    if coke:
        for p in by_ind.get("steel", []) + by_ind.get("coal_chemical", []):
            for ln in p.lines:
                if ln.lt.key == "bf" or (ln.lt.key == "synth" and rng.random() < 0.6):
                    up, uline = coke[rng.randrange(len(coke))]
                    share = rng.randint(60, 100) if ln.lt.key == "bf" else rng.randint(30, 60)
                    up.supplies.append((uline.id, p.id, ln.id, share))
    heat = [(p, ln) for p in by_ind.get("power", []) for ln in p.lines if ln.lt.key == "unit"]
    users = [
        (p, ln)
        for ind in ("chemical", "coal_chemical", "aluminium_rolling")
        for p in by_ind.get(ind, [])
        if not p.guarantee
        for ln in p.lines[:1]
    ]
    if heat:
        for p, ln in users:
            if rng.random() < 0.35:
                up, uline = heat[rng.randrange(len(heat))]
                up.supplies.append((uline.id, p.id, ln.id, rng.randint(20, 50)))
    # The committed measures must honour every edge: a consumer's floor follows its supply.
    # Suppliers (coke ovens, power units, smelting furnaces) are never consumers, so one
    # pass settles every bound, and no bound falls below the consumer line's minimum.
    index = {p.id: p for p in plants}
    for p in plants:
        lines = {ln.id: ln for ln in p.lines}
        for uid, to, wid, share in p.supplies:
            u = lines[uid]
            w = next(x for x in index[to].lines if x.id == wid)
            for i in range(3):
                bound = (10_000 - share * (100 - u.loads_pct[i])) // 100
                w.loads_pct[i] = min(w.loads_pct[i], bound)
            assert all(x == _clamp(x, w.lt) for x in w.loads_pct), (p.id, uid, to, wid)


def _frac(x: int) -> float:
    """Percent as a fraction with the shortest exact repr (85 → 0.85)."""
    return round(x / 100, 2)


def _action(line: _Line, load: int) -> str:
    key = line.lt.key
    if load == 0:
        if key == "bf":
            return f"{line.name}休风焖炉"
        if key in ("kiln", "limekiln", "smelt", "reduce", "fuming"):
            return f"{line.name}停产保温"  # keeping the furnace hot: restarts cost less
        return f"{line.name}停止作业" if line.lt.schedule == "aux" else f"{line.name}停产"
    if line.lt.schedule == "oven":
        return f"{line.name}延长结焦时间（负荷{load}%）"
    if line.lt.schedule == "aux":
        return f"{line.name}减少装卸作业{100 - load}%"
    if not line.lt.can_stop:
        return f"{line.name}降负荷至{load}%"
    return f"{line.name}限产{100 - load}%"


def _measures(p: _Plant) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Named measures (the level ones first, then deeper options) and the level mapping."""
    measures: list[dict[str, Any]] = []
    seen: dict[tuple[int, ...], str] = {}

    def add(mid: str, vec: tuple[int, ...], name: str | None = None) -> str:
        if vec in seen:
            return seen[vec]
        changed = [(ln, x) for ln, x in zip(p.lines, vec, strict=True) if x < 100]
        uniform = {x for _, x in changed}
        if name is None:
            if len(changed) == len(p.lines) and uniform == {0}:
                mid, name = "stop-all", "全厂停产"
            elif len(changed) == len(p.lines) and len(uniform) == 1:
                x = changed[0][1]
                mid, name = f"limit-{100 - x}", f"全厂限产{100 - x}%"
            else:
                name = "；".join(_action(ln, x) for ln, x in changed)
        taken = {m["id"] for m in measures}
        base, k = mid, 2
        while mid in taken:
            mid, k = f"{base}-{k}", k + 1
        measures.append({"id": mid, "name": name, "loads": {ln.id: _frac(x) for ln, x in changed}})
        seen[vec] = mid
        return mid

    levels: dict[str, str] = {}
    for i, level in enumerate(LEVELS):
        vec = tuple(ln.loads_pct[i] for ln in p.lines)
        if all(x == 100 for x in vec):
            continue  # normal operation at this level
        levels[level] = add(f"{level}-plan", vec)
    # deeper options for the optimiser; every internal supply edge still holds
    for cut in (30, 50):
        vec = tuple(max(100 - cut, ln.lt.min_load_pct) for ln in p.lines)
        add(
            f"limit-{cut}", vec, None if len(set(vec)) == 1 else f"全厂限产{cut}%（不低于最低负荷）"
        )
    vec = tuple(0 if ln.lt.can_stop else ln.lt.min_load_pct for ln in p.lines)
    if any(ln.lt.can_stop for ln in p.lines):
        if all(ln.lt.can_stop for ln in p.lines):
            add("stop-all", vec)
        else:
            add("stop-stoppable", vec, "可停工序全部停产，不可中断工序最低负荷运行")
    return measures, levels


def _plants(rng: random.Random, n: int) -> list[_Plant]:
    tables = industry_tables()
    industries = tables.industries
    weights = [(key, ind.weight) for key, ind in industries.items()]
    counts = _allocate(n, weights, keep_one=True)
    if n < len(weights):  # a small city: the core industries first, then the rest
        core = [(k, w) for k, w in weights if industries[k].core]
        counts = {k: 0 for k, _ in weights}
        counts.update(_allocate(n, core, keep_one=True))
    width = max(3, len(str(n)))
    brands = _brand_names(rng, n)
    plants: list[_Plant] = []
    for industry, ind in industries.items():
        for _ in range(counts[industry]):
            pid = f"JY-P{len(plants) + 1:0{width}d}"
            grade = _pick(rng, ind.grades.items())
            gkind, gprob = (
                (ind.guarantee.kind, ind.guarantee.probability) if ind.guarantee else ("", 0.0)
            )
            guarantee = gkind if rng.random() < gprob else ""
            district, lon, lat = _place(rng, tables.placements[ind.placement])
            waste = guarantee and industry == "other"  # guaranteed "other" firms dispose of waste
            trades = tables.names.waste_trade_names if waste else ind.trade_names
            trade = trades[rng.randrange(len(trades))]
            name = f"济源市{brands[len(plants)]}{trade}"
            lines = _make_lines(rng, ind, grade, guarantee)
            plants.append(_Plant(pid, name, industry, district, lon, lat, grade, guarantee, lines))
    _link(rng, plants)
    return plants


def _person(rng: random.Random) -> str:
    names = industry_tables().names
    given = names.given_names[rng.randrange(len(names.given_names))]
    if rng.random() < 0.5:
        given += names.given_names[rng.randrange(len(names.given_names))]
    return names.surnames[rng.randrange(len(names.surnames))] + given


def _plan(rng: random.Random, p: _Plant) -> dict[str, Any]:
    measures, levels = _measures(p)
    verification = ["electricity_submeter"]
    if any(ln.lt.so2_kg_d + ln.lt.nox_kg_d >= 300 for ln in p.lines):
        verification.append("cems")
    if any(ln.lt.schedule == "aux" for ln in p.lines) or p.industry in ("cement", "brick"):
        verification.append("gate_records")
    verification.append("video")
    updated = date(2016, 9, 1) + timedelta(days=rng.randrange(61))
    return {
        "enterprise": p.id,
        "updated": updated.isoformat(),
        "lines": [
            {
                "id": ln.id,
                "name": ln.name,
                "so2_kg_d": ln.emissions_kg_d["so2"],
                "nox_kg_d": ln.emissions_kg_d["nox"],
                "pm_kg_d": ln.emissions_kg_d["pm"],
                "vocs_kg_d": ln.emissions_kg_d["vocs"],
                "value_added_yuan_d": ln.value_added_yuan_d,
                "can_stop": ln.lt.can_stop,
                # a stop is a load of 0, so a stoppable line's technical minimum (which the
                # measures above respect) is not written: the file's bounds are [min_load, 1]
                "min_load": 0.0 if ln.lt.can_stop else _frac(ln.lt.min_load_pct),
                "restart_cost_yuan": ln.restart_cost_yuan,
                "min_stop_days": ln.lt.min_stop_days,
                "meters": meter_ids(p.id, ln.id),  # sub-meters (docs/METERS.md)
            }
            for ln in p.lines
        ],
        "measures": measures,
        "levels": levels,
        "supplies": [
            {"line": u, "to": {"enterprise": to, "line": w}, "share": _frac(s)}
            for u, to, w, s in p.supplies
        ],
        "verification": verification,
        "contact": {"person": _person(rng), "phone": f"0391-6{rng.randrange(10**6):06d}"},
    }


def _row(
    sid: str, name: str, kind: str, industry: str, place: tuple[str, float, float],
    grade: str, guarantee: str, e: dict[str, int], va: int,
) -> dict[str, Any]:  # fmt: skip
    district, lon, lat = place
    return {
        "id": sid, "name": name, "kind": kind, "industry": industry, "district": district,
        "lon": f"{lon:.5f}", "lat": f"{lat:.5f}", "grade": grade, "guarantee": guarantee,
        "so2_kg_d": e["so2"], "nox_kg_d": e["nox"], "pm_kg_d": e["pm"], "vocs_kg_d": e["vocs"],
        "value_added_yuan_d": va,
    }  # fmt: skip


def _dust_sources(rng: random.Random, kind: str, count: int) -> list[dict[str, Any]]:
    """Construction sites, bulk-goods yards, quarries: mostly particulate matter."""
    prefix = {"site": "S", "yard": "Y", "quarry": "Q"}[kind]
    tables = industry_tables()
    dust = tables.dust_sources
    width = max(3, len(str(count)))
    brands = _brand_names(rng, count)
    rows = []
    for i in range(count):
        sid = f"JY-{prefix}{i + 1:0{width}d}"
        u = rng.uniform
        if kind == "site":  # area in ha; fugitive dust ~20 kg/ha/d under watering
            place = _place(rng, tables.placements[dust.site_placement])
            area = min(max(rng.lognormvariate(math.log(3.0), 0.6), 0.5), 25.0)
            e = {"so2": round(area * 0.1 * u(0, 1)), "nox": round(area * 2.5 * u(0.7, 1.3)),
                 "pm": round(area * 22 * u(0.8, 1.2)),
                 "vocs": round(area * 3 * u(0.5, 1.5)) if rng.random() < 0.4 else 0}  # fmt: skip
            va = round(area * 15_000 * u(0.8, 1.2), -2)
            kind_name = dust.site_types[rng.randrange(len(dust.site_types))]
            phase = dust.site_phases[rng.randrange(len(dust.site_phases))]
            name = f"{place[0]}{brands[i]}{kind_name}（{phase}期）"
        elif kind == "yard":  # stockpile area in ha; wind erosion + handling
            place = _place(rng, tables.placements[dust.yard_placement])
            area = u(1.0, 8.0)
            e = {"so2": round(area * 0.1 * u(0, 1)), "nox": round(area * 3 * u(0.7, 1.3)),
                 "pm": round(area * 25 * u(0.8, 1.2)), "vocs": 0}  # fmt: skip
            va = round(area * 8_000 * u(0.8, 1.2), -2)
            goods = dust.yard_goods[rng.randrange(len(dust.yard_goods))]
            name = f"济源市{brands[i]}物流有限公司{goods}堆场"
        else:  # output in t/d; blasting, crushing, screening, haulage
            place = _place(rng, tables.placements[dust.quarry_placement])
            tons = u(500, 3000)
            e = {"so2": round(tons * 0.0005), "nox": round(tons * 0.006 * u(0.8, 1.2)),
                 "pm": round(tons * 0.12 * u(0.8, 1.2)), "vocs": 0}  # fmt: skip
            va = round(tons * 25 * u(0.8, 1.2), -2)
            name = f"济源市{brands[i]}石料有限公司{place[0]}建筑石料用灰岩矿"
        rows.append(_row(sid, name, kind, kind if kind != "site" else "construction",
                         place, "", "", e, int(va)))  # fmt: skip
    return rows


# --------------------------------------------------------------------------- city plan


def _city(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tables = city_tables()
    listed = {p: sum(int(r[f"{p}_kg_d"]) for r in rows) for p in POLLUTANTS}
    # round down to 100 kg: the listed share is at least the design share (never below 50 %)
    baseline = {
        p: max(100, listed[p] * 100 // round(tables.listed_share[p] * 100) // 100 * 100)
        for p in POLLUTANTS
    }
    levels = {}
    for level in LEVELS:
        cfg = tables.levels[level]
        levels[level] = {
            "cut_fraction": dict.fromkeys(POLLUTANTS, cfg.cut_fraction),
            "other_cut_kg_d": {
                p: round(cfg.other_cut_fraction[p] * baseline[p] / 10) * 10 for p in POLLUTANTS
            },
            "pool_so2_nox": True,
            "advice": cfg.advice,
            "advice_en": cfg.advice_en,
        }
    notice = (
        {"notice": tables.notice.model_dump(mode="json", exclude_none=True)}
        if tables.notice is not None
        else {}
    )
    return {
        "name": "济源市 Jiyuan",
        **notice,
        "rule_set": "henan-2019",
        "aqi_standard": "by-date",
        "baseline_kg_d": baseline,
        "protect_grades": ["A", "leading"],
        "ack_deadline_hours": 2,
        "report_by": "17:00",
        "levels": levels,
        "defaults": {
            kind: defaults.model_dump(mode="json") for kind, defaults in tables.defaults.items()
        },
    }


# --------------------------------------------------------------------------- heating season


def _season(city: SynthCity) -> None:
    """The heating-season file and its risk climatology (``synth_season.yaml``).

    A quota is written only where some plan of its industry has a line its patterns select,
    a running share only where the industry has a plan: a small city may lack an industry.
    The noise of the climatology comes from its own generator (seeded with the city's seed),
    so the city's draws do not depend on it.
    """
    tables = season_tables()
    industry = {row["id"]: row["industry"] for row in city.rows}
    lines: dict[str, list[str]] = {}
    for plan in city.plans:
        lines.setdefault(industry[plan["enterprise"]], []).extend(ln["id"] for ln in plan["lines"])
    quotas = []
    for quota in tables.quotas:
        present = lines.get(quota.industry, [])
        if not any(fnmatch.fnmatchcase(ln, pat) for ln in present for pat in quota.lines):
            continue
        entry: dict[str, Any] = {"id": quota.id, "industry": quota.industry}
        entry["lines"] = list(quota.lines)
        if quota.stop_days is not None:
            entry["stop_days"] = quota.stop_days
        else:
            entry["output_cut"] = quota.output_cut
        if quota.per is not None:
            entry["per"] = quota.per
        quotas.append(entry)
    shares = {k: v for k, v in tables.min_running_share.items() if k in lines}
    shape = tables.risk
    city.season = {
        "id": tables.id,
        "start": tables.start,
        "end": tables.end,
        "exempt_grades": list(city.city["protect_grades"]),
        "quotas": quotas,
        "min_running_share": shares,
        "risk": shape.file,
        "key_periods": [
            {"name": p.name, "start": p.start, "end": p.end, "level": p.level}
            for p in tables.key_periods
        ],
    }
    rng = random.Random(f"season-{city.seed}")
    city.risk_file = shape.file
    city.risk = []
    day = tables.start
    while day <= tables.end:
        t = (day - shape.peak).days / shape.half_width_days
        bump = (1 + math.cos(math.pi * t)) / 2 if abs(t) <= 1 else 0.0
        value = shape.floor + shape.amplitude * bump + rng.uniform(-shape.noise, shape.noise)
        city.risk.append((day, min(max(round(value, 2), 0.0), 1.0)))
        day += timedelta(days=1)


def synthesize(n_sources: int, seed: int) -> SynthCity:
    """Generate a Jiyuan-like city with ``n_sources`` listed sources.

    Parameters
    ----------
    n_sources
        Number of inventory rows (plants, construction sites, yards, quarries), ≥ 1.
    seed
        Seed of the one random generator; same arguments, same city.

    Returns
    -------
    SynthCity
        Rows, plans, city plan, season file and risk climatology; nothing is written.
    """
    if n_sources < 1:
        raise InputError(f"--sources: must be at least 1, got {n_sources}")
    rng = random.Random(seed)
    n_site = round(0.28 * n_sources)
    n_yard = round(0.045 * n_sources)
    n_quarry = round(0.0375 * n_sources)
    if n_sources >= 20:
        n_site, n_yard, n_quarry = max(n_site, 1), max(n_yard, 1), max(n_quarry, 1)
    n_plant = n_sources - n_site - n_yard - n_quarry
    plants = _plants(rng, n_plant)
    city = SynthCity(n_sources=n_sources, seed=seed)
    for p in plants:
        e = {q: sum(ln.emissions_kg_d[q] for ln in p.lines) for q in POLLUTANTS}
        va = sum(ln.value_added_yuan_d for ln in p.lines)
        place = (p.district, p.lon, p.lat)
        city.rows.append(
            _row(p.id, p.name, "plant", p.industry, place, p.grade, p.guarantee, e, va)
        )
        city.plans.append(with_transport(_plan(rng, p), p.industry))
    for kind, count in (("site", n_site), ("yard", n_yard), ("quarry", n_quarry)):
        city.rows += _dust_sources(rng, kind, count)
    city.city = _city(city.rows)
    _season(city)
    return city
