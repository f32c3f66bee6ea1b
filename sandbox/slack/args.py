"""Reading Web API arguments the way Slack does, whether they came form-encoded or as JSON."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack.state import ApiError
from sandbox.slack.workspace import JsonDict

# Arguments Slack documents as "a JSON-encoded string" in form bodies.
JSON_FIELDS = ("view", "blocks", "attachments", "metadata")


def decode_json_fields(args: JsonDict) -> JsonDict:
    """The arguments with JSON-encoded strings of structured fields decoded, where valid."""
    decoded = dict(args)
    for name in JSON_FIELDS:
        value = decoded.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                decoded[name] = json.loads(value)
            except json.JSONDecodeError:
                continue
    return decoded


def text_arg(args: JsonDict, name: str) -> str | None:
    """A string argument; absent or empty is None."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise ApiError("invalid_arguments", f"[ERROR] {name} must be a string")
    return str(value)


def flag_arg(args: JsonDict, name: str) -> bool:
    """A boolean argument: ``true``/``1`` in forms, true in JSON."""
    value = args.get(name)
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def json_arg(args: JsonDict, name: str, *, error: str) -> Any:
    """A structured argument, given as JSON or a JSON-encoded string; ``error`` if undecodable."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError(error, f"[ERROR] {name} is not valid JSON: {exc.msg}") from exc
    return value
