"""Storage: the one module boundary behind which the database lives.

- :mod:`emergency.store.db`: engines, sessions, :class:`~emergency.store.db.Store`;
- :mod:`emergency.store.models`: the schema; :mod:`emergency.store.migrate`: Alembic;
- :mod:`emergency.store.datafiles`: the data folder kept in the database.
"""
