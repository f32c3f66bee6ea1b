"""What an after-ack half gets (`bot.slack.dispatch.SharedReading`): the request as read, a
context of its own with every value the ack left, an `ack` of its own; never Bolt's deep copy
of a request the gate read, which Socket Mode's requests still get."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_bolt.listener import thread_runner
from slack_sdk import WebClient

from bot.slack.dispatch import ReadRequest, SharedReading
from bot.slack.gate import parse
from sandbox.slack.server import RunningStandIn
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import FORM, signed_headers
from tests.slack.conftest import CHANNEL, OWNER, SECRET, World

COMMAND = {
    "command": "/private-endpoint",
    "text": "create orders",
    "user_id": OWNER,
    "channel_id": CHANNEL,
    "team_id": "T0001",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
}
LEFT_BY_ACK = "left by the ack"
WAIT_SECONDS = 5.0


class Halves:
    """A Bolt app configured as the bot's, whose one command records what each half saw."""

    def __init__(self, slack: RunningStandIn) -> None:
        self.app = App(
            signing_secret=SECRET,
            client=WebClient(token=DEFAULT_TOKEN, base_url=slack.api_url),
            process_before_response=True,
        )
        SharedReading.put_in(self.app)
        self.ack_saw: dict[str, Any] = {}
        self.later_saw: dict[str, Any] = {}
        self.done = threading.Event()
        self.app.command("/private-endpoint")(ack=self.first, lazy=[self.later])

    def first(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        context[LEFT_BY_ACK] = {"view": "the wizard"}
        self.ack_saw.update(ack=ack, body=body, context=context)
        ack()

    def later(
        self, ack: Ack, body: dict[str, Any], context: BoltContext, request: BoltRequest
    ) -> None:
        self.later_saw.update(ack=ack, body=body, context=context, request=request)
        context["set after the ack"] = True
        self.done.set()

    def send(self, request: BoltRequest) -> int:
        answer = self.app.dispatch(request)
        assert self.done.wait(WAIT_SECONDS), "the after-ack half did not run"
        return answer.status


def refuse_deep_copy(original: Any) -> Any:
    """In place of Bolt's deep copy (`create_copy`), where none may be made."""
    raise AssertionError("Bolt's deep copy of a request the gate read")


def read_request(fields: dict[str, str]) -> ReadRequest:
    """A signed slash command as the gate hands it to Bolt (`bot.slack.dispatch.Dispatch`)."""
    raw = urlencode(fields).encode()
    text, body = parse(raw, FORM)
    headers = signed_headers(SECRET, raw, timestamp=int(time.time()))
    return ReadRequest(raw_body=text, body=body, query="", headers=headers | {"Content-Type": FORM})


def test_the_after_ack_half_shares_the_reading_and_has_a_context_of_its_own(
    standin: RunningStandIn,
) -> None:
    halves = Halves(standin)
    assert halves.send(read_request(COMMAND)) == 200
    ack_saw, later_saw = halves.ack_saw, halves.later_saw
    assert later_saw["body"] is ack_saw["body"]  # read once, not parsed or copied again
    assert later_saw["body"]["text"] == "create orders"
    assert later_saw["request"].lazy_only
    assert later_saw["request"].lazy_function_name == "later"
    assert later_saw["request"].raw_body == urlencode(COMMAND)
    later_context, ack_context = later_saw["context"], ack_saw["context"]
    assert later_context is not ack_context
    assert later_context[LEFT_BY_ACK] == {"view": "the wizard"}  # what the ack left for it
    assert later_context.listener_runner is halves.app.listener_runner
    assert later_context.response_url == COMMAND["response_url"]
    assert later_context.user_id == OWNER and later_context.channel_id == CHANNEL
    assert "set after the ack" not in ack_context  # its own context
    assert later_saw["ack"] is not ack_saw["ack"] and later_saw["ack"].response is None
    assert ack_saw["ack"].response is not None and ack_saw["ack"].response.status == 200


def test_a_read_request_is_never_deep_copied(
    standin: RunningStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thread_runner, "create_copy", refuse_deep_copy)
    halves = Halves(standin)
    assert halves.send(read_request(COMMAND)) == 200
    assert halves.later_saw["body"]["trigger_id"] == COMMAND["trigger_id"]


def test_a_socket_mode_request_is_copied_as_bolt_copies_it(
    standin: RunningStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies: list[Any] = []

    def counted(original: Any) -> Any:
        copies.append(original)
        return copy.deepcopy(original)

    monkeypatch.setattr(thread_runner, "create_copy", counted)
    halves = Halves(standin)
    request = BoltRequest(body=dict(COMMAND), mode="socket_mode")
    assert halves.send(request) == 200
    assert len(copies) == 1
    assert halves.later_saw["body"] == COMMAND
    assert halves.later_saw["body"] is not halves.ack_saw["body"]


def test_the_bots_after_ack_halves_run_without_a_deep_copy(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thread_runner, "create_copy", refuse_deep_copy)
    assert world.person().command("create orders").status == 200
    (opened,) = world.slack.standin.wait_for("views.open", timeout=WAIT_SECONDS)
    assert opened.ok  # the wizard opened by the command's after-ack half
