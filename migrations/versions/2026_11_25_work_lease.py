"""reconcile work: service lease (claimed_by/until), allowed_accounts, suggested_vpce_id

Revision ID: 2026_11_25_work_lease
Revises: 2026_11_25_outbox_lease
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_25_work_lease"
down_revision = "2026_11_25_outbox_lease"
branch_labels = None
depends_on = None

# SQLite rebuilds a table to alter it: keep AUTOINCREMENT so ids are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("endpoint_service", table_kwargs=KEEP_IDS) as batch_op:
        # The default fills the existing rows; the models set the value on insert.
        batch_op.add_column(
            sa.Column("allowed_accounts", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("endpoint_service", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.alter_column("allowed_accounts", existing_type=sa.JSON(), server_default=None)
    with op.batch_alter_table("private_endpoint", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("suggested_vpce_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("private_endpoint", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column("suggested_vpce_id")
    with op.batch_alter_table("endpoint_service", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("allowed_accounts")
