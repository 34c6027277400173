"""Engines, sessions and the store's configuration: the one module boundary of storage.

SQLite is the embedded default (``<data>/emergency.sqlite``, WAL mode, a busy timeout and
foreign keys on); PostgreSQL is used when a URL names one. Plain ``postgresql://`` URLs are
mapped to the psycopg 3 driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from emergency.errors import InputError
from emergency.settings import Settings
from emergency.store.datafiles import FILES_KEY_FUNCTION, FilesKey
from emergency.store.migrate import upgrade

SQLITE_FILE = "emergency.sqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000
STARTUP_LOCK_KEY = 0x656D_6572  # PostgreSQL advisory lock of schema migration and first import


def database_url(data_dir: Path, url: str | None = None) -> str:
    """The URL to use: ``url`` if given, else the SQLite file in the data folder."""
    if not url:
        if not Path(data_dir).is_dir():
            raise InputError(f"--data: {data_dir}: no such folder")
        return f"sqlite:///{(Path(data_dir) / SQLITE_FILE).resolve()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"--db / EMERGENCY_DATABASE_URL: not a database URL: {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(f"--db: only SQLite and PostgreSQL are supported, not {url!r}")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit acknowledged to a client survives a power cut, not only a crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # the data folder's content address in SQL (emergency.store.datafiles.stored_key)
    dbapi_connection.create_aggregate(FILES_KEY_FUNCTION, 2, FilesKey)


PING_AFTER_IDLE_S = 5.0
"""A pooled PostgreSQL connection that has been idle this long is checked (one round trip)
before it is handed out; one in steady use is not."""


def _idle_since(_dbapi_connection: Any, record: Any, *_: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A pool ``checkout`` listener: ``pool_pre_ping`` for connections idle for
    :data:`PING_AFTER_IDLE_S` or more (a server restarted or a connection cut while the
    service was quiet: the pool connects afresh, nobody sees an error).

    Pinging at every checkout cost the busiest request, an enterprise's poll, a second
    round trip, blocking its worker's event loop for as long as the statement itself; a
    connection cut while in steady use fails the one statement it runs, and the pool is
    then renewed (SQLAlchemy invalidates every older connection on a disconnect; the poll
    retries once)."""

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the server went away: the pool takes another connection
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection failed its check")

    return checkout


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the SQLite pragmas installed on every connection;
    PostgreSQL connections idle for :data:`PING_AFTER_IDLE_S` are checked before use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url)
    event.listen(engine, "connect", _idle_since)
    event.listen(engine, "checkin", _idle_since)
    event.listen(engine, "checkout", _ping_when_idle(engine.dialect))
    return engine


class Store:
    """A database plus the service configuration; hands out sessions.

    Every session carries the store in ``session.info["store"]`` so that service
    functions need only a session and an actor.
    """

    def __init__(self, url: str, config: Settings) -> None:
        self.url = url
        self.config = config
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(
        cls, data_dir: Path, url: str | None = None, *, migrate: bool = True, **config: Any
    ) -> Store:
        """Open the store of a data folder; by default migrate its schema to the head."""
        settings = Settings(data=Path(data_dir), database_url=url, **config)
        return cls.from_settings(settings, migrate=migrate)

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Store:
        """Open the store the settings name; by default migrate its schema to the head."""
        store = cls(database_url(settings.data, settings.database_url), settings)
        if migrate:
            with store.startup_lock():
                upgrade(store.engine)
        return store

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Hold a lock across processes while the schema is migrated or the data imported.

        Several workers (``uvicorn --workers N``) starting together on a new database
        would otherwise race: a table created twice, the data folder imported twice, and
        the worker that loses fails to start, which stops the whole server. PostgreSQL:
        an advisory lock; SQLite: ``flock`` on the folder holding the database file.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        import fcntl
        import os

        # Not the database file itself: closing another descriptor of it would drop the
        # POSIX locks SQLite holds on it in this process.
        folder = os.open(Path(database).resolve().parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            yield
        finally:
            os.close(folder)  # releases the lock

    def session(self) -> Session:
        session = self._sessions()
        session.info["store"] = self
        return session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back on an exception."""
        with self.session() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def store_of(session: Session) -> Store:
    """The :class:`Store` a session came from."""
    store = session.info.get("store")
    if not isinstance(store, Store):
        raise RuntimeError("session was not created by Store.session()")
    return store
