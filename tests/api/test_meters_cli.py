"""``emergency meters import`` and ``emergency meters synth`` (SQLite and PostgreSQL): a
CSV into the database as ``POST /meters/readings`` takes it, exit 2 naming the file, line
and field with nothing stored; synthetic readings deterministic by seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from emergency.cli import app
from emergency.service.enterprises import open_store
from emergency.store.models import MeterReading

runner = CliRunner()
METER = "JY-P001-sinter-1-E1"


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args), "--lang", "en"])
    return result.exit_code, result.stdout, result.stderr


def where(data_dir: Path, db_url: str | None) -> list[str]:
    return ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])


def stored(data_dir: Path, db_url: str | None) -> list[tuple[str, float, int | None]]:
    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            rows = session.scalars(select(MeterReading).order_by(MeterReading.id))
            return [(r.meter, r.kwh, r.corrects) for r in rows]
    finally:
        store.dispose()


def write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_is_idempotent_and_corrects(
    tmp_path: Path, data_dir: Path, db_url: str | None
) -> None:
    at = where(data_dir, db_url)
    day = [
        f"{METER},2016-12-14T{h:02d}:{m:02d}:00+08:00,{10 + h}"
        for h in range(24)
        for m in (0, 15, 30, 45)
    ]
    csv = write(tmp_path / "day.csv", "meter,time,kwh", *day)
    code, out, err = cli("meters", "import", csv, *at)
    assert code == 0, err
    assert "96 stored, 0 unchanged, 0 corrections (1 meters)" in out
    code, out, _ = cli("meters", "import", csv, *at)
    assert code == 0 and "0 stored, 96 unchanged" in out
    assert len(stored(data_dir, db_url)) == 96
    # another value without `corrects`: exit 2 naming the file and line, nothing stored
    changed = write(
        tmp_path / "changed.csv",
        "meter,time,kwh",
        f"{METER},2016-12-13T00:00:00+08:00,5",
        f"{METER},2016-12-14T01:00:00+08:00,99",
    )
    code, _out, err = cli("meters", "import", changed, *at)
    assert code == 2
    assert f"changed.csv:3: kwh: meter '{METER}' at 2016-12-14 01:00+08:00 has 11 kWh" in err
    assert len(stored(data_dir, db_url)) == 96
    fixed = write(
        tmp_path / "fixed.csv",
        "meter,time,kwh,corrects",
        f"{METER},2016-12-14T01:00:00+08:00,99,true",
    )
    code, out, err = cli("meters", "import", fixed, *at)
    assert code == 0 and "1 corrections" in out, err
    assert stored(data_dir, db_url)[-1] == (METER, 99.0, 5)  # the 5th row: 01:00


@pytest.mark.parametrize(
    ("row", "where_"),
    [
        (f"{METER},2016-12-14T00:10:00+08:00,1", "bad.csv:3: time: must begin a quarter hour"),
        (f"{METER},2016-12-14T00:15:00+08:00,NaN", "bad.csv:3: kwh:"),
        (f"{METER},2016-12-14T00:15:00+08:00,-4", "bad.csv:3: kwh:"),
        (f"{METER},2016-12-14T00:15:00,4", "bad.csv:3: time:"),
        (f"{METER},2016-12-14T00:15:00+08:00,4,1", "bad.csv:3: expected 3 columns, got 4"),
        (f"{METER},2016-12-14T00:15:00+08:00", "bad.csv:3: expected 3 columns"),
        ("JY-P777-kiln-1-E1,2016-12-14T00:15:00+08:00,4", "bad.csv:3: meter: unknown meter"),
        (f"{METER},2099-12-14T00:15:00+08:00,4", "bad.csv:3: time: 2099-12-14"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_stored(
    tmp_path: Path, data_dir: Path, db_url: str | None, row: str, where_: str
) -> None:
    bad = write(tmp_path / "bad.csv", "meter,time,kwh", f"{METER},2016-12-14T00:00:00+08:00,1", row)
    code, _out, err = cli("meters", "import", bad, *where(data_dir, db_url))
    assert code == 2, err
    assert where_ in err
    assert stored(data_dir, db_url) == []


def test_a_bad_header_is_exit_2(tmp_path: Path, data_dir: Path) -> None:
    bad = write(tmp_path / "bad.csv", "meter,when,kwh", f"{METER},2016-12-14T00:00:00+08:00,1")
    code, _out, err = cli("meters", "import", bad, "--data", data_dir)
    assert code == 2 and "bad.csv:1: expected the header meter,time,kwh" in err


def test_synth_is_deterministic_and_lists_its_cheats(tmp_path: Path, data_dir: Path) -> None:
    args = ["meters", "synth", "--first-day", "2016-12-16", "--days", "2", "--level", "red"]
    args += ["--cheat", "2", "--seed", "5", "--data", str(data_dir)]
    code, _, err = cli(*args, "--out", tmp_path / "a.csv")
    assert code == 0, err
    code, _, err_b = cli(*args, "--out", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert err.count("cheat: ") == 2 and err == err_b
    lines = (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "meter,time,kwh"
    assert len(lines) == 1 + 4 * 4 * 96  # 4 meters, 2 baseline days + 2 days, 96 quarters
    code, _, err = cli(*args[:-2], "--data", data_dir, "--level", "purple")
    assert code == 2 and "--level" in err
