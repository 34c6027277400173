"""A curtailment list as a table: rows for CSV and XLSX downloads (CLI and service).

Names in a plan come from enterprises and planners. A text cell that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula by a spreadsheet
opening the file (``=HYPERLINK(...)``: CSV injection), so both files write it as text with
a leading apostrophe (OWASP's rule), and the workbook stores every text cell as a string,
never as a formula. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emergency import POLLUTANTS
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


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes for the start of a formula in a text cell."""


def cell(value: Any) -> Any:
    """``value`` for a spreadsheet: text that could be a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _append(sheet: Any, values: list[Any]) -> None:
    """Append a row of :func:`cell` values; text is stored as a string, never a formula."""
    sheet.append([cell(v) for v in values])
    for written in sheet[sheet.max_row]:
        if isinstance(written.value, str):
            written.data_type = "s"


def plan_rows(plan: ResponsePlan, dataset: Dataset | None = None) -> list[dict[str, Any]]:
    """One row per assignment, with the inventory's descriptive columns when known."""
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
        }
        for p in POLLUTANTS:
            row[f"cut_{p}_kg"] = getattr(a.cut_kg, p)
        rows.append(row)
    return rows


def day_rows(plan: ResponsePlan) -> list[dict[str, Any]]:
    """Per day and target row: target, imposed target, cut, shortfall, marginal cost."""
    out = []
    for day in plan.days:
        for r in day.rows:
            out.append(
                {
                    "date": day.date.isoformat(),
                    "level": day.level,
                    "row": r.row,
                    "target_kg": r.target_kg,
                    "capped_kg": r.capped_kg,
                    "cut_kg": r.cut_kg,
                    "shortfall_kg": r.shortfall_kg,
                    "reachable_kg": r.reachable_kg,
                    "marginal_cost_yuan_per_kg": r.marginal_cost_yuan_per_kg,
                }
            )
    return out


def to_csv(plan: ResponsePlan, dataset: Dataset | None = None) -> str:
    """The list as CSV text (UTF-8, header row); text cells through :func:`cell`."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in plan_rows(plan, dataset))
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    """:func:`cell`, with a carriage return in text written as a line feed: the csv module
    quotes a field holding a line feed (its line terminator) but not a lone CR, which
    many readers take for the end of the row (and the text after it for a new cell)."""
    value = cell(value)
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def to_xlsx(plan: ResponsePlan, dataset: Dataset | None = None) -> bytes:
    """The list as an XLSX workbook: sheets ``list``, ``days`` and ``summary``; text cells
    through :func:`cell`, stored as strings."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "list"
    _append(ws, COLUMNS)
    for row in plan_rows(plan, dataset):
        _append(ws, [row[c] for c in COLUMNS])
    ws.freeze_panes = "A2"
    days = wb.create_sheet("days")
    drows = day_rows(plan)
    header = list(drows[0]) if drows else ["date"]
    _append(days, header)
    for row in drows:
        _append(days, [row[c] for c in header])
    summary = wb.create_sheet("summary")
    w = plan.warning
    for key, value in [
        ("level", w.level or ""),
        ("start", w.start.isoformat() if w.start else ""),
        ("end", w.end.isoformat() if w.end else ""),
        ("rule_set", w.rule_set),
        ("reason", w.reason),
        ("status", plan.status),
        ("total_cost_yuan", plan.total_cost_yuan),
        ("floor_cost_yuan", plan.floor_cost_yuan),
        ("bound_yuan", plan.bound_yuan),
        ("gap", plan.gap),
        *(
            (f"marginal_{p}_yuan_per_kg", getattr(plan.marginal_cost_yuan_per_kg, p))
            for p in POLLUTANTS
        ),
    ]:
        _append(summary, [key, value])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(plan: ResponsePlan, path: Path, dataset: Dataset | None = None) -> None:
    """Write CSV or XLSX by the file's suffix."""
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(to_xlsx(plan, dataset))
    else:
        path.write_text(to_csv(plan, dataset), encoding="utf-8")
