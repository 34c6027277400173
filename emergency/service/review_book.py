"""The after-action review as an XLSX workbook (复盘): Chinese headers in the first row,
English in the second, one sheet per part of :class:`emergency.service.review.ResponseReview`.

Text goes through :func:`emergency.export.append_row` (the formula-injection guard): the
findings and names come from people and enterprises.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from emergency.export import append_row
from emergency.names import label
from emergency.service.review import ResponseReview

POLLUTANT_ZH = {"so2": "SO2", "nox": "NOx", "pm": "颗粒物", "vocs": "VOCs"}
EVIDENCE_ZH = {"meter": "分表计电", "report": "企业报告", "unverified": "无佐证"}


def _sheet(book: Workbook, title: str, head: list[tuple[str, str]], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    append_row(sheet, [zh for zh, _ in head])
    append_row(sheet, [en for _, en in head])
    for row in rows:
        append_row(sheet, row)
    sheet.freeze_panes = "A3"


def review_xlsx(review: ResponseReview) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    summary = book.active
    summary.title = "概要"
    c = review.compliance
    for key, value in (
        ("响应 Response", review.response_id),
        ("级别 Level", f"{label('level', review.level)} {review.level}"),
        ("期间 Period", f"{review.start} – {review.end}"),
        ("状态 Status", label("response_status", review.status)),
        ("复盘时间 Reviewed at", review.reviewed_at.isoformat()),
        ("审批版本 Plan version", review.plan_version or "—"),
        ("指令 Orders", c.orders),
        ("已签收 Acknowledged", c.acknowledged),
        ("已报告 Reported", c.reported),
        ("无异常 Without anomaly", c.without_anomaly),
        ("合规率 Compliance rate", c.rate if c.rate is not None else "—"),
        ("清单成本 List cost (yuan)", review.plan_cost_yuan),
        ("已核算天数承诺成本 Promised cost so far (yuan)", review.promised_cost_yuan),
        ("实测估算成本 Estimated cost as measured (yuan)", review.estimated_cost_yuan),
        ("异常 Anomalies", len(review.anomalies)),
        ("降级审查 Grade review", ", ".join(g.enterprise for g in review.grade_review) or "—"),
    ):
        append_row(summary, [key, value])
    _sheet(
        book,
        "逐日减排",
        [
            ("日期", "date"),
            ("级别", "level"),
            ("污染物", "pollutant"),
            ("目标(kg)", "target_kg"),
            ("清单承诺(kg)", "promised_kg"),
            ("实测减排(kg)", "measured_kg"),
            ("其中分表计电(kg)", "by_meter_kg"),
            ("其中企业报告(kg)", "by_report_kg"),
            ("无佐证(kg)", "unverified_kg"),
            ("完成率", "achieved_share"),
        ],
        [
            [
                r.date.isoformat(),
                r.level,
                POLLUTANT_ZH.get(r.pollutant, r.pollutant),
                r.target_kg,
                r.promised_kg,
                r.measured_kg,
                r.by_meter_kg,
                r.by_report_kg,
                r.unverified_kg,
                r.achieved_share,
            ]
            for r in review.cuts
        ],
    )
    _sheet(
        book,
        "逐源",
        [
            ("日期", "date"),
            ("企业编号", "source"),
            ("企业名称", "name"),
            ("措施", "measure"),
            ("佐证", "evidence"),
            *[(f"承诺 {POLLUTANT_ZH[p]}(kg)", f"promised_{p}_kg") for p in POLLUTANT_ZH],
            *[(f"实测 {POLLUTANT_ZH[p]}(kg)", f"measured_{p}_kg") for p in POLLUTANT_ZH],
            ("承诺成本(元)", "promised_cost_yuan"),
            ("估算成本(元)", "estimated_cost_yuan"),
        ],
        [
            [
                s.date.isoformat(),
                s.source,
                s.name,
                s.measure,
                EVIDENCE_ZH[s.evidence],
                *[s.promised_kg.get(p, 0.0) for p in POLLUTANT_ZH],
                *[s.measured_kg.get(p, 0.0) for p in POLLUTANT_ZH],
                s.promised_cost_yuan,
                s.estimated_cost_yuan,
            ]
            for s in review.sources
        ],
    )
    _sheet(
        book,
        "异常",
        [
            ("排序", "rank"),
            ("类型", "kind"),
            ("企业", "source"),
            ("指令", "order"),
            ("说明", "message_zh"),
            ("Message", "message"),
            ("超排估算(kg)", "excess_kg"),
            ("任务", "task"),
            ("任务状态", "task_status"),
        ],
        [
            [
                a.rank,
                a.anomaly.kind,
                a.anomaly.source,
                a.anomaly.order_id,
                a.anomaly.message_zh,
                a.anomaly.message,
                a.excess_kg_total,
                a.task_id,
                a.task_status,
            ]
            for a in review.anomalies
        ],
    )
    _sheet(
        book,
        "核查任务",
        [
            ("任务", "task"),
            ("企业", "enterprise"),
            ("异常", "anomaly"),
            ("状态", "status"),
            ("确认违规", "confirmed"),
            ("现场情况", "finding"),
        ],
        [
            [t.task_id, t.enterprise, t.anomaly_key, t.status, t.confirmed, t.finding]
            for t in review.tasks
        ],
    )
    _sheet(
        book,
        "时间线",
        [("时间", "at"), ("事件", "event"), ("操作人", "actor"), ("内容", "detail")],
        [[e.at.isoformat(), e.event, e.actor, e.detail] for e in review.timeline],
    )
    _sheet(
        book,
        "预报检验",
        [
            ("日期", "date"),
            ("预报下限", "forecast_low"),
            ("预报上限", "forecast_high"),
            ("预报时效(天)", "lead_days"),
            ("实测 AQI", "observed"),
        ],
        [[f.date.isoformat(), f.low, f.high, f.lead_days, f.observed] for f in review.forecast],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
