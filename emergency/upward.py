"""The curtailment list in the layout planners report upward (上报表): an XLSX workbook.

Three sheets, Chinese headers in the first row and English in the second (docs/FORMATS.md):

- ``减排清单``: one row per enterprise and production line (a site, yard or quarry without
  a plan is one row): who and where, the plan's measure for the response's level and the
  line's load under it, then per day the engine's decision (measure name, the line's load),
  its reason (``why_zh`` as stored, else ``why``), the cut per pollutant (kg) and the cost
  (yuan).
- ``汇总``: the response (level, days, plan version, approval), counts by kind, industry and
  district, the cut per pollutant against the target per day, and the cost.
- ``说明``: what the workbook is, which response and version, when it was written.

The engine decides per source; a source's cut and cost are split over its lines by what
each line gives up (``(1 − load) ×`` emission or value added), the last line taking the
rest, so the rows of a source add up to the plan's numbers exactly. Text cells go through
:func:`emergency.export.cell` (the formula-injection guard) and are stored as strings.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emergency import NORMAL, POLLUTANTS
from emergency.export import append_row
from emergency.listbook.columns import GRADE_ZH, GUARANTEE_ZH, INDUSTRY_ZH, KIND_ZH
from emergency.measures import allowed_loads, measure_name
from emergency.names import label
from emergency.solution import Assignment, ResponsePlan

if TYPE_CHECKING:
    from emergency.dataset import Dataset

LIST_SHEET = "减排清单"
SUMMARY_SHEET = "汇总"
ABOUT_SHEET = "说明"

POLLUTANT_ZH = {"so2": "SO2", "nox": "NOx", "pm": "颗粒物", "vocs": "VOCs"}
POLLUTANT_EN = {"so2": "SO2", "nox": "NOx", "pm": "PM", "vocs": "VOCs"}

HEAD: tuple[tuple[str, str], ...] = (
    ("序号", "no"),
    ("区县", "district"),
    ("企业名称", "name"),
    ("企业编号", "id"),
    ("类型", "kind"),
    ("行业", "industry"),
    ("绩效等级", "grade"),
    ("保障类", "guarantee"),
    ("生产线", "line"),
    ("预案措施", "plan_measure"),
    ("预案负荷(%)", "plan_load_pct"),
)
"""The list sheet's columns before the per-day blocks: (Chinese, English)."""

DAY_BLOCK: tuple[tuple[str, str], ...] = (
    ("决策措施", "decision"),
    ("负荷(%)", "load_pct"),
    ("原因", "why"),
    *((f"减排量{POLLUTANT_ZH[p]}(kg/d)", f"cut_{p}_kg") for p in POLLUTANTS),
    ("成本(元/日)", "cost_yuan"),
)
"""The columns of each day of the response, headed ``<date> <name>``."""

TAIL: tuple[tuple[str, str], ...] = (("合计成本(元)", "total_cost_yuan"),)

EPSILON = 1e-6


@dataclass(frozen=True)
class ReportInfo:
    """Which response and version the workbook shows, its approval and when it was written."""

    generated_at: dt.datetime
    response_id: int | None = None
    plan_version: int | None = None
    approved_by: str | None = None
    approved_at: dt.datetime | None = None


@dataclass
class LineRow:
    """One row of the list sheet: a line of a source (``line`` None: the whole source)."""

    source: str
    line: str | None
    line_name: str
    plan_measure: str
    plan_load: float | None
    days: dict[dt.date, dict[str, Any]]


def _zh(table: dict[str, str], code: str | None) -> str:
    return table.get(code, code) if code else ""


def _measure_name(dataset: Dataset, source: str, measure: str) -> str:
    if measure == NORMAL:
        return label("measure", NORMAL, "zh")
    return measure_name(dataset, source, measure)


def _split(total: float, weights: list[float]) -> list[float]:
    """``total`` over ``weights`` pro rata; the last part takes the rest (sums exactly)."""
    if len(weights) == 1:
        return [total]
    whole = sum(weights)
    if whole <= 0:
        return [total] + [0.0] * (len(weights) - 1)
    parts = [total * w / whole for w in weights[:-1]]
    return [*parts, total - sum(parts)]


def _pct(load: float | None) -> float | None:
    return None if load is None else round(load * 100, 4)


def _plan_floor(plan: ResponsePlan, source: str, assignments: list[Assignment]) -> str:
    """The source's floor measure at the response's level (the plan's measure for it)."""
    level = plan.warning.level
    by_day = {d.date: d.level for d in plan.days}
    for a in assignments:
        if by_day.get(a.date) == level:
            return a.floor
    return assignments[0].floor


def line_rows(plan: ResponsePlan, dataset: Dataset) -> list[LineRow]:
    """The list sheet's rows, in the order sources first appear in the plan."""
    per_source: dict[str, list[Assignment]] = {}
    for a in plan.assignments:
        per_source.setdefault(a.source, []).append(a)
    rows: list[LineRow] = []
    for source, assignments in per_source.items():
        floor = _plan_floor(plan, source, assignments)
        floor_name = _measure_name(dataset, source, floor)
        floor_loads, floor_total = allowed_loads(dataset, source, floor)
        splan = dataset.plans.get(source)
        if splan is None:
            one = LineRow(source, None, "", floor_name, floor_total, {})
            for a in assignments:
                one.days[a.date] = {
                    "decision": _measure_name(dataset, source, a.measure),
                    "load": a.load_total
                    if a.load_total is not None
                    else allowed_loads(dataset, source, a.measure)[1],
                    "why": a.why_zh or a.why,
                    "cut": {p: getattr(a.cut_kg, p) for p in POLLUTANTS},
                    "cost": a.cost_yuan,
                }
            rows.append(one)
            continue
        lines = splan.lines
        mine = [
            LineRow(source, ln.id, ln.name or ln.id, floor_name, floor_loads.get(ln.id), {})
            for ln in lines
        ]
        for a in assignments:
            loads = a.loads or allowed_loads(dataset, source, a.measure)[0]
            off = [1.0 - loads.get(ln.id, 1.0) for ln in lines]
            cuts = {
                p: _split(
                    getattr(a.cut_kg, p),
                    [o * getattr(ln, f"{p}_kg_d") for o, ln in zip(off, lines, strict=True)],
                )
                for p in POLLUTANTS
            }
            costs = _split(
                a.cost_yuan, [o * ln.value_added_yuan_d for o, ln in zip(off, lines, strict=True)]
            )
            name = _measure_name(dataset, source, a.measure)
            for i, (row, ln) in enumerate(zip(mine, lines, strict=True)):
                row.days[a.date] = {
                    "decision": name,
                    "load": loads.get(ln.id, 1.0),
                    "why": a.why_zh or a.why,
                    "cut": {p: cuts[p][i] for p in POLLUTANTS},
                    "cost": costs[i],
                }
        rows.extend(mine)
    return rows


def _list_sheet(sheet: Any, plan: ResponsePlan, dataset: Dataset) -> None:
    dates = [d.date for d in plan.days]
    zh = [h[0] for h in HEAD]
    en = [h[1] for h in HEAD]
    for day in dates:
        zh += [f"{day.isoformat()} {name}" for name, _ in DAY_BLOCK]
        en += [f"{day.isoformat()} {name}" for _, name in DAY_BLOCK]
    zh += [h[0] for h in TAIL]
    en += [h[1] for h in TAIL]
    append_row(sheet, zh)
    append_row(sheet, en)
    for number, row in enumerate(line_rows(plan, dataset), start=1):
        src = dataset.by_id.get(row.source)
        values: list[Any] = [
            number,
            src.district if src else "",
            src.name if src else "",
            row.source,
            _zh(KIND_ZH, src.kind) if src else "",
            _zh(INDUSTRY_ZH, src.industry) if src else "",
            _zh(GRADE_ZH, src.grade) if src else "",
            _zh(GUARANTEE_ZH, src.guarantee) if src else "",
            row.line_name,
            row.plan_measure,
            _pct(row.plan_load),
        ]
        total = 0.0
        for day in dates:
            got = row.days.get(day)
            if got is None:
                values += [None] * len(DAY_BLOCK)
                continue
            values += [got["decision"], _pct(got["load"]), got["why"]]
            values += [got["cut"][p] for p in POLLUTANTS]
            values.append(got["cost"])
            total += got["cost"]
        values.append(total)
        append_row(sheet, values)
    sheet.freeze_panes = "D3"


def _summary_sheet(sheet: Any, plan: ResponsePlan, dataset: Dataset, info: ReportInfo) -> None:
    w = plan.warning
    approved = info.approved_at is not None
    append_row(sheet, ["项目", "item", "值", "value"])
    for zh, en, value in [
        ("预警级别", "level", label("level", w.level, "zh") if w.level else "无 none"),
        ("开始日期", "start", w.start.isoformat() if w.start else ""),
        ("结束日期", "end", w.end.isoformat() if w.end else ""),
        ("天数", "days", len(plan.days)),
        ("响应编号", "response", info.response_id),
        ("清单版本", "plan_version", info.plan_version),
        ("审批状态", "approval", "已批准 approved" if approved else "未批准 not approved"),
        ("批准人", "approved_by", info.approved_by or ""),
        ("批准时间", "approved_at", info.approved_at.isoformat() if info.approved_at else ""),
        ("求解状态", "status", label("plan_status", plan.status, "zh")),
        ("总成本(元)", "total_cost_yuan", plan.total_cost_yuan),
    ]:
        append_row(sheet, [zh, en, value, None])

    sources = sorted({a.source for a in plan.assignments})
    rows = line_rows(plan, dataset)
    lines_of = Counter(r.source for r in rows)
    for title_zh, title_en, attr, table in [
        ("按类型", "by kind", "kind", KIND_ZH),
        ("按行业", "by industry", "industry", INDUSTRY_ZH),
        ("按区县", "by district", "district", None),
    ]:
        append_row(sheet, [])
        append_row(sheet, [title_zh, title_en, "企业数", "生产线数"])
        append_row(sheet, [None, None, "enterprises", "lines"])
        enterprises: Counter[str] = Counter()
        lines: Counter[str] = Counter()
        for source in sources:
            src = dataset.by_id.get(source)
            code = getattr(src, attr) if src else ""
            key = _zh(table, code) if table else code
            enterprises[key] += 1
            lines[key] += lines_of[source]
        for key in sorted(enterprises):
            append_row(sheet, [key, None, enterprises[key], lines[key]])
        append_row(sheet, ["合计", "total", sum(enterprises.values()), sum(lines.values())])

    append_row(sheet, [])
    append_row(sheet, ["日期", "污染物", "减排量(kg)", "目标(kg)", "是否达标", "成本(元)"])
    append_row(sheet, ["date", "pollutant", "cut_kg", "target_kg", "met", "cost_yuan"])
    cost_of: dict[dt.date, float] = {}
    for a in plan.assignments:
        cost_of[a.date] = cost_of.get(a.date, 0.0) + a.cost_yuan
    for day in plan.days:
        for p in POLLUTANTS:
            short = getattr(day.shortfall_kg, p)
            append_row(
                sheet,
                [
                    day.date.isoformat(),
                    POLLUTANT_ZH[p],
                    getattr(day.cut_kg, p),
                    getattr(day.target_kg, p),
                    "否 no" if short > EPSILON else "是 yes",
                    cost_of[day.date] if p == POLLUTANTS[0] else None,
                ],
            )
    append_row(sheet, ["合计", "total", None, None, None, plan.total_cost_yuan])


def _about_sheet(sheet: Any, plan: ResponsePlan, info: ReportInfo) -> None:
    w = plan.warning
    which = f"响应 {info.response_id}" if info.response_id is not None else "命令行计算"
    version = f"第 {info.plan_version} 版" if info.plan_version is not None else "—"
    for zh, en, value in [
        (
            "说明",
            "about",
            "重污染天气应急减排清单上报表：每个企业每条生产线一行，"
            "列出预案措施、逐日的决策措施与原因、减排量和成本；汇总表按类型、行业、区县计数，"
            "逐日比较减排量与目标。",
        ),
        (
            "",
            "",
            "Emergency curtailment list for reporting upward: one row per enterprise and "
            "line with the plan's measure, the decision and its reason per day, cuts and cost; "
            "the summary counts by kind, industry and district and compares cuts with targets.",
        ),
        ("响应", "response", which),
        ("清单版本", "plan_version", version),
        ("预警级别", "level", label("level", w.level, "zh") if w.level else "无 none"),
        ("依据", "reason", w.reason_zh or w.reason),
        ("生成时间", "generated_at", info.generated_at.isoformat(timespec="seconds")),
        ("单位", "units", "减排量 kg/日，成本 元/日，负荷 % / cuts kg per day, cost yuan per day"),
    ]:
        append_row(sheet, [zh, en, value])


def to_report_xlsx(plan: ResponsePlan, dataset: Dataset, info: ReportInfo) -> bytes:
    """The workbook as bytes (sheets ``减排清单``, ``汇总``, ``说明``)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = LIST_SHEET
    _list_sheet(ws, plan, dataset)
    _summary_sheet(wb.create_sheet(SUMMARY_SHEET), plan, dataset, info)
    _about_sheet(wb.create_sheet(ABOUT_SHEET), plan, info)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
