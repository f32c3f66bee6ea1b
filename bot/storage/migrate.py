"""Alembic migrations, run programmatically on an engine.

The scripts are the top-level `migrations` package, found by import wherever it is installed (a
checkout, an editable install, a wheel in site-packages), so no alembic.ini is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_PACKAGE = "migrations"


def script_location() -> Path:
    """The folder of the Alembic scripts: the installed `migrations` package."""
    location = resources.files(MIGRATIONS_PACKAGE)
    if not isinstance(location, Path) or not (location / "env.py").is_file():
        # Alembic loads env.py and the revisions by path: a zipped install cannot serve them.
        raise RuntimeError(f"the Alembic scripts are not a folder of files: {location}")
    return location


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on `engine` with the project's migration scripts."""
    config = Config()
    # The value goes through configparser's interpolation: a % in the path must be doubled.
    config.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole migration. On SQLite, foreign keys are off meanwhile: a
    batch operation rebuilds a table (copy, drop, rename), and dropping a table other rows
    refer to would fail, or cascade its deletes to them; what refers to nothing is checked
    before the commit instead. (The pragma is ignored inside a transaction, so it is set on
    the driver's connection before one begins.)"""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.dbapi_connection
        if sqlite and driver is not None:
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite and driver is not None:
                driver.execute("PRAGMA foreign_keys=ON")


def is_current(engine: Engine) -> bool:
    """Whether the database is migrated to the newest revision."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == script.get_current_head()
