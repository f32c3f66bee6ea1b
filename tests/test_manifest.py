"""manifest.yml declares what the code uses, and no scope more."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Web API method -> the bot scope it needs (None: no scope).
METHOD_SCOPES = {
    "auth_test": None,
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "views_publish": None,
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "conversations_info": "channels:read",
    "users_info": "users:read",
}


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def methods_called() -> set[str]:
    """Every `client.<method>(` the bot's own code makes."""
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if {"sandbox", "aws"} & set(path.parts):
            continue
        found |= set(re.findall(r"\b_?client\.(\w+)\(", path.read_text(encoding="utf-8")))
    return found


def test_declares_the_command_interactivity_and_home() -> None:
    m = manifest()
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/private-endpoint"
    assert "create [cluster]" in command["usage_hint"]
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    urls = {
        command["url"],
        m["settings"]["interactivity"]["request_url"],
        m["settings"]["event_subscriptions"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_only_the_scopes_the_code_uses() -> None:
    called = methods_called()
    assert called, "no Web API calls found"
    assert called <= set(METHOD_SCOPES), f"unmapped methods: {called - set(METHOD_SCOPES)}"
    needed = {"commands"} | {METHOD_SCOPES[m] for m in called} - {None}
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed
