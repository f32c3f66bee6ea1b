"""Scratch databases for benchmarks: a SQLite file, or a Postgres database made and dropped.

Postgres runs on the server of TEST_DATABASE_URL but never in its database: a benchmark gets
`bench_<pid>_<n>`, created before and dropped after (`WITH (FORCE)`), so the test database of
a concurrent `make test` is never touched.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bot.storage import migrate
from bot.storage.db import make_engine

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
_numbers = itertools.count(1)


def _admin_conninfo(url: str) -> str:
    """A libpq connection string for the server of `url`, in its own database."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new, migrated, empty database of `backend`; removed on exit."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        _migrate(url)
        yield url
        return
    if not POSTGRES_URL:
        raise RuntimeError("TEST_DATABASE_URL is not set: no Postgres server to use")
    name = f"bench_{os.getpid()}_{next(_numbers)}"
    admin = _admin_conninfo(POSTGRES_URL)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
