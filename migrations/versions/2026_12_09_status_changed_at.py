"""private_endpoint.status_changed_at, since when the endpoint is in its status (filled from the
event log), indexed with the status: what the worker's alerts that time raises look for

Revision ID: 2026_12_09_status_changed_at
Revises: 2026_12_08_read_path
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_09_status_changed_at"
down_revision = "2026_12_08_read_path"
branch_labels = None
depends_on = None

# SQLite rebuilds a table to alter it: keep AUTOINCREMENT so ids are never reused.
KEEP_IDS = {"sqlite_autoincrement": True}
INDEX = "ix_private_endpoint_status_since"

# The time of the newest event that moved the endpoint into its current status (its creation,
# or a change of status: a step within a status, such as a vpce id given again, is not one);
# an endpoint without such an event is in its status since it was created.
ENTERED = (
    "SELECT event.created_at FROM event "
    "WHERE event.subject = 'private_endpoint' AND event.subject_id = private_endpoint.id "
    "AND event.to_status = private_endpoint.status "
    "AND (event.from_status IS NULL OR event.from_status <> event.to_status) "
    "ORDER BY event.id DESC LIMIT 1"
)


def upgrade() -> None:
    with op.batch_alter_table("private_endpoint", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.add_column(
            sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(f"UPDATE private_endpoint SET status_changed_at = COALESCE(({ENTERED}), created_at)")
    with op.batch_alter_table("private_endpoint", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.alter_column(
            "status_changed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    op.create_index(INDEX, "private_endpoint", ["status", "status_changed_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="private_endpoint")
    with op.batch_alter_table("private_endpoint", table_kwargs=KEEP_IDS) as batch_op:
        batch_op.drop_column("status_changed_at")
