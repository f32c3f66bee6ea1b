"""Migrations go up and down on every database, and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.storage import migrate
from bot.storage.orm import Base
from tests.conftest import truncate_all

TABLES = {
    "connection_request",
    "project",
    "project_member",
    "cluster",
    "endpoint_service",
    "private_endpoint",
    "event",
    "outbox",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(db_engine: Engine) -> None:
    assert migrate.is_current(db_engine)
    migrate.downgrade(db_engine, "base")
    assert _tables(db_engine) == set()
    assert not migrate.is_current(db_engine)
    migrate.upgrade(db_engine)
    assert _tables(db_engine) == TABLES
    assert migrate.is_current(db_engine)


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_workspaces_revision_keeps_every_row(db_engine: Engine) -> None:
    """Rebuilding `project` on SQLite (its channel no longer unique alone) keeps the rows that
    refer to it, and the outbox's rows learn the workspace of their channel's project."""
    migrate.downgrade(db_engine, "2026_12_05_outbox_held")
    with db_engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, name, team_id, channel_id, created_at, updated_at) VALUES "
            "(1, 'alpha', 'T0ALPHA001', 'C0ALPHA001', '2026-12-01', '2026-12-01'), "
            "(2, 'beta', NULL, 'C0BETA0001', '2026-12-01', '2026-12-01')"
        )
        run(
            "INSERT INTO project_member (id, project_id, user_id, role, created_at, updated_at) "
            "VALUES (1, 1, 'U0OWNER001', 'owner', '2026-12-01', '2026-12-01')"
        )
        run(
            "INSERT INTO cluster (id, project_id, name, tier, cloud, region, status, port, "
            "private_dns_host, created_at, updated_at) VALUES (1, 1, 'orders', 'dedicated', "
            "'aws', 'us-west-2', 'active', 4000, 'orders.example.com', "
            "'2026-12-01', '2026-12-01')"
        )
        for row, channel in ((1, "C0ALPHA001"), (2, "C0BETA0001"), (3, "C0NOWHERE1")):
            run(
                "INSERT INTO outbox (id, dedupe_key, kind, channel_id, payload, attempts, "
                f"next_attempt_at, created_at) VALUES ({row}, 'k{row}', 'endpoint_update', "
                f"'{channel}', '{{}}', 0, '2026-12-01', '2026-12-01')"
            )
    migrate.upgrade(db_engine)
    with db_engine.connect() as connection:
        run = connection.exec_driver_sql
        assert run("SELECT id, team_id FROM project ORDER BY id").all() == [
            (1, "T0ALPHA001"),
            (2, None),
        ]
        assert run("SELECT project_id, user_id FROM project_member").all() == [(1, "U0OWNER001")]
        assert run("SELECT project_id, name FROM cluster").all() == [(1, "orders")]
        teams = run("SELECT id, team_id FROM outbox ORDER BY id").all()
        assert teams == [(1, "T0ALPHA001"), (2, ""), (3, "")]
    truncate_all(db_engine)
