"""The chat.* Web API methods: channel messages, thread replies and ephemeral messages."""

from __future__ import annotations

from typing import Any

from sandbox.slack.args import flag_arg, json_arg, text_arg
from sandbox.slack.blockkit import MESSAGE_BLOCKS_MAX, blocks_errors
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import APP_ID, BOT_NAME, JsonDict

TEXT_MAX = 40_000


def _content(args: JsonDict) -> tuple[str | None, Any, Any]:
    """The text, blocks and attachments of a message, as Slack validates them."""
    text = text_arg(args, "text")
    blocks = json_arg(args, "blocks", error="invalid_blocks_format")
    attachments = json_arg(args, "attachments", error="invalid_attachments")
    if blocks is not None:
        errors = blocks_errors(blocks, pointer="/blocks", limit=MESSAGE_BLOCKS_MAX)
        if errors:
            raise ApiError("invalid_blocks", *errors)
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > TEXT_MAX:
        raise ApiError("msg_too_long")
    return text, blocks, attachments


def _bot_message(ws: Workspace, args: JsonDict, ts: str) -> JsonDict:
    text, blocks, attachments = _content(args)
    message: JsonDict = {
        "type": "message",
        "user": ws.team.bot_user_id,
        "bot_id": ws.team.bot_id,
        "app_id": APP_ID,
        "team": ws.team.id,
        "text": text or "",
        "ts": ts,
        "bot_profile": {
            "id": ws.team.bot_id,
            "app_id": APP_ID,
            "name": BOT_NAME,
            "team_id": ws.team.id,
            "deleted": False,
        },
    }
    if blocks is not None:
        message["blocks"] = blocks
    if attachments is not None:
        message["attachments"] = attachments
    metadata = json_arg(args, "metadata", error="invalid_metadata_format")
    if metadata is not None:
        message["metadata"] = metadata
    return message


def post_message(ws: Workspace, args: JsonDict) -> JsonDict:
    """chat.postMessage: a new channel message, or a reply in a thread (maybe broadcast)."""
    channel = ws.seen_by_bot(args.get("channel"))
    if channel.is_archived:
        raise ApiError("is_archived")
    channel = ws.joined_by_bot(channel.id)
    thread_ts = None
    if text_arg(args, "thread_ts") is not None:
        thread_ts = ws.thread_parent(channel.id, args["thread_ts"])
    message = _bot_message(ws, args, ws.ts.next())
    broadcast = thread_ts is not None and flag_arg(args, "reply_broadcast")
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
        message["parent_user_id"] = ws.by_ts[(channel.id, thread_ts)]["user"]
    if broadcast:
        message["subtype"] = "thread_broadcast"
    ws.post(channel.id, message, thread_ts=thread_ts, broadcast=broadcast)
    return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": ws.snapshot(message)}


def update(ws: Workspace, args: JsonDict) -> JsonDict:
    """chat.update: change a message in place; omitted blocks and attachments are kept."""
    channel = ws.joined_by_bot(args.get("channel"))
    ts = text_arg(args, "ts")
    if ts is None:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: ts")
    message = ws.by_ts.get((channel.id, ts))
    if message is None:
        raise ApiError("message_not_found")
    if message.get("user") != ws.team.bot_user_id:
        raise ApiError("cant_update_message")
    text, blocks, attachments = _content(args)
    if text is not None:
        message["text"] = text
    for name, value in (("blocks", blocks), ("attachments", attachments)):
        if value is not None:
            message[name] = value
    metadata = json_arg(args, "metadata", error="invalid_metadata_format")
    if metadata is not None:
        message["metadata"] = metadata
    message["edited"] = {"user": ws.team.bot_user_id, "ts": ws.ts.next()}
    return {
        "ok": True,
        "channel": channel.id,
        "ts": ts,
        "text": message["text"],
        "message": ws.snapshot(message),
    }


def post_ephemeral(ws: Workspace, args: JsonDict) -> JsonDict:
    """chat.postEphemeral: a message only one user in the channel sees."""
    channel = ws.channel(args.get("channel"))
    user = ws.user(args.get("user"))
    if channel.members is not None and user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    message = _bot_message(ws, args, ws.ts.next())
    thread_ts = text_arg(args, "thread_ts")
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    ephemeral = {
        "channel": channel.id,
        "user": user.id,
        "message_ts": message["ts"],
        "message": message,
    }
    ws.ephemerals.append(ephemeral)
    return {"ok": True, "message_ts": message["ts"]}
