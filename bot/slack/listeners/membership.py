"""`member_joined_channel`: when the bot itself joins a channel (someone invited it), the
notifications held there are released; the worker's next pass posts them, in order.

The release is made before the ack: if the database cannot take it, Slack sees an error and
delivers the event again; a join delivered again releases nothing more
(`bot.slack.seen_events`): the bot may have left the channel since. Other members' joins
change nothing."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.deps import Deps, log
from bot.slack.seen_events import once_per_event
from bot.storage import outbox_queries
from bot.storage.types import utcnow


def register(app: App, deps: Deps) -> None:
    """Wire the event: the bot's own joins release the notifications held in the channel."""

    def on_member_joined(body: dict[str, Any], context: BoltContext) -> None:
        event = body["event"]  # the gate has checked it is an object
        channel, user, team = event.get("channel"), event.get("user"), context.team_id
        bot = context.bot_user_id
        if bot and user == bot:  # the gate has checked both are Slack ids
            released = deps.run(  # the channel in this workspace: its id may name another's
                lambda session: outbox_queries.release_held(
                    session=session, now=utcnow(), channel_id=channel, team_id=team
                )
            )
            log.info("the bot joined %s: %s held notification(s) released", channel, released)

    app.event("member_joined_channel")(once_per_event(deps, on_member_joined))
