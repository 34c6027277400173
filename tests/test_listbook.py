"""The list workbook (应急减排清单): template, import with every problem by cell, export."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from emergency.cli import app
from emergency.dataset import load_dataset
from emergency.errors import ValidationErrors
from emergency.listbook.credit import check_character, credit_code_problem
from emergency.listbook.read import read_workbook

runner = CliRunner()


def code(first17: str) -> str:
    """A valid credit code from its first 17 characters."""
    return first17 + check_character(first17)


STEEL = code("91419001MA4400001")
COKE = code("91419001MA4400002")
SITE = code("91419001MA4400003")

# (Chinese header, key): the test writes the headers in a shuffled order
HEADERS = [
    ("企业名称", "name"),
    ("统一社会信用代码", "credit_code"),
    ("类型", "kind"),
    ("行业", "industry"),
    ("区县", "district"),
    ("经度", "lon"),
    ("纬度", "lat"),
    ("绩效等级", "grade"),
    ("保障类", "guarantee"),
    ("生产线", "line"),
    ("单位", "unit"),
    ("年运行天数", "days"),
    ("SO2", "so2"),
    ("NOx", "nox"),
    ("颗粒物", "pm"),
    ("VOCs", "vocs"),
    ("日增加值(元)", "va"),
    ("可停产", "can_stop"),
    ("最低负荷(%)", "min_load"),
    ("重启成本(元)", "restart"),
    ("最少停产天数", "min_stop"),
    ("黄色措施", "y"),
    ("黄色负荷(%)", "yl"),
    ("橙色措施", "o"),
    ("橙色负荷(%)", "ol"),
    ("红色措施", "r"),
    ("红色负荷(%)", "rl"),
]


def steel_rows() -> list[dict[str, Any]]:
    base = {
        "name": "济源市示例钢铁有限公司",
        "credit_code": STEEL,
        "kind": "工业企业",
        "industry": "钢铁",
        "district": "轵城镇",
        "lon": 112.61,
        "lat": 35.01,
        "grade": "B",
        "unit": "t/a",
        "days": 330,
        "can_stop": "是",
    }
    sinter = {
        **base,
        "line": "1#烧结机",
        "so2": 330,  # t/a: 1000 kg/d over 330 days
        "nox": 100,  # 303.03 kg/d (rounded to 0.01)
        "pm": 33,
        "vocs": 0,
        "va": 300000,
        "min_load": 0,
        "restart": 200000,
        "min_stop": 2,
        "y": "1#烧结机限产30%",
        "yl": 70,
        "o": "1#烧结机停产",
        "ol": 0,
        "r": "1#烧结机停产",
        "rl": 0,
    }
    furnace = {
        **base,
        "line": "1#高炉",
        "so2": 66,
        "nox": 66,
        "pm": 99,
        "vocs": 0,
        "va": 700000,
        "can_stop": "否",
        "min_load": 60,
        "restart": 0,
        "min_stop": 1,
        "y": "1#高炉限产10%",
        "yl": 90,
        "o": "1#高炉限产40%",
        "ol": 60,
        "r": "1#高炉限产40%",
        "rl": 60,
    }
    return [sinter, furnace]


def coke_row() -> dict[str, Any]:
    return {
        "name": "济源市示例焦化有限公司",
        "credit_code": COKE,
        "kind": "plant",
        "industry": "coking",
        "district": "克井镇",
        "lon": 112.5,
        "lat": 35.2,
        "grade": "C",
        "guarantee": "民生",
        "line": "1#焦炉",
        "unit": "kg/d",
        "so2": 100,
        "nox": 200,
        "pm": 50,
        "vocs": 80,
        "va": 400000,
        "can_stop": "否",
        "min_load": 50,
        "y": "1#焦炉延长结焦时间",
        "yl": 80,
        "o": "1#焦炉延长结焦时间",
        "ol": 60,
        "r": "1#焦炉延长结焦时间",
        "rl": 50,
    }


def site_row() -> dict[str, Any]:
    return {
        "name": "示例小区工地",
        "credit_code": SITE,
        "kind": "施工工地",
        "industry": "建筑施工",
        "district": "济水街道",
        "lon": 112.6,
        "lat": 35.1,
        "so2": 0,
        "nox": 4,
        "pm": 30.5,
        "vocs": 1,
        "va": 20000,
    }


def write_book(
    path: Path,
    rows: list[dict[str, Any]],
    supplies: list[list[Any]] | None = None,
    headers: list[tuple[str, str]] | None = None,
    seed: int = 7,
) -> dict[str, str]:
    """Write a workbook with shuffled columns; return each key's column letter."""
    columns = list(headers or HEADERS)
    random.Random(seed).shuffle(columns)
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "清单"
    ws.append(["示例市应急减排清单（2026年）"])  # a title row above the headers
    ws.append([h for h, _ in columns])
    for row in rows:
        ws.append([row.get(key) for _, key in columns])
    if supplies is not None:
        sheet = book.create_sheet("供应关系")
        sheet.append(["上游企业", "上游生产线", "下游企业", "下游生产线", "供应占比(%)"])
        for supply in supplies:
            sheet.append(supply)
    book.save(path)
    return {key: ws.cell(row=2, column=i).column_letter for i, (_, key) in enumerate(columns, 1)}


def good_rows() -> list[dict[str, Any]]:
    return [*steel_rows(), coke_row(), site_row()]


def test_credit_code_check_character() -> None:
    assert credit_code_problem("91350100M000100Y43") is None
    problem = credit_code_problem("91350100M000100Y44")
    assert problem is not None and "'3'" in problem
    assert credit_code_problem("91350100M000100Y4") is not None  # 17 characters
    assert credit_code_problem("91350100M000100I43") is not None  # I is not used


def test_import_writes_a_folder_that_validates(tmp_path: Path) -> None:
    book = tmp_path / "list.xlsx"
    write_book(
        book, good_rows(), supplies=[["济源市示例焦化有限公司", "1#焦炉", STEEL, "1#高炉", 70]]
    )
    out = tmp_path / "data"
    result = runner.invoke(app, ["list", "import", str(book), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = load_dataset(out)
    by_id = data.by_id
    assert set(by_id) == {STEEL, COKE, SITE}  # ids derived from the credit codes
    steel = by_id[STEEL]
    assert (steel.kind, steel.industry, steel.grade) == ("plant", "steel", "B")
    # t/a → kg/d = t/a × 1000 / days, rounded to 0.01; the row is the sum of the lines
    assert steel.so2_kg_d == 1000 + 200
    assert steel.nox_kg_d == pytest.approx(303.03 + 200)
    assert steel.value_added_yuan_d == 1_000_000
    assert by_id[COKE].guarantee == "livelihood"
    site = by_id[SITE]
    assert (site.kind, site.industry, site.pm_kg_d) == ("site", "construction", 30.5)
    assert data.plan(SITE) is None  # sites follow the city's defaults

    plan = data.plans[STEEL]
    sinter, furnace = plan.lines
    assert (sinter.id, sinter.name, sinter.min_stop_days) == ("line-1", "1#烧结机", 2)
    assert (furnace.can_stop, furnace.min_load) == (False, 0.6)
    assert plan.levels == {"yellow": "yellow-plan", "orange": "orange-plan", "red": "red-plan"}
    assert plan.measure("yellow-plan").name == "1#烧结机限产30%；1#高炉限产10%"
    assert plan.measure("orange-plan").loads == {"line-1": 0.0, "line-2": 0.6}
    # deeper measures from the defaults, never below min_load; no stop-stoppable, which
    # would equal the orange measure (the furnace cannot stop)
    extra = [m for m in plan.measures if m.id not in plan.levels.values()]
    assert [m.id for m in extra] == ["limit-30", "limit-50"]
    assert extra[0].loads == {"line-1": 0.7, "line-2": 0.7}
    assert extra[1].loads == {"line-1": 0.5, "line-2": 0.6}
    coke = data.plans[COKE]
    assert [e.to_file_dict() for e in coke.supplies] == [
        {"line": "line-1", "to": {"enterprise": STEEL, "line": "line-2"}, "share": 0.7}
    ]
    assert {m.id for m in coke.measures} >= {"limit-30"}
    assert all(load >= 0.5 for m in coke.measures for load in m.loads.values())


def test_every_fault_is_reported_by_cell_and_nothing_written(tmp_path: Path) -> None:
    rows = good_rows()
    coke, site = rows[2], rows[3]
    bad_code = STEEL[:17] + ("0" if STEEL[17] != "0" else "1")
    faults: list[tuple[int, str, Any, str]] = [
        # (row index, key, bad value, what the message must say)
        (0, "grade", "E", "is not one of A, 引领性, B, B-, C, D"),
        (0, "yl", 120, "120 is not within [0, 100]"),
        (1, "ol", 50, "under the line's 最低负荷 / min_load 60"),
        (0, "rl", 50, "50 is milder than 橙色负荷 0"),
        (2, "industry", "造纸厂", '"造纸厂" is not one of'),
        (2, "days", None, "t/a needs 年运行天数"),
        (2, "vocs", "八十", '"八十" is not a number'),
        (3, "credit_code", bad_code, "wrong check character"),
        (3, "kind", "工厂", '"工厂" is not one of'),
        (1, "lat", 95, "95 is not within [-90, 90]"),
        (1, "can_stop", "也许", '"也许" is not one of 是, 否'),
    ]
    coke["unit"] = "t/a"  # and no operating days: the fault of row 2 above
    for index, key, value, _ in faults:
        rows[index][key] = value
    duplicate = {**site, "name": "另一家企业", "credit_code": COKE, "line": ""}
    rows.append(duplicate)
    letters = write_book(
        tmp_path / "bad.xlsx",
        rows,
        supplies=[
            [COKE, "1#焦炉", "JY-NOBODY", "1#高炉", 50],
            [COKE, "2#焦炉", STEEL, "1#高炉", 50],
        ],
    )
    out = tmp_path / "data"
    args = ["list", "import", str(tmp_path / "bad.xlsx"), "--out", str(out), "--lang", "en"]
    result = runner.invoke(app, args)  # the problems in English
    assert result.exit_code == 2, result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".list-import-*"))
    output = result.output
    for index, key, _, said in faults:
        cell = f"清单!{letters[key]}{index + 3}: "
        line = next((x for x in output.splitlines() if cell in x and said in x), None)
        assert line is not None, f"{cell} {said!r} not in:\n{output}"
    dup_cell = f"清单!{letters['credit_code']}{len(rows) + 2}: "
    assert any(
        dup_cell in x and "is already the code of" in x and "另一家企业" in x
        for x in output.splitlines()
    ), output
    assert '供应关系!C2: 下游企业 "JY-NOBODY" is no enterprise' in output
    assert '供应关系!B3: 上游生产线 "2#焦炉" is no line' in output


def test_missing_columns_are_named(tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h[1] not in ("line", "district")]
    write_book(tmp_path / "list.xlsx", good_rows(), headers=headers)
    with pytest.raises(ValidationErrors) as caught:
        read_workbook(tmp_path / "list.xlsx")
    message = str(caught.value)
    assert "清单!2:2: missing column(s) 区县 / district, 生产线 / line" in message


def test_template_has_validation_and_its_examples_import(tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["list", "template", str(template)])
    assert result.exit_code == 0, result.output
    book = load_workbook(template)
    assert {"说明", "清单", "措施", "供应关系"} <= set(book.sheetnames)
    ws = book["清单"]
    headers = {c.value: c.column_letter for c in ws[1]}
    rules = ws.data_validations.dataValidation
    covered = {str(r.sqref).split(":")[0][:-1]: r for r in rules}
    for header in ("类型", "行业", "绩效等级", "保障类", "可停产", "单位"):
        assert covered[headers[header]].type == "list", header
    assert covered[headers["黄色负荷(%)"]].type == "decimal"
    assert covered[headers["最低负荷(%)"]].formula2 == "100"
    kinds = {ws.cell(row=r, column=ws[headers["类型"] + "1"].column).value for r in range(3, 8)}
    assert {"工业企业", "施工工地", "物料堆场", "矿山"} <= kinds
    out = tmp_path / "data"
    result = runner.invoke(app, ["list", "import", str(template), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = load_dataset(out)
    assert sorted(s.kind for s in data.sources) == ["plant", "quarry", "site", "yard"]
    plant = next(s for s in data.sources if s.kind == "plant")
    # 300 t/a + 30 t/a over 330 days
    assert Decimal(str(plant.so2_kg_d)) == Decimal("909.09") + Decimal("90.91")


def test_round_trip_on_the_bundled_city(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    book = tmp_path / "list.xlsx"
    result = runner.invoke(app, ["list", "export", "--data", str(root), str(book)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "data"
    result = runner.invoke(app, ["list", "import", str(book), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "enterprises.csv").read_bytes() == (root / "enterprises.csv").read_bytes()
    original, back = load_dataset(root), load_dataset(out)
    assert back.sources == original.sources
    # the workbook holds everything of a plan but its transport duties (docs/LIST.md)
    assert any(plan.transport for plan in original.plans.values())
    assert any(line.meters for plan in back.plans.values() for line in plan.lines)
    assert back.plans == {
        k: plan.model_copy(update={"transport": {}}) for k, plan in original.plans.items()
    }
    plans = sorted((root / "plans" / "enterprises").glob("*.yaml"))
    assert len(plans) == len(list((out / "plans" / "enterprises").glob("*.yaml")))

    def body(path: Path) -> str:
        lines = path.read_text("utf-8").split("\ntransport:")[0].splitlines(True)
        return "".join(x for x in lines if not x.startswith("#")).rstrip("\n")

    for path in plans:
        assert body(out / "plans" / "enterprises" / path.name) == body(path), path.name


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_the_template_linked_from_the_readme_is_what_the_command_writes(tmp_path: Path) -> None:
    shipped = Path("examples/list-template.xlsx")
    assert "examples/list-template.xlsx" in Path("README.md").read_text(encoding="utf-8")
    fresh = tmp_path / "template.xlsx"
    done = runner.invoke(app, ["list", "template", str(fresh)])
    assert done.exit_code == 0, done.output
    assert _cells(shipped) == _cells(fresh)
