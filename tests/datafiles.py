"""A tiny valid data folder for tests: six sources, three plans, a city plan.

Use :func:`write_small_dataset` (``tmp_path`` in, data folder out). To build a broken
variant, take the parts (:func:`small_rows`, :func:`small_city`, :func:`small_plans`),
change them, and pass them to :func:`write_small_dataset`.

The numbers are chosen so that every level's targets are reachable:

- ``JY-P001`` steel, grade B: ``sinter-1`` (can stop, restart 400 000 yuan, 2 days) and
  ``bf-1`` (blast furnace, cannot stop, min load 0.5).
- ``JY-P002`` coking, grade C: ``coke-1`` (cannot stop, min load 0.6) supplies ``bf-1``
  with share 1.0, so at orange the steel plant must go below its floor (to ``deep``).
- ``JY-P003`` power, grade A and guaranteed (livelihood): fixed at its floor.
- ``JY-S001`` site, ``JY-Y001`` yard, ``JY-Q001`` quarry: no plans, city defaults.

Meters (分表计电): ``sinter-1`` has ``JY-P001-sinter-1-E1``, ``bf-1`` has
``JY-P001-bf-1-E1`` and ``-E2``, ``coke-1`` has ``JY-P002-coke-1-E1``; ``unit-1`` none.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from emergency.inventory import COLUMNS

Row = dict[str, Any]


def small_rows() -> list[Row]:
    """The inventory rows (fresh dicts; change them freely)."""
    base = {"grade": "", "guarantee": "", "so2_kg_d": 0, "nox_kg_d": 0, "pm_kg_d": 0}
    base |= {"vocs_kg_d": 0, "lon": 112.6, "lat": 35.1}
    rows: list[Row] = [
        {
            "id": "JY-P001",
            "name": "济源钢铁",
            "kind": "plant",
            "industry": "steel",
            "district": "虎岭产业集聚区",
            "grade": "B",
            "so2_kg_d": 1000,
            "nox_kg_d": 1500,
            "pm_kg_d": 500,
            "vocs_kg_d": 50,
            "value_added_yuan_d": 2000000,
        },
        {
            "id": "JY-P002",
            "name": "金马焦化",
            "kind": "plant",
            "industry": "coking",
            "district": "玉川产业集聚区",
            "grade": "C",
            "so2_kg_d": 300,
            "nox_kg_d": 600,
            "pm_kg_d": 150,
            "vocs_kg_d": 400,
            "value_added_yuan_d": 500000,
        },
        {
            "id": "JY-P003",
            "name": "国电济源热电",
            "kind": "plant",
            "industry": "power",
            "district": "克井镇",
            "grade": "A",
            "guarantee": "livelihood",
            "so2_kg_d": 400,
            "nox_kg_d": 700,
            "pm_kg_d": 60,
            "vocs_kg_d": 0,
            "value_added_yuan_d": 900000,
        },
        {
            "id": "JY-S001",
            "name": "沁园路改造工地",
            "kind": "site",
            "industry": "construction",
            "district": "沁园街道",
            "nox_kg_d": 20,
            "pm_kg_d": 120,
            "vocs_kg_d": 5,
            "value_added_yuan_d": 60000,
        },
        {
            "id": "JY-Y001",
            "name": "梨林煤炭堆场",
            "kind": "yard",
            "industry": "yard",
            "district": "梨林镇",
            "pm_kg_d": 80,
            "value_added_yuan_d": 20000,
        },
        {
            "id": "JY-Q001",
            "name": "王屋石料厂",
            "kind": "quarry",
            "industry": "quarry",
            "district": "王屋镇",
            "pm_kg_d": 200,
            "value_added_yuan_d": 30000,
        },
    ]
    return [base | row for row in rows]


def small_city() -> dict[str, Any]:
    """The city plan as a dict (henan-2019: yellow, orange, red)."""

    def level(fraction: float, other: dict[str, float], advice: str) -> dict[str, Any]:
        cut = {"so2": fraction, "nox": fraction, "pm": fraction, "vocs": fraction}
        return {
            "cut_fraction": cut,
            "other_cut_kg_d": other,
            "pool_so2_nox": False,
            "advice": advice,
        }

    return {
        "name": "Jiyuan (test)",
        "rule_set": "henan-2019",
        "aqi_standard": "by-date",
        "baseline_kg_d": {"so2": 4000, "nox": 6000, "pm": 2000, "vocs": 1000},
        "protect_grades": ["A", "leading"],
        "levels": {
            "yellow": level(0.10, {"so2": 50, "nox": 100, "pm": 50, "vocs": 50}, "减少户外活动"),
            "orange": level(0.20, {"so2": 100, "nox": 200, "pm": 100, "vocs": 100}, "停止户外活动"),
            "red": level(0.30, {"so2": 300, "nox": 400, "pm": 100, "vocs": 150}, "中小学停课"),
        },
        "defaults": {
            "site": {
                "measures": [
                    {
                        "id": "stop-earthwork",
                        "name": "停止土石方作业",
                        "cut_fraction": {"pm": 0.6},
                        "cost_fraction": 0.3,
                    },
                    {
                        "id": "stop-all",
                        "name": "全面停工",
                        "cut_fraction": {"so2": 1, "nox": 1, "pm": 1, "vocs": 1},
                        "cost_fraction": 1.0,
                    },
                ],
                "levels": {
                    "yellow": "stop-earthwork",
                    "orange": "stop-earthwork",
                    "red": "stop-all",
                },
            },
            "yard": {
                "measures": [
                    {
                        "id": "cover",
                        "name": "苫盖、喷淋",
                        "cut_fraction": {"pm": 0.5},
                        "cost_fraction": 0.1,
                    },
                    {
                        "id": "stop-loading",
                        "name": "停止装卸",
                        "cut_fraction": {"pm": 0.8},
                        "cost_fraction": 0.5,
                    },
                ],
                "levels": {"yellow": "cover", "orange": "stop-loading", "red": "stop-loading"},
            },
            "quarry": {
                "measures": [
                    {
                        "id": "stop-blasting",
                        "name": "停止爆破",
                        "cut_fraction": {"pm": 0.5},
                        "cost_fraction": 0.4,
                    },
                    {
                        "id": "stop-all",
                        "name": "全面停产",
                        "cut_fraction": {"so2": 1, "nox": 1, "pm": 1, "vocs": 1},
                        "cost_fraction": 1.0,
                    },
                ],
                "levels": {"yellow": "stop-blasting", "orange": "stop-all", "red": "stop-all"},
            },
        },
    }


def _line(ident: str, name: str, **values: Any) -> dict[str, Any]:
    line = {
        "id": ident,
        "name": name,
        "so2_kg_d": 0,
        "nox_kg_d": 0,
        "pm_kg_d": 0,
        "vocs_kg_d": 0,
        "value_added_yuan_d": 0,
        "can_stop": True,
        "min_load": 0.0,
        "restart_cost_yuan": 0,
        "min_stop_days": 1,
    }
    return line | values


def small_plans() -> dict[str, dict[str, Any]]:
    """The three plant plans keyed by enterprise id."""
    return {
        "JY-P001": {
            "enterprise": "JY-P001",
            "updated": dt.date(2016, 10, 15),
            "lines": [
                _line(
                    "sinter-1",
                    "1#烧结机",
                    so2_kg_d=800,
                    nox_kg_d=1100,
                    pm_kg_d=300,
                    value_added_yuan_d=800000,
                    restart_cost_yuan=400000,
                    min_stop_days=2,
                    meters=["JY-P001-sinter-1-E1"],
                ),
                _line(
                    "bf-1",
                    "1#高炉",
                    so2_kg_d=200,
                    nox_kg_d=400,
                    pm_kg_d=200,
                    vocs_kg_d=50,
                    value_added_yuan_d=1200000,
                    can_stop=False,
                    min_load=0.5,
                    meters=["JY-P001-bf-1-E1", "JY-P001-bf-1-E2"],
                ),
            ],
            "measures": [
                {"id": "limit-20", "name": "全厂限产20%", "loads": {"sinter-1": 0.8, "bf-1": 0.8}},
                {
                    "id": "stop-sinter",
                    "name": "烧结机停产",
                    "loads": {"sinter-1": 0.0, "bf-1": 0.8},
                },
                {
                    "id": "deep",
                    "name": "烧结停产、高炉减半",
                    "loads": {"sinter-1": 0.0, "bf-1": 0.5},
                },
            ],
            "levels": {"yellow": "limit-20", "orange": "stop-sinter", "red": "deep"},
            "supplies": [],
            "verification": ["electricity_submeter", "cems"],
            "contact": {"person": "王工", "phone": "0391-0000001"},
        },
        "JY-P002": {
            "enterprise": "JY-P002",
            "updated": dt.date(2016, 10, 15),
            "lines": [
                _line(
                    "coke-1",
                    "1#焦炉",
                    so2_kg_d=300,
                    nox_kg_d=600,
                    pm_kg_d=150,
                    vocs_kg_d=400,
                    value_added_yuan_d=500000,
                    can_stop=False,
                    min_load=0.6,
                    meters=["JY-P002-coke-1-E1"],
                ),
            ],
            "measures": [
                {"id": "extend-coking", "name": "延长结焦时间", "loads": {"coke-1": 0.8}},
                {"id": "min-load", "name": "焦炉最低负荷", "loads": {"coke-1": 0.6}},
            ],
            "levels": {"yellow": "extend-coking", "orange": "min-load", "red": "min-load"},
            "supplies": [
                {"line": "coke-1", "to": {"enterprise": "JY-P001", "line": "bf-1"}, "share": 1.0}
            ],
            "verification": ["cems"],
            "contact": {"person": "李工", "phone": "0391-0000002"},
        },
        "JY-P003": {
            "enterprise": "JY-P003",
            "updated": dt.date(2016, 10, 15),
            "lines": [
                _line(
                    "unit-1",
                    "1#机组",
                    so2_kg_d=400,
                    nox_kg_d=700,
                    pm_kg_d=60,
                    value_added_yuan_d=900000,
                    can_stop=False,
                    min_load=0.4,
                ),
            ],
            "measures": [{"id": "ultra-low", "name": "以热定电", "loads": {"unit-1": 0.9}}],
            "levels": {"orange": "ultra-low", "red": "ultra-low"},
            "supplies": [],
            "verification": ["cems"],
            "contact": {"person": "赵工", "phone": "0391-0000003"},
        },
    }


def dump_yaml(data: Any) -> str:
    """YAML as a person would write it (block style, keys in order, Chinese kept)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_small_dataset(
    path: Path,
    *,
    rows: list[Row] | None = None,
    city: dict[str, Any] | None = None,
    plans: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write a small valid data folder (or the variant given) under ``path``; return it."""
    path.mkdir(parents=True, exist_ok=True)
    rows = small_rows() if rows is None else rows
    with (path / "enterprises.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (path / "plans" / "enterprises").mkdir(parents=True, exist_ok=True)
    (path / "plans" / "city.yaml").write_text(
        dump_yaml(small_city() if city is None else city), encoding="utf-8"
    )
    for ident, plan in (small_plans() if plans is None else plans).items():
        (path / "plans" / "enterprises" / f"{ident}.yaml").write_text(
            dump_yaml(plan), encoding="utf-8"
        )
    return path
