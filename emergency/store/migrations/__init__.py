"""Alembic migrations of the service's database (run by :mod:`emergency.store.migrate`)."""
