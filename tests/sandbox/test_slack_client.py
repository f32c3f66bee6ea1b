"""The signed test client and payload builders: checked by slack_sdk's verifier and by Bolt."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, parse_qsl

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from werkzeug.serving import make_server

from sandbox.slack_api import DEFAULT_TOKEN, TEAM_ID, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import (
    Delivery,
    SlackRequestClient,
    app_home_opened_payload,
    block_actions_payload,
    element_action,
    interactivity_body,
    sign,
    slash_command_body,
    state_values,
    view_closed_payload,
    view_submission_payload,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U2147483697"
CHANNEL = "C2147483705"
# The fields of /work/shared/slack-payloads/slash_command.txt, in order.
SLASH_COMMAND_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "enterprise_id",
    "enterprise_name",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]


def wizard(title: str = "Private endpoint") -> dict[str, Any]:
    """A modal with a text input, a select and a button, like the bot's wizard."""
    option = {"text": {"type": "plain_text", "text": "orders"}, "value": "12"}
    return {
        "type": "modal",
        "callback_id": "wizard",
        "notify_on_close": True,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Next"},
        "blocks": [
            {
                "type": "input",
                "block_id": "cluster",
                "label": {"type": "plain_text", "text": "Cluster"},
                "element": {"type": "static_select", "action_id": "value", "options": [option]},
            },
            {
                "type": "input",
                "block_id": "vpc",
                "label": {"type": "plain_text", "text": "VPC ID"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "actions",
                "block_id": "instructions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "toggle",
                        "text": {"type": "plain_text", "text": "Show instruction"},
                        "value": "show",
                    }
                ],
            },
        ],
    }


# --- a capturing endpoint, judged by slack_sdk's own verifier ----------------------------------


@dataclass
class Captured:
    """What the capturing endpoint received."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture()
def capture() -> Iterator[tuple[str, Captured]]:
    captured = Captured()
    verifier = SignatureVerifier(SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            captured.requests.append((headers, body))
            ok = verifier.is_valid_request(body, headers)
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", captured
    server.shutdown()
    server.server_close()


def test_sign_agrees_with_slack_sdk() -> None:
    body = b"token=x&text=create%20orders"
    expected = SignatureVerifier(SECRET).generate_signature(timestamp="1531420618", body=body)
    assert sign(SECRET, 1531420618, body) == expected


@pytest.mark.parametrize(
    ("delivery", "status"),
    [
        (Delivery(), 200),
        (Delivery.retry(2, reason="http_timeout"), 200),
        (Delivery.forged(), 401),
        (Delivery.unsigned(), 401),
        (Delivery.stale(), 401),
    ],
)
def test_deliveries_pass_or_fail_the_real_verifier(
    capture: tuple[str, Captured], delivery: Delivery, status: int
) -> None:
    url, captured = capture
    client = SlackRequestClient(url, signing_secret=SECRET)
    answer = client.slash_command("/private-endpoint", "list", user_id=USER, channel_id=CHANNEL)
    assert answer.status == 200  # the default delivery is signed properly
    answer = client.slash_command(
        "/private-endpoint", "list", user_id=USER, channel_id=CHANNEL, delivery=delivery
    )
    assert answer.status == status
    headers, _ = captured.requests[-1]
    assert captured.requests[-1][0]["Host"]
    if delivery.retry_num is not None:
        assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == (
            "2",
            "http_timeout",
        )
    if not delivery.signed:
        assert "X-Slack-Signature" not in headers


def test_request_bodies_have_slacks_encodings(capture: tuple[str, Captured]) -> None:
    url, captured = capture
    client = SlackRequestClient(url, signing_secret=SECRET)
    client.slash_command("/private-endpoint", "create orders", user_id=USER, channel_id=CHANNEL)
    payload = block_actions_payload(
        element_action(wizard()["blocks"], "toggle"), user_id=USER, view=wizard()
    )
    client.send_interaction(payload)
    client.send_event(app_home_opened_payload(user_id=USER))
    (command_headers, command), (action_headers, action), (event_headers, event) = captured.requests
    assert command_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [k for k, _ in parse_qsl(command.decode())] == SLASH_COMMAND_FIELDS
    assert b"text=create%20orders" in command
    assert action_headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(action.decode())
    assert list(fields) == ["payload"]
    assert json.loads(fields["payload"][0]) == payload
    assert event_headers["Content-Type"] == "application/json"
    assert json.loads(event)["event"]["type"] == "app_home_opened"


# --- the pure builders ---------------------------------------------------------------------


def test_slash_command_body_gets_a_fresh_trigger_id_each_time() -> None:
    def trigger() -> str:
        body = slash_command_body("/private-endpoint", "", user_id=USER, channel_id=CHANNEL)
        return parse_qs(body)["trigger_id"][0]

    assert trigger() != trigger()


def test_block_actions_from_a_modal_and_from_a_message() -> None:
    in_view = block_actions_payload(
        element_action(wizard()["blocks"], "toggle"), user_id=USER, view=wizard()
    )
    assert in_view["container"] == {"type": "view", "view_id": in_view["view"]["id"]}
    assert in_view["actions"][0]["value"] == "show"
    assert in_view["actions"][0]["block_id"] == "instructions"
    message = {"type": "message", "ts": "1581528600.000200", "text": "failed", "blocks": []}
    retry = {"action_id": "retry", "block_id": "failed_actions", "type": "button", "value": "7"}
    in_message = block_actions_payload(retry, user_id=USER, channel_id=CHANNEL, message=message)
    assert in_message["container"]["message_ts"] == "1581528600.000200"
    assert in_message["channel"]["id"] == CHANNEL
    assert "response_url" in in_message and "view" not in in_message
    with pytest.raises(ValueError):
        block_actions_payload(retry, user_id=USER)


def test_state_values_answer_inputs_by_block_id() -> None:
    values = state_values(wizard(), {"vpc": "vpc-0a1b2c3d4e5f67890", "cluster": "12"})
    assert values["vpc"] == {
        "value": {"type": "plain_text_input", "value": "vpc-0a1b2c3d4e5f67890"}
    }
    assert values["cluster"]["value"]["selected_option"]["value"] == "12"
    assert state_values(wizard(), {})["vpc"]["value"]["value"] is None  # unanswered, still sent
    with pytest.raises(ValueError):
        state_values(wizard(), {"cluster": "99"})
    with pytest.raises(ValueError):
        state_values(wizard(), {"region": "us-west-2"})


def test_view_payloads_carry_the_view_as_shown() -> None:
    shown = {**wizard(), "id": "V0123456789", "hash": "1581528590.cf5bab7f"}
    submitted = view_submission_payload(shown, state_values(shown, {"vpc": "vpc-1"}), user_id=USER)
    assert submitted["type"] == "view_submission"
    assert (submitted["view"]["id"], submitted["view"]["hash"]) == ("V0123456789", shown["hash"])
    assert submitted["view"]["state"]["values"]["vpc"]["value"]["value"] == "vpc-1"
    assert submitted["user"]["team_id"] == TEAM_ID
    closed = view_closed_payload(shown, user_id=USER)
    assert (closed["type"], closed["is_cleared"]) == ("view_closed", False)
    assert interactivity_body(closed).startswith("payload=%7B")


# --- a real Bolt app, talking to the stand-in ------------------------------------------------


def bolt_app(api_url: str) -> App:
    """A tiny Bolt app in the bot's shape: ack first, then call the Web API."""
    app = App(client=WebClient(token=DEFAULT_TOKEN, base_url=api_url), signing_secret=SECRET)

    @app.command("/private-endpoint")
    def command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=wizard())

    @app.action("toggle")
    def toggle(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body["view"]
        client.views_update(view_id=view["id"], hash=view["hash"], view=wizard("Instructions"))

    @app.view("wizard")
    def submit(ack: Any, view: dict[str, Any]) -> None:
        vpc = view["state"]["values"]["vpc"]["value"]["value"] or ""
        if not vpc.startswith("vpc-"):
            ack(response_action="errors", errors={"vpc": "A VPC ID starts with vpc-"})
        else:
            ack(response_action="update", view=wizard("Interface endpoint"))

    @app.view_closed("wizard")
    def closed(ack: Any) -> None:
        ack()

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    return app


@pytest.fixture()
def slack() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn())
    yield running
    running.stop()


@pytest.fixture()
def bot(slack: RunningStandIn) -> Iterator[SlackRequestClient]:
    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(bolt_app(slack.api_url)), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield SlackRequestClient(f"http://127.0.0.1:{server.server_port}", signing_secret=SECRET)
    server.shutdown()


def test_bolt_opens_updates_and_replaces_the_modal(
    bot: SlackRequestClient, slack: RunningStandIn
) -> None:
    standin = slack.standin
    answer = bot.slash_command("/private-endpoint", "create", user_id=USER, channel_id=CHANNEL)
    assert (answer.status, answer.body) == (200, "")
    [opened] = standin.wait_for("views.open")
    assert opened.ok, opened.response
    view = cast(dict[str, Any], standin.view(opened.response["view"]["id"]))

    toggle = element_action(view["blocks"], "toggle")
    assert (
        bot.send_interaction(block_actions_payload(toggle, user_id=USER, view=view)).status == 200
    )
    [updated] = standin.wait_for("views.update")
    assert updated.ok, updated.response
    view = cast(dict[str, Any], standin.view(view["id"]))
    assert view["title"]["text"] == "Instructions"

    wrong = view_submission_payload(view, state_values(view, {"vpc": "subnet-1"}), user_id=USER)
    refused = bot.send_interaction(wrong).json()
    assert refused == {"response_action": "errors", "errors": {"vpc": "A VPC ID starts with vpc-"}}
    right = view_submission_payload(view, state_values(view, {"vpc": "vpc-1"}), user_id=USER)
    accepted = bot.send_interaction(right).json()
    assert accepted["response_action"] == "update"
    shown = standin.apply_view_response(view["id"], accepted)
    assert shown is not None and shown["title"]["text"] == "Interface endpoint"

    standin.close_view(view["id"])
    assert bot.send_interaction(view_closed_payload(view, user_id=USER)).status == 200


def test_bolt_publishes_app_home(bot: SlackRequestClient, slack: RunningStandIn) -> None:
    assert bot.send_event(app_home_opened_payload(user_id=USER)).status == 200
    [published] = slack.standin.wait_for("views.publish")
    assert published.ok
    assert slack.standin.home_view(USER) is not None


@pytest.mark.parametrize("delivery", [Delivery.forged(), Delivery.unsigned(), Delivery.stale()])
def test_bolt_refuses_requests_slack_did_not_sign(
    bot: SlackRequestClient, slack: RunningStandIn, delivery: Delivery
) -> None:
    answer = bot.slash_command(
        "/private-endpoint", "create", user_id=USER, channel_id=CHANNEL, delivery=delivery
    )
    assert answer.status == 401
    assert slack.standin.calls("views.open") == []
