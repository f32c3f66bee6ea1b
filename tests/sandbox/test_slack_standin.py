"""The Slack Web API stand-in, driven over HTTP by slack_sdk's own WebClient."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_TOKEN,
    TEAM_ID,
    RunningStandIn,
    SlackStandIn,
    StandInRemote,
    new_trigger_id,
    parse_api_request,
    start,
)

CHANNEL = "C0DBACCESS"
USER = "U2147483697"


def modal(title: str = "Private endpoint", **extra: Any) -> dict[str, Any]:
    """A small valid modal payload."""
    blocks = [{"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "Hi"}}]
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks,
    } | extra


def home() -> dict[str, Any]:
    """A small valid App Home payload."""
    return {"type": "home", "blocks": [{"type": "divider"}]}


@pytest.fixture()
def running() -> Iterator[RunningStandIn]:
    url, running = start(SlackStandIn(trigger_ttl=None))
    assert url.endswith("/api/")
    yield running
    running.stop()


@pytest.fixture()
def standin(running: RunningStandIn) -> SlackStandIn:
    return running.standin


@pytest.fixture()
def client(running: RunningStandIn) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)


def error_of(method: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The ``error`` of a Web API call that slack_sdk raised as SlackApiError."""
    with pytest.raises(SlackApiError) as raised:
        method(*args, **kwargs)
    return str(raised.value.response["error"])


# --- auth and identity -----------------------------------------------------------------------


def test_auth_test_names_the_sandbox_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["team_id"] == TEAM_ID
    assert answer["user_id"] == BOT_USER_ID
    assert answer["bot_id"] == BOT_ID


def test_a_wrong_or_missing_token_is_refused(running: RunningStandIn) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=running.api_url)
    assert error_of(wrong.auth_test) == "invalid_auth"
    assert error_of(WebClient(base_url=running.api_url).auth_test) == "not_authed"


def test_unknown_method_is_reported(client: WebClient) -> None:
    assert error_of(client.api_call, "chat.frobnicate") == "unknown_method"


def test_conversations_and_users_info(client: WebClient, standin: SlackStandIn) -> None:
    standin.add_channel("C0PRIVATE", name="secret", is_private=True)
    channel = client.conversations_info(channel="C0PRIVATE")["channel"]
    assert (channel["id"], channel["name"], channel["is_private"]) == ("C0PRIVATE", "secret", True)
    assert client.users_info(user=USER)["user"]["id"] == USER
    assert error_of(client.users_info, user="nobody") == "user_not_found"
    assert error_of(client.conversations_info, channel="#general") == "channel_not_found"


def test_unknown_channels_are_not_found_without_auto_create() -> None:
    url, running = start(SlackStandIn(auto_create=False))
    with running:
        client = WebClient(token=DEFAULT_TOKEN, base_url=url)
        assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == ("channel_not_found")
        running.standin.add_channel(CHANNEL)
        assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]


# --- messages --------------------------------------------------------------------------------


def test_post_message_answers_like_slack(client: WebClient, standin: SlackStandIn) -> None:
    first = client.chat_postMessage(channel=CHANNEL, text="one")
    second = client.chat_postMessage(channel=CHANNEL, text="two")
    assert first["channel"] == CHANNEL
    assert first["message"]["bot_id"] == BOT_ID
    assert first["message"]["ts"] == first["ts"]
    assert float(first["ts"]) < float(second["ts"])
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["one", "two"]


def test_form_and_json_bodies_are_read_alike(client: WebClient, standin: SlackStandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client.chat_postMessage(channel=CHANNEL, text="json", blocks=blocks)
    form = {"channel": CHANNEL, "text": "form", "blocks": json.dumps(blocks)}
    client.api_call("chat.postMessage", data=form)
    as_json, as_form = standin.calls("chat.postMessage")
    assert as_json.args["blocks"] == as_form.args["blocks"] == blocks
    assert "token" not in as_form.args
    assert [m["blocks"] for m in standin.messages(CHANNEL)] == [blocks, blocks]


def test_thread_replies_and_broadcasts(client: WebClient, standin: SlackStandIn) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="endpoint 7")["ts"]
    quiet = client.chat_postMessage(channel=CHANNEL, text="creating", thread_ts=parent)
    loud = client.chat_postMessage(
        channel=CHANNEL, text="active", thread_ts=quiet["ts"], reply_broadcast=True
    )
    assert quiet["message"]["thread_ts"] == parent
    assert loud["message"]["thread_ts"] == parent  # a reply to a reply lands in the thread
    assert loud["message"]["subtype"] == "thread_broadcast"
    assert [m["text"] for m in standin.replies(CHANNEL, parent)] == ["creating", "active"]
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["endpoint 7", "active"]
    assert standin.message(CHANNEL, parent)["reply_count"] == 2  # type: ignore[index]
    post = client.chat_postMessage
    assert error_of(post, channel=CHANNEL, text="x", thread_ts="yesterday") == "invalid_thread_ts"
    assert error_of(post, channel=CHANNEL, text="x", thread_ts="1500000000.000001") == (
        "thread_not_found"
    )


@pytest.mark.filterwarnings("ignore:The top-level `text`:UserWarning")
def test_update_changes_a_message_in_place(client: WebClient, standin: SlackStandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Creating"}}]
    ts = client.chat_postMessage(channel=CHANNEL, text="Creating", blocks=blocks)["ts"]
    answer = client.chat_update(channel=CHANNEL, ts=ts, text="Active")
    assert (answer["ts"], answer["text"]) == (ts, "Active")
    stored = standin.messages(CHANNEL)[0]
    assert stored["text"] == "Active"
    assert stored["blocks"] == blocks  # omitted blocks are kept, as on Slack
    assert "edited" in stored
    assert (
        error_of(client.chat_update, channel=CHANNEL, ts="1500000000.000001", text="x")
        == "message_not_found"
    )
    assert error_of(client.chat_update, channel=CHANNEL, ts=ts) == "no_text"


@pytest.mark.filterwarnings("ignore:The top-level `text`:UserWarning")
def test_invalid_blocks_are_refused_with_reasons(client: WebClient) -> None:
    twice = [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=CHANNEL, text="x", blocks=twice)
    assert raised.value.response["error"] == "invalid_blocks"
    assert "duplicate block_id" in raised.value.response["response_metadata"]["messages"][0]
    many = [{"type": "divider"}] * 51
    assert error_of(client.chat_postMessage, channel=CHANNEL, blocks=many) == ("invalid_blocks")
    assert error_of(client.chat_postMessage, channel=CHANNEL) == "no_text"


def test_ephemeral_messages(client: WebClient, standin: SlackStandIn) -> None:
    answer = client.chat_postEphemeral(channel=CHANNEL, user=USER, text="only you")
    [ephemeral] = standin.ephemerals(CHANNEL)
    assert ephemeral["message_ts"] == answer["message_ts"]
    assert (ephemeral["user"], ephemeral["message"]["text"]) == (USER, "only you")
    standin.add_channel("C0CLOSED", members=["U0SOMEONE"])
    assert (
        error_of(client.chat_postEphemeral, channel="C0CLOSED", user=USER, text="x")
        == "user_not_in_channel"
    )


# --- views -----------------------------------------------------------------------------------


def test_views_open_and_trigger_ids(client: WebClient, standin: SlackStandIn) -> None:
    trigger = new_trigger_id()
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="wizard"))["view"]
    assert view["id"].startswith("V")
    assert view["callback_id"] == "wizard"
    assert view["root_view_id"] == view["id"]
    assert [v["id"] for v in standin.views()] == [view["id"]]
    assert error_of(client.views_open, trigger_id=trigger, view=modal()) == "exchanged_trigger_id"
    assert error_of(client.views_open, trigger_id="nope", view=modal()) == ("invalid_trigger_id")


def test_trigger_ids_expire_after_three_seconds() -> None:
    url, running = start(SlackStandIn())
    with running:
        client = WebClient(token=DEFAULT_TOKEN, base_url=url)
        old = new_trigger_id(now=time.time() - 3.5)
        assert error_of(client.views_open, trigger_id=old, view=modal()) == ("expired_trigger_id")
        assert client.views_open(trigger_id=running.standin.new_trigger_id(), view=modal())["ok"]


def test_invalid_views_are_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.views_open(
            trigger_id=new_trigger_id(), view=modal(title="A title far too long for Slack")
        )
    assert raised.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in raised.value.response["response_metadata"]["messages"][0]
    field = {"type": "input", "block_id": "vpc", "label": {"type": "plain_text", "text": "VPC ID"}}
    no_submit = modal() | {"blocks": [field | {"element": {"type": "plain_text_input"}}]}
    assert error_of(client.views_open, trigger_id=new_trigger_id(), view=no_submit) == (
        "invalid_arguments"
    )


def test_views_update_by_id_with_hash(client: WebClient, standin: SlackStandIn) -> None:
    opened = client.views_open(trigger_id=new_trigger_id(), view=modal())["view"]
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(title="Stage 2")
    )["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert standin.view(opened["id"])["title"]["text"] == "Stage 2"  # type: ignore[index]
    assert (
        error_of(client.views_update, view_id=opened["id"], hash=opened["hash"], view=modal())
        == "hash_conflict"
    )


def test_views_update_by_external_id(client: WebClient) -> None:
    client.views_open(trigger_id=new_trigger_id(), view=modal(external_id="endpoint-7"))
    updated = client.views_update(external_id="endpoint-7", view=modal(external_id="endpoint-7"))
    assert updated["view"]["external_id"] == "endpoint-7"
    duplicate = modal(external_id="endpoint-7")
    assert error_of(client.views_open, trigger_id=new_trigger_id(), view=duplicate) == (
        "duplicate_external_id"
    )


def test_a_closed_view_is_not_found(client: WebClient, standin: SlackStandIn) -> None:
    opened = client.views_open(trigger_id=new_trigger_id(), view=modal())["view"]
    assert [v["id"] for v in standin.close_view(opened["id"])] == [opened["id"]]
    assert standin.views() == []
    assert error_of(client.views_update, view_id=opened["id"], view=modal()) == "not_found"


def test_views_push_stacks_up_to_three(client: WebClient, standin: SlackStandIn) -> None:
    root = client.views_open(trigger_id=new_trigger_id(), view=modal())["view"]
    pushed = client.views_push(trigger_id=new_trigger_id(), view=modal(title="Sure?"))["view"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])
    client.views_push(trigger_id=new_trigger_id(), view=modal())
    assert (
        error_of(client.views_push, trigger_id=new_trigger_id(), view=modal())
        == "push_limit_reached"
    )
    standin.close_view(pushed["id"])
    assert [v["id"] for v in standin.views()] == [root["id"]]


def test_views_publish_app_home(client: WebClient, standin: SlackStandIn) -> None:
    first = client.views_publish(user_id=USER, view=home())["view"]
    second = client.views_publish(user_id=USER, view=home(), hash=first["hash"])["view"]
    assert (first["type"], second["id"]) == ("home", first["id"])
    assert standin.home_view(USER)["hash"] == second["hash"]  # type: ignore[index]
    assert (
        error_of(client.views_publish, user_id=USER, view=home(), hash=first["hash"])
        == "hash_conflict"
    )
    assert error_of(client.views_publish, user_id=USER, view=modal()) == ("invalid_arguments")


def test_apply_view_response_follows_response_action(
    client: WebClient, standin: SlackStandIn
) -> None:
    view_id = client.views_open(trigger_id=new_trigger_id(), view=modal())["view"]["id"]
    errors = {"response_action": "errors", "errors": {"vpc": "Not a VPC id"}}
    assert standin.apply_view_response(view_id, errors)["id"] == view_id  # type: ignore[index]
    update = {"response_action": "update", "view": modal(title="Stage 2")}
    shown = standin.apply_view_response(view_id, update)
    assert shown is not None and shown["title"]["text"] == "Stage 2"
    pushed = standin.apply_view_response(view_id, {"response_action": "push", "view": modal()})
    assert pushed is not None and pushed["previous_view_id"] == view_id
    assert standin.apply_view_response(pushed["id"], None) == standin.view(view_id)
    assert standin.apply_view_response(view_id, {"response_action": "clear"}) is None
    assert standin.views() == []


# --- faults ----------------------------------------------------------------------------------


def test_fail_next_answers_errors_then_recovers(client: WebClient, standin: SlackStandIn) -> None:
    standin.fail_next("chat.postMessage", error="fatal_error", times=2)
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "fatal_error"
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == "fatal_error"
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert [c.ok for c in standin.calls("chat.postMessage")] == [False, False, True]
    assert len(standin.messages(CHANNEL)) == 1


def test_rate_limit_next_answers_429_with_retry_after(
    client: WebClient, standin: SlackStandIn
) -> None:
    standin.rate_limit_next("views.update", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id="V0", view=modal())
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_sdk_retry_handler_honours_retry_after(running: RunningStandIn) -> None:
    client = WebClient(
        token=DEFAULT_TOKEN, base_url=running.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    running.standin.rate_limit_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel=CHANNEL, text="once")["ok"]
    assert time.monotonic() - started >= 1
    assert [c.status for c in running.standin.calls("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in running.standin.messages(CHANNEL)] == ["once"]


def test_rate_limit_window(client: WebClient, standin: SlackStandIn) -> None:
    standin.rate_limit_for("chat.update", seconds=30)
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel=CHANNEL, ts="1500000000.000001", text="x")
    assert raised.value.response.status_code == 429
    assert int(raised.value.response.headers["Retry-After"]) >= 29


def test_per_channel_rate_limit(running: RunningStandIn) -> None:
    standin = running.standin
    standin.limit_rate()
    plain = WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
    plain.chat_postMessage(channel=CHANNEL, text="first")
    with pytest.raises(SlackApiError) as raised:
        plain.chat_postMessage(channel=CHANNEL, text="too soon")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert plain.chat_postMessage(channel="C0OTHER", text="another channel")["ok"]
    patient = WebClient(
        token=DEFAULT_TOKEN, base_url=running.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    assert patient.chat_postMessage(channel=CHANNEL, text="second")["ok"]
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["first", "second"]
    standin.unlimit_rate()
    assert plain.chat_postMessage(channel=CHANNEL, text="third")["ok"]


# --- recording, concurrency, and the HTTP control API -----------------------------------------


def test_calls_record_method_args_time_and_answer(client: WebClient, standin: SlackStandIn) -> None:
    before = time.time()
    client.chat_postMessage(channel=CHANNEL, text="hi")
    [call] = standin.calls("chat.postMessage")
    assert call.args == {"channel": CHANNEL, "text": "hi"}
    assert before <= call.at <= time.time()
    assert (call.status, call.response["ts"]) == (200, standin.messages(CHANNEL)[0]["ts"])
    standin.reset()
    assert standin.calls() == [] and standin.messages(CHANNEL) == []


def test_concurrent_posts_get_distinct_increasing_ts(
    client: WebClient, standin: SlackStandIn
) -> None:
    threads = [
        threading.Thread(
            target=client.chat_postMessage, kwargs={"channel": CHANNEL, "text": str(i)}
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in standin.messages(CHANNEL)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)


def test_wait_for_blocks_until_the_call_arrives(client: WebClient, standin: SlackStandIn) -> None:
    later = threading.Timer(0.2, client.chat_postMessage, kwargs={"channel": CHANNEL, "text": "x"})
    later.start()
    [call] = standin.wait_for("chat.postMessage", timeout=5)
    assert call.args["text"] == "x"
    with pytest.raises(TimeoutError):
        standin.wait_for("views.open", timeout=0.1)


def test_remote_inspection_over_http(running: RunningStandIn, client: WebClient) -> None:
    remote = StandInRemote(running.api_url)
    waiting: list[Any] = []
    waiter = threading.Thread(target=lambda: waiting.extend(remote.wait_for("views.open")))
    waiter.start()  # a long poll on one server thread while others answer
    view_id = client.views_open(trigger_id=remote.new_trigger_id(), view=modal())["view"]["id"]
    waiter.join(timeout=5)
    assert [c.method for c in waiting] == ["views.open"]
    client.chat_postMessage(channel=CHANNEL, text="hello")
    assert [m["text"] for m in remote.messages(CHANNEL)] == ["hello"]
    assert [c.method for c in remote.calls()] == ["views.open", "chat.postMessage"]
    assert [v["id"] for v in remote.views()] == [view_id]
    assert remote.view("V0MISSING") is None
    remote.fail_next("chat.postMessage", error="channel_not_found")
    assert error_of(client.chat_postMessage, channel=CHANNEL, text="x") == ("channel_not_found")
    assert [v["id"] for v in remote.close_view(view_id)] == [view_id]
    remote.reset()
    assert remote.calls() == []


def test_response_urls_are_recorded(running: RunningStandIn) -> None:
    url = running.response_url()
    body = json.dumps({"response_type": "ephemeral", "text": "Working on it"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read()) == {"ok": True}
    [call] = running.standin.calls("response_url")
    assert call.args["text"] == "Working on it"


@given(st.text(), st.booleans())
def test_form_and_json_requests_parse_to_the_same_args(text: str, broadcast: bool) -> None:
    args = {"channel": CHANNEL, "text": text, "reply_broadcast": broadcast}
    form = urllib.parse.urlencode({**args, "reply_broadcast": "1" if broadcast else "0"})
    from_form, form_token = parse_api_request(
        content_type="application/x-www-form-urlencoded",
        body=(form + "&token=xoxb-t").encode(),
        query="",
        authorization=None,
    )
    from_json, json_token = parse_api_request(
        content_type="application/json;charset=utf-8",
        body=json.dumps(args).encode(),
        query="",
        authorization="Bearer xoxb-t",
    )
    assert form_token == json_token == "xoxb-t"
    assert from_form["text"] == from_json["text"] == text
