"""private_endpoint: security_group_ids, the user's groups for the interface endpoint

Revision ID: 2026_12_04_security_groups
Revises: 2026_12_03_outbox_post_started
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_04_security_groups"
down_revision = "2026_12_03_outbox_post_started"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("private_endpoint") as batch_op:
        batch_op.add_column(
            sa.Column("security_group_ids", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("private_endpoint") as batch_op:
        batch_op.drop_column("security_group_ids")
