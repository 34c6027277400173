"""Gate records from a CSV file (an export of a gate system), for ``emergency gates import``.

Columns (a header row first, UTF-8 with or without BOM)::

    enterprise,gate,plate,time,direction,vehicle,standard,fuel[,corrects]

``time`` is ISO 8601 with a UTC offset (``2016-12-17T08:15:00+08:00``); ``corrects`` is
empty for an original. Every problem is reported as ``FILE:LINE: field: what``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from emergency.errors import ValidationErrors, where
from emergency.vehicles.records import MAX_LISTED, GateRecordIn, Place

COLUMNS = ("enterprise", "gate", "plate", "time", "direction", "vehicle", "standard", "fuel")
OPTIONAL = ("corrects",)
MAX_BYTES = 200 * 1024 * 1024


def read_gate_csv(path: Path, name: str | None = None) -> tuple[list[GateRecordIn], Place]:
    """The records of a CSV file and where each one's fields are (``FILE:LINE: field``).

    Raises
    ------
    ValidationErrors
        The file cannot be read, lacks a column, has an unknown one, or rows that are not
        gate records: every problem (the first :data:`MAX_LISTED`), naming line and field.
    """
    name = name or str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValidationErrors([f"{where(name)}: larger than {MAX_BYTES} bytes"])
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationErrors([f"{where(name)}: not UTF-8 (byte {exc.start})"]) from None
    except OSError as exc:
        raise ValidationErrors([f"{where(name)}: cannot read ({exc.strerror or exc})"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ValidationErrors([f"{where(name)}: empty file (expected {','.join(COLUMNS)})"])
    header = [h.strip() for h in header]
    problems = [f"{where(name, 1)}: {c}: missing column" for c in COLUMNS if c not in header]
    problems += [
        f"{where(name, 1)}: {c}: unknown column (columns: {', '.join(COLUMNS + OPTIONAL)})"
        for c in header
        if c not in COLUMNS + OPTIONAL
    ]
    if problems:
        raise ValidationErrors(problems, name)
    records: list[GateRecordIn] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"{where(name, line)}: {len(row)} cells, expected {len(header)}")
            continue
        data: dict[str, object] = {k: v.strip() for k, v in zip(header, row, strict=True)}
        if not data.get("corrects"):
            data.pop("corrects", None)
        try:
            records.append(GateRecordIn.model_validate(data))
            lines.append(line)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                field = ".".join(str(p) for p in error["loc"]) or "row"
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{where(name, line, field)}: {message}")
    if not records and not problems:
        problems.append(f"{where(name)}: no gate record (only the header)")
    if problems:
        shown = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            shown.append(f"… and {len(problems) - MAX_LISTED} more problems")
        raise ValidationErrors(shown, name)

    def place(i: int, field: str) -> str:
        return where(name, lines[i], field or None)

    return records, place
