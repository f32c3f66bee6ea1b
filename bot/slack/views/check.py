"""Block Kit validation of what the bot builds, with slack_sdk's own models."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS_MAX = 50
MODAL_BLOCKS_MAX = 100
HOME_BLOCKS_MAX = 100
MESSAGE_TEXT_MAX = 40000


class InvalidBlocks(ValueError):
    """A view or message breaks a Block Kit rule; the message says which."""


def _blocks(blocks: list[dict[str, Any]], limit: int) -> None:
    if len(blocks) > limit:
        raise InvalidBlocks(f"{len(blocks)} blocks, more than {limit}")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        raise InvalidBlocks(f"duplicate block_id in {ids}")
    for raw in blocks:
        block = Block.parse(raw)
        if block is None:
            raise InvalidBlocks(f"unknown block {raw.get('type')!r}")
        try:
            block.validate_json()
        except SlackObjectFormationError as error:
            raise InvalidBlocks(f"{raw.get('type')} block: {error}") from None


def check_view(view: dict[str, Any]) -> dict[str, Any]:
    """Raise InvalidBlocks unless `view` is a valid modal or Home tab; returns it."""
    limit = MODAL_BLOCKS_MAX if view.get("type") == "modal" else HOME_BLOCKS_MAX
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as error:
        raise InvalidBlocks(f"view: {error}") from None
    _blocks(view.get("blocks", []), limit)
    has_input = any(b.get("type") == "input" for b in view.get("blocks", []))
    if has_input and not view.get("submit"):
        raise InvalidBlocks("a modal with inputs needs a submit button")
    return view


def check_message(message: dict[str, Any]) -> dict[str, Any]:
    """Raise InvalidBlocks unless `message` is a valid message with a text fallback."""
    text = message.get("text")
    if not text or len(text) > MESSAGE_TEXT_MAX:
        raise InvalidBlocks("a message needs a text fallback of at most 40,000 characters")
    _blocks(message.get("blocks", []), MESSAGE_BLOCKS_MAX)
    return message
