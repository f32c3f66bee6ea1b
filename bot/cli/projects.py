"""`projects add` and `projects list`: projects bound to a Slack channel, and whether the bot
can post in that channel (Slack is asked only by `channel_warning`, when `add` binds one)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from bot.cli.common import CliError, Commands, migrated_engine, table
from bot.config import Settings
from bot.services import projects
from bot.services.projects import parse_slack_id
from bot.storage import project_queries
from bot.storage.db import make_sessionmaker, transaction

SLACK_TIMEOUT_SECONDS = 10


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register a project bound to a channel; warn if the bot cannot post there."""
    if settings.oauth and not args.team:
        raise CliError("--team: is required when workspaces install by OAuth (SLACK_CLIENT_ID)")
    engine = migrated_engine(settings)
    sessions = make_sessionmaker(engine)
    warn = warn_after(settings, args.channel, team=args.team, engine=engine)
    with warn, transaction(sessions) as session:
        project = projects.add(
            session=session,
            name=args.name,
            channel_id=args.channel,
            owners=args.owner,
            team_id=args.team,
        )
        print(f"added project {project.name} (channel {project.channel_id})")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every project with its channel and owners."""
    with transaction(make_sessionmaker(migrated_engine(settings))) as session:
        rows = [
            (p.name, p.channel_id, p.team_id or "-", ",".join(sorted(p.owners())) or "-")
            for p in project_queries.list_projects(session=session)
        ]
    table(("PROJECT", "CHANNEL", "TEAM", "OWNERS"), rows)
    return 0


def channel_warning(
    settings: Settings, channel_id: str, *, team: str | None, engine: Engine
) -> str | None:
    """What keeps the bot from posting in the channel, as a line for the operator (None: it can
    post there). Asks Slack (`conversations.info`) with the bot's token, or with installs by
    OAuth the token of the workspace's install, if there is one."""
    from slack_sdk import WebClient

    from bot.slack import oauth
    from bot.slack.notifier import DEFAULT_BOT_NAME, Notifier, SlackFailure, blocker_of
    from bot.slack.views import setup

    channel = parse_slack_id(channel_id, kind="channel")
    token, problem = None, "SLACK_BOT_TOKEN is not set"
    if settings.SLACK_BOT_TOKEN is not None:
        token = settings.SLACK_BOT_TOKEN.get_secret_value()
    elif settings.oauth and team:
        store = oauth.installation_store(settings, engine, installed=lambda team: None)
        token, problem = store.bot_token(team), f"workspace {team} has not installed the app"
    if token is None:
        if settings.oauth:
            return f"note: {problem}: its messages wait until it installs the app"
        return setup.unchecked_warning(channel=channel, problem=problem, bot_name=DEFAULT_BOT_NAME)
    client = WebClient(token=token, base_url=settings.SLACK_API_URL, timeout=SLACK_TIMEOUT_SECONDS)
    bot_name = Notifier(client=client).bot_name()
    try:
        blocker = blocker_of(client=client, channel=channel)
    except SlackFailure as failure:
        return setup.unchecked_warning(channel=channel, problem=failure.error, bot_name=bot_name)
    if blocker is None:
        return None
    return setup.operator_warning(blocker=blocker, channel=channel, bot_name=bot_name)


@contextmanager
def warn_after(
    settings: Settings, channel_id: str, *, team: str | None, engine: Engine
) -> Iterator[None]:
    """Check that the bot can post in the channel the block binds a project to; after the
    block (unless it failed), say on stderr what keeps it from posting there, if anything."""
    warning = channel_warning(settings, channel_id, team=team, engine=engine)
    yield
    if warning is not None:
        print(warning, file=sys.stderr)


def register(commands: Commands) -> None:
    """Add `projects add` and `projects list`."""
    proj = commands.add_parser("projects", help="register and list projects").add_subparsers(
        dest="projects_command", required=True, metavar="ACTION"
    )
    add = proj.add_parser("add", help="register a project bound to a Slack channel")
    add.add_argument("name", help="project name (lowercase letters, digits, hyphens)")
    add.add_argument("--channel", required=True, help="Slack channel id (C…) for the project")
    add.add_argument(
        "--owner",
        action="append",
        default=[],
        metavar="USER",
        help="Slack user id (U…) of an owner; repeat for several",
    )
    add.add_argument(
        "--team",
        help="Slack team id (T…) of the channel's workspace; required with installs by "
        "OAuth, else learned from the first request",
    )
    add.set_defaults(handler=cmd_add)
    proj.add_parser("list", help="list projects").set_defaults(handler=cmd_list)
