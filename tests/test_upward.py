"""The report workbook (上报表): sheets, headers, one row per line, totals equal the plan."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from emergency import POLLUTANTS
from emergency.cli import app
from emergency.dataset import Dataset, load_dataset
from emergency.respond import plan_response
from emergency.solution import ResponsePlan, WarningDecision
from emergency.upward import (
    ABOUT_SHEET,
    DAY_BLOCK,
    HEAD,
    LIST_SHEET,
    SUMMARY_SHEET,
    ReportInfo,
    to_report_xlsx,
)
from tests.datafiles import write_small_dataset

START = dt.date(2016, 12, 16)
NOW = dt.datetime(2016, 12, 15, 9, 30, tzinfo=dt.UTC)
CUT_ZH = {"so2": "减排量SO2(kg/d)", "nox": "减排量NOx(kg/d)", "pm": "减排量颗粒物(kg/d)"}
CUT_ZH["vocs"] = "减排量VOCs(kg/d)"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(write_small_dataset(tmp_path_factory.mktemp("city") / "city"))


@pytest.fixture(scope="module")
def plan(dataset: Dataset) -> ResponsePlan:
    warning = WarningDecision(
        level="orange",
        start=START,
        end=START + dt.timedelta(days=2),
        rule_set="henan-2019",
        reason="test",
    )
    return plan_response(dataset, warning)


def info() -> ReportInfo:
    return ReportInfo(
        generated_at=NOW,
        response_id=7,
        plan_version=2,
        approved_by="planner1",
        approved_at=NOW + dt.timedelta(minutes=5),
    )


def rows_of(book: Any, sheet: str) -> list[list[Any]]:
    return [list(r) for r in book[sheet].iter_rows(values_only=True)]


def test_sheets_headers_and_one_row_per_line(dataset: Dataset, plan: ResponsePlan) -> None:
    book = load_workbook(io.BytesIO(to_report_xlsx(plan, dataset, info())))
    assert book.sheetnames == [LIST_SHEET, SUMMARY_SHEET, ABOUT_SHEET]
    zh, en, *body = rows_of(book, LIST_SHEET)
    assert zh[:11] == [
        "序号", "区县", "企业名称", "企业编号", "类型", "行业",
        "绩效等级", "保障类", "生产线", "预案措施", "预案负荷(%)",
    ]  # fmt: skip
    assert en[:4] == ["no", "district", "name", "id"]
    assert len(zh) == len(HEAD) + len(DAY_BLOCK) * len(plan.days) + 1
    assert "2016-12-16 决策措施" in zh and "2016-12-18 原因" in zh and "2016-12-17 why" in en
    expected = [
        (s.id, line.name or line.id)
        for s in dataset.sources
        if (p := dataset.plans.get(s.id)) is not None
        for line in p.lines
    ] + [(s.id, "") for s in dataset.sources if s.id not in dataset.plans]
    got = [(r[3], r[8] or "") for r in body]
    assert sorted(got) == sorted(expected)
    assert [r[0] for r in body] == list(range(1, len(body) + 1))
    steel = [r for r in body if r[3] == "JY-P001"]
    assert {r[5] for r in steel} == {"钢铁"} and {r[4] for r in steel} == {"工业企业"}
    assert steel[0][2] == "济源钢铁"
    site = next(r for r in body if r[3] == "JY-S001")
    assert site[4] == "施工工地" and site[5] == "建筑施工"
    # the decision, the line's load and the reason as stored
    col = zh.index("2016-12-16 决策措施")
    a = next(a for a in plan.assignments if a.source == "JY-P001" and a.date == START)
    assert {r[col] for r in steel} == {a.measure_name}
    assert a.why_zh and {r[col + 2] for r in steel} == {a.why_zh}
    assert a.loads is not None
    assert sorted(r[col + 1] for r in steel) == sorted(v * 100 for v in a.loads.values())
    # the plan's measure for orange
    floor = dataset.plans["JY-P001"].measures_by_id[a.floor].name
    assert {r[9] for r in steel} == {floor}


def test_cuts_and_cost_equal_the_plan(dataset: Dataset, plan: ResponsePlan) -> None:
    book = load_workbook(io.BytesIO(to_report_xlsx(plan, dataset, info())))
    zh, _en, *body = rows_of(book, LIST_SHEET)
    cost = 0.0
    for day in plan.days:
        d = day.date.isoformat()
        for p in POLLUTANTS:
            col = zh.index(f"{d} {CUT_ZH[p]}")
            assert sum(r[col] or 0 for r in body) == pytest.approx(getattr(day.cut_kg, p))
        cost += sum(r[zh.index(f"{d} 成本(元/日)")] or 0 for r in body)
    assert cost == pytest.approx(plan.total_cost_yuan)
    assert sum(r[zh.index("合计成本(元)")] for r in body) == pytest.approx(plan.total_cost_yuan)
    # a line that keeps running gives no cut: the split follows each line's load
    steel = {r[8]: r for r in body if r[3] == "JY-P001"}
    a = next(a for a in plan.assignments if a.source == "JY-P001" and a.date == START)
    col = zh.index("2016-12-16 减排量SO2(kg/d)")
    assert sum(r[col] for r in steel.values()) == pytest.approx(a.cut_kg.so2)


def test_summary_counts_targets_and_approval(dataset: Dataset, plan: ResponsePlan) -> None:
    book = load_workbook(io.BytesIO(to_report_xlsx(plan, dataset, info())))
    rows = rows_of(book, SUMMARY_SHEET)
    facts = {r[0]: r[2] for r in rows if r[0]}
    assert facts["预警级别"] == "橙色" and facts["天数"] == len(plan.days)
    assert facts["清单版本"] == 2 and facts["批准人"] == "planner1"
    assert facts["审批状态"] == "已批准 approved" and facts["求解状态"] == "最优"
    assert facts["总成本(元)"] == plan.total_cost_yuan

    def table(title: str) -> dict[str, tuple[int, int]]:
        start = next(i for i, r in enumerate(rows) if r[0] == title) + 2
        out = {}
        for r in rows[start:]:
            if r[0] == "合计":
                break
            out[r[0]] = (r[2], r[3])
        return out

    kinds = table("按类型")
    assert kinds == {"工业企业": (3, 4), "施工工地": (1, 1), "物料堆场": (1, 1), "矿山": (1, 1)}
    assert table("按行业")["钢铁"] == (1, 2)
    assert sum(n for n, _ in table("按区县").values()) == len(dataset.sources)
    start = next(i for i, r in enumerate(rows) if r[0] == "日期") + 2
    checks = [r for r in rows[start:] if r[0] not in (None, "合计")]
    assert len(checks) == len(plan.days) * len(POLLUTANTS)
    day = plan.days[0]
    so2 = next(r for r in checks if r[0] == day.date.isoformat() and r[1] == "SO2")
    assert so2[2] == day.cut_kg.so2 and so2[3] == day.target_kg.so2 and so2[4] == "是 yes"
    assert next(r for r in rows if r[0] == "合计" and r[1] == "total" and r[5])[5] == (
        plan.total_cost_yuan
    )
    about = {r[1]: r[2] for r in rows_of(book, ABOUT_SHEET)}
    assert about["generated_at"] == NOW.isoformat(timespec="seconds")
    assert about["plan_version"] == "第 2 版"


def test_text_that_looks_like_a_formula_is_text(dataset: Dataset, plan: ResponsePlan) -> None:
    hostile = plan.model_copy(deep=True)
    for a in hostile.assignments:
        a.why = a.why_zh = '=HYPERLINK("http://x")'
    hostile.warning.reason = hostile.warning.reason_zh = "+cmd"
    book = load_workbook(io.BytesIO(to_report_xlsx(hostile, dataset, info())))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f"
                if isinstance(c.value, str):
                    assert not c.value.startswith(("=", "+", "@")), c.value
    _zh, _en, *body = rows_of(book, LIST_SHEET)
    assert '\'=HYPERLINK("http://x")' in body[0]


def test_cli_report_option(tmp_path: Path) -> None:
    data = write_small_dataset(tmp_path / "city")
    forecast = "examples/forecast-orange.json"
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(
        app, ["respond", "-f", forecast, "--data", str(data), "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == [LIST_SHEET, SUMMARY_SHEET, ABOUT_SHEET]
