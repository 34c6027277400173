"""The list workbook keeps credit codes, and takes its deeper measures from the city plan.

Credit codes: ``enterprises.csv`` carries an optional ``credit_code`` column, written by
``list import``, checked like every other cell and written back by ``list export``.
Deeper measures: ``deeper_limits`` / ``deeper_stop`` of the city plan, per industry.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from emergency.cityplan import parse_city_text
from emergency.cli import app
from emergency.dataset import load_dataset
from emergency.errors import ValidationErrors
from emergency.inventory import COLUMNS, load_inventory
from tests.test_listbook import (
    COKE,
    HEADERS,
    STEEL,
    code,
    coke_row,
    good_rows,
    site_row,
    write_book,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
CEMENT = code("91419001MA4400004")
SISTER = code("91419001MA4400005")


def cement_row() -> dict[str, Any]:
    """A plant of one line that can stop, so that a stop is a measure of its own."""
    return {
        **coke_row(),
        "name": "济源市示例水泥有限公司",
        "credit_code": CEMENT,
        "industry": "水泥",
        "guarantee": None,
        "line": "1#熟料线",
        "can_stop": "是",
        "min_load": 0,
        "y": "1#熟料线限产20%",
        "yl": 80,
        "o": "1#熟料线限产40%",
        "ol": 60,
        "r": "1#熟料线限产60%",
        "rl": 40,
    }


def import_book(book: Path, out: Path, *extra: str) -> Any:
    result = runner.invoke(app, ["list", "import", str(book), "--out", str(out), *extra])
    return result


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def city_with(tmp_path: Path, extra: str, name: str = "city.yaml") -> Path:
    path = tmp_path / name
    path.write_text((ROOT / "plans" / "city.yaml").read_text("utf-8") + extra, encoding="utf-8")
    return path


def deeper(plan: Any) -> list[str]:
    return [m.id for m in plan.measures if m.id not in plan.levels.values()]


# --------------------------------------------------------------------------- credit codes


def test_credit_codes_round_trip(tmp_path: Path) -> None:
    # the steel works known by its credit code (no id), the coke works with a code and an
    # id of its own, the site with an id and no code
    rows = good_rows()
    rows[2]["id"] = "JY-COKE"
    rows[3].update(id="JY-SITE", credit_code=None)
    headers = [*HEADERS, ("企业编号", "id")]
    book = tmp_path / "list.xlsx"
    write_book(book, rows, headers=headers)
    first = tmp_path / "first"
    result = import_book(book, first)
    assert result.exit_code == 0, result.output

    written = csv_rows(first / "enterprises.csv")
    header = (first / "enterprises.csv").read_text("utf-8").splitlines()[0].split(",")
    assert header == [*COLUMNS[:2], "credit_code", *COLUMNS[2:]]
    assert {r["id"]: r["credit_code"] for r in written} == {
        STEEL: STEEL,
        "JY-COKE": COKE,
        "JY-SITE": "",
    }
    data = load_dataset(first)
    assert data.by_id["JY-COKE"].credit_code == COKE
    assert data.by_id["JY-SITE"].credit_code is None

    exported = tmp_path / "export.xlsx"
    result = runner.invoke(app, ["list", "export", "--data", str(first), str(exported)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(exported)["清单"]
    headers_row = [c.value for c in ws[1]]
    codes = {
        row[headers_row.index("企业编号")]: row[headers_row.index("统一社会信用代码")]
        for row in ws.iter_rows(min_row=3, values_only=True)
    }
    assert codes == {STEEL: STEEL, "JY-COKE": COKE, "JY-SITE": None}

    second = tmp_path / "second"
    result = import_book(exported, second)
    assert result.exit_code == 0, result.output
    assert (second / "enterprises.csv").read_bytes() == (first / "enterprises.csv").read_bytes()
    back = load_dataset(second)
    assert back.sources == data.sources
    assert back.plans == data.plans


def test_a_folder_without_the_column_loads_as_before(tmp_path: Path) -> None:
    sources, errors = load_inventory(ROOT / "enterprises.csv")
    assert errors == [] and sources
    assert all(s.credit_code is None for s in sources)
    assert "credit_code" not in (ROOT / "enterprises.csv").read_text("utf-8").splitlines()[0]


def _folder_with_codes(tmp_path: Path) -> Path:
    book = tmp_path / "list.xlsx"
    write_book(book, good_rows())
    out = tmp_path / "data"
    result = import_book(book, out)
    assert result.exit_code == 0, result.output
    return out


def _replace_in_csv(folder: Path, old: str, new: str, count: int = 1) -> None:
    path = folder / "enterprises.csv"
    text = path.read_text("utf-8")
    assert text.count(old) >= count
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_a_bad_check_character_in_the_csv_names_file_line_and_field(tmp_path: Path) -> None:
    folder = _folder_with_codes(tmp_path)
    lines = (folder / "enterprises.csv").read_text("utf-8").splitlines()
    line = next(i for i, x in enumerate(lines, start=1) if x.startswith(f"{COKE},"))
    bad = COKE[:17] + ("0" if COKE[17] != "0" else "1")
    # the id stays, the code column is changed: the row is "COKE,name,BAD,..."
    _replace_in_csv(folder, f",{COKE},", f",{bad},")
    _sources, errors = load_inventory(folder / "enterprises.csv", "enterprises.csv")
    assert errors == [
        f"enterprises.csv:{line}: credit_code: bad credit code {bad!r}: wrong check character "
        f"{bad[17]!r} (expected {COKE[17]!r})"
    ]
    with pytest.raises(ValidationErrors) as caught:
        load_dataset(folder)
    assert f"enterprises.csv:{line}: credit_code: bad credit code" in str(caught.value)
    result = runner.invoke(app, ["validate", "--data", str(folder)])
    assert result.exit_code != 0
    assert f"enterprises.csv:{line}: credit_code" in result.output


def test_a_shared_credit_code_needs_the_same_name(tmp_path: Path) -> None:
    header = ",".join([*COLUMNS[:2], "credit_code", *COLUMNS[2:]])
    row = "{id},{name},{code},plant,steel,轵城镇,112.6,35.0,,,1,1,1,1,100"
    text = "\n".join(
        [
            header,
            row.format(id="A-1", name="甲公司", code=SISTER),
            row.format(id="A-2", name="甲公司", code=SISTER),  # one firm, two sources: fine
            row.format(id="B-1", name="乙公司", code=SISTER),
            row.format(id="C-1", name="丙公司", code=""),
            row.format(id="C-2", name="丁公司", code=""),  # empty codes are never shared
        ]
    )
    path = tmp_path / "enterprises.csv"
    path.write_text(text + "\n", encoding="utf-8")
    sources, errors = load_inventory(path, "enterprises.csv")
    assert errors == [
        f"enterprises.csv:4: credit_code: {SISTER!r} is already the credit code of '甲公司' "
        "(line 2), not of '乙公司'"
    ]
    assert [s.id for s in sources] == ["A-1", "A-2", "C-1", "C-2"]


def test_sources_of_one_firm_share_a_code_in_the_workbook_too(tmp_path: Path) -> None:
    plant = {**coke_row(), "id": "JY-COKE", "credit_code": SISTER}
    yard = {
        **coke_row(),
        "id": "JY-YARD",
        "credit_code": SISTER,
        "kind": "物料堆场",
        "industry": "物料堆场",
        "line": None,
        **{k: None for k in ("y", "yl", "o", "ol", "r", "rl", "min_load", "can_stop")},
    }
    other = {**site_row(), "id": "JY-OTHER", "name": "另一家企业", "credit_code": SISTER}
    book = tmp_path / "list.xlsx"
    letters = write_book(book, [plant, yard, other], headers=[*HEADERS, ("企业编号", "id")])
    result = import_book(book, tmp_path / "bad", "--lang", "en")
    assert result.exit_code == 2
    assert f"清单!{letters['credit_code']}5: " in result.output
    assert "is already the code of" in result.output
    assert f"清单!{letters['credit_code']}4: " not in result.output  # the firm's own yard

    book = tmp_path / "good.xlsx"
    write_book(book, [plant, yard], headers=[*HEADERS, ("企业编号", "id")])
    out = tmp_path / "data"
    result = import_book(book, out)
    assert result.exit_code == 0, result.output
    assert {s.id: s.credit_code for s in load_dataset(out).sources} == {
        "JY-COKE": SISTER,
        "JY-YARD": SISTER,
    }
    # the shared code no longer names one enterprise on the other sheets
    book = tmp_path / "ambiguous.xlsx"
    supply = [[SISTER, "1#焦炉", STEEL, "1#高炉", 50]]
    write_book(book, [plant, yard, *good_rows()[:2]], supply, [*HEADERS, ("企业编号", "id")])
    result = import_book(book, tmp_path / "ambiguous", "--lang", "en")
    assert result.exit_code == 2
    assert f'供应关系!A2: 上游企业 "{SISTER}" is the code of several enterprises' in result.output


# --------------------------------------------------------------------------- deeper measures


CITY_DEEPER = """
deeper_limits:
  default: [12.5]
  steel: [20, 60]
deeper_stop: {cement: false}
"""


def test_deeper_measures_follow_the_city_plan_per_industry(tmp_path: Path) -> None:
    book = tmp_path / "list.xlsx"
    write_book(book, [*good_rows(), cement_row()])

    plain = tmp_path / "plain"
    assert import_book(book, plain).exit_code == 0
    before = load_dataset(plain)
    assert deeper(before.plans[STEEL]) == ["limit-30", "limit-50"]
    assert deeper(before.plans[CEMENT]) == ["limit-30", "limit-50", "stop-all"]

    out = tmp_path / "data"
    result = import_book(book, out, "--city", str(city_with(tmp_path, CITY_DEEPER)))
    assert result.exit_code == 0, result.output
    data = load_dataset(out)
    assert data.city.deeper_for("steel") == ((20.0, 60.0), True)

    steel = data.plans[STEEL]
    assert deeper(steel) == ["limit-20", "limit-60"]
    assert steel.measure("limit-20").loads == {"line-1": 0.8, "line-2": 0.8}
    assert steel.measure("limit-20").name == "全厂限产20%"
    # the furnace stays at its minimum load (60 %)
    assert steel.measure("limit-60").loads == {"line-1": 0.4, "line-2": 0.6}
    assert steel.measure("limit-60").name == "全厂限产60%（不低于最低负荷）"
    # coking takes the default: 12.5 % (the coke oven cannot stop, so no stop)
    coke = data.plans[COKE]
    assert deeper(coke) == ["limit-12.5"]
    assert coke.measure("limit-12.5").loads == {"line-1": 0.875}
    # cement: the default limits, and no stop
    assert deeper(data.plans[CEMENT]) == ["limit-12.5"]


def test_an_empty_list_gives_no_limits_and_a_stop_stays(tmp_path: Path) -> None:
    book = tmp_path / "list.xlsx"
    write_book(book, [cement_row()])
    out = tmp_path / "data"
    city = city_with(tmp_path, "deeper_limits: {cement: []}\n")
    result = import_book(book, out, "--city", str(city))
    assert result.exit_code == 0, result.output
    assert deeper(load_dataset(out).plans[CEMENT]) == ["stop-all"]


def test_without_the_field_the_output_is_as_before(tmp_path: Path) -> None:
    book = tmp_path / "list.xlsx"
    write_book(book, [*good_rows(), cement_row()])
    bundled = tmp_path / "bundled"
    assert import_book(book, bundled).exit_code == 0
    same = tmp_path / "same"
    shutil.copyfile(ROOT / "plans" / "city.yaml", tmp_path / "copy.yaml")
    assert import_book(book, same, "--city", str(tmp_path / "copy.yaml")).exit_code == 0
    spelled = tmp_path / "spelled"
    city = city_with(
        tmp_path, "deeper_limits: {default: [30, 50]}\ndeeper_stop: {default: true}\n", "s.yaml"
    )
    assert import_book(book, spelled, "--city", str(city)).exit_code == 0
    plans = sorted((bundled / "plans" / "enterprises").glob("*.yaml"))
    assert len(plans) == 3
    for folder in (same, spelled):
        assert (folder / "enterprises.csv").read_bytes() == (
            bundled / "enterprises.csv"
        ).read_bytes()
        for path in plans:
            assert (folder / "plans" / "enterprises" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    ("extra", "field", "said"),
    [
        ("deeper_limits: {stel: [20]}\n", "deeper_limits.stel", "unknown industry 'stel'"),
        ("deeper_limits: {steel: [20, 100]}\n", "deeper_limits.steel[1]", "less than 100"),
        ("deeper_limits: {default: [0]}\n", "deeper_limits.default[0]", "greater than 0"),
        ("deeper_limits: {steel: ['30']}\n", "deeper_limits.steel[0]", "a valid number"),
        ("deeper_limits: {steel: [40, 20]}\n", "deeper_limits.steel[1]", "below the previous"),
        ("deeper_limits: {steel: [20, 20]}\n", "deeper_limits.steel[1]", "20 repeats"),
        ("deeper_stop: {glas: false}\n", "deeper_stop.glas", "unknown industry 'glas'"),
        ("deeper_stop: {glass: maybe}\n", "deeper_stop.glass", "a valid boolean"),
    ],
)
def test_bad_deeper_fields_are_rejected_naming_the_field(
    tmp_path: Path, extra: str, field: str, said: str
) -> None:
    city = city_with(tmp_path, extra)
    line = len(city.read_text("utf-8").splitlines())  # the field is the file's last line
    _city, errors = parse_city_text(city.read_text("utf-8"), "city.yaml")
    assert any(e.startswith(f"city.yaml:{line}: {field}: ") and said in e for e in errors), errors
    book = tmp_path / "list.xlsx"
    write_book(book, good_rows())
    out = tmp_path / "data"
    result = import_book(book, out, "--city", str(city))
    assert result.exit_code == 2, result.output
    # the CLI may word the message in the city's language; the place and field stay
    assert f"city.yaml:{line}: {field}: " in result.output
    assert not out.exists()
