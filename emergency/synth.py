"""Deterministic synthetic Jiyuan-like city: inventory, one-plant-one-policy plans, city plan.

The data is SYNTHETIC. Magnitudes are public order-of-magnitude knowledge (see
``docs/DATA.md``); names are invented; coordinates are spread around the real towns and
parks of Jiyuan. :mod:`emergency.synth_write` writes the city. The same
``(n_sources, seed)`` gives byte-identical files: every random draw comes from one
``random.Random(seed)`` in a fixed order, nothing depends on set order, hashing or the clock.

Loads are kept in hundredths (integers) while building, so that the level monotonicity and
the supply-edge inequalities hold exactly, not up to float rounding. Emissions are integer
kg/day and value added integer yuan/day, so the inventory row is the exact sum of its lines.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from emergency import POLLUTANTS
from emergency.errors import InputError
from emergency.synth_write import SynthCity
from emergency.synth_write import write_city as write_city  # callers import it from here

LEVELS: tuple[str, ...] = ("yellow", "orange", "red")  # henan-2019 has no blue
GRADES: tuple[str, ...] = ("A", "leading", "B", "B-", "C", "D", "")
Loads = tuple[int, int, int]  # yellow, orange, red, in hundredths of normal load
HALF = -1  # schedule marker: stop every other line of this type (one line: run at half)

# --------------------------------------------------------------------------- districts

# name, centre lon, centre lat, radius in degrees. Approximate centres of Jiyuan's five
# sub-districts, eleven towns, two industrial clusters and the high-tech zone.
DISTRICTS: tuple[tuple[str, float, float, float], ...] = (
    ("沁园街道", 112.578, 35.085, 0.012),
    ("济水街道", 112.600, 35.094, 0.012),
    ("北海街道", 112.612, 35.072, 0.012),
    ("天坛街道", 112.565, 35.068, 0.012),
    ("玉泉街道", 112.655, 35.062, 0.015),
    ("克井镇", 112.548, 35.175, 0.030),
    ("五龙口镇", 112.690, 35.140, 0.030),
    ("轵城镇", 112.625, 35.020, 0.025),
    ("承留镇", 112.500, 35.045, 0.025),
    ("梨林镇", 112.730, 35.060, 0.025),
    ("大峪镇", 112.420, 34.985, 0.035),
    ("坡头镇", 112.525, 34.945, 0.030),
    ("下冶镇", 112.260, 35.000, 0.035),
    ("邵原镇", 112.120, 35.120, 0.040),
    ("王屋镇", 112.255, 35.125, 0.040),
    ("思礼镇", 112.470, 35.125, 0.030),
    ("虎岭产业集聚区", 112.455, 35.075, 0.020),
    ("玉川产业集聚区", 112.590, 35.165, 0.020),
    ("高新技术产业开发区", 112.645, 35.105, 0.015),
)
_DISTRICT_INDEX = {d[0]: i for i, d in enumerate(DISTRICTS)}

# Where each kind of source sits: heavy industry in the clusters and northern towns,
# construction in the city, quarries in the mountains (west, north, south).
_HEAVY = {
    "玉川产业集聚区": 6,
    "虎岭产业集聚区": 5,
    "克井镇": 5,
    "思礼镇": 3,
    "五龙口镇": 3,
    "承留镇": 2,
    "梨林镇": 2,
    "轵城镇": 2,
}
_KILNS = {
    "承留镇": 4,
    "思礼镇": 4,
    "克井镇": 3,
    "大峪镇": 2,
    "坡头镇": 2,
    "下冶镇": 1,
    "王屋镇": 1,
    "虎岭产业集聚区": 2,
    "轵城镇": 2,
    "五龙口镇": 2,
}
_LIGHT = {
    "高新技术产业开发区": 5,
    "玉泉街道": 2,
    "北海街道": 1,
    "天坛街道": 1,
    "轵城镇": 2,
    "虎岭产业集聚区": 3,
    "玉川产业集聚区": 2,
    "梨林镇": 1,
    "五龙口镇": 1,
}
_URBAN = {
    "沁园街道": 4,
    "济水街道": 4,
    "北海街道": 4,
    "天坛街道": 3,
    "玉泉街道": 3,
    "高新技术产业开发区": 3,
    "轵城镇": 1,
    "克井镇": 1,
    "五龙口镇": 1,
    "承留镇": 1,
    "梨林镇": 1,
    "虎岭产业集聚区": 1,
    "玉川产业集聚区": 1,
}
_YARDS = {
    "玉川产业集聚区": 3,
    "虎岭产业集聚区": 3,
    "克井镇": 3,
    "五龙口镇": 2,
    "梨林镇": 2,
    "轵城镇": 1,
}
_MOUNTAIN = {
    "王屋镇": 3,
    "邵原镇": 3,
    "下冶镇": 3,
    "大峪镇": 3,
    "坡头镇": 2,
    "思礼镇": 2,
    "克井镇": 2,
    "承留镇": 1,
}

# --------------------------------------------------------------------------- line types


@dataclass(frozen=True)
class LineType:
    """A kind of production line: emissions and value added at plant size 1.0.

    Emissions in kg/day, value added in yuan/day, restart cost in yuan.
    """

    key: str
    name: str
    count: tuple[int, int]
    so2: int
    nox: int
    pm: int
    vocs: int
    va: int
    can_stop: bool
    min_load: int  # hundredths
    restart: int
    min_stop: int
    schedule: str


def _lt(
    key: str,
    name: str,
    count: tuple[int, int],
    e: tuple[int, int, int, int],
    va: int,
    *,
    stop: bool = True,
    min_load: int = 0,
    restart: int = 50_000,
    min_stop: int = 1,
    schedule: str = "main",
) -> LineType:
    return LineType(key, name, count, *e, va, stop, min_load, restart, min_stop, schedule)


# Per industry: the lines of a typical plant (size 1.0), see docs/DATA.md for the reasoning.
# e = (so2, nox, pm, vocs) kg/day.
# fmt: off
INDUSTRY_LINES: dict[str, tuple[LineType, ...]] = {
    "steel": (
        _lt("sinter", "烧结机", (1, 2), (1500, 2200, 700, 40), 600_000,
            restart=500_000, min_stop=2, schedule="sinter"),
        _lt("pellet", "球团竖炉", (0, 1), (450, 650, 220, 0), 200_000,
            restart=300_000, min_stop=2, schedule="sinter"),
        _lt("bf", "高炉", (1, 2), (160, 320, 520, 0), 1_300_000, min_load=60,
            restart=3_000_000, min_stop=3, schedule="bf"),
        _lt("bof", "转炉", (1, 2), (50, 150, 380, 0), 900_000, min_load=50,
            restart=200_000, min_stop=1, schedule="bf"),
        _lt("mill", "轧钢加热炉", (1, 1), (200, 520, 80, 0), 700_000,
            restart=100_000, min_stop=1, schedule="bf"),
        _lt("limekiln", "石灰窑", (1, 1), (60, 260, 160, 0), 60_000,
            restart=400_000, min_stop=3, schedule="sinter"),
        _lt("yard", "原料场", (1, 1), (0, 0, 260, 0), 30_000,
            restart=10_000, min_stop=1, schedule="aux"),
    ),
    "coking": (
        _lt("coke", "焦炉", (1, 2), (520, 1500, 380, 320), 420_000, stop=False, min_load=70,
            restart=50_000_000, min_stop=3, schedule="oven"),
        _lt("byprod", "化产回收", (1, 1), (100, 60, 20, 420), 300_000, stop=False, min_load=70,
            restart=2_000_000, min_stop=3, schedule="oven"),
        _lt("coalprep", "备煤系统", (1, 1), (0, 0, 300, 0), 50_000,
            restart=20_000, min_stop=1, schedule="aux"),
        _lt("screen", "筛焦系统", (1, 1), (0, 0, 160, 0), 30_000,
            restart=10_000, min_stop=1, schedule="aux"),
    ),
    "lead_zinc_smelting": (
        _lt("smelt", "富氧底吹熔炼炉", (1, 2), (620, 150, 120, 0), 800_000, min_load=50,
            restart=1_500_000, min_stop=3),
        _lt("acid", "制酸系统", (0, 0), (380, 20, 30, 0), 100_000, min_load=50,
            restart=300_000, min_stop=3),
        _lt("reduce", "还原炉", (1, 1), (300, 120, 100, 0), 500_000, min_load=50,
            restart=800_000, min_stop=2),
        _lt("fuming", "烟化炉", (1, 1), (480, 200, 200, 0), 300_000, min_load=50,
            restart=600_000, min_stop=2),
        _lt("refine", "电解精炼", (1, 1), (20, 10, 40, 0), 400_000,
            restart=100_000, min_stop=1),
        _lt("yard", "原料库", (1, 1), (0, 0, 150, 0), 20_000,
            restart=10_000, min_stop=1, schedule="aux"),
    ),
    "power": (
        _lt("unit", "燃煤发电机组", (2, 2), (1300, 1850, 370, 0), 1_100_000, stop=False,
            min_load=50, restart=1_000_000, min_stop=3),
        _lt("coalyard", "煤场", (1, 1), (0, 0, 150, 0), 20_000,
            restart=10_000, min_stop=1, schedule="aux"),
    ),
    "heating": (
        _lt("boiler", "供热锅炉", (1, 3), (120, 200, 30, 0), 30_000, stop=False, min_load=60,
            restart=100_000, min_stop=1),
        _lt("coalyard", "煤场", (1, 1), (0, 0, 60, 0), 5_000,
            restart=5_000, min_stop=1, schedule="aux"),
    ),
    "cement": (
        _lt("kiln", "熟料回转窑", (1, 2), (400, 2500, 600, 0), 700_000, min_load=60,
            restart=600_000, min_stop=2, schedule="kiln"),
        _lt("rawmill", "生料磨", (1, 1), (0, 0, 150, 0), 120_000,
            restart=30_000, min_stop=1, schedule="kiln"),
        _lt("cementmill", "水泥磨", (1, 2), (0, 0, 150, 0), 150_000,
            restart=30_000, min_stop=1, schedule="grind"),
    ),
    "cement_grinding": (
        _lt("mill", "水泥磨", (1, 3), (0, 10, 110, 0), 60_000,
            restart=20_000, min_stop=1, schedule="grind"),
    ),
    "refractory": (
        _lt("kiln", "隧道窑", (1, 3), (80, 120, 90, 0), 50_000,
            restart=150_000, min_stop=2, schedule="main"),
        _lt("crush", "破碎筛分", (1, 1), (0, 0, 60, 0), 20_000,
            restart=5_000, min_stop=1, schedule="aux"),
    ),
    "brick": (
        _lt("kiln", "砖瓦隧道窑", (1, 2), (120, 60, 70, 0), 15_000,
            restart=100_000, min_stop=2, schedule="main"),
    ),
    "lime": (
        _lt("kiln", "石灰窑", (1, 3), (40, 200, 120, 0), 25_000,
            restart=250_000, min_stop=3, schedule="lime"),
    ),
    "glass": (
        _lt("furnace", "玻璃熔窑", (1, 2), (150, 400, 40, 0), 150_000, stop=False, min_load=70,
            restart=8_000_000, min_stop=3, schedule="glass"),
        _lt("deep", "深加工线", (1, 1), (0, 0, 10, 30), 50_000,
            restart=10_000, min_stop=1),
    ),
    "corundum": (
        _lt("arc", "电弧炉", (2, 4), (60, 10, 150, 0), 30_000,
            restart=50_000, min_stop=1),
        _lt("crush", "破碎筛分", (1, 1), (0, 0, 80, 0), 10_000,
            restart=5_000, min_stop=1, schedule="aux"),
    ),
    "aluminium_rolling": (
        _lt("melt", "熔铝炉", (1, 2), (10, 80, 20, 0), 120_000, min_load=40,
            restart=100_000, min_stop=1),
        _lt("roll", "冷轧机", (1, 2), (0, 0, 5, 150), 200_000,
            restart=50_000, min_stop=1),
    ),
    "chemical": (
        _lt("reactor", "反应合成装置", (1, 3), (20, 30, 15, 200), 100_000, min_load=40,
            restart=80_000, min_stop=1),
        _lt("tank", "储罐区", (1, 1), (0, 0, 0, 80), 10_000, stop=False, min_load=80,
            restart=0, min_stop=1),
    ),
    "coal_chemical": (
        _lt("synth", "甲醇合成装置", (1, 2), (200, 300, 60, 250), 400_000, min_load=60,
            restart=1_000_000, min_stop=2),
        _lt("boiler", "动力锅炉", (1, 1), (150, 220, 40, 0), 50_000, min_load=50,
            restart=200_000, min_stop=1),
    ),
    "coating": (
        _lt("spray", "喷涂线", (1, 2), (0, 5, 8, 90), 20_000,
            restart=5_000, min_stop=1),
    ),
    "printing": (
        _lt("press", "印刷机组", (1, 2), (0, 0, 0, 55), 15_000,
            restart=2_000, min_stop=1),
    ),
    "other": (
        _lt("process", "生产线", (1, 2), (15, 25, 30, 10), 40_000,
            restart=10_000, min_stop=1),
    ),
}
# fmt: on

# How lines of a schedule respond, per grade: loads in hundredths at yellow, orange, red.
# Grade "" is an ungraded firm: limits that match the level's cut fraction.
SCHEDULES: dict[str, dict[str, Loads]] = {
    # generic: A/leading limit themselves a little, B/B- graded limits, C heavier, D stops
    "main": {"A": (100, 95, 90), "leading": (100, 100, 95), "B": (95, 85, 70),
             "B-": (90, 80, 60), "C": (80, 60, 40), "D": (0, 0, 0), "": (95, 85, 75)},
    # steel sinter, pellet, lime kilns: B limited at yellow and orange, stopped at red
    "sinter": {"A": (100, 95, 90), "leading": (100, 100, 95), "B": (90, 70, 0),
               "B-": (80, 50, 0), "C": (70, 0, 0), "D": (0, 0, 0), "": (90, 70, 0)},
    # blast furnace, converter, rolling: B untouched until red, C -50 %
    "bf": {"A": (100, 100, 95), "leading": (100, 100, 100), "B": (100, 100, 80),
           "B-": (100, 90, 70), "C": (90, 60, 50), "D": (0, 0, 0), "": (100, 90, 80)},
    # coke ovens and by-products: lengthen coking time (cannot stop, min 70 %)
    "oven": {"A": (100, 100, 90), "leading": (100, 100, 95), "B": (90, 80, 70),
             "B-": (80, 70, 70), "C": (80, 70, 70), "D": (70, 70, 70), "": (90, 80, 70)},
    # cement clinker: B orange -20 % red stop; C yellow half the lines, orange stop
    "kiln": {"A": (100, 100, 90), "leading": (100, 100, 95), "B": (100, 80, 0),
             "B-": (90, 70, 0), "C": (HALF, 0, 0), "D": (0, 0, 0), "": (90, 80, 0)},
    # grinding stations stop during warnings
    "grind": {"A": (100, 95, 90), "leading": (100, 100, 95), "B": (0, 0, 0),
              "B-": (0, 0, 0), "C": (0, 0, 0), "D": (0, 0, 0), "": (0, 0, 0)},
    # lime kilns: B stops (and keeps the kiln hot) at red
    "lime": {"A": (100, 95, 90), "leading": (100, 100, 95), "B": (95, 80, 0),
             "B-": (90, 70, 0), "C": (80, 50, 0), "D": (0, 0, 0), "": (95, 80, 0)},
    # glass furnaces: B limit 20 % (cannot stop, min 70 %)
    "glass": {"A": (100, 100, 90), "leading": (100, 100, 95), "B": (80, 80, 80),
              "B-": (80, 70, 70), "C": (70, 70, 70), "D": (70, 70, 70), "": (90, 80, 70)},
    # yards and handling: cover, then stop loading
    "aux": {"A": (100, 90, 90), "leading": (100, 95, 90), "B": (90, 70, 50),
            "B-": (80, 50, 30), "C": (60, 0, 0), "D": (0, 0, 0), "": (90, 70, 50)},
}  # fmt: skip


# Plant mix: weight per industry (weights of a 255-plant city), grade weights, guarantees.
INDUSTRY_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("steel", 3),
    ("coking", 4),
    ("lead_zinc_smelting", 8),
    ("power", 2),
    ("heating", 4),
    ("cement", 3),
    ("cement_grinding", 14),
    ("refractory", 30),
    ("brick", 22),
    ("lime", 18),
    ("glass", 8),
    ("corundum", 12),
    ("aluminium_rolling", 7),
    ("chemical", 16),
    ("coal_chemical", 4),
    ("coating", 42),
    ("printing", 16),
    ("other", 42),
)
# Industries placed first when a small city cannot hold them all (they make the edges).
_CORE = ("steel", "coking", "lead_zinc_smelting", "power", "cement", "glass", "chemical")

GRADE_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "steel": (("A", 2), ("B", 5), ("C", 3)),
    "coking": (("A", 2), ("B", 4), ("B-", 2), ("C", 2)),
    "lead_zinc_smelting": (("A", 2), ("leading", 1), ("B", 4), ("C", 3)),
    "power": (("", 1),),
    "heating": (("", 1),),
    "cement": (("A", 1), ("B", 5), ("C", 3), ("D", 1)),
    "cement_grinding": (("B", 4), ("C", 4), ("D", 2)),
    "refractory": (("A", 1), ("B", 4), ("B-", 2), ("C", 3), ("D", 1)),
    "brick": (("B", 3), ("B-", 2), ("C", 4), ("D", 1)),
    "lime": (("B", 4), ("B-", 2), ("C", 3), ("D", 1)),
    "glass": (("A", 1), ("B", 5), ("C", 4)),
    "corundum": (("B", 4), ("C", 5), ("D", 1)),
    "aluminium_rolling": (("A", 2), ("B", 5), ("C", 3)),
    "chemical": (("A", 1), ("B", 3), ("B-", 2), ("C", 4)),
    "coal_chemical": (("A", 2), ("B", 5), ("C", 3)),
    "coating": (("A", 1), ("leading", 1), ("B", 6), ("B-", 3), ("C", 6), ("D", 2)),
    "printing": (("A", 1), ("B", 4), ("C", 4), ("D", 1)),
    "other": (("", 7), ("C", 2), ("D", 1)),
}
# (guarantee, probability) per industry; heating is always a livelihood guarantee.
GUARANTEES: dict[str, tuple[str, float]] = {
    "heating": ("livelihood", 1.0),
    "power": ("livelihood", 0.5),
    "lead_zinc_smelting": ("strategic", 0.1),
    "chemical": ("strategic", 0.1),
    "aluminium_rolling": ("export", 0.2),
    "coating": ("export", 0.05),
    "other": ("livelihood", 0.1),
}

_PLACE: dict[str, dict[str, int]] = {
    "steel": _HEAVY, "coking": _HEAVY, "lead_zinc_smelting": _HEAVY, "power": _HEAVY,
    "heating": _URBAN, "cement": _KILNS, "cement_grinding": _KILNS, "refractory": _KILNS,
    "brick": _KILNS, "lime": _KILNS, "glass": _HEAVY, "corundum": _KILNS,
    "aluminium_rolling": _LIGHT, "chemical": _HEAVY, "coal_chemical": _HEAVY,
    "coating": _LIGHT, "printing": _LIGHT, "other": _LIGHT,
}  # fmt: skip

_TRADE: dict[str, tuple[str, ...]] = {
    "steel": ("钢铁有限公司", "特钢有限公司"),
    "coking": ("焦化有限公司", "煤焦有限公司"),
    "lead_zinc_smelting": ("铅业有限公司", "冶炼有限公司", "锌业有限公司"),
    "power": ("发电有限公司", "热电有限公司"),
    "heating": ("热力有限公司", "供热有限公司"),
    "cement": ("水泥有限公司",),
    "cement_grinding": ("建材有限公司（粉磨站）", "水泥粉磨有限公司"),
    "refractory": ("耐火材料有限公司", "耐材有限公司"),
    "brick": ("新型建材有限公司", "砖业有限公司"),
    "lime": ("钙业有限公司", "石灰有限公司"),
    "glass": ("玻璃有限公司", "玻璃制品有限公司"),
    "corundum": ("磨料有限公司", "刚玉有限公司"),
    "aluminium_rolling": ("铝业有限公司", "铝板带有限公司"),
    "chemical": ("化工有限公司", "精细化工有限公司"),
    "coal_chemical": ("煤化工有限公司", "能源化工有限公司"),
    "coating": ("机械制造有限公司", "钢结构有限公司", "家具有限公司", "装备有限公司"),
    "printing": ("包装印刷有限公司", "印务有限公司"),
    "other": ("铸造有限公司", "食品有限公司", "新材料有限公司", "环保科技有限公司"),
}
_WASTE = ("环保能源有限公司（生活垃圾焚烧）", "危废处置有限公司", "医疗废物处置有限公司")
_SYLLABLES = "鑫恒宏泰源华瑞丰盛达通隆昌嘉德润康宇兴利安远瀚晟锦辰祥和福正"
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红海波"

# --------------------------------------------------------------------------- result


@dataclass
class _Line:
    id: str
    name: str
    lt: LineType
    e: dict[str, int]
    va: int
    restart: int
    loads: list[int]  # yellow, orange, red (hundredths)


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
    _, lon0, lat0, radius = DISTRICTS[_DISTRICT_INDEX[name]]
    r = radius * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    lon = min(max(lon0 + r * math.cos(a), 112.0), 112.8)
    lat = min(max(lat0 + r * math.sin(a) * 0.82, 34.9), 35.3)  # degrees of lon are shorter
    return name, round(lon, 5), round(lat, 5)


def _jitter(rng: random.Random, base: int, scale: float) -> int:
    return 0 if base == 0 else max(1, round(base * scale * rng.uniform(0.8, 1.2)))


def _clamp(load: int, lt: LineType) -> int:
    """Make a scheduled load operable: a line runs at ≥ its minimum or, if it can, stops."""
    if load == 0 and lt.can_stop:
        return 0
    return max(load, lt.min_load)


def _brand_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct invented trade names (字号), two syllables first, then three."""
    two = [a + b for a in _SYLLABLES for b in _SYLLABLES if a != b]
    rng.shuffle(two)
    if n <= len(two):
        return two[:n]
    three = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES]
    three = [t for t in three if len(set(t)) == 3]
    rng.shuffle(three)
    names = two + three
    while len(names) < n:
        names += [f"{t}{len(names) // len(two)}" for t in two]
    return names[:n]


# --------------------------------------------------------------------------- plants


def _make_lines(rng: random.Random, industry: str, grade: str, guarantee: str) -> list[_Line]:
    size = min(max(rng.lognormvariate(0.0, 0.35), 0.5), 2.0)
    lines: list[_Line] = []
    smelters = 0
    for lt in INDUSTRY_LINES[industry]:
        n = rng.randint(*lt.count) if lt.key != "acid" else smelters
        if lt.key == "smelt":
            smelters = n
        sched = SCHEDULES[lt.schedule][grade]
        for k in range(1, n + 1):
            e = {
                "so2": _jitter(rng, lt.so2, size),
                "nox": _jitter(rng, lt.nox, size),
                "pm": _jitter(rng, lt.pm, size),
                "vocs": _jitter(rng, lt.vocs, size),
            }
            va = round(_jitter(rng, lt.va, size), -2)
            restart = round(_jitter(rng, lt.restart, size), -3) if lt.restart else 0
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
                bound = (10_000 - share * (100 - u.loads[i])) // 100
                w.loads[i] = min(w.loads[i], bound)
            assert all(x == _clamp(x, w.lt) for x in w.loads), (p.id, uid, to, wid)


def _frac(x: int) -> float:
    """Hundredths as a float with the shortest exact repr (85 → 0.85)."""
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
        vec = tuple(ln.loads[i] for ln in p.lines)
        if all(x == 100 for x in vec):
            continue  # normal operation at this level
        levels[level] = add(f"{level}-plan", vec)
    # deeper options for the optimiser; every internal supply edge still holds
    for cut in (30, 50):
        vec = tuple(max(100 - cut, ln.lt.min_load) for ln in p.lines)
        add(
            f"limit-{cut}", vec, None if len(set(vec)) == 1 else f"全厂限产{cut}%（不低于最低负荷）"
        )
    vec = tuple(0 if ln.lt.can_stop else ln.lt.min_load for ln in p.lines)
    if any(ln.lt.can_stop for ln in p.lines):
        if all(ln.lt.can_stop for ln in p.lines):
            add("stop-all", vec)
        else:
            add("stop-stoppable", vec, "可停工序全部停产，不可中断工序最低负荷运行")
    return measures, levels


def _plants(rng: random.Random, n: int) -> list[_Plant]:
    weights = list(INDUSTRY_WEIGHTS)
    counts = _allocate(n, weights, keep_one=True)
    if n < len(weights):  # a small city: the core industries first, then the rest
        core = [(k, w) for k, w in weights if k in _CORE]
        counts = {k: 0 for k, _ in weights}
        counts.update(_allocate(n, core, keep_one=True))
    width = max(3, len(str(n)))
    brands = _brand_names(rng, n)
    plants: list[_Plant] = []
    for industry, _ in weights:
        for _ in range(counts[industry]):
            pid = f"JY-P{len(plants) + 1:0{width}d}"
            grade = _pick(rng, GRADE_WEIGHTS[industry])
            gkind, gprob = GUARANTEES.get(industry, ("", 0.0))
            guarantee = gkind if rng.random() < gprob else ""
            district, lon, lat = _place(rng, _PLACE[industry])
            trades = _TRADE[industry] if not (guarantee and industry == "other") else _WASTE
            trade = trades[rng.randrange(len(trades))]
            name = f"济源市{brands[len(plants)]}{trade}"
            lines = _make_lines(rng, industry, grade, guarantee)
            plants.append(_Plant(pid, name, industry, district, lon, lat, grade, guarantee, lines))
    _link(rng, plants)
    return plants


def _person(rng: random.Random) -> str:
    given = _GIVEN[rng.randrange(len(_GIVEN))]
    if rng.random() < 0.5:
        given += _GIVEN[rng.randrange(len(_GIVEN))]
    return _SURNAMES[rng.randrange(len(_SURNAMES))] + given


def _plan(rng: random.Random, p: _Plant) -> dict[str, Any]:
    measures, levels = _measures(p)
    verification = ["electricity_submeter"]
    if any(ln.lt.so2 + ln.lt.nox >= 300 for ln in p.lines):
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
                "so2_kg_d": ln.e["so2"],
                "nox_kg_d": ln.e["nox"],
                "pm_kg_d": ln.e["pm"],
                "vocs_kg_d": ln.e["vocs"],
                "value_added_yuan_d": ln.va,
                "can_stop": ln.lt.can_stop,
                # a stop is a load of 0, so a stoppable line's technical minimum (which the
                # measures above respect) is not written: the file's bounds are [min_load, 1]
                "min_load": 0.0 if ln.lt.can_stop else _frac(ln.lt.min_load),
                "restart_cost_yuan": ln.restart,
                "min_stop_days": ln.lt.min_stop,
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


_SITE_TYPES = (
    "住宅小区项目", "棚户区改造项目", "道路改造工程", "学校建设项目", "标准化厂房项目",
    "商业综合体项目", "市政管网工程", "医院扩建项目", "安置房项目", "桥梁工程",
)  # fmt: skip
_PHASES = "一二三四"
_YARD_GOODS = ("煤炭", "矿石", "砂石", "焦炭", "铁精粉")


def _dust_sources(rng: random.Random, kind: str, count: int) -> list[dict[str, Any]]:
    """Construction sites, bulk-goods yards, quarries: mostly particulate matter."""
    prefix = {"site": "S", "yard": "Y", "quarry": "Q"}[kind]
    width = max(3, len(str(count)))
    brands = _brand_names(rng, count)
    rows = []
    for i in range(count):
        sid = f"JY-{prefix}{i + 1:0{width}d}"
        u = rng.uniform
        if kind == "site":  # area in ha; fugitive dust ~20 kg/ha/d under watering
            place = _place(rng, _URBAN)
            area = min(max(rng.lognormvariate(math.log(3.0), 0.6), 0.5), 25.0)
            e = {"so2": round(area * 0.1 * u(0, 1)), "nox": round(area * 2.5 * u(0.7, 1.3)),
                 "pm": round(area * 22 * u(0.8, 1.2)),
                 "vocs": round(area * 3 * u(0.5, 1.5)) if rng.random() < 0.4 else 0}  # fmt: skip
            va = round(area * 15_000 * u(0.8, 1.2), -2)
            kind_name = _SITE_TYPES[rng.randrange(len(_SITE_TYPES))]
            name = f"{place[0]}{brands[i]}{kind_name}（{_PHASES[rng.randrange(4)]}期）"
        elif kind == "yard":  # stockpile area in ha; wind erosion + handling
            place = _place(rng, _YARDS)
            area = u(1.0, 8.0)
            e = {"so2": round(area * 0.1 * u(0, 1)), "nox": round(area * 3 * u(0.7, 1.3)),
                 "pm": round(area * 25 * u(0.8, 1.2)), "vocs": 0}  # fmt: skip
            va = round(area * 8_000 * u(0.8, 1.2), -2)
            goods = _YARD_GOODS[rng.randrange(len(_YARD_GOODS))]
            name = f"济源市{brands[i]}物流有限公司{goods}堆场"
        else:  # output in t/d; blasting, crushing, screening, haulage
            place = _place(rng, _MOUNTAIN)
            tons = u(500, 3000)
            e = {"so2": round(tons * 0.0005), "nox": round(tons * 0.006 * u(0.8, 1.2)),
                 "pm": round(tons * 0.12 * u(0.8, 1.2)), "vocs": 0}  # fmt: skip
            va = round(tons * 25 * u(0.8, 1.2), -2)
            name = f"济源市{brands[i]}石料有限公司{place[0]}建筑石料用灰岩矿"
        rows.append(_row(sid, name, kind, kind if kind != "site" else "construction",
                         place, "", "", e, int(va)))  # fmt: skip
    return rows


# --------------------------------------------------------------------------- city plan

DEFAULTS: dict[str, dict[str, Any]] = {
    "site": {
        "measures": [
            {"id": "stop-earthwork", "name": "停止土石方开挖、拆除、渣土运输作业",
             "cut_fraction": {"nox": 0.4, "pm": 0.6}, "cost_fraction": 0.3},
            {"id": "stop-outdoor", "name": "停止室外施工作业（含室外喷涂、切割）",
             "cut_fraction": {"so2": 0.5, "nox": 0.8, "pm": 0.85, "vocs": 0.9},
             "cost_fraction": 0.6},
            {"id": "stop-all", "name": "全部停工（抢险抢修除外）",
             "cut_fraction": {"so2": 1.0, "nox": 1.0, "pm": 1.0, "vocs": 1.0},
             "cost_fraction": 1.0},
        ],
        "levels": {"yellow": "stop-earthwork", "orange": "stop-outdoor", "red": "stop-all"},
    },
    "yard": {
        "measures": [
            {"id": "cover-water", "name": "料堆全部苫盖、洒水抑尘，减少装卸",
             "cut_fraction": {"nox": 0.2, "pm": 0.3}, "cost_fraction": 0.1},
            {"id": "stop-handling", "name": "停止装卸、倒运作业",
             "cut_fraction": {"so2": 0.8, "nox": 0.8, "pm": 0.7}, "cost_fraction": 0.5},
            {"id": "close-yard", "name": "堆场关闭，运输车辆停运",
             "cut_fraction": {"so2": 1.0, "nox": 1.0, "pm": 0.85, "vocs": 1.0},
             "cost_fraction": 0.9},
        ],
        "levels": {"yellow": "cover-water", "orange": "stop-handling", "red": "stop-handling"},
    },
    "quarry": {
        "measures": [
            {"id": "stop-blasting", "name": "停止爆破、破碎筛分作业",
             "cut_fraction": {"so2": 0.4, "nox": 0.4, "pm": 0.5}, "cost_fraction": 0.4},
            {"id": "stop-all", "name": "全面停产（开采、破碎、运输）",
             "cut_fraction": {"so2": 1.0, "nox": 1.0, "pm": 0.9, "vocs": 1.0},
             "cost_fraction": 1.0},
        ],
        "levels": {"yellow": "stop-blasting", "orange": "stop-all", "red": "stop-all"},
    },
}  # fmt: skip

CUT_FRACTION: dict[str, float] = {"yellow": 0.10, "orange": 0.20, "red": 0.30}
LISTED_SHARE: dict[str, float] = {"so2": 0.6, "nox": 0.5, "pm": 0.55, "vocs": 0.5}
"""The listed sources' share of the whole-society baseline per pollutant (sets the baseline)."""
OTHER_CUT: dict[str, dict[str, float]] = {
    # non-listed cuts (traffic restrictions, road dust, residential coal) as baseline shares
    "yellow": {"so2": 0.005, "nox": 0.01, "pm": 0.01, "vocs": 0.005},
    "orange": {"so2": 0.01, "nox": 0.02, "pm": 0.02, "vocs": 0.01},
    "red": {"so2": 0.015, "nox": 0.03, "pm": 0.03, "vocs": 0.015},
}
ADVICE: dict[str, tuple[str, str]] = {
    "yellow": (
        "儿童、老年人和呼吸道、心脑血管疾病及其他慢性疾病患者尽量留在室内，避免户外活动；"
        "一般人群减少户外运动和室外作业时间；倡导公众绿色出行，减少机动车使用。",
        "Children, the elderly and people with respiratory, heart or other chronic diseases "
        "should stay indoors and avoid outdoor activity; everyone should reduce outdoor "
        "exercise and outdoor work; use public transport, walk or cycle.",
    ),
    "orange": (
        "儿童、老年人和患者留在室内，避免体力消耗；一般人群避免户外活动；"
        "中小学、幼儿园停止户外课程和活动；倡导绿色出行，机动车按规定限行。",
        "Children, the elderly and patients should stay indoors and avoid exertion; everyone "
        "should avoid outdoor activity; schools and kindergartens stop outdoor lessons; "
        "traffic restrictions apply.",
    ),
    "red": (
        "儿童、老年人和患者留在室内，避免体力消耗；一般人群避免户外活动；"
        "中小学、幼儿园停课；企事业单位可实行弹性工作制；尽量乘坐公共交通工具出行。",
        "Children, the elderly and patients should stay indoors and avoid exertion; everyone "
        "should avoid outdoor activity; schools and kindergartens close; employers may allow "
        "flexible working hours; use public transport.",
    ),
}


def _city(rows: list[dict[str, Any]]) -> dict[str, Any]:
    listed = {p: sum(int(r[f"{p}_kg_d"]) for r in rows) for p in POLLUTANTS}
    # round down to 100 kg: the listed share is at least the design share (never below 50 %)
    baseline = {
        p: max(100, listed[p] * 100 // round(LISTED_SHARE[p] * 100) // 100 * 100)
        for p in POLLUTANTS
    }
    levels = {}
    for level in LEVELS:
        levels[level] = {
            "cut_fraction": {p: CUT_FRACTION[level] for p in POLLUTANTS},
            "other_cut_kg_d": {
                p: round(OTHER_CUT[level][p] * baseline[p] / 10) * 10 for p in POLLUTANTS
            },
            "pool_so2_nox": True,
            "advice": ADVICE[level][0],
            "advice_en": ADVICE[level][1],
        }
    return {
        "name": "济源市 Jiyuan",
        "rule_set": "henan-2019",
        "aqi_standard": "by-date",
        "baseline_kg_d": baseline,
        "protect_grades": ["A", "leading"],
        "ack_deadline_hours": 2,
        "report_by": "17:00",
        "levels": levels,
        "defaults": DEFAULTS,
    }


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
        Rows, plans and city plan; nothing is written.
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
        e = {q: sum(ln.e[q] for ln in p.lines) for q in POLLUTANTS}
        va = sum(ln.va for ln in p.lines)
        place = (p.district, p.lon, p.lat)
        city.rows.append(
            _row(p.id, p.name, "plant", p.industry, place, p.grade, p.guarantee, e, va)
        )
        city.plans.append(_plan(rng, p))
    for kind, count in (("site", n_site), ("yard", n_yard), ("quarry", n_quarry)):
        city.rows += _dust_sources(rng, kind, count)
    city.city = _city(city.rows)
    return city


# --------------------------------------------------------------------------- envelope


def cut_envelope(city: SynthCity) -> dict[str, dict[str, dict[str, float]]]:
    """Floor, target and largest reachable cut per level and pollutant (kg/day).

    ``floor`` is the cut of the committed measures (plans and city defaults), ``max`` the
    cut when every source takes, per pollutant, its strictest allowed measure (guaranteed
    and protected sources keep their floor; supply coupling is ignored, so ``max`` is an
    upper bound). The key ``so2+nox`` holds the pooled values.
    """
    plan_of = {pl["enterprise"]: pl for pl in city.plans}
    protect = set(city.city["protect_grades"])
    keys = (*POLLUTANTS, "so2+nox")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for level in LEVELS:
        floor = dict.fromkeys(keys, 0.0)
        best = dict.fromkeys(keys, 0.0)
        for row in city.rows:
            fixed = bool(row["guarantee"]) or row["grade"] in protect
            if row["kind"] == "plant":
                options, chosen = _plant_options(plan_of[row["id"]], level)
            else:
                options, chosen = _default_options(city.city["defaults"][row["kind"]], row, level)
            allowed = [chosen] if fixed else [o for o in options if _stricter(o[0], chosen[0])]
            for k in keys:
                floor[k] += chosen[1][k]
                best[k] += max(o[1][k] for o in allowed)
        cfg = city.city["levels"][level]
        base = city.city["baseline_kg_d"]
        target = {
            p: cfg["cut_fraction"][p] * base[p] - cfg["other_cut_kg_d"][p] for p in POLLUTANTS
        }
        target["so2+nox"] = target["so2"] + target["nox"]
        out[level] = {"floor": floor, "target": target, "max": best}
    return out


Option = tuple[dict[str, float], dict[str, float]]  # (strictness vector, cut per key)


def _stricter(a: dict[str, float], b: dict[str, float]) -> bool:
    """``a`` at least as strict as ``b`` (loads lower or equal / fractions higher or equal)."""
    return all(a[k] <= b[k] for k in b)


def _cuts(e: dict[str, float]) -> dict[str, float]:
    return {**e, "so2+nox": e["so2"] + e["nox"]}


def _plant_options(plan: dict[str, Any], level: str) -> tuple[list[Option], Option]:
    lines = plan["lines"]

    def option(loads: dict[str, Any]) -> Option:
        vec = {ln["id"]: float(loads.get(ln["id"], 1.0)) for ln in lines}
        cut = {p: sum((1 - vec[ln["id"]]) * ln[f"{p}_kg_d"] for ln in lines) for p in POLLUTANTS}
        return vec, _cuts(cut)

    by_id = {m["id"]: option(m["loads"]) for m in plan["measures"]}
    normal = option({})
    chosen = by_id[plan["levels"][level]] if level in plan["levels"] else normal
    return [normal, *by_id.values()], chosen


def _default_options(
    defaults: dict[str, Any], row: dict[str, Any], level: str
) -> tuple[list[Option], Option]:
    def option(frac: dict[str, float]) -> Option:
        vec = {p: -frac.get(p, 0.0) for p in POLLUTANTS}  # minus: higher fraction = stricter
        return vec, _cuts({p: frac.get(p, 0.0) * float(row[f"{p}_kg_d"]) for p in POLLUTANTS})

    by_id = {m["id"]: option(m["cut_fraction"]) for m in defaults["measures"]}
    normal = option({})
    chosen = by_id[defaults["levels"][level]] if level in defaults["levels"] else normal
    return [normal, *by_id.values()], chosen
