"""The conversations.history and conversations.replies Web API methods: reading messages back.

As Slack documents them: history lists a channel's messages (and broadcast replies) newest
first, replies a thread's parent first and then its replies oldest first; both keep to
``oldest``/``latest`` (exclusive unless ``inclusive``), page by ``limit`` with ``has_more`` and
a ``next_cursor``, and show a message's ``metadata`` only when ``include_all_metadata`` is set.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sandbox.slack.args import flag_arg, text_arg
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import JsonDict

HISTORY_LIMIT = (100, 999)  # default, most
REPLIES_LIMIT = (1000, 1000)
_CURSOR_PREFIX = "next_ts:"


def micros(ts: str) -> int:
    """A message timestamp in whole microseconds (exact, unlike a float)."""
    return int(Decimal(ts) * 1_000_000)


def _bound(args: JsonDict, name: str) -> int | None:
    """The ``oldest`` or ``latest`` bound in microseconds, if given."""
    value = text_arg(args, name)
    if value is None:
        return None
    try:
        moment = Decimal(value)
    except InvalidOperation:
        raise ApiError(f"invalid_ts_{name}") from None
    if not moment.is_finite() or moment < 0:
        raise ApiError(f"invalid_ts_{name}")
    return int(moment * 1_000_000)


def _limit(args: JsonDict, limits: tuple[int, int]) -> int:
    default, most = limits
    value = text_arg(args, "limit")
    if value is None:
        return default
    try:
        wanted = int(value)
    except ValueError:
        raise ApiError("invalid_limit") from None
    return default if wanted <= 0 else min(wanted, most)


def _cursor(args: JsonDict) -> int | None:
    """Where the page a ``cursor`` asks for starts (a message ts, in microseconds)."""
    value = text_arg(args, "cursor")
    if value is None:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
        if not decoded.startswith(_CURSOR_PREFIX):
            raise ValueError(decoded)
        return int(decoded[len(_CURSOR_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("invalid_cursor") from None


def _next_cursor(ts: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{micros(ts)}".encode("ascii")).decode("ascii")


def _window(args: JsonDict) -> Callable[[str], bool]:
    """Whether a message's ts lies between ``oldest`` and ``latest``."""
    oldest, latest = _bound(args, "oldest"), _bound(args, "latest")
    inclusive = flag_arg(args, "inclusive")

    def inside(ts: str) -> bool:
        at = micros(ts)
        if oldest is not None and (at < oldest or (at == oldest and not inclusive)):
            return False
        return latest is None or at < latest or (at == latest and inclusive)

    return inside


def _shown(ws: Workspace, messages: list[JsonDict], args: JsonDict) -> list[JsonDict]:
    """Copies as the method returns them: without ``metadata`` unless asked for."""
    shown = ws.snapshot(messages)
    if not flag_arg(args, "include_all_metadata"):
        for message in shown:
            message.pop("metadata", None)
    return shown


def _page(
    ws: Workspace, args: JsonDict, found: list[JsonDict], limit: int, *, first: JsonDict | None
) -> JsonDict:
    """One page of `found` (in the order returned), `first` ahead of it; `has_more`, cursor."""
    room = limit - (first is not None)
    page, more = found[:room], len(found) > room
    messages = ([first] if first is not None else []) + page
    answer: JsonDict = {"ok": True, "messages": _shown(ws, messages, args), "has_more": more}
    cursor = _next_cursor(messages[-1]["ts"]) if more else ""
    answer["response_metadata"] = {"next_cursor": cursor}
    return answer


def history(ws: Workspace, args: JsonDict) -> JsonDict:
    """conversations.history: the channel's messages and broadcast replies, newest first."""
    channel = ws.joined_by_bot(args.get("channel"))
    inside, after = _window(args), _cursor(args)
    found = [
        message
        for message in reversed(ws.history.get(channel.id, []))
        if inside(message["ts"]) and (after is None or micros(message["ts"]) < after)
    ]
    answer = _page(ws, args, found, _limit(args, HISTORY_LIMIT), first=None)
    return answer | {"pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}


def replies(ws: Workspace, args: JsonDict) -> JsonDict:
    """conversations.replies: a thread, its parent first, then its replies oldest first."""
    channel = ws.joined_by_bot(args.get("channel"))
    ts = text_arg(args, "ts")
    if ts is None:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: ts")
    message = ws.by_ts.get((channel.id, ts))
    if message is None:
        raise ApiError("thread_not_found")
    parent_ts = str(message.get("thread_ts", ts))
    parent = ws.by_ts[(channel.id, parent_ts)]
    inside, after = _window(args), _cursor(args)
    found = [
        reply
        for reply in ws.threads.get((channel.id, parent_ts), [])
        if inside(reply["ts"]) and (after is None or micros(reply["ts"]) > after)
    ]
    first = parent if after is None else None
    return _page(ws, args, found, _limit(args, REPLIES_LIMIT), first=first)
