"""The one Block Kit checker: what Slack refuses in messages and views, worded as Slack words it.

The stand-in's own checks come first, with Slack's wording and JSON pointers. A block or view
they pass is then built with slack_sdk's models (`slack_sdk.models.blocks`, `.views`), whose
validators know the rest of Block Kit's limits (text lengths of every element, required fields,
a view's title, a Home tab without submit or close). Anything either refuses is an error, with
one exception: like Slack, the checker takes a view with no blocks, which slack_sdk refuses.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonValidator
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
# Longest text of an element's own label, per element type.
_ELEMENT_TEXT_LIMITS = {"button": 75, "static_select": 150, "multi_static_select": 150}
_OPTION_TEXT_MAX = 75
_OPTION_VALUE_MAX = 150
# What slack_sdk's models raise on JSON they cannot build: a broken limit, or a malformed field.
_REFUSED_BY_MODELS = (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError)


class _SlackView(View):
    """slack_sdk's view model, less its minimum of one block (Slack takes an empty view)."""

    @JsonValidator(f"views must contain at most {VIEW_BLOCKS_MAX} blocks")
    def _validate_blocks_length(self) -> bool:
        return self.blocks is None or len(self.blocks) <= VIEW_BLOCKS_MAX


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _text_errors(obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [_err("expected object", pointer)]
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in kinds:
        return [_err(f"must be one of {', '.join(kinds)}", f"{pointer}/type")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_err("must be a non-empty string", f"{pointer}/text")]
    if len(text) > limit:
        return [_err(f"must be less than {limit + 1} characters", f"{pointer}/text")]
    return []


def _element_errors(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [_err("missing required field: type", pointer)]
    errors: list[str] = []
    kind = element["type"]
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        errors.append(_err("must be a string of at most 255 characters", f"{pointer}/action_id"))
    if kind in _ELEMENT_TEXT_LIMITS and "text" in element:
        limit = _ELEMENT_TEXT_LIMITS[kind]
        errors += _text_errors(element["text"], f"{pointer}/text", limit=limit, plain_only=True)
    if kind == "button":
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors.append(_err("must be less than 2001 characters", f"{pointer}/value"))
    options = element.get("options")
    if isinstance(options, list):
        if len(options) > 100:
            errors.append(_err("must contain at most 100 items", f"{pointer}/options"))
        for i, option in enumerate(options):
            errors += _option_errors(option, f"{pointer}/options/{i}")
    return errors


def _option_errors(option: Any, pointer: str) -> list[str]:
    if not isinstance(option, dict):
        return [_err("expected object", pointer)]
    errors = _text_errors(option.get("text"), f"{pointer}/text", limit=_OPTION_TEXT_MAX)
    value = option.get("value")
    if not isinstance(value, str) or len(value) > _OPTION_VALUE_MAX:
        errors.append(_err("must be a string of at most 150 characters", f"{pointer}/value"))
    return errors


def _block_errors(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_err("missing required field: type", pointer)]
    kind = block["type"]
    if kind not in BLOCK_TYPES:
        return [_err(f"unsupported type: {kind}", f"{pointer}/type")]
    errors: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(_err("must provide either text or fields", pointer))
        if "text" in block:
            errors += _text_errors(block["text"], f"{pointer}/text", limit=3000)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            errors.append(_err("must contain at most 10 items", f"{pointer}/fields"))
        if "accessory" in block:
            errors += _element_errors(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        errors += _text_errors(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
    elif kind in ("actions", "context"):
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
            errors.append(_err(f"must contain 1 to {limit} items", f"{pointer}/elements"))
        elif kind == "actions":
            for i, element in enumerate(elements):
                errors += _element_errors(element, f"{pointer}/elements/{i}")
    elif kind == "input":
        errors += _text_errors(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
        if "element" not in block:
            errors.append(_err("missing required field: element", pointer))
        else:
            errors += _element_errors(block["element"], f"{pointer}/element")
    return errors


def _model_errors(block: Any, pointer: str) -> list[str]:
    """What slack_sdk's block models refuse in a block, with every nested element built."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [_err(f"unsupported type: {block.get('type')}", f"{pointer}/type")]
        parsed.to_dict()  # validates the block and, through to_dict, each object inside it
    except _REFUSED_BY_MODELS as error:
        return [_err(str(error), pointer)]
    return []


def blocks_errors(blocks: Any, *, pointer: str, limit: int) -> list[str]:
    """What is wrong with a list of blocks, one Slack-style message per problem."""
    if not isinstance(blocks, list):
        return [_err("expected array", pointer)]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(_err(f"must contain at most {limit} items", pointer))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"{pointer}/{i}") or _model_errors(block, f"{pointer}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is None:
            continue
        if not isinstance(block_id, str) or len(block_id) > 255:
            errors.append(_err("must be a string of at most 255 characters", f"{pointer}/{i}"))
        elif block_id in seen:
            errors.append(_err(f"duplicate block_id: {block_id}", f"{pointer}/{i}/block_id"))
        seen.add(block_id)
    return errors


def _modal_errors(view: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "title" not in view:
        errors.append(_err("missing required field: title", "/view"))
    for field in ("title", "submit", "close"):
        if field in view:
            errors += _text_errors(view[field], f"/view/{field}", limit=24, plain_only=True)
    raw = view.get("blocks")
    blocks = raw if isinstance(raw, list) else []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        errors.append(_err("submit is required when an input block is present", "/view"))
    return errors


def view_errors(view: Any, *, kinds: tuple[str, ...]) -> list[str]:
    """What is wrong with a view payload of one of the given types (``modal``, ``home``)."""
    if not isinstance(view, dict):
        return [_err("expected object", "/view")]
    if view.get("type") not in kinds:
        return [_err(f"must be one of {', '.join(kinds)}", "/view/type")]
    errors = blocks_errors(view.get("blocks"), pointer="/view/blocks", limit=VIEW_BLOCKS_MAX)
    for field, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        value = view.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(_err(f"must be less than {limit + 1} characters", f"/view/{field}"))
    if view["type"] == "modal":
        errors += _modal_errors(view)
    if errors:
        return errors
    try:
        _SlackView(**view).validate_json()
    except _REFUSED_BY_MODELS as error:
        return [_err(str(error), "/view")]
    return []
