"""The Web API methods the stand-in answers, by name."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.slack import chat, conversations, views
from sandbox.slack.args import text_arg
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import BOT_NAME, JsonDict

Method = Callable[[Workspace, JsonDict], JsonDict]


def auth_test(ws: Workspace, args: JsonDict) -> JsonDict:
    """auth.test: who the bot token belongs to: its workspace and the bot user there."""
    return {
        "ok": True,
        "url": ws.team.url,
        "team": ws.team.name,
        "user": BOT_NAME,
        "team_id": ws.team.id,
        "user_id": ws.team.bot_user_id,
        "bot_id": ws.team.bot_id,
        "is_enterprise_install": False,
    }


def conversations_info(ws: Workspace, args: JsonDict) -> JsonDict:
    """conversations.info: a channel's conversation object (``is_member``: the bot's); a private
    channel the bot is not in is not found."""
    return {"ok": True, "channel": ws.seen_by_bot(args.get("channel")).info(ws.team)}


def conversations_open(ws: Workspace, args: JsonDict) -> JsonDict:
    """conversations.open: the bot's direct message with one user (``users``), opened once."""
    users = text_arg(args, "users")
    if users is None:
        raise ApiError("users_list_not_supplied")
    if "," in users:
        raise ApiError("invalid_arguments", "[ERROR] the stand-in opens 1:1 DMs only")
    user = ws.user(users.strip())
    if user.deleted:
        raise ApiError("user_disabled")
    return {"ok": True, "channel": {"id": ws.open_im(user.id).id}}


def users_info(ws: Workspace, args: JsonDict) -> JsonDict:
    """users.info: a user's user object."""
    return {"ok": True, "user": ws.user(args.get("user")).info(ws.team.id)}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postEphemeral": chat.post_ephemeral,
    "chat.postMessage": chat.post_message,
    "chat.update": chat.update,
    "conversations.history": conversations.history,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.replies": conversations.replies,
    "users.info": users_info,
    "views.open": views.open_,
    "views.publish": views.publish,
    "views.push": views.push,
    "views.update": views.update,
}
