"""manifest.yml declares what the code uses, and no scope more."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The channels the bot reads from are public or private (`channels:` and `groups:` scopes).
READ_HISTORY = frozenset({"channels:history", "groups:history"})
READ_CHANNELS = frozenset({"channels:read", "groups:read"})
# Web API method -> the bot scopes it needs (none for some).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth_test": frozenset(),
    "views_open": frozenset(),
    "views_update": frozenset(),
    "views_push": frozenset(),
    "views_publish": frozenset(),
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "conversations_history": READ_HISTORY,
    "conversations_info": READ_CHANNELS,
    "conversations_open": frozenset({"im:write"}),
    "conversations_replies": READ_HISTORY,
    "users_info": frozenset({"users:read"}),
}


# Bot event -> the bot scopes Slack needs to send it.
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),
    "member_joined_channel": READ_CHANNELS,
    "app_uninstalled": frozenset(),  # Slack's docs: no scope required
    "tokens_revoked": frozenset(),
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
    assert m["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "member_joined_channel",
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert m["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    urls = {
        command["url"],
        m["settings"]["interactivity"]["request_url"],
        m["settings"]["event_subscriptions"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_the_usage_hint_is_the_command_tables() -> None:
    from bot.domain.slash import COMMAND, usage_hint

    [command] = manifest()["features"]["slash_commands"]
    assert command["command"] == COMMAND
    expected = f'      usage_hint: "{usage_hint()}"'
    assert command["usage_hint"] == usage_hint(), f"in bot/manifest.yml, paste:\n{expected}"
    assert expected in (ROOT / "bot" / "manifest.yml").read_text(encoding="utf-8").splitlines()


def test_only_the_scopes_the_code_uses() -> None:
    called = methods_called()
    assert called, "no Web API calls found"
    assert called <= set(METHOD_SCOPES), f"unmapped methods: {called - set(METHOD_SCOPES)}"
    needed = {"commands"}.union(*(METHOD_SCOPES[m] for m in called))
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    needed = needed.union(*(EVENT_SCOPES[e] for e in events))
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed


def test_subscribes_to_exactly_the_events_the_listeners_handle() -> None:
    handled: set[str] = set()
    for path in (ROOT / "bot" / "slack" / "listeners").glob("*.py"):
        handled |= set(re.findall(r'app\.event\("(\w+)"\)', path.read_text(encoding="utf-8")))
    assert set(manifest()["settings"]["event_subscriptions"]["bot_events"]) == handled


def test_owners_can_read_the_direct_messages_the_bot_sends() -> None:
    assert "conversations_open" in methods_called()
    app_home = manifest()["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True


def test_the_outbox_reads_back_its_posts() -> None:
    assert {"conversations_history", "conversations_replies"} <= methods_called()


def test_an_install_asks_for_the_manifests_scopes() -> None:
    from bot.slack.oauth import bot_scopes

    assert (ROOT / "manifest.yml").resolve() == (ROOT / "bot" / "manifest.yml").resolve()
    assert list(bot_scopes()) == manifest()["oauth_config"]["scopes"]["bot"]
