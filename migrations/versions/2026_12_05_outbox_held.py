"""outbox: held_at, a row held while its channel cannot take the bot's posts (reason in last_error)

Revision ID: 2026_12_05_outbox_held
Revises: 2026_12_04_security_groups
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_05_outbox_held"
down_revision = "2026_12_04_security_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_held_at", ["held_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_held_at")
        batch_op.drop_column("held_at")
