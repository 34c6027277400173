"""A season schedule as a table: CSV (one row per run) and XLSX (runs, quotas, days).

Text cells go through :func:`emergency.export.cell` (a leading ``'`` on text a spreadsheet
would run as a formula: ``=``, ``+``, ``-``, ``@``, tab, CR) and the workbook stores text as
strings, as the curtailment list's files do. Headers in Chinese and English.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emergency import POLLUTANTS
from emergency.errors import InputError
from emergency.export import append_row, csv_cell
from emergency.season.state import SETTLED, SETTLED_NAME

if TYPE_CHECKING:
    from emergency.dataset import Dataset

RUN_COLUMNS = [
    ("source", "排污单位编号"),
    ("name", "名称"),
    ("industry", "行业"),
    ("district", "区域"),
    ("measure", "措施编号"),
    ("measure_name", "措施"),
    ("line_loads", "生产线负荷"),
    ("start", "开始"),
    ("end", "结束"),
    ("days", "天数"),
]
QUOTA_COLUMNS = [
    ("id", "配额"),
    ("kind", "类型"),
    ("required", "要求"),
    ("achieved", "完成"),
    ("unit", "单位"),
    ("short_by", "差额"),
]
SHEETS = ("排产 Assignments", "配额 Quotas", "每日 Days")


def _loads_text(loads: dict[str, float]) -> str:
    return "; ".join(f"{line}={load:g}" for line, load in loads.items())


def run_rows(schedule: dict[str, Any], dataset: Dataset) -> list[dict[str, Any]]:
    """One row per run of a measure, with the inventory's descriptive columns."""
    rows = []
    for a in schedule.get("assignments") or []:
        sid = a["source"]
        src = dataset.by_id.get(sid)
        plan = dataset.plans.get(sid)
        measure = a["measure"]
        if plan is not None and measure in plan.measures_by_id:
            measure_name = plan.measure(measure).name or measure
        else:
            measure_name = SETTLED_NAME if measure == SETTLED else measure
        start = dt.date.fromisoformat(a["start"])
        end = dt.date.fromisoformat(a["end"])
        rows.append(
            {
                "source": sid,
                "name": src.name if src else "",
                "industry": src.industry if src else "",
                "district": src.district if src else "",
                "measure": measure,
                "measure_name": measure_name,
                "line_loads": _loads_text(a.get("line_loads") or {}),
                "start": a["start"],
                "end": a["end"],
                "days": (end - start).days + 1,
            }
        )
    return rows


def to_csv(schedule: dict[str, Any], dataset: Dataset) -> str:
    """The runs as CSV text (UTF-8, English header row)."""
    buf = io.StringIO()
    names = [key for key, _ in RUN_COLUMNS]
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: csv_cell(v) for k, v in row.items()} for row in run_rows(schedule, dataset)
    )
    return buf.getvalue()


def to_xlsx(schedule: dict[str, Any], dataset: Dataset) -> bytes:
    """Sheets 排产 Assignments, 配额 Quotas and 每日 Days; two header rows (Chinese, then
    English); text cells stored as strings."""
    from openpyxl import Workbook

    wb = Workbook()
    runs = wb.active
    assert runs is not None
    runs.title = SHEETS[0]
    append_row(runs, [zh for _, zh in RUN_COLUMNS])
    append_row(runs, [en for en, _ in RUN_COLUMNS])
    for row in run_rows(schedule, dataset):
        append_row(runs, [row[en] for en, _ in RUN_COLUMNS])
    runs.freeze_panes = "A3"

    quotas = wb.create_sheet(SHEETS[1])
    append_row(quotas, [zh for _, zh in QUOTA_COLUMNS])
    append_row(quotas, [en for en, _ in QUOTA_COLUMNS])
    for q in schedule.get("quotas") or []:
        append_row(quotas, [q.get(en) for en, _ in QUOTA_COLUMNS])
    quotas.freeze_panes = "A3"

    days = wb.create_sheet(SHEETS[2])
    records = schedule.get("days") or []
    industries = sorted({i for d in records for i in d.get("running_share", {})})
    append_row(
        days,
        ["日期", "风险", "重点时段", "等级"]
        + [f"运行比例 {i}" for i in industries]
        + [f"减排量 {p} (kg)" for p in POLLUTANTS],
    )
    append_row(
        days,
        ["date", "risk", "key_period", "level"]
        + [f"running_share_{i}" for i in industries]
        + [f"cut_{p}_kg" for p in POLLUTANTS],
    )
    for d in records:
        append_row(
            days,
            [d["date"], d["risk"], d.get("key_period") or "", d.get("level") or ""]
            + [d["running_share"].get(i) for i in industries]
            + [d["cut_kg"].get(p) for p in POLLUTANTS],
        )
    days.freeze_panes = "A3"

    summary = [
        ("season", schedule.get("season")),
        ("from", schedule.get("from") or ""),
        ("status", schedule.get("status")),
        ("total_cost_yuan", schedule.get("total_cost_yuan")),
        ("settled_cost_yuan", schedule.get("settled_cost_yuan")),
        ("bound_yuan", schedule.get("bound_yuan")),
        ("gap", schedule.get("gap")),
        ("risk_weighted_cut", schedule.get("risk_weighted_cut")),
    ]
    sheet = wb.create_sheet("汇总 Summary")
    for key, value in summary:
        append_row(sheet, [key, value])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(schedule: dict[str, Any], dataset: Dataset, path: Path, kind: str) -> None:
    """Write ``kind`` (``csv`` or ``xlsx``) to ``path``; :class:`InputError` when the file
    cannot be written."""
    try:
        if kind == "xlsx":
            path.write_bytes(to_xlsx(schedule, dataset))
        else:
            path.write_text(to_csv(schedule, dataset), encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"--{kind} {path}: cannot write the file ({exc.strerror or exc})"
        ) from None
