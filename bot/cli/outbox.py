"""`outbox list` and `outbox retry`: the Slack notifications held (their channel takes no post
until a person acts) or given up on, and sending them again. They read and write the database
only; the worker does the sending."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.cli.common import Commands, migrated_engine, table
from bot.config import Settings
from bot.services.projects import parse_slack_id
from bot.storage import outbox_queries
from bot.storage.db import make_sessionmaker, transaction
from bot.storage.orm import Outbox
from bot.storage.types import utcnow

HEADER = ("ID", "STATE", "CHANNEL", "KIND", "THREAD", "ATTEMPTS", "SINCE", "WHY")


def _moment(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%dT%H:%M:%SZ}"


def _where(row: Outbox) -> tuple[str, str | None]:
    """The row's channel, in its workspace (the same id may name a channel in another)."""
    return row.team_id, row.channel_id


def held_and_dead(rows: Sequence[Outbox]) -> list[tuple[str, ...]]:
    """The table of `outbox list`: a held channel's head with its reason, the rows waiting
    behind it, and the rows given up on."""
    heads = {_where(r): r for r in rows if r.held_at is not None and r.dead_at is None}
    table: list[tuple[str, ...]] = []
    for row in rows:
        head = heads.get(_where(row))
        since: datetime | None
        if row.dead_at is not None:
            state, since, why = "dead", row.dead_at, row.last_error or "-"
        elif row.held_at is not None or head is None:
            state, since, why = "held", row.held_at, row.last_error or "-"
        else:
            since = max(row.created_at, head.held_at) if head.held_at else row.created_at
            state, why = "held", f"waits for #{head.id}"
        table.append(
            (
                str(row.id),
                state,
                row.channel_id or "-",
                row.kind,
                row.thread_key or "-",
                str(row.attempts),
                _moment(since),
                why,
            )
        )
    return table


def register(commands: Commands) -> None:
    """Add `outbox list` and `outbox retry`."""

    def sessions(settings: Settings) -> sessionmaker[Session]:
        return make_sessionmaker(migrated_engine(settings))

    def outbox_list(args: argparse.Namespace, settings: Settings) -> int:
        """Print the notifications held or given up on, and why."""
        with transaction(sessions(settings)) as session:
            rows = held_and_dead(outbox_queries.list_held_and_dead(session=session))
        if not rows:
            print("nothing is held or given up on: every notification was sent or is on its way")
            return 0
        table(HEADER, rows)
        held = [r for r in rows if r[1] == "held"]
        channels = len({r[2] for r in held})
        print(
            f"{len(held)} held in {channels} channel(s), {len(rows) - len(held)} given up on. "
            "`python -m bot outbox retry [--channel C]` sends them again, in order."
        )
        return 0

    def outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
        """Send the held and given-up notifications again, in order (one channel, or all)."""
        channel = parse_slack_id(args.channel, kind="channel") if args.channel else None
        with transaction(sessions(settings)) as session:
            now = utcnow()
            held = outbox_queries.release_held(session=session, now=now, channel_id=channel)
            dead = outbox_queries.revive_dead(session=session, now=now, channel_id=channel)
        where = f" in {channel}" if channel else ""
        print(
            f"released {held} held and {dead} given-up notification(s){where}: the worker "
            "sends them in order (a channel that still takes no post is held again)"
        )
        return 0

    parser = commands.add_parser(
        "outbox", help="Slack notifications held (a channel the bot cannot post in) or dead"
    )
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    actions.add_parser(
        "list", help="what is held or given up on, and why (channel, kind, thread, attempts)"
    ).set_defaults(handler=outbox_list)
    retry = actions.add_parser("retry", help="send held and given-up notifications again")
    retry.add_argument("--channel", help="only this channel's (C…)")
    retry.set_defaults(handler=outbox_retry)
