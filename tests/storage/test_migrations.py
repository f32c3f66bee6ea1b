"""Migrations go up and down on every database, and agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.storage import migrate
from bot.storage.orm import Base

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
