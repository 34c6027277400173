"""``emergency list template`` and ``emergency list export``: workbooks in the list layout.

The export writes a data folder back in the layout :mod:`emergency.listbook.read` reads,
so that importing it gives the same folder (docs/LIST.md): the colour measures on the list
sheet, every other measure on the measures sheet (``措施``), supply couplings on the
supply sheet (``供应关系``). Text cells that a spreadsheet would take for a formula are
guarded with :func:`emergency.export.cell`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from emergency import POLLUTANTS
from emergency.dataset import Dataset
from emergency.export import append_row
from emergency.inventory import Source
from emergency.listbook.columns import (
    COLOURS,
    GRADE_ZH,
    GUARANTEE_ZH,
    INDUSTRY_ZH,
    KIND_ZH,
    LIST_COLUMNS,
    LIST_REQUIRED,
    MEASURE_COLUMNS,
    NONE_MARKS,
    SUPPLY_COLUMNS,
    UNITS,
    VERIFICATION_ZH,
    Column,
)
from emergency.listbook.credit import check_character
from emergency.plans import Plan

DATA_ROWS = 2000
"""Rows of the template that carry data validation."""

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")


def _percent(fraction: float) -> int | float:
    value = Decimal(repr(float(fraction))) * 100
    return int(value) if value == value.to_integral_value() else float(value)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _headers(ws: Worksheet, columns: list[Column], required: tuple[str, ...] = ()) -> None:
    """Two header rows: Chinese (with units) and English."""
    append_row(ws, [c.title for c in columns])
    append_row(ws, [c.en for c in columns])
    for i, column in enumerate(columns, start=1):
        for row in (1, 2):
            target = ws.cell(row=row, column=i)
            target.font = Font(bold=row == 1)
            target.fill = REQUIRED_FILL if column.key in required else HEADER_FILL
            target.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(i)].width = max(10, 2 * len(column.zh) + 4)
    ws.freeze_panes = "A3"


# --------------------------------------------------------------------------- export


def _list_columns(blue: bool) -> list[Column]:
    return [c for c in LIST_COLUMNS if blue or not c.key.startswith("blue")]


def _split_name(name: str, n: int) -> list[str]:
    """A measure's name spread over its ``n`` rows: one part per line when it splits into
    ``n`` distinct parts at ``；``, else all of it on the first row."""
    parts = name.split("；")
    if len(parts) == n and all(parts) and len(set(parts)) == n:
        return parts
    return [name] + [""] * (n - 1)


def _enterprise_cells(source: Source, plan: Plan | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": source.name,
        "credit_code": source.credit_code or "",
        "id": source.id,
        "kind": KIND_ZH[source.kind],
        "industry": INDUSTRY_ZH.get(source.industry, source.industry),
        "district": source.district,
        "lon": _number(source.lon),
        "lat": _number(source.lat),
        "grade": GRADE_ZH.get(source.grade or "", ""),
        "guarantee": GUARANTEE_ZH.get(source.guarantee or "", ""),
        "unit": "kg/d",
    }
    if plan is not None:
        values["updated"] = plan.updated.isoformat() if plan.updated else ""
        values["verification"] = "、".join(VERIFICATION_ZH.get(v, v) for v in plan.verification)
        values["contact_person"] = str(plan.contact.get("person", ""))
        values["contact_phone"] = str(plan.contact.get("phone", ""))
    return values


def _source_row(source: Source) -> dict[str, Any]:
    row = _enterprise_cells(source, None)
    for p in POLLUTANTS:
        row[p] = _number(getattr(source, f"{p}_kg_d"))
    row["value_added"] = _number(source.value_added_yuan_d)
    return row


def _plan_rows(source: Source, plan: Plan) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = _enterprise_cells(source, plan)
    for line in plan.lines:
        row = dict(base)
        row.update(
            line_id=line.id,
            line=line.name,
            value_added=_number(line.value_added_yuan_d),
            can_stop="是" if line.can_stop else "否",
            min_load=_percent(line.min_load),
            restart_cost=_number(line.restart_cost_yuan),
            min_stop_days=line.min_stop_days,
            meters=", ".join(line.meters),
        )
        for p in POLLUTANTS:
            row[p] = _number(getattr(line, f"{p}_kg_d"))
        rows.append(row)
    for colour in COLOURS:
        mid = plan.levels.get(colour)
        if mid is None:
            continue
        measure = plan.measure(mid)
        names = _split_name(measure.name, len(rows))
        for row, line, name in zip(rows, plan.lines, names, strict=True):
            row[f"{colour}_measure"] = name
            row[f"{colour}_measure_id"] = mid
            if line.id in measure.loads:
                row[f"{colour}_load"] = _percent(measure.loads[line.id])
    return rows


def export_workbook(dataset: Dataset, out: Path) -> None:
    """Write the data folder as a list workbook (sheets 清单, 措施, 供应关系)."""
    blue = any("blue" in plan.levels for plan in dataset.plans.values())
    columns = _list_columns(blue)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "清单"
    _headers(ws, columns, LIST_REQUIRED)
    measures = book.create_sheet("措施")
    _headers(measures, list(MEASURE_COLUMNS))
    supplies = book.create_sheet("供应关系")
    _headers(supplies, list(SUPPLY_COLUMNS))
    for source in dataset.sources:
        plan = dataset.plan(source.id)
        rows = [_source_row(source)] if plan is None else _plan_rows(source, plan)
        for row in rows:
            append_row(ws, [row.get(c.key, "") for c in columns])
        if plan is None:
            continue
        used = set(plan.levels.values())
        extra = [m for m in plan.measures if m.id not in used]
        if not extra:
            append_row(measures, [plan.enterprise, NONE_MARKS[0], "", "", ""])
        for measure in extra:
            if not measure.loads:
                append_row(measures, [plan.enterprise, measure.id, measure.name, "", ""])
            for line_id, load in measure.loads.items():
                append_row(
                    measures, [plan.enterprise, measure.id, measure.name, line_id, _percent(load)]
                )
        for edge in plan.supplies:
            append_row(
                supplies,
                [
                    plan.enterprise,
                    edge.line,
                    edge.to_enterprise,
                    edge.to_line,
                    _percent(edge.share),
                ],
            )
    book.save(out)


# --------------------------------------------------------------------------- template


def _credit(first17: str) -> str:
    return first17 + check_character(first17)


def _examples() -> list[dict[str, Any]]:
    plant = {
        "name": "示例钢铁有限公司",
        "credit_code": _credit("91419001MA3X00001"),
        "kind": KIND_ZH["plant"],
        "industry": INDUSTRY_ZH["steel"],
        "district": "示例镇",
        "lon": 112.6,
        "lat": 35.08,
        "grade": "C",
        "unit": "t/a",
        "operating_days": 330,
        "can_stop": "是",
        "updated": "2026-10-01",
        "verification": "分表计电、视频监控",
        "contact_person": "张三",
        "contact_phone": "0391-0000000",
    }
    sinter = {
        **plant,
        "line": "1#烧结机",
        "so2": 300,
        "nox": 480,
        "pm": 120,
        "vocs": 8,
        "value_added": 300000,
        "min_load": 0,
        "restart_cost": 300000,
        "min_stop_days": 2,
        "yellow_measure": "1#烧结机限产30%",
        "yellow_load": 70,
        "orange_measure": "1#烧结机停产",
        "orange_load": 0,
        "red_measure": "1#烧结机停产",
        "red_load": 0,
    }
    furnace = {
        **plant,
        "line": "1#高炉",
        "so2": 30,
        "nox": 60,
        "pm": 110,
        "vocs": 0,
        "value_added": 700000,
        "min_load": 60,
        "restart_cost": 1700000,
        "min_stop_days": 3,
        "yellow_measure": "1#高炉限产10%",
        "yellow_load": 90,
        "orange_measure": "1#高炉限产40%",
        "orange_load": 60,
        "red_measure": "1#高炉限产40%",
        "red_load": 60,
    }
    others = []
    for n, (kind, industry, name) in enumerate(
        (
            ("site", "construction", "示例小区二期工地"),
            ("yard", "yard", "示例物流堆场"),
            ("quarry", "quarry", "示例石料厂"),
        ),
        start=2,
    ):
        others.append(
            {
                "name": name,
                "credit_code": _credit(f"91419001MA3X0000{n}"),
                "kind": KIND_ZH[kind],
                "industry": INDUSTRY_ZH[industry],
                "district": "示例镇",
                "lon": 112.6,
                "lat": 35.1,
                "unit": "kg/d",
                "so2": 0,
                "nox": 5,
                "pm": 40,
                "vocs": 1,
                "value_added": 50000,
            }
        )
    return [sinter, furnace, *others]


INSTRUCTIONS = (
    "应急减排清单 — 填写说明 / The emergency emission-reduction list — how to fill it in",
    "",
    "清单: 每条生产线或工序一行；同一企业的各行企业名称、统一社会信用代码相同。",
    "清单: one row per production line or process; rows of one enterprise share the name and "
    "the credit code.",
    "施工工地、物料堆场、矿山: 每个一行，不填生产线，措施按城市方案默认措施执行。",
    "Sites, yards and quarries: one row each without a line; they follow the city plan's "
    "default measures.",
    "企业编号可空: 空时取统一社会信用代码。/ id may be empty: the credit code is used.",
    "单位: kg/d（默认）或 t/a（须填年运行天数；kg/d = t/a × 1000 / 天数）。",
    "unit: kg/d (default) or t/a with operating_days (kg/d = t/a × 1000 / days).",
    "负荷(%): 该颜色措施下生产线的负荷，0 = 停产；红色不得宽于橙色，橙色不得宽于黄色。",
    "load (%): the line's load under that colour's measure, 0 = stopped; red at least as "
    "strict as orange, orange at least as strict as yellow.",
    "措施 (可选): 优化可选的更深措施；不填时按全厂限产30%、50%、停产自动补充。",
    "measures (optional): deeper measures the optimiser may choose; when absent, whole-plant "
    "limits of 30 % and 50 % and a stop are added.",
    "供应关系 (可选): 上游生产线供应下游生产线的占比(%)。",
    "supplies (optional): the share (%) of a downstream line's input that an upstream line "
    "supplies.",
    "导入 / import: emergency list import 清单.xlsx --out 数据目录 — see docs/LIST.md.",
    "第1、2行为表头（中文、英文），列顺序可调整。/ Rows 1-2 are the headers (Chinese, "
    "English); columns may be in any order.",
)


def _choices(book: Workbook) -> dict[str, str]:
    """A hidden sheet of the vocabularies; returns the range of each list."""
    ws = book.create_sheet("选项")
    lists = {
        "kind": list(KIND_ZH.values()),
        "industry": list(INDUSTRY_ZH.values()),
        "grade": list(GRADE_ZH.values()),
        "guarantee": list(GUARANTEE_ZH.values()),
        "yes_no": ["是", "否"],
        "unit": list(UNITS),
    }
    ranges: dict[str, str] = {}
    for i, (key, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(i)
        ws.cell(row=1, column=i, value=key)
        for r, value in enumerate(values, start=2):
            ws.cell(row=r, column=i, value=value)
        ranges[key] = f"'选项'!${letter}$2:${letter}${len(values) + 1}"
    ws.sheet_state = "hidden"
    return ranges


def _validate(ws: Worksheet, columns: list[Column], key: str, rule: DataValidation) -> None:
    index = next(i for i, c in enumerate(columns, start=1) if c.key == key)
    letter = get_column_letter(index)
    rule.add(f"{letter}3:{letter}{DATA_ROWS + 2}")
    ws.add_data_validation(rule)


def _list_rule(formula: str, header: str, allow_blank: bool = True) -> DataValidation:
    rule = DataValidation(type="list", formula1=formula, allow_blank=allow_blank)
    rule.error = f"{header}: 请从下拉列表选择 / choose from the list"
    rule.showErrorMessage = True
    return rule


def _range_rule(kind: str, low: float, high: float | None, header: str) -> DataValidation:
    if high is None:
        rule = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=str(low))
        shown = f">= {low:g}"
    else:
        rule = DataValidation(type=kind, operator="between", formula1=str(low), formula2=str(high))
        shown = f"[{low:g}, {high:g}]"
    rule.allow_blank = True
    rule.showErrorMessage = True
    rule.error = f"{header}: {shown}"
    return rule


def write_template(out: Path) -> None:
    """An empty list workbook: instructions, header rows, validation, one example per kind."""
    book = Workbook()
    guide = book.active
    assert guide is not None
    guide.title = "说明"
    for line in INSTRUCTIONS:
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    columns = _list_columns(blue=False)
    ws = book.create_sheet("清单")
    _headers(ws, columns, LIST_REQUIRED)
    for row in _examples():
        append_row(ws, [row.get(c.key, "") for c in columns])
    measures = book.create_sheet("措施")
    _headers(measures, list(MEASURE_COLUMNS))
    supplies = book.create_sheet("供应关系")
    _headers(supplies, list(SUPPLY_COLUMNS))
    ranges = _choices(book)
    for key, choice in (
        ("kind", "kind"),
        ("industry", "industry"),
        ("grade", "grade"),
        ("guarantee", "guarantee"),
        ("can_stop", "yes_no"),
        ("unit", "unit"),
    ):
        header = next(c.title for c in columns if c.key == key)
        _validate(ws, columns, key, _list_rule(ranges[choice], header))
    numbers: list[tuple[str, str, float, float | None]] = [
        ("lon", "decimal", -180, 180),
        ("lat", "decimal", -90, 90),
        ("operating_days", "decimal", 1, 366),
        ("so2", "decimal", 0, None),
        ("nox", "decimal", 0, None),
        ("pm", "decimal", 0, None),
        ("vocs", "decimal", 0, None),
        ("value_added", "decimal", 0, None),
        ("min_load", "decimal", 0, 100),
        ("restart_cost", "decimal", 0, None),
        ("min_stop_days", "whole", 1, None),
        *((f"{c}_load", "decimal", 0, 100) for c in COLOURS if c != "blue"),
    ]
    for key, kind, low, high in numbers:
        header = next(c.title for c in columns if c.key == key)
        _validate(ws, columns, key, _range_rule(kind, low, high, header))
    for sheet, key in ((measures, "load"), (supplies, "share")):
        cols = list(MEASURE_COLUMNS if sheet is measures else SUPPLY_COLUMNS)
        header = next(c.title for c in cols if c.key == key)
        _validate(sheet, cols, key, _range_rule("decimal", 0, 100, header))
    book.move_sheet("清单", offset=-(len(book.sheetnames) - 2))
    book.active = 1
    book.save(out)
