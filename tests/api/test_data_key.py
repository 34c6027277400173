"""The data folder's content address, computed by the database (one scalar per request),
is the one Python computes from the stored files: the cache of datasets is found by it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from emergency.store.datafiles import files_key, put_file, stored_files, stored_key
from emergency.store.db import Store


def key_in_sql(store: Store) -> str:
    with store.session() as session:
        dialect = session.get_bind().dialect.name
        return str(session.execute(select(stored_key(dialect))).scalar_one())


def test_the_key_in_sql_is_the_key_of_the_stored_files(store: Store) -> None:
    with store.session() as session:
        expected = files_key(stored_files(session))
    assert key_in_sql(store) == expected
    now = dt.datetime(2016, 12, 15, tzinfo=dt.UTC)
    # paths sorted by code point (upper case before lower, CJK after ASCII), spaces
    with store.session() as session:
        for path in ("plans/zz/预案.yaml", "plans/Z.yaml", "plans/a b.yaml", "plans/é.yaml"):
            put_file(session, path, f"# {path}\n", "test", now)
        session.commit()
        expected = files_key(stored_files(session))
    assert key_in_sql(store) == expected
    with store.session() as session:  # a change of one file changes the key
        put_file(session, "plans/Z.yaml", "# changed\n", "test", now)
        session.commit()
        changed = files_key(stored_files(session))
    assert changed != expected and key_in_sql(store) == changed
