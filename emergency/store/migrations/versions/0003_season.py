"""The heating season: season plan versions under review, staggered orders (``orders.kind``,
``orders.season_plan_id``; ``response_id`` and ``plan_id`` become optional), the key period
that opened a response.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN_ORDER = "status IN ('issued', 'acknowledged')"
STAGGERED_OPEN = f"kind = 'staggered' AND {OPEN_ORDER}"


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds ``orders`` to change a column's nullability: dropping the old table
    must not trip the reports and order events that refer to it (they refer to the new
    one, under the same name, afterwards). Outside a transaction the check is switched
    off for the rebuild; inside one it is deferred to the commit."""
    if op.get_bind().dialect.name != "sqlite":
        return
    if on:
        op.execute("PRAGMA foreign_keys = ON")
    else:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    op.create_table(
        "season_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("season_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("risk_csv", sa.Text(), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("key_periods", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("data_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_season_plans")),
        sa.UniqueConstraint("season_id", "number", name=op.f("uq_season_plans_season_id_number")),
    )
    op.create_index(op.f("ix_season_plans_season_id"), "season_plans", ["season_id"])
    op.create_index(op.f("ix_season_plans_status"), "season_plans", ["status"])
    op.create_index(
        "uq_season_plans_approved",
        "season_plans",
        ["season_id"],
        unique=True,
        sqlite_where=sa.text("status = 'approved'"),
        postgresql_where=sa.text("status = 'approved'"),
    )
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("key_period", sa.String(length=300), nullable=True))
        batch.create_index(batch.f("ix_responses_key_period"), ["key_period"])
    _foreign_keys(on=False)
    # The partial index is dropped and made again around the rebuild (SQLite's batch
    # mode would copy it without its WHERE clause).
    op.drop_index("uq_orders_in_force", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), server_default="response", nullable=False)
        )
        batch.add_column(sa.Column("season_plan_id", sa.Integer(), nullable=True))
        batch.alter_column("response_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("plan_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            batch.f("fk_orders_season_plan_id_season_plans"),
            "season_plans",
            ["season_plan_id"],
            ["id"],
        )
        batch.create_unique_constraint(
            batch.f("uq_orders_season_plan_id_source_start"),
            ["season_plan_id", "source", "start"],
        )
        batch.create_index(batch.f("ix_orders_season_plan_id"), ["season_plan_id"])
    op.create_index(
        "uq_orders_in_force",
        "orders",
        ["response_id", "source", "start"],
        unique=True,
        sqlite_where=sa.text(OPEN_ORDER),
        postgresql_where=sa.text(OPEN_ORDER),
    )
    op.create_index(
        "uq_orders_staggered_in_force",
        "orders",
        ["source", "start"],
        unique=True,
        sqlite_where=sa.text(STAGGERED_OPEN),
        postgresql_where=sa.text(STAGGERED_OPEN),
    )
    _foreign_keys(on=True)


def downgrade() -> None:
    staggered = "SELECT id FROM orders WHERE kind <> 'response'"
    op.execute(f"DELETE FROM reports WHERE order_id IN ({staggered})")
    op.execute(f"DELETE FROM order_events WHERE order_id IN ({staggered})")
    op.execute("DELETE FROM orders WHERE kind <> 'response'")
    _foreign_keys(on=False)
    op.drop_index("uq_orders_staggered_in_force", table_name="orders")
    op.drop_index("uq_orders_in_force", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index(batch.f("ix_orders_season_plan_id"))
        batch.drop_constraint(batch.f("uq_orders_season_plan_id_source_start"), type_="unique")
        batch.drop_constraint(batch.f("fk_orders_season_plan_id_season_plans"), type_="foreignkey")
        batch.alter_column("plan_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("response_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("season_plan_id")
        batch.drop_column("kind")
    op.create_index(
        "uq_orders_in_force",
        "orders",
        ["response_id", "source", "start"],
        unique=True,
        sqlite_where=sa.text(OPEN_ORDER),
        postgresql_where=sa.text(OPEN_ORDER),
    )
    _foreign_keys(on=True)
    with op.batch_alter_table("responses") as batch:
        batch.drop_index(batch.f("ix_responses_key_period"))
        batch.drop_column("key_period")
    op.drop_table("season_plans")
