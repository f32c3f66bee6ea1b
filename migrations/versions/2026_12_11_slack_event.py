"""slack_event: the Events API callbacks taken in, by event_id, so that Slack's retry of an
event acts once

Revision ID: 2026_12_11_slack_event
Revises: 2026_12_10_cluster_health
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_11_slack_event"
down_revision = "2026_12_10_cluster_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_event",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_event")),
    )
    op.create_index(op.f("ix_slack_event_received_at"), "slack_event", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_event_received_at"), table_name="slack_event")
    op.drop_table("slack_event")
