"""The stand-in models the bot's channel membership and its direct messages, as Slack does:
an uninvited bot cannot post or read, `conversations.info` says `is_member`, a private channel
without the bot is not found, `conversations.open` gives the bot's DM with a user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import (
    BOT_USER_ID,
    DEFAULT_TOKEN,
    RunningStandIn,
    SlackStandIn,
    StandInRemote,
    start,
)
from sandbox.slack_client import member_joined_channel_payload

CHANNEL = "C0NOBOT01"
USER = "U0OWNER01"


@pytest.fixture()
def running() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.fixture()
def client(running: RunningStandIn) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)


def error_of(call: Callable[..., Any], **args: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call(**args)
    return str(raised.value.response["error"])


def test_channels_have_the_bot_unless_told_otherwise(client: WebClient) -> None:
    info = client.conversations_info(channel="C0ANYWHERE")["channel"]
    assert info["is_member"] is True
    assert client.chat_postMessage(channel="C0ANYWHERE", text="hello")["ok"]


def test_an_uninvited_bot_cannot_post_or_read_until_invited(
    client: WebClient, running: RunningStandIn
) -> None:
    running.standin.add_channel(CHANNEL, bot_member=False)
    assert client.conversations_info(channel=CHANNEL)["channel"]["is_member"] is False
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "not_in_channel"
    assert error_of(client.chat_update, channel=CHANNEL, ts="1.000001", text="x") == (
        "not_in_channel"
    )
    assert error_of(client.conversations_history, channel=CHANNEL) == "not_in_channel"
    assert running.standin.messages(CHANNEL) == []

    running.standin.invite_bot(CHANNEL)
    assert client.conversations_info(channel=CHANNEL)["channel"]["is_member"] is True
    ts = client.chat_postMessage(channel=CHANNEL, text="hello")["ts"]
    assert [m["ts"] for m in running.standin.messages(CHANNEL)] == [ts]

    running.standin.invite_bot(CHANNEL, member=False)  # removed again
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "not_in_channel"


def test_a_private_channel_without_the_bot_is_not_found(
    client: WebClient, running: RunningStandIn
) -> None:
    running.standin.add_channel("G0SECRET1", is_private=True, bot_member=False)
    assert error_of(client.conversations_info, channel="G0SECRET1") == "channel_not_found"
    assert error_of(client.chat_postMessage, channel="G0SECRET1", text="x") == ("channel_not_found")


def test_an_archived_channel_refuses_posts(client: WebClient, running: RunningStandIn) -> None:
    running.standin.add_channel(CHANNEL, is_archived=True)
    assert client.conversations_info(channel=CHANNEL)["channel"]["is_archived"] is True
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "is_archived"


def test_direct_messages_go_to_one_conversation_per_user(
    client: WebClient, running: RunningStandIn
) -> None:
    first = client.conversations_open(users=USER)["channel"]["id"]
    assert first.startswith("D")
    assert client.conversations_open(users=USER)["channel"]["id"] == first
    assert client.conversations_open(users="U0SOMEONE")["channel"]["id"] != first
    client.chat_postMessage(channel=first, text="one")
    client.chat_postMessage(channel=first, text="two")
    assert [m["text"] for m in running.standin.direct_messages(USER)] == ["one", "two"]
    assert running.standin.direct_messages("U0NOBODY1") == []
    assert error_of(client.api_call, api_method="conversations.open") == ("users_list_not_supplied")
    running.standin.add_user("U0GONE001", deleted=True)
    assert error_of(client.conversations_open, users="U0GONE001") == "user_disabled"


def test_membership_and_direct_messages_over_the_control_api(
    client: WebClient, running: RunningStandIn
) -> None:
    remote = StandInRemote(running.api_url)
    remote.add_channel(CHANNEL, bot_member=False)
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "not_in_channel"
    remote.invite_bot(CHANNEL)
    assert client.chat_postMessage(channel=CHANNEL, text="in")["ok"]
    dm = client.conversations_open(users=USER)["channel"]["id"]
    client.chat_postMessage(channel=dm, text="psst")
    assert [m["text"] for m in remote.direct_messages(USER)] == ["psst"]


def test_the_join_event_payload_has_slacks_shape() -> None:
    payload = member_joined_channel_payload(channel=CHANNEL, inviter=USER)
    assert payload["type"] == "event_callback"
    event = payload["event"]
    assert (event["type"], event["user"], event["channel"]) == (
        "member_joined_channel",
        BOT_USER_ID,
        CHANNEL,
    )
    assert event["inviter"] == USER and event["channel_type"] == "C"
