"""What the bot says when Slack takes none of its posts in a project's channel: to the project's
owners (a direct message, once each time the channel's posts are held), to whoever starts a
wizard there, and to the operator binding the project (a line of the command line)."""

from __future__ import annotations

from typing import Any

from bot.slack.notifier import Blocker
from bot.slack.views.blocks import context, section

Message = dict[str, Any]
RETRY = "python -m bot outbox retry --channel {channel}"

# Why, in a few words (the command line's `outbox list`, the logs).
REASONS: dict[Blocker, str] = {
    Blocker.NOT_IN_CHANNEL: "the bot is not a member of the channel",
    Blocker.ARCHIVED: "the channel is archived",
    Blocker.NOT_FOUND: "the bot cannot see the channel (deleted, or private without the bot)",
    Blocker.APP_SETUP: "the app's token, scopes or workspace settings keep it from posting",
    Blocker.UNINSTALLED: "the workspace has not installed the app (or uninstalled it); "
    "its posts go out once it installs the app",
}


# The same, as the bot says it in its direct message.
IN_FIRST_PERSON: dict[Blocker, str] = {
    Blocker.NOT_IN_CHANNEL: "I am not a member of the channel",
    Blocker.ARCHIVED: "the channel is archived",
    Blocker.NOT_FOUND: "I cannot see the channel (deleted, or private and I am not in it)",
    Blocker.APP_SETUP: "the app's token, scopes or workspace settings keep me from posting",
    Blocker.UNINSTALLED: "the app is not installed in this workspace",
}


def reason(*, blocker: Blocker, error: str) -> str:
    """Slack's error and what it means, as a held row records it (`last_error`)."""
    return f"{error}: {REASONS[blocker]}"


def _what_to_do(blocker: Blocker, *, channel: str, bot_name: str) -> str:
    """The owners' remedy, in mrkdwn."""
    invite = f"`/invite @{bot_name}`"
    retry = f"`{RETRY.format(channel=channel)}`"
    match blocker:
        case Blocker.NOT_IN_CHANNEL:
            return f"In <#{channel}>, type {invite}."
        case Blocker.ARCHIVED:
            return (
                f"Unarchive <#{channel}> (and type {invite} there if I was removed). An "
                f"operator can then send the held messages at once with {retry}; I also "
                "try again from time to time."
            )
        case Blocker.NOT_FOUND:
            return (
                f"If `{channel}` is a private channel, type {invite} in it. If it was deleted, "
                "ask an operator to bind the project to another channel."
            )
        case Blocker.APP_SETUP:
            return (
                "Ask the operator who installed the app to reinstall it with the scopes in its "
                "`manifest.yml` and to update `SLACK_BOT_TOKEN`; then to run "
                "`python -m bot outbox retry`."
            )
        case Blocker.UNINSTALLED:
            return "Install the app in this workspace again: the held messages then go out."


def held_message(
    *, blocker: Blocker, error: str, channel: str, project: str, bot_name: str
) -> Message:
    """The direct message to a project's owners when its channel's posts are held."""
    where = f"`{channel}`" if blocker is Blocker.NOT_FOUND else f"<#{channel}>"
    why = IN_FIRST_PERSON[blocker]
    text = f"I cannot post project {project}'s messages in {channel}: {why}."
    blocks = [
        section(
            f":warning: I cannot post project *{project}*'s status messages and alerts in "
            f"{where}: {why} (Slack says `{error}`)."
        ),
        section(f"*What to do:* {_what_to_do(blocker, channel=channel, bot_name=bot_name)}"),
        context(
            "Nothing is lost meanwhile: the messages wait, and are posted there in order once "
            "I can post again. Operators see them with `python -m bot outbox list`."
        ),
    ]
    return {"text": text, "blocks": blocks}


def wizard_warning(*, blocker: Blocker, bot_name: str) -> Message:
    """The note to someone starting a wizard in a channel the bot cannot post in."""
    invite = f"`/invite @{bot_name}`"
    match blocker:
        case Blocker.NOT_IN_CHANNEL:
            why = f"I am not a member of this channel. Invite me: type {invite} here."
        case Blocker.NOT_FOUND:
            why = f"I cannot see this channel (private, and I am not in it). Invite me: {invite}."
        case Blocker.ARCHIVED:
            why = "this channel is archived. Unarchive it, or ask an operator about another one."
        case Blocker.APP_SETUP:
            why = "the app's set-up keeps me from posting. Ask the operator to reinstall it."
        case Blocker.UNINSTALLED:
            why = "the app is not installed in this workspace. Install it again."
    text = (
        ":warning: This endpoint's status messages and alerts go to this channel, but I cannot "
        f"post here yet: {why} Until then they wait; none is lost."
    )
    return {"text": text, "blocks": [section(text)], "response_type": "ephemeral"}


def operator_warning(*, blocker: Blocker, channel: str, bot_name: str) -> str:
    """The warning line of `projects add` when the bot cannot post in the project's channel."""
    invite = f"/invite @{bot_name}"
    match blocker:
        case Blocker.NOT_IN_CHANNEL:
            todo = f"invite it: in the channel, type {invite}"
        case Blocker.NOT_FOUND:
            todo = f"check the channel ID; for a private channel, invite the bot there ({invite})"
        case Blocker.ARCHIVED:
            todo = "unarchive the channel, or bind the project to another one"
        case Blocker.APP_SETUP:
            todo = "reinstall the app with manifest.yml's scopes"
        case Blocker.UNINSTALLED:
            todo = "install the app in the workspace (GET /slack/install)"
    return (
        f"warning: {REASONS[blocker]} ({channel}): {todo}. The project is bound; its "
        "messages wait until the bot can post there."
    )


def unchecked_warning(*, channel: str, problem: str, bot_name: str) -> str:
    """The note of `projects add` when whether the bot can post in the channel is unknown."""
    return (
        f"note: could not check that the bot can post in {channel} ({problem}); make sure "
        f"it is a member: in the channel, type /invite @{bot_name}"
    )
