"""Installs by OAuth: `app_uninstalled` and `tokens_revoked` delete the workspace's tokens (its
posts are then held, not lost), and a new install lets them go out again.

Slack sends both events with the tokens already revoked, so Bolt does not authorize them; the
gate has checked their signature. The deletion is made before the ack: if the database cannot
take it, Slack sees an error and delivers the event again. Only installs made before the
event's `event_time` go (one second's grace for its rounding): Slack's retry of an event from
before a reinstall (after about 1 and 5 minutes, or after a failed delivery) finds the new
install newer and changes nothing, and an event delivered twice acts once
(`bot.slack.seen_events`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.deps import Deps, log
from bot.slack.oauth import InstallationStore
from bot.slack.seen_events import once_per_event
from bot.storage import home_queries, outbox_queries
from bot.storage.db import transaction
from bot.storage.types import utcnow


def register(app: App, deps: Deps, store: InstallationStore) -> None:
    """Wire the events that end a workspace's install."""

    def forget(team_id: str, body: dict[str, Any]) -> None:
        if store.forget(team_id, made_before=_happened(body)):
            deps.run(
                lambda session: home_queries.forget_published(session=session, team_id=team_id)
            )

    def on_uninstalled(body: dict[str, Any], context: BoltContext) -> None:
        if context.team_id:
            forget(context.team_id, body)

    def on_tokens_revoked(body: dict[str, Any], context: BoltContext) -> None:
        event = body["event"]  # the gate has checked it is an object
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if context.team_id and bots:  # the app's one token is its bot's: the install is over
            forget(context.team_id, body)

    app.event("app_uninstalled")(once_per_event(deps, on_uninstalled))
    app.event("tokens_revoked")(once_per_event(deps, on_tokens_revoked))


def _happened(body: dict[str, Any]) -> datetime:
    """When the event happened, by its envelope's `event_time` plus a second for its rounding
    down (now, when the envelope has none or a malformed one)."""
    stamp = body.get("event_time")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 < stamp < 2**33:
        return datetime.fromtimestamp(stamp + 1, UTC)
    return utcnow()


def resume_posts(sessions: sessionmaker[Session], team_id: str) -> None:
    """The workspace installed the app (again): its held posts go out from now, in order."""
    with transaction(sessions) as session:
        released = outbox_queries.release_held(session=session, now=utcnow(), team_id=team_id)
    if released:
        log.info("workspace %s installed the app: %s held post(s) released", team_id, released)
