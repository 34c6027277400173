"""``enterprises.csv``: the model, the loader and every validation rule (docs/FORMATS.md)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from emergency.inventory import (
    COLUMNS,
    GRADES,
    GUARANTEES,
    INDUSTRIES,
    KINDS,
    Source,
    dump_inventory,
    load_inventory,
)
from tests.datafiles import Row, small_rows

NAME = "enterprises.csv"


def write_rows(path: Path, rows: list[Row], columns: list[str] | None = None) -> Path:
    file = path / NAME
    with file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return file


def load(file: Path) -> tuple[list[Source], list[str]]:
    return load_inventory(file, NAME)


def test_vocabularies_hold_the_spec_values() -> None:
    assert KINDS == ("plant", "site", "yard", "quarry")
    assert GRADES == ("A", "leading", "B", "B-", "C", "D")
    assert GUARANTEES == ("livelihood", "strategic", "export")
    spec = "steel coking lead_zinc_smelting power cement cement_grinding refractory brick lime "
    spec += "glass corundum aluminium_rolling chemical coal_chemical coating printing heating "
    spec += "construction yard quarry other"
    assert set(spec.split()) <= set(INDUSTRIES)
    assert len(set(INDUSTRIES)) == len(INDUSTRIES)


def test_small_inventory_loads_in_file_order(tmp_path: Path) -> None:
    sources, errors = load(write_rows(tmp_path, small_rows()))
    assert errors == []
    assert [s.id for s in sources] == [r["id"] for r in small_rows()]
    steel = sources[0]
    assert steel.kind == "plant" and steel.grade == "B" and steel.guarantee is None
    assert steel.emissions() == {"so2": 1000.0, "nox": 1500.0, "pm": 500.0, "vocs": 50.0}
    assert steel.value_added_yuan_d == 2_000_000
    power = sources[2]
    assert power.guarantee == "livelihood" and power.guaranteed
    assert sources[3].grade is None


def test_round_trip_dump_then_load_is_equal(tmp_path: Path) -> None:
    sources, errors = load(write_rows(tmp_path, small_rows()))
    assert errors == []
    sources[0] = sources[0].model_copy(update={"name": 'Steel, "Works"\nNo. 1', "lon": 112.61})
    out = tmp_path / "out.csv"
    dump_inventory(sources, out)
    again, errors = load_inventory(out)
    assert errors == []
    assert again == sources


def test_bom_and_padded_cells_are_accepted(tmp_path: Path) -> None:
    file = write_rows(tmp_path, small_rows())
    text = file.read_text(encoding="utf-8").replace(",plant,", ", plant ,", 1)
    file.write_text(text, encoding="utf-8-sig")
    sources, errors = load(file)
    assert errors == []
    assert sources[0].kind == "plant"


def set_cell(row: int, column: str, value: Any) -> Callable[[list[Row]], None]:
    def change(rows: list[Row]) -> None:
        rows[row][column] = value

    return change


# (what, change, CSV line, column, text in the message)
CELL_RULES = [
    ("bad id", set_cell(1, "id", "JY P002"), 3, "id", "'JY P002'"),
    ("duplicate id", set_cell(2, "id", "JY-P001"), 4, "id", "duplicate id 'JY-P001'"),
    ("empty name", set_cell(0, "name", ""), 2, "name", "empty name"),
    ("empty district", set_cell(0, "district", " "), 2, "district", "empty district"),
    ("unknown kind", set_cell(1, "kind", "factory"), 3, "kind", "unknown kind 'factory'"),
    ("unknown industry", set_cell(1, "industry", "mining"), 3, "industry", "'mining'"),
    ("unknown grade", set_cell(4, "grade", "B+"), 6, "grade", "unknown grade 'B+'"),
    ("unknown guarantee", set_cell(4, "guarantee", "army"), 6, "guarantee", "'army'"),
    ("lon too large", set_cell(0, "lon", 212.6), 2, "lon", "'212.6' outside [-180, 180]"),
    ("lat too small", set_cell(0, "lat", -91), 2, "lat", "'-91' outside [-90, 90]"),
    ("lon not a number", set_cell(0, "lon", "east"), 2, "lon", "not a number: 'east'"),
    ("non-numeric emission", set_cell(3, "pm_kg_d", "1,200"), 5, "pm_kg_d", "'1,200'"),
    ("infinite emission", set_cell(3, "nox_kg_d", "inf"), 5, "nox_kg_d", "not a number"),
    ("negative emission", set_cell(5, "so2_kg_d", -3), 7, "so2_kg_d", "negative: '-3'"),
    ("empty emission", set_cell(5, "vocs_kg_d", ""), 7, "vocs_kg_d", "empty (write 0"),
    ("negative value added", set_cell(5, "value_added_yuan_d", -1), 7, "value_added_yuan_d",
     "negative"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "line", "column", "text"),
    [rule[1:] for rule in CELL_RULES],
    ids=[rule[0] for rule in CELL_RULES],
)
def test_each_cell_rule_names_file_line_column_and_value(
    tmp_path: Path, change: Callable[[list[Row]], None], line: int, column: str, text: str
) -> None:
    rows = small_rows()
    change(rows)
    _, errors = load(write_rows(tmp_path, rows))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{NAME}:{line}: {column}: "), errors
    assert text in errors[0]


def test_rows_with_errors_are_left_out(tmp_path: Path) -> None:
    rows = small_rows()
    rows[1]["kind"] = "factory"
    sources, errors = load(write_rows(tmp_path, rows))
    assert errors
    assert "JY-P002" not in [s.id for s in sources]
    assert len(sources) == len(rows) - 1


def test_all_errors_are_reported_in_one_run(tmp_path: Path) -> None:
    rows = small_rows()
    rows[0]["kind"] = "factory"
    rows[0]["so2_kg_d"] = "x"
    rows[2]["lat"] = 123
    rows[5]["grade"] = "E"
    rows[5]["id"] = "JY-P001"
    _, errors = load(write_rows(tmp_path, rows))
    assert [e.split(": ")[0:2] for e in errors] == [
        [f"{NAME}:2", "kind"],
        [f"{NAME}:2", "so2_kg_d"],
        [f"{NAME}:4", "lat"],
        [f"{NAME}:7", "grade"],
        [f"{NAME}:7", "id"],
    ]


def test_missing_and_unknown_columns_are_named_on_line_1(tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c != "pm_kg_d"] + ["owner"]
    rows = [{k: v for k, v in r.items() if k != "pm_kg_d"} | {"owner": "x"} for r in small_rows()]
    sources, errors = load(write_rows(tmp_path, rows, columns))
    assert sources == []
    assert any(e.startswith(f"{NAME}:1: missing column(s) pm_kg_d") for e in errors), errors
    assert any(e.startswith(f"{NAME}:1: unknown column(s) 'owner'") for e in errors), errors


def test_cells_are_still_checked_when_a_column_is_missing(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "guarantee"} for r in small_rows()]
    rows[1]["kind"] = "factory"
    _, errors = load(write_rows(tmp_path, rows, [c for c in COLUMNS if c != "guarantee"]))
    assert any("missing column(s) guarantee" in e for e in errors)
    assert any(e.startswith(f"{NAME}:3: kind:") for e in errors)


def test_duplicate_column(tmp_path: Path) -> None:
    file = write_rows(tmp_path, small_rows())
    lines = file.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",kind"] + [line + ",plant" for line in lines[1:]]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, errors = load(file)
    assert any(e.startswith(f"{NAME}:1: duplicate column(s) kind") for e in errors), errors


def test_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    rows = small_rows()
    rows[0]["name"] = "济源钢铁\n（集团）"
    rows[2]["kind"] = "factory"
    file = write_rows(tmp_path, rows)
    text = file.read_text(encoding="utf-8").replace("\nJY-P002", "\n\nJY-P002")
    file.write_text(text, encoding="utf-8")
    _, errors = load(file)
    # header 1, JY-P001 on 2–3, blank 4, JY-P002 5, JY-P003 6
    assert errors and errors[0].startswith(f"{NAME}:6: kind:"), errors
    assert "factory" in text.splitlines()[5]


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    file = write_rows(tmp_path, small_rows())
    lines = file.read_text(encoding="utf-8").splitlines()
    lines[3] += ",extra"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sources, errors = load(file)
    assert sources == []
    assert len(errors) == 1 and errors[0].startswith(f"{NAME}:4: malformed CSV"), errors


def test_row_with_too_few_fields(tmp_path: Path) -> None:
    file = write_rows(tmp_path, small_rows())
    lines = file.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, errors = load(file)
    assert len(errors) == 1 and errors[0].startswith(f"{NAME}:3: value_added_yuan_d:"), errors


@pytest.mark.parametrize(
    ("content", "text"),
    [(b"", "empty file"), (b"\n\n", "empty file"), (b"id,name\n\xff\xfe,x\n", "not UTF-8")],
)
def test_unreadable_files(tmp_path: Path, content: bytes, text: str) -> None:
    file = tmp_path / NAME
    file.write_bytes(content)
    sources, errors = load(file)
    assert sources == []
    assert len(errors) == 1 and errors[0].startswith(f"{NAME}:") and text in errors[0], errors


def test_missing_file(tmp_path: Path) -> None:
    sources, errors = load(tmp_path / NAME)
    assert sources == [] and errors[0].startswith(f"{NAME}: cannot read")


def test_source_model_checks_values_built_in_code() -> None:
    row = small_rows()[0]
    Source.model_validate(row)
    for column, value in [
        ("kind", "factory"),
        ("industry", "mining"),
        ("grade", "Z"),
        ("guarantee", "army"),
        ("so2_kg_d", -1),
        ("lat", 91),
        ("id", "a b"),
        ("pm_kg_d", float("nan")),
    ]:
        with pytest.raises(ValidationError):
            Source.model_validate(row | {column: value})
    with pytest.raises(ValidationError):
        Source.model_validate(row | {"owner": "x"})
