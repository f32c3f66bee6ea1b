"""The channel messages of a private endpoint: content, Retry button, and Block Kit limits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.connection import Client, connection_strings
from bot.domain.states import EndpointStatus, Stage
from bot.notices.endpoint import EndpointSnapshot
from bot.slack.ids import ActionId, BlockId
from bot.slack.metadata import EndpointRef
from bot.slack.views.alerts import escape_keeping_mentions, parent_message, thread_reply
from sandbox.slack.blockkit import MESSAGE_BLOCKS_MAX, blocks_errors

HOST = "orders.us-west-2.privatelink.example.com"


def snapshot(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 12,
        "project_id": 1,
        "cluster": "orders",
        "region": "us-west-2",
        "host": HOST,
        "port": 4000,
        "status": "initiating",
        "stage": "accept_endpoint_connection",
        "vpc_id": "vpc-0123456789abcdef0",
        "vpce_id": "vpce-0123456789abcdef0",
        "failure_reason": None,
        "created_by": "U0OWNER1",
    }
    return base | changes


def assert_valid(message: dict[str, Any]) -> None:
    """Both slack_sdk's models and the stand-in's checks accept the message."""
    assert message["text"]
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MESSAGE_BLOCKS_MAX
    assert blocks_errors(blocks, pointer="/blocks", limit=MESSAGE_BLOCKS_MAX) == []
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises SlackObjectFormationError beyond a limit


def texts(value: Any) -> list[str]:
    """Every text object's text, depth first."""
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        return found + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


def all_text(message: dict[str, Any]) -> str:
    return "\n".join(texts(message["blocks"]))


@pytest.mark.parametrize("status", list(EndpointStatus))
def test_parent_message_names_the_endpoint_and_its_status(status: EndpointStatus) -> None:
    message = parent_message(snapshot(status=status.value, failure_reason="AZ not supported"))
    assert_valid(message)
    shown = all_text(message)
    assert message["blocks"][0]["type"] == "header"
    assert "Private endpoint #12 · orders · us-west-2" in shown
    assert "vpce-0123456789abcdef0" in shown
    assert "<@U0OWNER1>" in shown
    assert status.value.replace("_", " ").capitalize() in shown
    assert "#12" in message["text"]


def test_parent_shows_emoji_per_status_and_the_failure_reason() -> None:
    active = all_text(parent_message(snapshot(status="active")))
    failed = all_text(parent_message(snapshot(status="failed", failure_reason="DNS conflict")))
    assert ":large_green_circle: Active" in active
    assert ":red_circle: Failed" in failed and "DNS conflict" in failed


def test_parent_of_a_deleted_endpoint_says_so() -> None:
    message = parent_message(snapshot(status="deleted"))
    assert_valid(message)
    assert message["text"].endswith("deleted")
    assert "was deleted" in all_text(message)


def test_parent_before_a_vpc_is_given() -> None:
    message = parent_message(snapshot(status="not_configured", vpc_id=None, vpce_id=None))
    assert_valid(message)
    assert "—" in all_text(message)


def test_plain_reply_is_the_change_line() -> None:
    text = "<@U0OWNER1> gave VPC vpc-0123456789abcdef0: not_configured → initiating"
    message = thread_reply(text=text, snapshot=snapshot())
    assert_valid(message)
    assert message["text"] == text
    assert len(message["blocks"]) == 1


def test_active_reply_carries_every_connection_string() -> None:
    message = thread_reply(text="The bot saw it", snapshot=snapshot(status="active"))
    assert_valid(message)
    shown = all_text(message)
    for client in Client:
        assert f"*{client.label}*" in shown
    for item in connection_strings(host=HOST, port=4000):
        assert item.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in shown
    assert f"{HOST}:4000" in message["text"]


def test_active_reply_with_an_unusable_host_says_why() -> None:
    message = thread_reply(text="x", snapshot=snapshot(status="active", host="not a host"))
    assert_valid(message)
    assert "Connection strings unavailable" in all_text(message)


def test_failed_reply_carries_the_reason_and_a_retry_button() -> None:
    message = thread_reply(
        text="The bot reports a failure",
        snapshot=snapshot(status="failed", failure_reason="The subnet's AZ is not supported"),
    )
    assert_valid(message)
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(actions) == 1 and actions[0]["block_id"] == BlockId.FAILED_ACTIONS
    (retry,) = actions[0]["elements"]
    assert retry["action_id"] == ActionId.RETRY
    assert EndpointRef.model_validate_json(retry["value"]) == EndpointRef(endpoint_id=12)
    assert "AZ is not supported" in all_text(message) and "AZ is not supported" in message["text"]


def test_text_is_escaped_but_mentions_are_kept() -> None:
    assert escape_keeping_mentions("<@U0OWNER1> said <b> & <@W123ABC>") == (
        "<@U0OWNER1> said &lt;b&gt; &amp; <@W123ABC>"
    )
    message = parent_message(snapshot(status="failed", failure_reason="<!channel> & co"))
    assert "<!channel>" not in all_text(message)


def test_snapshot_model_is_what_changes_writes() -> None:
    model = EndpointSnapshot.model_validate(snapshot())
    assert model.status is EndpointStatus.INITIATING
    assert model.stage is Stage.ACCEPT_ENDPOINT_CONNECTION
    assert parent_message(model) == parent_message(snapshot())


@given(
    reason=st.text(min_size=1, max_size=6000),
    line=st.text(min_size=1, max_size=5000),
    cluster=st.text(min_size=1, max_size=300),
    status=st.sampled_from(list(EndpointStatus)),
)
def test_any_text_stays_within_block_kit_limits(
    reason: str, line: str, cluster: str, status: EndpointStatus
) -> None:
    data = snapshot(status=status.value, failure_reason=reason, cluster=cluster)
    assert_valid(parent_message(data))
    assert_valid(thread_reply(text=line, snapshot=data))
