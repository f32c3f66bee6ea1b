"""The command line: `python -m bot <command>`; each command has --help.

One module per command group (`db`, `projects`, `clusters`, `outbox`, and the long-running
`serve` and `worker` in `processes`), each adding its commands with `register`. Only what
production runs is here: the local AWS and the offline demo start from the `sandbox` package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.cli import clusters, db, outbox, processes, projects
from bot.cli.common import CliError, Handler
from bot.config import ConfigError, load_settings
from bot.domain.errors import DomainError
from bot.storage.db import is_unavailable, unavailable_reason

GROUPS = (processes, db, projects, clusters, outbox)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line on stderr and give a non-zero status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, load_settings())
    except (ConfigError, CliError, DomainError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        if not is_unavailable(error):
            raise
        orig = getattr(error, "orig", None)
        first = (str(orig).strip().splitlines() or [""])[0] if orig else unavailable_reason(error)
        print(f"error: DATABASE_URL: cannot use the database ({first})", file=sys.stderr)
        return 1
    except IntegrityError as error:
        print(f"error: conflicting change, nothing written ({error.orig})", file=sys.stderr)
        return 1
