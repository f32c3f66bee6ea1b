"""Slack's `ssl_check` over HTTP: an empty 200, signed or not, as Bolt answers it, acting on
nothing else in the request; every other request keeps the gate's checks."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest
from sqlalchemy import select

from bot.slack.gate import SSL_CHECK_MAX
from bot.storage.orm import Base
from sandbox.slack_client import FORM, JSON, Delivery, signed_headers
from tests.slack.conftest import CHANNEL, OWNER, SECRET, World

TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"  # a verification token, as Slack sends it
SSL_CHECK = f"ssl_check=1&token={TOKEN}"
COMMAND = {
    "command": "/private-endpoint",
    "text": "create orders",
    "user_id": OWNER,
    "channel_id": CHANNEL,
    "team_id": "T0001",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
}


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    with world.sessions() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table)).all()]
            for table in Base.metadata.sorted_tables
        }


def bolt_answer(body: str, *, signed: bool) -> tuple[int, str]:
    """What a plain Bolt app with the same signing secret answers to the same request."""
    app = App(
        token="xoxb-not-used",
        signing_secret=SECRET,
        token_verification_enabled=False,
        request_verification_enabled=True,
    )
    headers: dict[str, str] = {"content-type": FORM}
    if signed:
        headers |= signed_headers(SECRET, body.encode(), timestamp=int(time.time()))
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    return response.status, response.body


@pytest.mark.parametrize("delivery", [Delivery.unsigned(), Delivery(), Delivery.forged()])
def test_ssl_check_gets_an_empty_200_signed_or_not(world: World, delivery: Delivery) -> None:
    before, calls = snapshot(world), len(world.slack.standin.calls())
    answer = world.client.post(SSL_CHECK, content_type=FORM, delivery=delivery)
    assert (answer.status, answer.text) == (200, "")
    assert (answer.status, answer.text) == bolt_answer(SSL_CHECK, signed=delivery.signed)
    assert snapshot(world) == before
    assert len(world.slack.standin.calls()) == calls


@pytest.mark.parametrize("delivery", [Delivery.unsigned(), Delivery()])
def test_an_ssl_check_carrying_a_command_acts_on_nothing(world: World, delivery: Delivery) -> None:
    """Bolt answers an ssl_check before any listener; so a command riding along opens no
    modal, writes no row and makes no member."""
    body = urlencode({"ssl_check": "1", "token": TOKEN, **COMMAND})
    before = snapshot(world)
    answer = world.client.post(body, content_type=FORM, delivery=delivery)
    assert (answer.status, answer.text) == (200, "") == bolt_answer(body, signed=delivery.signed)
    time.sleep(0.5)  # anything done after an ack would have started by now
    assert world.slack.standin.calls("views.open") == []
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "body",
    [
        f"ssl_check=0&token={TOKEN}",
        f"ssl_check=true&token={TOKEN}",
        f"ssl_check=1&ssl_check=0&token={TOKEN}",  # Bolt reads the last value of a field
        f"token={TOKEN}",
        urlencode(COMMAND),
        "",
    ],
)
def test_anything_else_unsigned_is_refused_as_bolt_would(world: World, body: str) -> None:
    answer = world.client.post(body, content_type=FORM, delivery=Delivery.unsigned())
    assert answer.status == 401
    assert bolt_answer(body, signed=False)[0] == 401


def test_a_repeated_field_is_read_as_bolt_reads_it(world: World) -> None:
    body = f"ssl_check=0&ssl_check=1&token={TOKEN}"
    answer = world.client.post(body, content_type=FORM, delivery=Delivery.unsigned())
    assert (answer.status, answer.text) == (200, "") == bolt_answer(body, signed=False)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"ssl_check": "1", "token": "x"}', JSON),  # Slack sends it as a form, never JSON
        ('{"ssl_check": "1"}', FORM),
        ("payload=%7B%7D&ssl_check=1", FORM),
        (SSL_CHECK + "&padding=" + "x" * SSL_CHECK_MAX, FORM),  # Slack's is a few dozen bytes
    ],
)
def test_what_only_looks_like_an_ssl_check_keeps_the_signature_check(
    world: World, body: str, content_type: str
) -> None:
    answer = world.client.post(body, content_type=content_type, delivery=Delivery.unsigned())
    assert answer.status == 401


def test_an_ssl_check_by_get_is_not_answered(world: World) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{world.url}/slack/events?{SSL_CHECK}", method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405


def test_an_ssl_check_is_not_counted_as_refused(world: World) -> None:
    import urllib.request

    def refused_total() -> float:
        with urllib.request.urlopen(world.url + "/metrics", timeout=10) as metrics:
            lines = metrics.read().decode().splitlines()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith("privatelink_http_refused_total{")
        )

    before = refused_total()
    assert (
        world.client.post(SSL_CHECK, content_type=FORM, delivery=Delivery.unsigned()).status == 200
    )
    assert refused_total() == before
    assert world.client.post("x=1", content_type=FORM, delivery=Delivery.unsigned()).status == 401
    assert refused_total() == before + 1
