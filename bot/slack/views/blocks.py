"""Small Block Kit constructors that keep texts within Slack's limits."""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
TITLE_MAX = 24
CONTEXT_ELEMENT_MAX = 3000


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    """A plain_text object."""
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object."""
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX)}


def escape(text: str) -> str:
    """Text safe inside mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """A preformatted mrkdwn block."""
    return f"```{escape(text)}```"


def preformatted(text: str) -> Block:
    """A rich text block of one preformatted piece: code shown and copied exactly as given
    (no mrkdwn, so nothing to escape), without a mrkdwn section's 3,000-character cap."""
    return {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": text}]}
        ],
    }


def header(text: str) -> Block:
    """A header block."""
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def section(text: str, *, accessory: Block | None = None, block_id: str | None = None) -> Block:
    """A mrkdwn section, optionally with an accessory element."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = block_id
    return block


def fields(pairs: list[tuple[str, str]]) -> Block:
    """A section of up to ten `*label*\\nvalue` fields."""
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{label}*\n{value}") for label, value in pairs[:10]],
    }


def context(text: str) -> Block:
    """A small grey line of mrkdwn."""
    return {"type": "context", "elements": [mrkdwn(text)]}


def divider() -> Block:
    """A divider."""
    return {"type": "divider"}


def option(text: str, value: str) -> dict[str, Any]:
    """One option of a select."""
    return {"text": plain(text, OPTION_TEXT_MAX), "value": value}


def button(
    text: str,
    *,
    action_id: str,
    value: str | None = None,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> Block:
    """A button element."""
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = value
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def confirm_dialog(*, title: str, text: str, confirm: str, deny: str = "Cancel") -> dict[str, Any]:
    """A confirmation dialog for a dangerous button."""
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(confirm, 30),
        "deny": plain(deny, 30),
        "style": "danger",
    }


def actions(elements: list[Block], *, block_id: str | None = None) -> Block:
    """An actions block."""
    block: Block = {"type": "actions", "elements": elements}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def text_input(
    *,
    block_id: str,
    action_id: str,
    label: str,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
    multiline: bool = False,
) -> Block:
    """An input block with one plain-text field."""
    element: Block = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def select_input(
    *,
    block_id: str,
    action_id: str,
    label: str,
    options: list[dict[str, Any]],
    initial: dict[str, Any] | None = None,
    hint: str | None = None,
) -> Block:
    """An input block with a static select (at most 100 options)."""
    element: Block = {"type": "static_select", "action_id": action_id, "options": options[:100]}
    if initial is not None:
        element["initial_option"] = initial
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def modal(
    *,
    title: str,
    blocks: list[Block],
    callback_id: str,
    private_metadata: str,
    submit: str | None = None,
    close: str = "Cancel",
    notify_on_close: bool = False,
) -> dict[str, Any]:
    """A modal view; with `notify_on_close`, Slack tells the bot when the user closes it."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, TITLE_MAX),
        "close": plain(close, TITLE_MAX),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit is not None:
        view["submit"] = plain(submit, TITLE_MAX)
    if notify_on_close:
        view["notify_on_close"] = True
    return view
