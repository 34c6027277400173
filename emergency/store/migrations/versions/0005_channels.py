"""Notification channels: a notification names its own target (an email address or a
mobile number from an enterprise plan's contact needs no subscription), so
``notifications.subscription_id`` becomes optional; an order's "acknowledgement overdue"
event is written once (a partial unique index on ``order_events``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OVERDUE = "event = 'ack_overdue'"


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds ``notifications`` to change a column's nullability: the delivery
    attempts that refer to it must not trip the check meanwhile (see revision 0003)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    if on:
        op.execute("PRAGMA foreign_keys = ON")
    else:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _foreign_keys(on=False)
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("target", sa.String(length=2000), nullable=True))
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=True)
    _foreign_keys(on=True)
    op.create_index(
        "uq_order_events_ack_overdue",
        "order_events",
        ["order_id"],
        unique=True,
        sqlite_where=sa.text(OVERDUE),
        postgresql_where=sa.text(OVERDUE),
    )


def downgrade() -> None:
    op.drop_index("uq_order_events_ack_overdue", table_name="order_events")
    op.execute("DELETE FROM order_events WHERE event = 'ack_overdue'")
    op.execute(
        "DELETE FROM delivery_attempts WHERE notification_id IN "
        "(SELECT id FROM notifications WHERE subscription_id IS NULL)"
    )
    op.execute("DELETE FROM notifications WHERE subscription_id IS NULL")
    _foreign_keys(on=False)
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("target")
    _foreign_keys(on=True)
