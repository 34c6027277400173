"""A curtailment list as a table: rows for CSV and XLSX downloads (CLI and service).

Names in a plan come from enterprises and planners. A text cell that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by a spreadsheet
opening the file (``=HYPERLINK(...)``: CSV injection), so both files write it as text with
a leading apostrophe (OWASP's rule), and the workbook stores every text cell as a string,
never as a formula. Numbers stay numbers.

Headers, sheet names and coded values (kind, industry, level, grade, guarantee, measure
kind, yes/no) come in the chosen language (``lang``: ``en``, the default of the service's
downloads, or ``zh``); the ``why`` column is the assignment's ``why_zh`` under ``zh``. Files
written by :func:`write` are CSV in UTF-8 with a byte-order mark, so that Excel reads the
Chinese right.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emergency import POLLUTANTS
from emergency.names import POLLUTANT_LABEL, label
from emergency.solution import ResponsePlan

if TYPE_CHECKING:
    from emergency.dataset import Dataset

COLUMNS = [
    "source",
    "name",
    "kind",
    "industry",
    "district",
    "grade",
    "guarantee",
    "date",
    "level",
    "measure",
    "measure_name",
    "floor",
    "deepened",
    "fixed",
    *(f"cut_{p}_kg" for p in POLLUTANTS),
    "cost_yuan",
    "restart_cost_yuan",
    "why",
]


_POLLUTANT_ZH = {"so2": "SO2", "nox": "NOx", "pm": "颗粒物", "vocs": "VOCs"}

HEADERS_ZH: dict[str, str] = {
    "source": "企业编号",
    "name": "企业名称",
    "kind": "类型",
    "industry": "行业",
    "district": "区县",
    "grade": "绩效等级",
    "guarantee": "保障类",
    "date": "日期",
    "level": "预警级别",
    "measure": "措施编号",
    "measure_name": "措施名称",
    "floor": "预案措施编号",
    "deepened": "比预案加严",
    "fixed": "措施类别",
    **{f"cut_{p}_kg": f"{_POLLUTANT_ZH[p]}减排量(kg)" for p in POLLUTANTS},
    "cost_yuan": "成本(元)",
    "restart_cost_yuan": "重启成本(元)",
    "why": "原因",
    # the days sheet
    "row": "目标",
    "target_kg": "目标减排量(kg)",
    "capped_kg": "限定目标(kg)",
    "cut_kg": "减排量(kg)",
    "shortfall_kg": "缺口(kg)",
    "reachable_kg": "可达减排量(kg)",
    "marginal_cost_yuan_per_kg": "边际成本(元/kg)",
    # the summary sheet
    "start": "开始日期",
    "end": "结束日期",
    "rule_set": "预警规则",
    "reason": "原因",
    "status": "求解状态",
    "total_cost_yuan": "总成本(元)",
    "floor_cost_yuan": "预案措施成本(元)",
    "bound_yuan": "成本下界(元)",
    "gap": "差距",
    **{f"marginal_{p}_yuan_per_kg": f"{_POLLUTANT_ZH[p]}边际成本(元/kg)" for p in POLLUTANTS},
}
"""The Chinese header of each column and summary key."""

SHEETS = {"en": ("list", "days", "summary"), "zh": ("清单", "逐日", "概要")}


def header(key: str, lang: str = "en") -> str:
    """A column's header in ``lang`` (en: the key itself)."""
    return HEADERS_ZH.get(key, key) if lang == "zh" else key


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes for the start of a formula in a text cell."""


def cell(value: Any) -> Any:
    """``value`` for a spreadsheet: text that could be a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def append_row(sheet: Any, values: list[Any]) -> None:
    """Append a row of :func:`cell` values; text is stored as a string, never a formula."""
    sheet.append([cell(v) for v in values])
    for written in sheet[sheet.max_row]:
        if isinstance(written.value, str):
            written.data_type = "s"


def plan_rows(
    plan: ResponsePlan, dataset: Dataset | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    """One row per assignment, with the inventory's descriptive columns when known; keys are
    :data:`COLUMNS`, coded values named in ``lang`` (en: the codes)."""
    if lang == "zh":
        return [_zh_row(row) for row in _rows(plan, dataset)]
    return _rows(plan, dataset)


def _zh_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for kind in ("kind", "industry", "level", "grade", "guarantee", "fixed"):
        out[kind] = label(kind, row[kind], "zh") if row[kind] else ""
    out["deepened"] = "是" if row["deepened"] else "否"
    out["why"] = row["why_zh"] or row["why"]
    return out


def _rows(plan: ResponsePlan, dataset: Dataset | None) -> list[dict[str, Any]]:
    level = {day.date: day.level for day in plan.days}
    rows = []
    for a in plan.assignments:
        src = dataset.by_id.get(a.source) if dataset is not None else None
        row: dict[str, Any] = {
            "source": a.source,
            "name": src.name if src else "",
            "kind": src.kind if src else "",
            "industry": src.industry if src else "",
            "district": src.district if src else "",
            "grade": (src.grade or "") if src else "",
            "guarantee": (src.guarantee or "") if src else "",
            "date": a.date.isoformat(),
            "level": level.get(a.date, ""),
            "measure": a.measure,
            "measure_name": a.measure_name,
            "floor": a.floor,
            "deepened": a.deepened,
            "fixed": a.fixed,
            "cost_yuan": a.cost_yuan,
            "restart_cost_yuan": a.restart_cost_yuan,
            "why": a.why,
            "why_zh": a.why_zh,
        }
        for p in POLLUTANTS:
            row[f"cut_{p}_kg"] = getattr(a.cut_kg, p)
        rows.append({c: row[c] for c in [*COLUMNS, "why_zh"]})
    return rows


def day_rows(plan: ResponsePlan, lang: str = "en") -> list[dict[str, Any]]:
    """Per day and target row: target, imposed target, cut, shortfall, marginal cost
    (the level named in ``lang``)."""
    out = []
    for day in plan.days:
        for r in day.rows:
            out.append(
                {
                    "date": day.date.isoformat(),
                    "level": label("level", day.level, lang),
                    "row": POLLUTANT_LABEL.get(r.row, r.row) if lang == "zh" else r.row,
                    "target_kg": r.target_kg,
                    "capped_kg": r.capped_kg,
                    "cut_kg": r.cut_kg,
                    "shortfall_kg": r.shortfall_kg,
                    "reachable_kg": r.reachable_kg,
                    "marginal_cost_yuan_per_kg": r.marginal_cost_yuan_per_kg,
                }
            )
    return out


def to_csv(plan: ResponsePlan, dataset: Dataset | None = None, lang: str = "en") -> str:
    """The list as CSV text (header row in ``lang``); text cells through :func:`cell`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([header(c, lang) for c in COLUMNS])
    writer.writerows([csv_cell(row[c]) for c in COLUMNS] for row in plan_rows(plan, dataset, lang))
    return buf.getvalue()


def csv_cell(value: Any) -> Any:
    """:func:`cell`, with a carriage return in text written as a line feed: the csv module
    quotes a field holding a line feed (its line terminator) but not a lone CR, which
    many readers take for the end of the row (and the text after it for a new cell)."""
    value = cell(value)
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def to_xlsx(plan: ResponsePlan, dataset: Dataset | None = None, lang: str = "en") -> bytes:
    """The list as an XLSX workbook: sheets ``list``, ``days`` and ``summary`` (清单, 逐日,
    概要 under ``zh``), headers in ``lang``; text cells through :func:`cell`, stored as
    strings."""
    names = SHEETS["zh" if lang == "zh" else "en"]
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = names[0]
    append_row(ws, [header(c, lang) for c in COLUMNS])
    for row in plan_rows(plan, dataset, lang):
        append_row(ws, [row[c] for c in COLUMNS])
    ws.freeze_panes = "A2"
    days = wb.create_sheet(names[1])
    drows = day_rows(plan, lang)
    keys = list(drows[0]) if drows else ["date"]
    append_row(days, [header(k, lang) for k in keys])
    for row in drows:
        append_row(days, [row[c] for c in keys])
    summary = wb.create_sheet(names[2])
    w = plan.warning
    zh = lang == "zh"
    for key, value in [
        ("level", label("level", w.level, lang)),
        ("start", w.start.isoformat() if w.start else ""),
        ("end", w.end.isoformat() if w.end else ""),
        ("rule_set", w.rule_set),
        ("reason", (w.reason_zh or w.reason) if zh else w.reason),
        ("status", label("plan_status", plan.status, lang) if zh else plan.status),
        ("total_cost_yuan", plan.total_cost_yuan),
        ("floor_cost_yuan", plan.floor_cost_yuan),
        ("bound_yuan", plan.bound_yuan),
        ("gap", plan.gap),
        *(
            (f"marginal_{p}_yuan_per_kg", getattr(plan.marginal_cost_yuan_per_kg, p))
            for p in POLLUTANTS
        ),
    ]:
        append_row(summary, [header(key, lang), value])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(plan: ResponsePlan, path: Path, dataset: Dataset | None = None, lang: str = "en") -> None:
    """Write XLSX or CSV by the file's suffix, in ``lang``; CSV in UTF-8 with a byte-order
    mark (``EF BB BF``), which Excel needs to read it as UTF-8."""
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(to_xlsx(plan, dataset, lang))
    else:
        path.write_text(to_csv(plan, dataset, lang), encoding="utf-8-sig")
