"""The stand-in's Socket Mode: RFC 6455 framing and apps.connections.open's token check."""

from __future__ import annotations

import io
import os

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.socket_link import PING, TEXT, accept_key, frame, read_frame
from sandbox.slack_api import DEFAULT_TOKEN, SlackStandIn, start


def test_handshake_answer_is_rfc_6455s_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def masked(opcode: int, payload: bytes) -> bytes:
    """A frame as a client sends it: the server's frame with a mask applied."""
    plain = frame(opcode, payload)
    header_size = len(plain) - len(payload)
    mask = os.urandom(4)
    head = bytes([plain[0], plain[1] | 0x80]) + plain[2:header_size] + mask
    return head + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536])
def test_frames_round_trip_at_every_length_encoding(size: int) -> None:
    payload = os.urandom(size)
    stream = io.BytesIO(frame(TEXT, payload) + masked(PING, payload))
    assert read_frame(stream) == (TEXT, payload)
    assert read_frame(stream) == (PING, payload)
    assert read_frame(stream) is None


def test_only_an_app_token_opens_a_connection() -> None:
    api_url, running = start(SlackStandIn())
    try:
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=DEFAULT_TOKEN, base_url=api_url).apps_connections_open(
                app_token=DEFAULT_TOKEN
            )
        assert refused.value.response["error"] == "not_allowed_token_type"
        opened = WebClient(base_url=api_url).apps_connections_open(app_token="xapp-1-A1-1-ab")
        assert str(opened["url"]).startswith("ws://127.0.0.1:")
    finally:
        running.stop()
