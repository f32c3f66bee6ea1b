"""Alembic environment: runs migrations on the connection given, or on DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.config import load_settings
from bot.storage.db import make_engine
from bot.storage.orm import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection when there is one, else DATABASE_URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(load_settings().DATABASE_URL.get_secret_value())
    with engine.connect() as new_connection:
        _run(new_connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
