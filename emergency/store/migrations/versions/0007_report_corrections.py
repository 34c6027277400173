"""Daily reports are append-only like meter readings and gate records: a correction is a
new report naming the one it corrects (``reports.corrects``); a report is corrected at
most once (a unique index: two corrections of one report race to a conflict).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("corrects", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_reports_corrects_reports"), "reports", ["corrects"], ["id"]
        )
        batch.create_index("uq_reports_corrects", ["corrects"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("uq_reports_corrects")
        batch.drop_constraint(batch.f("fk_reports_corrects_reports"), type_="foreignkey")
        batch.drop_column("corrects")
