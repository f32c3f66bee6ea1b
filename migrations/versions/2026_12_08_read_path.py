"""project.version, moved on by every change to a project or its members (process caches check
it); project_member.home_digest and home_hash, the Home tab last published to the member

Revision ID: 2026_12_08_read_path
Revises: 2026_12_07_workspaces
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_08_read_path"
down_revision = "2026_12_07_workspaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("project_member") as batch_op:
        batch_op.add_column(sa.Column("home_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("home_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project_member") as batch_op:
        batch_op.drop_column("home_hash")
        batch_op.drop_column("home_digest")
    with op.batch_alter_table("project") as batch_op:
        batch_op.drop_column("version")
