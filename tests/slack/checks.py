"""Assertions that what the bot builds passes the Slack stand-in's Block Kit checker.

The checker is `sandbox.slack.blockkit`, the one the stand-in runs on every message and
view it is sent; these helpers raise instead of returning Slack's error list, and hold what
the bot builds to two rules of its own: every message carries a text fallback, and no view
is empty (slack_sdk's `View` refuses one; Slack and the stand-in take it).
"""

from __future__ import annotations

from typing import Any

from sandbox.slack.blockkit import MESSAGE_BLOCKS_MAX, blocks_errors, view_errors
from sandbox.slack.chat import TEXT_MAX


class InvalidBlocks(ValueError):
    """A view or message breaks a Block Kit rule; the message says which."""


def check_view(view: dict[str, Any]) -> dict[str, Any]:
    """Raise InvalidBlocks unless `view` is a valid modal or Home tab; returns it."""
    if not view.get("blocks"):
        raise InvalidBlocks("a view needs at least one block")
    errors = view_errors(view, kinds=("modal", "home"))
    if errors:
        raise InvalidBlocks("\n".join(errors))
    return view


def check_message(message: dict[str, Any]) -> dict[str, Any]:
    """Raise InvalidBlocks unless `message` is a valid message with a text fallback."""
    text = message.get("text")
    if not text or len(text) > TEXT_MAX:
        raise InvalidBlocks(f"a message needs a text fallback of at most {TEXT_MAX:,} characters")
    errors = blocks_errors(message.get("blocks", []), pointer="/blocks", limit=MESSAGE_BLOCKS_MAX)
    if errors:
        raise InvalidBlocks("\n".join(errors))
    return message
