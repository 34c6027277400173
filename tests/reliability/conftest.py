"""Fixtures of the reliability tests: a database per test, a data folder, live servers.

Every test that touches a database runs on SQLite (a file in a temp data folder) and, when
``EMERGENCY_TEST_DATABASE_URL`` names a PostgreSQL server, on PostgreSQL too: each test
gets its own schema, and connections tagged with the schema's name (``application_name``)
so that those a crashed server leaves behind can be ended before the schema is dropped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from emergency.store.db import make_engine
from tests.datafiles import write_small_dataset
from tests.reliability.live import Server

PG_ENV = "EMERGENCY_TEST_DATABASE_URL"
DATABASES = [pytest.param("sqlite", id="sqlite")]
if os.environ.get(PG_ENV):
    DATABASES.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the data folder; else a PostgreSQL URL bound to a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    base = os.environ[PG_ENV]
    schema = f"rel_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    url = make_url(base).update_query_dict(query)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            conn.execute(text("SET LOCAL lock_timeout = '30s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "data")


ServerFactory = Callable[..., Server]


@pytest.fixture
def server_factory(data_dir: Path, db_url: str | None) -> Iterator[ServerFactory]:
    """Make servers on the test's data folder and database; all are stopped afterwards."""
    made: list[Server] = []

    def make(**options: object) -> Server:
        server = Server(data_dir, db_url, **options)  # type: ignore[arg-type]
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.kill()
