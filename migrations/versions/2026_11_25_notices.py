"""notices: outbox threads, private DNS verification state, unknown connection requests

Revision ID: 2026_11_25_notices
Revises: 2026_11_25_work_lease
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_25_notices"
down_revision = "2026_11_25_work_lease"
branch_labels = None
depends_on = None

# SQLite rebuilds a table to alter it: keep AUTOINCREMENT so ids are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "connection_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_service_id", sa.Integer(), nullable=False),
        sa.Column("vpce_id", sa.String(length=32), nullable=False),
        sa.Column("owner_account", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_service_id"],
            ["endpoint_service.id"],
            name=op.f("fk_connection_request_endpoint_service_id_endpoint_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_request")),
        sa.UniqueConstraint(
            "endpoint_service_id",
            "vpce_id",
            name=op.f("uq_connection_request_endpoint_service_id_vpce_id"),
        ),
    )
    op.create_index(
        op.f("ix_connection_request_endpoint_service_id"),
        "connection_request",
        ["endpoint_service_id"],
        unique=False,
    )
    with op.batch_alter_table("endpoint_service", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(sa.Column("dns_state", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dns_txt_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("dns_txt_value", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("dns_failure_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("dns_verify_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("thread_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_thread_key"), ["thread_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_thread_key"))
        batch_op.drop_column("thread_key")
    with op.batch_alter_table("endpoint_service", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column("dns_verify_requested_at")
        batch_op.drop_column("dns_failure_reason")
        batch_op.drop_column("dns_txt_value")
        batch_op.drop_column("dns_txt_name")
        batch_op.drop_column("dns_state")
    op.drop_index(
        op.f("ix_connection_request_endpoint_service_id"), table_name="connection_request"
    )
    op.drop_table("connection_request")
