"""``emergency observations import``: a CSV into the database (SQLite and PostgreSQL), as
``POST /observations`` takes it; exit 2 naming the file and line, nothing stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from emergency.cli import app
from emergency.service.enterprises import open_store
from emergency.store.models import Observation
from tests.verify_cases import observations_csv

runner = CliRunner()


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args), "--lang", "en"])
    return result.exit_code, result.stdout, result.stderr


def where(data_dir: Path, db_url: str | None) -> list[str]:
    return ["--data", str(data_dir)] + (["--db", db_url] if db_url else [])


def stored(data_dir: Path, db_url: str | None) -> list[tuple[dt.date, int, int | None]]:
    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            rows = session.scalars(select(Observation).order_by(Observation.id))
            return [(o.date, o.aqi, o.corrects) for o in rows]
    finally:
        store.dispose()


def test_import_is_idempotent_and_corrects(
    tmp_path: Path, data_dir: Path, db_url: str | None
) -> None:
    at = where(data_dir, db_url)
    csv = tmp_path / "observed.csv"
    csv.write_text(observations_csv(), encoding="utf-8")
    code, out, err = cli("observations", "import", csv, *at)
    assert code == 0, err
    assert "6 stored, 0 unchanged" in out
    code, out, _ = cli("observations", "import", csv, *at)
    assert code == 0 and "0 stored, 6 unchanged" in out
    first = stored(data_dir, db_url)
    assert [(d.isoformat(), a) for d, a, _ in first][:2] == [
        ("2016-12-16", 230),
        ("2016-12-17", 280),
    ]
    # another value without `corrects`: exit 2 naming the line, nothing stored
    changed = tmp_path / "changed.csv"
    changed.write_text("date,aqi\n2016-12-22,70\n2016-12-16,240\n", encoding="utf-8")
    code, _out, err = cli("observations", "import", changed, *at)
    assert code == 2
    assert "changed.csv:3: city 2016-12-16 is stored with AQI 230" in err
    assert stored(data_dir, db_url) == first
    # as a correction of the stored row: stored
    ident = _id_of(data_dir, db_url, dt.date(2016, 12, 16))
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(f"date,aqi,corrects\n2016-12-16,240,{ident}\n", encoding="utf-8")
    code, out, err = cli("observations", "import", fixed, *at)
    assert code == 0, err
    assert stored(data_dir, db_url)[-1] == (dt.date(2016, 12, 16), 240, ident)


def _id_of(data_dir: Path, db_url: str | None, day: dt.date) -> int:
    store = open_store(data_dir, db_url)
    try:
        with store.session() as session:
            row = session.scalar(select(Observation).where(Observation.date == day))
            assert row is not None
            return row.id
    finally:
        store.dispose()


def test_bad_rows_exit_2_naming_file_line_and_field(
    tmp_path: Path, data_dir: Path, db_url: str | None
) -> None:
    at = where(data_dir, db_url)
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"date,aqi,station\n2016-12-16,230,city\n{tomorrow},80,city\n2016-12-17,600,city\n",
        encoding="utf-8",
    )
    code, _out, err = cli("observations", "import", bad, *at)
    assert code == 2
    assert "bad.csv:4: aqi: must be less than or equal to 500" in err
    later = tmp_path / "later.csv"
    later.write_text(f"date,aqi\n2016-12-16,230\n{tomorrow},80\n", encoding="utf-8")
    code, _out, err = cli("observations", "import", later, *at)
    assert code == 2 and f"later.csv:3: date: {tomorrow} is after today" in err
    assert stored(data_dir, db_url) == []
    empty = tmp_path / "empty.csv"
    empty.write_text("date,aqi\n", encoding="utf-8")
    code, _out, err = cli("observations", "import", empty, *at)
    assert code == 2 and "empty.csv: no observation" in err
