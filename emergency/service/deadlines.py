"""The city's deadlines as the service reads them: the acknowledgement deadline (the
service's setting, else the city plan's ``ack_deadline_hours``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from emergency.service.planning import loaded_data
from emergency.store.db import store_of


def ack_deadline_hours(session: Session) -> float:
    """Hours after issue by which an order must be acknowledged."""
    configured = store_of(session).config.ack_deadline_hours
    if configured is not None:
        return configured
    return float(loaded_data(session).dataset.city.ack_deadline_hours)
