"""Supervision on independent data: electricity sub-meter readings, gate records (vehicles),
observed AQI, inspection tasks with their photos; reports may give a load per line.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ORIGINAL = sa.text("corrects IS NULL")
OPEN_TASK = sa.text("status <> 'closed'")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("line_loads", sa.JSON(), nullable=True))
    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter", sa.String(length=100), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kwh", sa.Float(), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects"],
            ["meter_readings.id"],
            name=op.f("fk_meter_readings_corrects_meter_readings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
    )
    op.create_index("ix_meter_readings_meter_at", "meter_readings", ["meter", "at"])
    op.create_index(
        "uq_meter_readings_original",
        "meter_readings",
        ["meter", "at"],
        unique=True,
        sqlite_where=ORIGINAL,
        postgresql_where=ORIGINAL,
    )
    op.create_table(
        "gate_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=100), nullable=False),
        sa.Column("gate", sa.String(length=100), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("vehicle", sa.String(length=20), nullable=False),
        sa.Column("standard", sa.String(length=10), nullable=False),
        sa.Column("fuel", sa.String(length=20), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects"], ["gate_records.id"], name=op.f("fk_gate_records_corrects_gate_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_records")),
    )
    op.create_index("ix_gate_records_enterprise_at", "gate_records", ["enterprise_id", "at"])
    op.create_index(
        "uq_gate_records_original",
        "gate_records",
        ["enterprise_id", "gate", "plate", "at"],
        unique=True,
        sqlite_where=ORIGINAL,
        postgresql_where=ORIGINAL,
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(length=100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("aqi", sa.Integer(), nullable=False),
        sa.Column("primary", sa.String(length=20), nullable=True),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrects"], ["observations.id"], name=op.f("fk_observations_corrects_observations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index(op.f("ix_observations_date"), "observations", ["date"])
    op.create_index(
        "uq_observations_original",
        "observations",
        ["station", "date"],
        unique=True,
        sqlite_where=ORIGINAL,
        postgresql_where=ORIGINAL,
    )
    op.create_table(
        "inspection_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.String(length=100), nullable=False),
        sa.Column("anomaly_kind", sa.String(length=40), nullable=False),
        sa.Column("anomaly_key", sa.String(length=300), nullable=False),
        sa.Column("excess_kg", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.String(length=200), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("visited_at", TZ, nullable=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_inspection_tasks_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_inspection_tasks_response_id_responses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_tasks")),
    )
    op.create_index(
        op.f("ix_inspection_tasks_enterprise_id"), "inspection_tasks", ["enterprise_id"]
    )
    op.create_index(op.f("ix_inspection_tasks_response_id"), "inspection_tasks", ["response_id"])
    op.create_index(op.f("ix_inspection_tasks_status"), "inspection_tasks", ["status"])
    op.create_index(
        "uq_inspection_tasks_open_key",
        "inspection_tasks",
        ["response_id", "anomaly_key"],
        unique=True,
        sqlite_where=OPEN_TASK,
        postgresql_where=OPEN_TASK,
    )
    op.create_table(
        "task_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_tasks.id"],
            name=op.f("fk_task_photos_task_id_inspection_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_photos")),
    )
    op.create_index(op.f("ix_task_photos_task_id"), "task_photos", ["task_id"])


def downgrade() -> None:
    op.drop_table("task_photos")
    op.drop_table("inspection_tasks")
    op.drop_table("observations")
    op.drop_table("gate_records")
    op.drop_table("meter_readings")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("line_loads")
