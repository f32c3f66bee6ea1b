"""initial schema: projects, clusters, endpoint services, private endpoints, events, outbox

Revision ID: 2026_11_25_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_25_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(op.f("ix_event_project_id"), "event", ["project_id"], unique=False)
    op.create_index("ix_event_subject", "event", ["subject", "subject_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=191), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("private_endpoint_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "next_attempt_at"], unique=False)
    op.create_index(
        op.f("ix_outbox_private_endpoint_id"), "outbox", ["private_endpoint_id"], unique=False
    )
    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_project_channel_id")),
        sa.UniqueConstraint("name", name=op.f("uq_project_name")),
    )
    op.create_table(
        "cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("cloud", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("nlb_arn", sa.String(length=255), nullable=True),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("private_dns_host", sa.String(length=253), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_cluster_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_cluster_project_id_name")),
        sqlite_autoincrement=True,  # ids are never reused after a delete
    )
    op.create_index(op.f("ix_cluster_project_id"), "cluster", ["project_id"], unique=False)
    op.create_table(
        "project_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_project_member_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_member")),
        sa.UniqueConstraint(
            "project_id", "user_id", name=op.f("uq_project_member_project_id_user_id")
        ),
    )
    op.create_table(
        "endpoint_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=False),
        sa.Column("aws_service_id", sa.String(length=64), nullable=True),
        sa.Column("service_name", sa.String(length=255), nullable=True),
        sa.Column("az_ids", sa.JSON(), nullable=False),
        sa.Column("private_dns_name", sa.String(length=253), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_endpoint_service_cluster_id_cluster")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_service")),
        sa.UniqueConstraint("aws_service_id", name=op.f("uq_endpoint_service_aws_service_id")),
        sa.UniqueConstraint("client_token", name=op.f("uq_endpoint_service_client_token")),
        sa.UniqueConstraint("cluster_id", name=op.f("uq_endpoint_service_cluster_id")),
        sqlite_autoincrement=True,  # ids are never reused after a delete
    )
    op.create_index(
        op.f("ix_endpoint_service_status"), "endpoint_service", ["status"], unique=False
    )
    op.create_table(
        "private_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("creation_key", sa.String(length=128), nullable=True),
        sa.Column("account_id", sa.String(length=12), nullable=True),
        sa.Column("vpc_id", sa.String(length=32), nullable=True),
        sa.Column("subnet_ids", sa.JSON(), nullable=False),
        sa.Column("vpce_id", sa.String(length=32), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("alert_ts", sa.String(length=32), nullable=True),
        sa.Column("view_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["cluster.id"], name=op.f("fk_private_endpoint_cluster_id_cluster")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_private_endpoint_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_private_endpoint")),
        sa.UniqueConstraint("creation_key", name=op.f("uq_private_endpoint_creation_key")),
        sa.UniqueConstraint("vpce_id", name=op.f("uq_private_endpoint_vpce_id")),
        sqlite_autoincrement=True,  # ids are never reused after a delete
    )
    op.create_index(
        op.f("ix_private_endpoint_cluster_id"), "private_endpoint", ["cluster_id"], unique=False
    )
    op.create_index(
        op.f("ix_private_endpoint_project_id"), "private_endpoint", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_private_endpoint_status"), "private_endpoint", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_table("private_endpoint")
    op.drop_table("endpoint_service")
    op.drop_table("project_member")
    op.drop_table("cluster")
    op.drop_table("project")
    op.drop_table("outbox")
    op.drop_table("event")
