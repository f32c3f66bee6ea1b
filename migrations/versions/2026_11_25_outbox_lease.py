"""outbox lease and progress: claimed_by/until, parent_ts, reply_ts, last_post_at, dead_at

Revision ID: 2026_11_25_outbox_lease
Revises: 2026_11_25_initial
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_25_outbox_lease"
down_revision = "2026_11_25_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("parent_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("reply_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_post_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_channel_id"), ["channel_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_channel_id"))
        batch_op.drop_column("dead_at")
        batch_op.drop_column("last_post_at")
        batch_op.drop_column("reply_ts")
        batch_op.drop_column("parent_ts")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
