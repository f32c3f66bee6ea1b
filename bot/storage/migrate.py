"""Alembic migrations, run programmatically on an engine.

The scripts are the top-level `migrations` package, found by import wherever it is installed (a
checkout, an editable install, a wheel in site-packages), so no alembic.ini is read.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

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
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """Whether the database is migrated to the newest revision."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == script.get_current_head()
