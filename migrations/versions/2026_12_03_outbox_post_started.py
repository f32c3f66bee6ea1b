"""outbox: post_started_at, a post whose outcome is not known yet (looked up before a repeat)

Revision ID: 2026_12_03_outbox_post_started
Revises: 2026_11_25_notices
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_03_outbox_post_started"
down_revision = "2026_11_25_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("post_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("post_started_at")
