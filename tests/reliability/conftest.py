"""Fixtures of the reliability tests: a database per test, a data folder, live servers.

Every test that touches a database runs on SQLite (a file in a temp data folder) and, when
``EMERGENCY_TEST_DATABASE_URL`` names a PostgreSQL server, on PostgreSQL too: each test
gets its own schema, and connections tagged with the schema's name (``application_name``)
so that those a crashed server leaves behind can be ended before the schema is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.databases import DATABASES, database_url
from tests.datafiles import write_small_dataset
from tests.reliability.live import Server


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the data folder; else a PostgreSQL URL bound to a fresh schema."""
    with database_url(request.param, prefix="rel") as url:
        yield url


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
