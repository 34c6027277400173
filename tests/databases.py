"""The databases a test runs on: SQLite always, PostgreSQL when a server is named.

``EMERGENCY_TEST_DATABASE_URL`` names a PostgreSQL server (``.ci/postgres.sh`` starts one);
each test then gets a fresh schema, and its connections are tagged with the schema's name
(``application_name``) so that those a test or a killed server leaves open are ended
before the schema is dropped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from emergency.store.db import make_engine

PG_ENV = "EMERGENCY_TEST_DATABASE_URL"
DATABASES = [pytest.param("sqlite", id="sqlite")]
if os.environ.get(PG_ENV):
    DATABASES.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))


@contextlib.contextmanager
def database_url(kind: str, prefix: str = "t") -> Iterator[str | None]:
    """None for SQLite (the store's file in the data folder); else a PostgreSQL URL bound to
    a fresh schema, dropped afterwards."""
    if kind == "sqlite":
        yield None
        return
    base = os.environ[PG_ENV]
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    try:
        yield make_url(base).update_query_dict(query).render_as_string(hide_password=False)
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
