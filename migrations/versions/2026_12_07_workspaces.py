"""many workspaces: installs by OAuth (slack_sdk's tables), projects unique per (team, channel),
the outbox's rows keep their workspace

Revision ID: 2026_12_07_workspaces
Revises: 2026_12_05_outbox_held
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_07_workspaces"
down_revision = "2026_12_05_outbox_held"
branch_labels = None
depends_on = None

TEAM_UNKNOWN = sa.text("team_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_constraint("uq_project_channel_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_project_team_id_channel_id", ["team_id", "channel_id"]
        )
    op.create_index(
        "uq_project_channel_id_team_unknown",
        "project",
        ["channel_id"],
        unique=True,
        sqlite_where=TEAM_UNKNOWN,
        postgresql_where=TEAM_UNKNOWN,
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(32), nullable=False, server_default=""))
    # the rows queued so far are of their channel's project's workspace (channel ids were
    # unique until this revision: each names one project)
    op.execute(
        "UPDATE outbox SET team_id = COALESCE((SELECT project.team_id FROM project "
        "WHERE project.channel_id = outbox.channel_id), '')"
    )
    _slack_tables()


def _slack_tables() -> None:
    """slack_sdk's SQLAlchemy installation and OAuth state stores, as it defines them."""
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("enterprise_url", sa.String(200)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        *_bot_token(),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token", sa.String(200)),
        sa.Column("user_scopes", sa.String(1000)),
        sa.Column("user_refresh_token", sa.String(200)),
        sa.Column("user_token_expires_at", sa.DateTime()),
        sa.Column("incoming_webhook_url", sa.String(200)),
        sa.Column("incoming_webhook_channel", sa.String(200)),
        sa.Column("incoming_webhook_channel_id", sa.String(200)),
        sa.Column("incoming_webhook_configuration_url", sa.String(200)),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(32)),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_installations"),
    )
    op.create_index(
        "slack_installations_idx",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        "slack_bots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        *_bot_token(),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_bots"),
    )
    op.create_index(
        "slack_bots_idx", "slack_bots", ["client_id", "enterprise_id", "team_id", "installed_at"]
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_oauth_states"),
    )


def _bot_token() -> list[sa.Column[object]]:
    return [
        sa.Column("bot_token", sa.String(200)),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.String(1000)),
        sa.Column("bot_refresh_token", sa.String(200)),
        sa.Column("bot_token_expires_at", sa.DateTime()),
    ]


def downgrade() -> None:
    op.drop_table("slack_oauth_states")
    op.drop_index("slack_bots_idx", table_name="slack_bots")
    op.drop_table("slack_bots")
    op.drop_index("slack_installations_idx", table_name="slack_installations")
    op.drop_table("slack_installations")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("team_id")
    op.drop_index("uq_project_channel_id_team_unknown", table_name="project")
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_constraint("uq_project_team_id_channel_id", type_="unique")
        batch_op.create_unique_constraint("uq_project_channel_id", ["channel_id"])
