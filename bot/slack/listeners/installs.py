"""Installs by OAuth: `app_uninstalled` and `tokens_revoked` delete the workspace's tokens (its
posts are then held, not lost), and a new install lets them go out again.

Slack sends both events with the tokens already revoked, so Bolt does not authorize them; the
gate has checked their signature. The deletion is made before the ack: if the database cannot
take it, Slack sees an error and delivers the event again."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.deps import Deps, log
from bot.slack.oauth import InstallationStore
from bot.storage import home_queries, outbox_queries
from bot.storage.db import transaction
from bot.storage.types import utcnow


def register(app: App, deps: Deps, store: InstallationStore) -> None:
    """Wire the events that end a workspace's install."""

    def forget(team_id: str) -> None:
        store.forget(team_id)
        deps.run(lambda session: home_queries.forget_published(session=session, team_id=team_id))

    def on_uninstalled(ack: Ack, context: BoltContext) -> None:
        if context.team_id:
            forget(context.team_id)
        ack()

    def on_tokens_revoked(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if context.team_id and bots:  # the app's one token is its bot's: the install is over
            forget(context.team_id)
        ack()

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def resume_posts(sessions: sessionmaker[Session], team_id: str) -> None:
    """The workspace installed the app (again): its held posts go out from now, in order."""
    with transaction(sessions) as session:
        released = outbox_queries.release_held(session=session, now=utcnow(), team_id=team_id)
    if released:
        log.info("workspace %s installed the app: %s held post(s) released", team_id, released)
