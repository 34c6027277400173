"""Storage: migrations agree with the models, SQLite settings, the append-only audit log,
importing the data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from emergency.errors import InputError, ValidationErrors
from emergency.service.access import CLI
from emergency.service.enterprises import import_data
from emergency.store.datafiles import stored_files
from emergency.store.db import Store, database_url
from emergency.store.migrate import current_revision, head_revision, upgrade
from emergency.store.models import AuditEntry, Base, DataFile
from tests.datafiles import small_plans, small_rows, write_small_dataset


def test_migrations_match_the_models(store: Store) -> None:
    assert current_revision(store.engine) == head_revision() == "0007"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrating_twice_is_a_no_op(store: Store) -> None:
    upgrade(store.engine)
    assert current_revision(store.engine) == head_revision()


def test_sqlite_file_in_the_data_folder_with_wal_and_foreign_keys(
    store: Store, data_dir: Path, db_url: str | None
) -> None:
    if db_url is not None:
        assert store.engine.dialect.name == "postgresql"
        return
    assert (data_dir / "emergency.sqlite").is_file()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_database_urls() -> None:
    assert database_url(Path("/tmp"), "postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url(Path("/tmp")).startswith("sqlite:////tmp/")
    with pytest.raises(InputError, match="only SQLite and PostgreSQL"):
        database_url(Path("/tmp"), "mysql://u@h/db")
    with pytest.raises(InputError, match="not a database URL"):
        database_url(Path("/tmp"), "::nonsense::")
    with pytest.raises(InputError, match="no such folder"):
        database_url(Path("/nonexistent/data"))


def test_audit_log_refuses_update_and_delete(store: Store) -> None:
    with store.session() as session:
        assert session.scalar(select(AuditEntry).limit(1)) is not None  # the first import
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_first_start_imports_the_data_folder(store: Store) -> None:
    with store.session() as session:
        files = stored_files(session)
        first = session.scalars(select(AuditEntry)).first()
    assert {"enterprises.csv", "plans/city.yaml", "plans/enterprises/JY-P001.yaml"} <= set(files)
    assert first is not None and first.action == "data.import" and first.actor == "system"


def test_import_reloads_and_reports_changes(store: Store, tmp_path: Path) -> None:
    rows = [r for r in small_rows() if r["id"] != "JY-P003"]
    rows[0]["name"] = "济源钢铁（新）"
    plans = {k: v for k, v in small_plans().items() if k != "JY-P003"}
    changed = write_small_dataset(tmp_path / "v2", rows=rows, plans=plans)
    with store.session() as session:
        summary = import_data(session, CLI, changed)
    assert summary.changed == ["enterprises.csv"]
    assert summary.removed == ["plans/enterprises/JY-P003.yaml"]
    with store.session() as session:
        again = import_data(session, CLI, changed)
    assert again.changed == again.added == again.removed == []


def test_invalid_folder_changes_nothing(store: Store, tmp_path: Path) -> None:
    rows = small_rows()
    rows[1]["so2_kg_d"] = -4
    broken = write_small_dataset(tmp_path / "broken", rows=rows)
    with store.session() as session:
        before = stored_files(session)
        with pytest.raises(ValidationErrors) as caught:
            import_data(session, CLI, broken)
        assert any("enterprises.csv" in e and "so2_kg_d" in e for e in caught.value.errors)
    with store.session() as session:
        assert stored_files(session) == before
        assert session.scalar(select(DataFile.updated_by).limit(1)) == "system"


def test_upgrade_from_0002_keeps_orders_and_their_history(tmp_path: Path) -> None:
    """0003 rebuilds ``orders`` (SQLite): the orders, events and reports of 0002 stay."""
    from emergency.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0002")
    at = "2016-12-15 08:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO responses (id, city, status, level, start, "end", rule_set, '
                "warning, plan_number, opened_at, version) VALUES (1, 'c', 'open', 'orange', "
                f"'2016-12-16', '2016-12-19', 'r', '{{}}', 1, '{at}', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO response_plans (id, response_id, number, created_at, created_by, "
                f"reason, effective_from, plan) VALUES (1, 1, 1, '{at}', 'x', 'opened', "
                "'2016-12-16', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO orders (id, response_id, plan_id, source, measure_id, measure_name, "
                "level, start, planned_end, fixed, status, expected_cut_kg_d, allowed_load, "
                "allowed_load_total, issued_at, version) VALUES (1, 1, 1, 'JY-P001', 'deep', "
                "'d', 'orange', '2016-12-16', '2016-12-19', '', 'issued', '{}', '{}', 0.5, "
                f"'{at}', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO order_events (order_id, at, actor, event, note) "
                f"VALUES (1, '{at}', 'x', 'issued', '')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        row = conn.execute(text("SELECT kind, response_id, source FROM orders")).one()
        assert tuple(row) == ("response", 1, "JY-P001")
        assert conn.execute(text("SELECT count(*) FROM order_events")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        index = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'uq_orders_in_force'")
        ).scalar()
        assert "WHERE" in str(index)
    engine.dispose()
