"""The emergency emission-reduction inventory (应急减排清单): ``enterprises.csv`` (docs/FORMATS.md).

One row per listed source. :func:`load_inventory` reads the file with pandas and reports
*every* bad cell at once, each message naming the file, the CSV line (header = line 1),
the column and the bad value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emergency import POLLUTANTS
from emergency.errors import where
from emergency.listbook.credit import credit_code_problem

Kind = Literal["plant", "site", "yard", "quarry"]
KINDS: tuple[str, ...] = ("plant", "site", "yard", "quarry")
"""Source kinds: industrial plant, construction site, bulk-goods yard, quarry/stone works."""

INDUSTRIES: tuple[str, ...] = (
    # the core list (docs/FORMATS.md)
    "steel",
    "coking",
    "lead_zinc_smelting",
    "power",
    "cement",
    "cement_grinding",
    "refractory",
    "brick",
    "lime",
    "glass",
    "corundum",
    "aluminium_rolling",
    "chemical",
    "coal_chemical",
    "coating",
    "printing",
    "heating",
    "construction",
    "yard",
    "quarry",
    "other",
    # further key industries of the 2020 performance-grading guide found in Jiyuan-like cities
    "silver_refining",
    "nonferrous_other",
    "ferroalloy",
    "carbon",
    "casting",
    "ceramics",
    "pharmaceutical",
    "pesticide",
    "rubber_plastics",
    "wood_products",
    "asphalt",
    "concrete_mixing",
    "food",
    "waste_incineration",
)
"""The controlled vocabulary of the ``industry`` column."""

GRADES: tuple[str, ...] = ("A", "leading", "B", "B-", "C", "D")
"""Performance grades (绩效分级), best first; empty in the file means not graded."""

GUARANTEES: tuple[str, ...] = ("livelihood", "strategic", "export")
"""Guaranteed (保障类) kinds: such sources are kept at their plan's floor."""

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "industry",
    "district",
    "lon",
    "lat",
    "grade",
    "guarantee",
    "so2_kg_d",
    "nox_kg_d",
    "pm_kg_d",
    "vocs_kg_d",
    "value_added_yuan_d",
)
"""The columns every ``enterprises.csv`` has, in the order the engine writes them."""

OPTIONAL_COLUMNS: tuple[str, ...] = ("credit_code",)
"""Columns a file may have: ``credit_code``, the unified social credit code (统一社会信用代码,
GB 32100-2015), checked with its check character; empty when unknown."""


def csv_columns(credit_codes: bool) -> tuple[str, ...]:
    """The columns written: :data:`COLUMNS`, with ``credit_code`` after ``name`` when any
    source has one (a folder without codes keeps the file it always had)."""
    if not credit_codes:
        return COLUMNS
    return (*COLUMNS[:2], "credit_code", *COLUMNS[2:])


NUMBER_COLUMNS: tuple[str, ...] = (*(f"{p}_kg_d" for p in POLLUTANTS), "value_added_yuan_d")
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


class Source(BaseModel):
    """One listed source: a row of ``enterprises.csv``.

    Emissions are the normal daily baseline in kg/day; ``value_added_yuan_d`` is the basis
    of the curtailment cost.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str
    kind: Kind
    industry: str
    district: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    grade: str | None = None
    guarantee: str | None = None
    credit_code: str | None = None
    """The unified social credit code (统一社会信用代码), or None when the file gives none."""
    so2_kg_d: float = Field(ge=0)
    nox_kg_d: float = Field(ge=0)
    pm_kg_d: float = Field(ge=0)
    vocs_kg_d: float = Field(ge=0)
    value_added_yuan_d: float = Field(ge=0)

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str) -> str:
        if value not in INDUSTRIES:
            raise ValueError(f"unknown industry {value!r}")
        return value

    @field_validator("grade", "guarantee", "credit_code", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("grade")
    @classmethod
    def _known_grade(cls, value: str | None) -> str | None:
        if value is not None and value not in GRADES:
            raise ValueError(f"unknown grade {value!r} (expected {_choices(GRADES)})")
        return value

    @field_validator("credit_code")
    @classmethod
    def _checked_credit_code(cls, value: str | None) -> str | None:
        problem = credit_code_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(f"bad credit code {value!r}: {problem}")
        return value

    @field_validator("guarantee")
    @classmethod
    def _known_guarantee(cls, value: str | None) -> str | None:
        if value is not None and value not in GUARANTEES:
            raise ValueError(f"unknown guarantee {value!r} (expected {_choices(GUARANTEES)})")
        return value

    def emissions(self) -> dict[str, float]:
        """Baseline emissions in kg/day keyed by pollutant (``so2``, ``nox``, ``pm``, ``vocs``)."""
        return {p: float(getattr(self, f"{p}_kg_d")) for p in POLLUTANTS}

    @property
    def guaranteed(self) -> bool:
        """True for 保障类 sources (livelihood, strategic, export)."""
        return self.guarantee is not None


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


def load_inventory(path: Path | str, display: str | None = None) -> tuple[list[Source], list[str]]:
    """Read ``enterprises.csv``.

    Parameters
    ----------
    path
        The CSV file.
    display
        How messages name the file (default: ``path`` as given).

    Returns
    -------
    sources, errors
        The valid rows in file order, and one message per bad cell (empty when the file is
        clean). Rows with errors are left out of ``sources``.
    """
    name = display if display is not None else str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [f"{where(name)}: cannot read the file ({exc.strerror or exc})"]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [f"{where(name, line)}: not UTF-8 (byte {raw[exc.start]:#04x})"]
    sources, errors, _lines = read_inventory_text(text, name)
    return sources, errors


def read_inventory_text(text: str, name: str) -> tuple[list[Source], list[str], dict[str, int]]:
    """Parse CSV text.

    Returns
    -------
    sources, errors, lines
        The valid rows, the messages, and the CSV line of every well-formed id, including
        rows left out for errors (so that other files are not blamed for naming them).
    """
    header, header_errors = _check_header(text, name)
    if header is None:
        return [], header_errors, {}
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return [], [f"{where(name, 1)}: empty file (expected a header row)"], {}
    except (pd.errors.ParserError, ValueError) as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        return [], [*header_errors, f"{where(name, line)}: malformed CSV ({_first_line(exc)})"], {}
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    if header_errors and not set(COLUMNS) & set(header):
        return [], header_errors, {}

    lines = _row_lines(text, len(frame))
    cells, errors = _check_cells(frame, name, lines)
    errors = header_errors + errors
    ids = frame["id"].str.strip() if "id" in frame.columns else None
    first_line: dict[str, int] = {}
    if ids is not None:
        for i, ident in enumerate(ids):
            if not ident or not ID_PATTERN.fullmatch(ident):
                continue
            if ident in first_line:
                errors.append(
                    f"{where(name, lines[i], 'id')}: duplicate id {ident!r}"
                    f" (first on line {first_line[ident]})"
                )
            else:
                first_line[ident] = lines[i]
    errors.sort(key=_line_key)
    if header_errors:
        return [], errors, {}

    sources: list[Source] = []
    source_lines: dict[str, int] = {}
    bad_rows = set(cells.bad_rows)
    present = [c for c in (*COLUMNS, *OPTIONAL_COLUMNS) if c in frame.columns]
    # stripped once, by the checks (a short row is a bad one, left out below)
    columns = [
        (cells.text[c] if c in cells.text else frame[c].str.strip()).tolist() for c in present
    ]
    numbers = {c: cells.numbers[c] for c in ("lon", "lat", *NUMBER_COLUMNS)}
    seen: set[str] = set()
    for i in range(len(frame)):
        ident = columns[0][i]
        if i in bad_rows or ident in seen:
            continue
        seen.add(ident)
        row: dict[str, object] = {c: columns[k][i] for k, c in enumerate(present)}
        for c, values in numbers.items():
            row[c] = values[i]
        sources.append(Source.model_validate(row))
        source_lines[ident] = lines[i]
    return sources, errors, first_line | source_lines


def _line_key(message: str) -> int:
    match = re.match(r"[^:]*:(\d+):", message)
    return int(match.group(1)) if match else 0


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_header(text: str, name: str) -> tuple[list[str] | None, list[str]]:
    first = next(csv.reader(io.StringIO(text)), None)
    if first is None or not any(cell.strip() for cell in first):
        return None, [f"{where(name, 1)}: empty file (expected a header row)"]
    header = [cell.strip() for cell in first]
    errors: list[str] = []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        errors.append(f"{where(name, 1)}: missing column(s) {', '.join(missing)}")
    extra = [c for c in header if c not in COLUMNS and c not in OPTIONAL_COLUMNS]
    if extra:
        errors.append(
            f"{where(name, 1)}: unknown column(s) {', '.join(repr(c) for c in extra)}"
            f" (expected {_choices(COLUMNS)}; optional: {_choices(OPTIONAL_COLUMNS)})"
        )
    dups = sorted({c for c in header if header.count(c) > 1})
    if dups:
        errors.append(f"{where(name, 1)}: duplicate column(s) {', '.join(dups)}")
    return header, errors


def _row_lines(text: str, n_rows: int) -> list[int]:
    """The CSV line on which each data row starts (quoted newlines and blank lines counted)."""
    reader = csv.reader(io.StringIO(text))
    lines: list[int] = []
    previous_end = 0
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not record:  # blank line: pandas skips it too
            continue
        lines.append(start)
    lines = lines[1:]  # the header
    if len(lines) != n_rows:  # the csv module and pandas disagree: fall back to plain counting
        return [i + 2 for i in range(n_rows)]
    return lines


class _Cells:
    def __init__(self) -> None:
        self.bad_rows: list[int] = []
        self.numbers: dict[str, list[float]] = {}
        self.text: dict[str, pd.Series] = {}
        """Each column checked, stripped (a short row's missing field empty)."""


def _check_cells(frame: pd.DataFrame, name: str, lines: list[int]) -> tuple[_Cells, list[str]]:
    cells = _Cells()
    errors: list[str] = []

    def bad(mask: pd.Series, column: str, describe: str, values: pd.Series) -> None:
        """Report each masked row; ``describe`` holds ``{v}`` for the bad value."""
        for i in np.flatnonzero(mask.to_numpy(dtype=bool)):
            cells.bad_rows.append(int(i))
            message = describe.format(v=repr(values.iloc[i]))
            errors.append(f"{where(name, lines[i], column)}: {message}")

    def column(c: str) -> pd.Series | None:
        if c not in frame.columns:
            return None
        short = frame[c].isna()  # a row with fewer fields than the header
        if short.any():
            bad(short, c, "missing: the row has fewer fields than the header", frame[c])
        cells.text[c] = frame[c].fillna("").astype(str).str.strip()
        return cells.text[c]

    def numeric(c: str) -> tuple[pd.Series, pd.Series, np.ndarray] | None:
        values = column(c)
        if values is None:
            return None
        numbers = pd.to_numeric(values.where(values != "", "nan"), errors="coerce")
        array = numbers.to_numpy(dtype=float)
        not_number = pd.Series(~np.isfinite(array), index=values.index)
        given = ~frame[c].isna()
        bad(not_number & given & (values == ""), c, "empty (write 0 for none)", values)
        bad(not_number & given & (values != ""), c, "not a number: {v}", values)
        cells.numbers[c] = array.tolist()
        return values, not_number, array

    ids = column("id")
    if ids is not None:
        bad(~ids.str.fullmatch(ID_PATTERN.pattern), "id", "bad id {v} (use [A-Za-z0-9_-]+)", ids)
    for c in ("name", "district"):
        values = column(c)
        if values is not None:
            bad((values == "") & ~frame[c].isna(), c, f"empty {c}", values)
    for c, allowed, empty_ok in (
        ("kind", KINDS, False),
        ("industry", INDUSTRIES, False),
        ("grade", GRADES, True),
        ("guarantee", GUARANTEES, True),
    ):
        values = column(c)
        if values is None:
            continue
        ok = values.isin(allowed) | frame[c].isna()
        if empty_ok:
            ok |= values == ""
        hint = _choices(allowed) + (", or empty" if empty_ok else "")
        bad(~ok, c, f"unknown {c} {{v}} (expected {hint})", values)
    codes = column("credit_code")
    if codes is not None:
        errors += _check_credit_codes(frame, codes, name, lines, cells)
    for c, low, high in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        checked = numeric(c)
        if checked is not None:
            values, not_number, array = checked
            outside = ~not_number & ((array < low) | (array > high))
            bad(outside, c, f"{c} {{v}} outside [{low:g}, {high:g}]", values)
    for c in NUMBER_COLUMNS:
        checked = numeric(c)
        if checked is not None:
            values, not_number, array = checked
            bad(~not_number & (array < 0), c, "negative: {v} (must be >= 0)", values)
    return cells, errors


def _check_credit_codes(
    frame: pd.DataFrame, codes: pd.Series, name: str, lines: list[int], cells: _Cells
) -> list[str]:
    """Each given credit code valid (GB 32100-2015), and no code shared by two names."""
    errors: list[str] = []
    names = frame["name"].fillna("").astype(str).str.strip() if "name" in frame.columns else None
    first: dict[str, int] = {}
    for i, code in enumerate(codes.tolist()):
        if not code:
            continue
        problem = credit_code_problem(code)
        if problem is not None:
            cells.bad_rows.append(i)
            errors.append(
                f"{where(name, lines[i], 'credit_code')}: bad credit code {code!r}: {problem}"
            )
            continue
        if code not in first:
            first[code] = i
            continue
        j = first[code]
        if names is not None and names.iloc[i] != names.iloc[j]:
            cells.bad_rows.append(i)
            errors.append(
                f"{where(name, lines[i], 'credit_code')}: {code!r} is already the credit code of"
                f" {names.iloc[j]!r} (line {lines[j]}), not of {names.iloc[i]!r}"
            )
    return errors


def dump_inventory(sources: Iterable[Source], path: Path | str) -> None:
    """Write sources as ``enterprises.csv`` (UTF-8, the columns of :func:`csv_columns`)."""
    rows = [s.model_dump() for s in sources]
    with_codes = any(row["credit_code"] for row in rows)
    frame = pd.DataFrame(rows, columns=list(csv_columns(with_codes)))
    frame["grade"] = frame["grade"].fillna("")
    frame["guarantee"] = frame["guarantee"].fillna("")
    if with_codes:
        frame["credit_code"] = frame["credit_code"].fillna("")
    frame.to_csv(path, index=False, lineterminator="\n")
