"""`db upgrade`: the database's schema, migrated by Alembic to the newest revision."""

from __future__ import annotations

import argparse

from bot.cli.common import Commands, engine
from bot.config import Settings
from bot.storage import migrate


def cmd_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database to the newest revision."""
    migrate.upgrade(engine(settings))
    print("database is at the newest revision")
    return 0


def register(commands: Commands) -> None:
    """Add `db upgrade`."""
    db = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="migrate to the newest revision").set_defaults(
        handler=cmd_upgrade
    )
