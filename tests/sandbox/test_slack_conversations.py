"""The stand-in's conversations.history and conversations.replies, and its faults that carry a
call out but lose its answer (late past the client's timeout, or a reset connection)."""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable, Iterator
from http.client import HTTPException
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, StandInRemote, start

CHANNEL = "C0HISTORY"


@pytest.fixture()
def running() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.fixture()
def standin(running: RunningStandIn) -> SlackStandIn:
    return running.standin


@pytest.fixture()
def client(running: RunningStandIn) -> WebClient:
    """A client that makes each call once, as the bot's outbox does."""
    client = WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
    client.retry_handlers = []
    return client


def post(client: WebClient, text: str, **extra: Any) -> str:
    """Post `text` (with metadata naming it) to the channel; its ts."""
    metadata = {"event_type": "test_note", "event_payload": {"text": text}}
    answer = client.chat_postMessage(channel=CHANNEL, text=text, metadata=metadata, **extra)
    return str(answer["ts"])


def texts(answer: Any) -> list[str]:
    return [m["text"] for m in answer["messages"]]


def error_of(method: Callable[..., Any], **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        method(**kwargs)
    return str(raised.value.response["error"])


# --- conversations.history -------------------------------------------------------------------


def test_history_is_newest_first_with_broadcasts_but_not_thread_replies(client: WebClient) -> None:
    first = post(client, "one")
    post(client, "reply", thread_ts=first)
    post(client, "broadcast", thread_ts=first, reply_broadcast=True)
    post(client, "two")

    answer = client.conversations_history(channel=CHANNEL)

    assert texts(answer) == ["two", "broadcast", "one"]
    assert answer["has_more"] is False
    parent = answer["messages"][-1]
    assert parent["reply_count"] == 2 and parent["thread_ts"] == first


def test_metadata_is_returned_only_when_asked_for(client: WebClient) -> None:
    first = post(client, "one")
    post(client, "reply", thread_ts=first)

    plain = client.conversations_history(channel=CHANNEL)["messages"]
    rich = client.conversations_history(channel=CHANNEL, include_all_metadata=True)["messages"]
    thread = client.conversations_replies(channel=CHANNEL, ts=first)["messages"]
    rich_thread = client.conversations_replies(
        channel=CHANNEL, ts=first, include_all_metadata=True
    )["messages"]

    assert all("metadata" not in m for m in plain + thread)
    assert rich[0]["metadata"] == {"event_type": "test_note", "event_payload": {"text": "one"}}
    assert [m["metadata"]["event_payload"]["text"] for m in rich_thread] == ["one", "reply"]


def test_oldest_and_latest_bound_the_history(client: WebClient) -> None:
    a, b, c, d = (post(client, text) for text in "abcd")

    def between(**bounds: Any) -> list[str]:
        return texts(client.conversations_history(channel=CHANNEL, **bounds))

    assert between(oldest=b) == ["d", "c"]
    assert between(oldest=b, inclusive=True) == ["d", "c", "b"]
    assert between(latest=c) == ["b", "a"]
    assert between(oldest=a, latest=d) == ["c", "b"]
    assert between(oldest=a, latest=d, inclusive=True) == ["d", "c", "b", "a"]
    assert between(oldest=f"{float(d) + 60:.6f}") == []


def test_history_pages_by_limit_and_cursor(client: WebClient) -> None:
    for text in "abcde":
        post(client, text)

    first = client.conversations_history(channel=CHANNEL, limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
    cursor = second["response_metadata"]["next_cursor"]
    third = client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)

    assert (texts(first), first["has_more"]) == (["e", "d"], True)
    assert (texts(second), second["has_more"]) == (["c", "b"], True)
    assert (texts(third), third["has_more"]) == (["a"], False)
    assert third["response_metadata"]["next_cursor"] == ""


def test_history_refuses_bad_arguments(client: WebClient) -> None:
    history = client.conversations_history
    assert error_of(history, channel=CHANNEL, oldest="yesterday") == "invalid_ts_oldest"
    assert error_of(history, channel=CHANNEL, latest="-1") == "invalid_ts_latest"
    assert error_of(history, channel=CHANNEL, cursor="not a cursor") == "invalid_cursor"
    assert error_of(history, channel="not-a-channel") == "channel_not_found"


# --- conversations.replies -------------------------------------------------------------------


def test_replies_are_the_parent_then_the_replies_oldest_first(client: WebClient) -> None:
    parent = post(client, "parent")
    first = post(client, "first", thread_ts=parent)
    post(client, "second", thread_ts=parent, reply_broadcast=True)
    post(client, "elsewhere")

    answer = client.conversations_replies(channel=CHANNEL, ts=parent)
    from_a_reply = client.conversations_replies(channel=CHANNEL, ts=first)

    assert texts(answer) == ["parent", "first", "second"] == texts(from_a_reply)
    assert answer["has_more"] is False
    assert all(m["thread_ts"] == parent for m in answer["messages"])


def test_replies_keep_the_parent_first_whatever_the_bounds(client: WebClient) -> None:
    parent = post(client, "parent")
    first = post(client, "first", thread_ts=parent)
    post(client, "second", thread_ts=parent)

    since = client.conversations_replies(channel=CHANNEL, ts=parent, oldest=first)
    page = client.conversations_replies(channel=CHANNEL, ts=parent, limit=2)
    rest = client.conversations_replies(
        channel=CHANNEL, ts=parent, limit=2, cursor=page["response_metadata"]["next_cursor"]
    )

    assert texts(since) == ["parent", "second"]
    assert (texts(page), page["has_more"]) == (["parent", "first"], True)
    assert (texts(rest), rest["has_more"]) == (["second"], False)


def test_replies_of_a_lone_message_and_of_none(client: WebClient) -> None:
    lone = post(client, "lone")

    assert texts(client.conversations_replies(channel=CHANNEL, ts=lone)) == ["lone"]
    missing = error_of(client.conversations_replies, channel=CHANNEL, ts="1700000000.000001")
    assert missing == "thread_not_found"


# --- answers that come too late or never ------------------------------------------------------


def test_a_late_answer_times_the_client_out_but_the_post_is_made(
    running: RunningStandIn, standin: SlackStandIn
) -> None:
    impatient = WebClient(token=DEFAULT_TOKEN, base_url=running.api_url, timeout=0.3)
    impatient.retry_handlers = []
    standin.answer_late("chat.postMessage", seconds=1.0)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel=CHANNEL, text="late")
    assert time.monotonic() - started < 0.9

    assert [m["text"] for m in standin.messages(CHANNEL)] == ["late"]
    impatient.chat_postMessage(channel=CHANNEL, text="on time")  # only the next call was late
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["late", "on time"]
    time.sleep(1.0)  # the late answer meets a closed connection, quietly


def test_a_dropped_answer_resets_the_connection_after_the_post(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.drop_answer("chat.postMessage", times=2)

    for text in ("one", "two"):
        with pytest.raises((OSError, HTTPException)):
            client.chat_postMessage(channel=CHANNEL, text=text)
    client.chat_postMessage(channel=CHANNEL, text="three")

    assert [m["text"] for m in standin.messages(CHANNEL)] == ["one", "two", "three"]
    assert [c.ok for c in standin.calls("chat.postMessage")] == [True, True, True]


def test_late_and_dropped_answers_are_planned_from_another_process(
    running: RunningStandIn, client: WebClient, standin: SlackStandIn
) -> None:
    remote = StandInRemote(running.api_url)
    remote.drop_answer("chat.postMessage")
    with pytest.raises((OSError, HTTPException, urllib.error.URLError)):
        client.chat_postMessage(channel=CHANNEL, text="dropped")
    remote.answer_late("conversations.history", seconds=0.5)
    started = time.monotonic()
    answer = client.conversations_history(channel=CHANNEL)

    assert time.monotonic() - started >= 0.5
    assert texts(answer) == ["dropped"] and len(standin.messages(CHANNEL)) == 1
