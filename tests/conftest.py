"""Shared fixtures: every storage test runs on SQLite and, with TEST_DATABASE_URL, on Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from bot.storage import migrate
from bot.storage.db import make_engine
from bot.storage.orm import Base

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
DATABASES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]

if os.environ.get("CI") and not POSTGRES_URL:
    raise pytest.UsageError("CI is set but TEST_DATABASE_URL is not: Postgres tests would not run")


def reset_postgres(engine: Engine) -> None:
    """Drop every table of the test database, whatever revision or run left it there."""
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))


def truncate_all(engine: Engine) -> None:
    """Empty every table, keeping the schema."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database's URL; the parameter names the backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'bot.db'}"
    else:
        url = POSTGRES_URL
    engine = make_engine(url)
    if request.param == "postgres":
        reset_postgres(engine)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    """The engine of the migrated test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def clean_database(db_engine: Engine, database_url: str) -> Iterator[str]:
    """The URL of the test database, emptied before and after the test (for other processes)."""
    truncate_all(db_engine)
    yield database_url
    truncate_all(db_engine)


@pytest.fixture
def repo_root() -> Path:
    """The repository's top folder."""
    return Path(__file__).resolve().parents[1]
