"""cluster's target health: what the worker last read of the targets behind its load balancer
(when, healthy of total, AWS's reason), the reads in a row with none healthy, and what it last
told (down or not, and how many changes so far)

Revision ID: 2026_12_10_cluster_health
Revises: 2026_12_09_status_changed_at
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_10_cluster_health"
down_revision = "2026_12_09_status_changed_at"
branch_labels = None
depends_on = None

# SQLite rebuilds a table to drop a column: keep AUTOINCREMENT so ids are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}
COLUMNS = (
    "health_read_at",
    "healthy_targets",
    "total_targets",
    "health_reason",
    "unhealthy_reads",
    "health_down",
    "health_changes",
)


def upgrade() -> None:
    with op.batch_alter_table("cluster", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("health_read_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("healthy_targets", sa.Integer()))
        batch_op.add_column(sa.Column("total_targets", sa.Integer()))
        batch_op.add_column(sa.Column("health_reason", sa.Text()))
        batch_op.add_column(
            sa.Column("unhealthy_reads", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("health_down", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("health_changes", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("cluster", table_kwargs=KEEP_IDS) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
