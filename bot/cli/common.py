"""What every command shares: the error that prints one line, the database it opens, its
tables on stdout."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeAlias

from sqlalchemy import Engine

from bot.config import Settings
from bot.storage import migrate
from bot.storage.db import make_engine

Handler = Callable[[argparse.Namespace, Settings], int]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """Bad input or state: printed as one line, exit status 1."""


def engine(settings: Settings) -> Engine:
    """The database of `DATABASE_URL`, as it is."""
    return make_engine(
        settings.DATABASE_URL.get_secret_value(), sqlite_synchronous=settings.BOT_SQLITE_SYNCHRONOUS
    )


def migrated_engine(settings: Settings) -> Engine:
    """The database of `DATABASE_URL`, refused unless migrated to the newest revision."""
    database = engine(settings)
    if not migrate.is_current(database):
        raise CliError("the database is not up to date; run `python -m bot db upgrade` first")
    return database


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under their header, in columns."""
    widths = [max(len(str(v)) for v in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
