"""Reading one sheet: find the header row by name, map columns, and read cells as values.

Problems are collected as :class:`Problem` with the sheet, row and column, and turned into
``清单!H17: 绩效等级 "E" is not one of …`` messages.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl.utils import get_column_letter

from emergency.export import FORMULA_START
from emergency.listbook.columns import Column, header_index, normalise

HEADER_SCAN_ROWS = 10


@dataclass(order=True)
class Problem:
    """One problem, sortable by sheet, row and column."""

    sheet_order: int
    row: int
    column: int
    message: str = field(compare=False)


def quote(value: object) -> str:
    """A value as shown in a message: ``"E"``."""
    return json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=False)


@dataclass
class Sheet:
    """A read sheet: where each column is, its header as written, and the data rows."""

    title: str
    order: int
    header_row: int
    columns: dict[str, int]
    headers: dict[str, str]
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)

    def cell(self, key: str, row: int) -> str:
        """``清单!H17`` for a column key (the header row's place when the column is absent)."""
        column = self.columns.get(key)
        if column is None:
            return f"{self.title}!{row}:{row}"
        return f"{self.title}!{get_column_letter(column)}{row}"

    def report(self, key: str, row: int, message: str) -> None:
        """Record ``<cell>: <header> <message>``."""
        header = self.headers.get(key, key)
        column = self.columns.get(key, 0)
        self.problems.append(
            Problem(self.order, row, column, f"{self.cell(key, row)}: {header} {message}")
        )

    def report_row(self, row: int, message: str) -> None:
        """A problem of a whole row."""
        self.problems.append(Problem(self.order, row, 0, f"{self.title}!{row}:{row}: {message}"))


def read_sheet(
    ws: Any, order: int, columns: tuple[Column, ...], required: tuple[str, ...]
) -> Sheet:
    """Read a worksheet whose header row is one of its first rows."""
    index = header_index(columns)
    by_key = {c.key: c for c in columns}
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    best, best_count = 0, 0
    for r, values in enumerate(grid[:HEADER_SCAN_ROWS], start=1):
        count = sum(1 for v in values if isinstance(v, str) and normalise(v) in index)
        if count > best_count:
            best, best_count = r, count
    sheet = Sheet(ws.title, order, best, {}, {}, [])
    if best_count < 2:
        wanted = ", ".join(f"{by_key[k].zh} / {by_key[k].en}" for k in required)
        sheet.problems.append(
            Problem(
                order,
                0,
                0,
                f"{ws.title}: no header row in the first {HEADER_SCAN_ROWS} rows "
                f"(expected headers such as {wanted})",
            )
        )
        return sheet
    for c, value in enumerate(grid[best - 1], start=1):
        if not isinstance(value, str) or normalise(value) not in index:
            continue
        column = index[normalise(value)]
        if column.key in sheet.columns:
            first = get_column_letter(sheet.columns[column.key])
            sheet.problems.append(
                Problem(
                    order,
                    best,
                    c,
                    f"{ws.title}!{get_column_letter(c)}{best}: {value.strip()} repeats the "
                    f"column of {first}{best}",
                )
            )
            continue
        sheet.columns[column.key] = c
        sheet.headers[column.key] = value.strip()
    missing = [by_key[k] for k in required if k not in sheet.columns]
    if missing:
        names = ", ".join(f"{c.zh} / {c.en}" for c in missing)
        sheet.report_row(best, f"missing column(s) {names}")
    for key, column in by_key.items():
        sheet.headers.setdefault(key, column.zh)
    data_start = best
    for values in grid[best:]:  # a second header row (e.g. the English names) is skipped
        texts = [v for v in values if v is not None and str(v).strip()]
        if texts and all(isinstance(v, str) and normalise(v) in index for v in texts):
            data_start += 1
        else:
            break
    for r, values in enumerate(grid[data_start:], start=data_start + 1):
        cells = {
            key: values[c - 1] if c - 1 < len(values) else None for key, c in sheet.columns.items()
        }
        if all(text(v) == "" for v in cells.values()):
            continue
        sheet.rows.append((r, cells))
    return sheet


def text(value: Any) -> str:
    """A cell as text: stripped; the ``'`` that guards a formula-like text is removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    result = str(value).strip()
    if result.startswith("'") and result[1:].startswith(FORMULA_START):
        result = result[1:]
    return result


def number(value: Any) -> Decimal | None:
    """A cell as an exact number (None when empty); ValueError when it is not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        result = Decimal(repr(value))
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("not a number") from None
    if not result.is_finite():
        raise ValueError("not a number")
    return result


def plain(value: Decimal) -> int | float:
    """An exact number as written to the files: an int when whole, else a float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
