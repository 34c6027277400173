"""Start-up: bad data stops ``serve`` and ``import`` with nothing changed; several workers
starting together on a new database all come up.

A bad data folder must give exit code 2 and an error line naming the file, the line and
the field, and leave the database exactly as it was: the same rows in every table (and,
for SQLite, the same bytes in the file); on a first start, no database at all.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select

from emergency.service.access import SYSTEM
from emergency.service.enterprises import open_store
from emergency.service.tokens import create_token
from emergency.store.db import Store
from emergency.store.models import AuditEntry, Base, DataFile
from tests.datafiles import small_plans, small_rows, write_small_dataset
from tests.reliability.conftest import ServerFactory
from tests.reliability.invariants import open_store as open_existing
from tests.reliability.live import API, free_port, run_cli, where

pytestmark = pytest.mark.slow


def negative_emission(folder: Path) -> None:
    rows = small_rows()
    rows[1]["so2_kg_d"] = -4  # JY-P002, line 3 of the CSV (after the header)
    write_small_dataset(folder, rows=rows)


def unknown_line_in_a_plan(folder: Path) -> None:
    plans = small_plans()
    plans["JY-P001"]["measures"][0]["loads"] = {"sinter-9": 0.5}
    write_small_dataset(folder, plans=plans)


def broken_city_yaml(folder: Path) -> None:
    write_small_dataset(folder)
    text = (folder / "plans" / "city.yaml").read_text(encoding="utf-8")
    (folder / "plans" / "city.yaml").write_text(
        text.replace("rule_set: henan-2019", "rule_set: [henan-2019"), encoding="utf-8"
    )


def bad_level_in_a_plan(folder: Path) -> None:
    plans = small_plans()
    plans["JY-P002"]["levels"]["orange"] = "no-such-measure"
    write_small_dataset(folder, plans=plans)


def no_inventory(folder: Path) -> None:
    write_small_dataset(folder)
    (folder / "enterprises.csv").unlink()


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "csv-field": (negative_emission, r"enterprises\.csv:3: so2_kg_d: "),
    "plan-line": (unknown_line_in_a_plan, r"plans/enterprises/JY-P001\.yaml:\d+: measures\[0\]"),
    "city-yaml": (broken_city_yaml, r"plans/city\.yaml:\d+"),
    "plan-level": (bad_level_in_a_plan, r"plans/enterprises/JY-P002\.yaml:\d+: levels\.orange"),
    "no-inventory": (no_inventory, r"enterprises\.csv: not found"),
}


def snapshot(data_dir: Path, db_url: str | None) -> dict[str, Any]:
    """Every row of every table, and the SQLite file's digest (None: no database yet)."""
    sqlite_file = data_dir / "emergency.sqlite"
    if db_url is None and not sqlite_file.exists():
        return {"database": None}
    store = open_existing(data_dir, db_url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        rows: dict[str, Any] = {}
        with store.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                if table.name in tables:
                    rows[table.name] = sorted(map(repr, conn.execute(select(table)).all()))
    finally:
        store.dispose()
    if db_url is None:
        rows["sqlite-sha256"] = hashlib.sha256(sqlite_file.read_bytes()).hexdigest()
    return rows


def assert_refused(code: int, stderr: str, pattern: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line.strip() for line in stderr.strip().splitlines()]
    assert any(re.search(pattern, line) for line in lines), stderr
    assert len(lines) <= 3, stderr  # one line per problem (here one), after a title


@pytest.mark.parametrize("bad", list(BAD))
def test_bad_data_refused_and_an_existing_database_untouched(
    tmp_path: Path, db_url: str | None, bad: str
) -> None:
    """An existing database (tokens, imported data), then the folder goes bad."""
    folder = write_small_dataset(tmp_path / "data")
    store = open_store(folder, db_url)  # migrates, imports; then a token
    with store.session() as session:
        create_token(session, SYSTEM, "planner")
        session.commit()
    store.dispose()
    before = snapshot(folder, db_url)
    shutil.rmtree(folder / "plans")
    (folder / "enterprises.csv").unlink()
    make, pattern = BAD[bad]
    make(folder)
    english = ("--lang", "en")  # the patterns are the English problems
    port = str(free_port())
    serve = run_cli("serve", *where(folder, db_url), "--port", port, *english, timeout_s=60)
    assert_refused(serve.returncode, serve.stderr, pattern)
    assert "serving" not in serve.stdout
    imported = run_cli("import", *where(folder, db_url), *english)
    assert_refused(imported.returncode, imported.stderr, pattern)
    assert snapshot(folder, db_url) == before


@pytest.mark.parametrize("bad", ["csv-field", "city-yaml"])
def test_bad_data_on_a_first_start_creates_no_database(
    tmp_path: Path, db_url: str | None, bad: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    make, pattern = BAD[bad]
    make(folder)
    for command in (["serve", "--port", str(free_port())], ["import"]):
        done = run_cli(*command, *where(folder, db_url), timeout_s=60)
        assert_refused(done.returncode, done.stderr, pattern)
    assert not (folder / "emergency.sqlite").exists()
    if db_url is not None:
        store = open_existing(folder, db_url)
        try:
            assert inspect(store.engine).get_table_names() == []
        finally:
            store.dispose()


def test_stores_opened_together_on_a_new_database(data_dir: Path, db_url: str | None) -> None:
    """Eight openings at once (as eight workers would): the schema is made and the data
    imported exactly once, and none of them fails."""
    barrier = threading.Barrier(8)
    stores: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(open_store(data_dir, db_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        with stores[0].session() as session:
            imports = session.scalar(select(func.count()).where(AuditEntry.action == "data.import"))
            assert imports == 1
            assert session.scalar(select(func.count()).select_from(DataFile)) == 5
    finally:
        for store in stores:
            store.dispose()


def test_workers_start_together_on_a_new_database(server_factory: ServerFactory) -> None:
    """``uvicorn --workers 4`` on a fresh data folder: every worker comes up and serves."""
    server = server_factory(workers=4).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = server.log()
        if log.count("Application startup complete") + log.count("startup failed") >= 4:
            break
        time.sleep(0.2)
    with httpx.Client(base_url=f"{server.url}{API}", timeout=10) as client:
        for _ in range(20):
            assert client.get("/public/warning").status_code == 200
    server.stop()
    log = server.log()
    assert log.count("Application startup complete") == 4, log[-3000:]
    assert "Traceback" not in log and "failed" not in log, log[-3000:]
