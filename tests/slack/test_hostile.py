"""Hostile input at the HTTP entry point: malformed, oversized, unsigned and forged requests get
a 4xx (or the user's refusal), never a 5xx or a traceback, and write nothing."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.slack.gate import MAX_BODY
from bot.slack.ids import ActionId, CallbackId
from bot.storage import orm
from bot.storage.orm import Base
from sandbox.slack.payloads import (
    app_home_opened_payload,
    block_actions_payload,
    interactivity_body,
    slash_command_body,
    view_closed_payload,
    view_submission_payload,
)
from sandbox.slack_client import FORM, JSON, Delivery, signed_headers
from tests.slack.conftest import CHANNEL, OWNER, SECRET, World
from tests.slack.test_surfaces import endpoint_at

FOREIGN_TEAM = "T0FOREIGN"
BIG = 2**31  # one past the largest id a 32-bit column holds


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after."""
    with world.sessions() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table)).all()]
            for table in Base.metadata.sorted_tables
        }


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


def command(text: str, **overrides: str | None) -> str:
    """A slash command body, with fields replaced or (None) left out."""
    body = slash_command_body("/private-endpoint", text, user_id=OWNER, channel_id=CHANNEL)
    fields = dict(pair.split("=", 1) for pair in body.split("&"))
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = quote(value, safe="")
    return "&".join(f"{k}={v}" for k, v in fields.items())


def button(
    action_id: str,
    value: str,
    *,
    team_id: str = "T0001",
    view: bool = True,
    response_url: str = "https://hooks.slack.com/actions/T0001/1/a",
) -> str:
    action = {"type": "button", "action_id": action_id, "block_id": "b", "value": value}
    if view:
        shown = {"type": "home", "blocks": []}
        payload = block_actions_payload(action, user_id=OWNER, view=shown, team_id=team_id)
    else:
        message = {"ts": "1581528600.000200", "text": "x", "blocks": []}
        payload = block_actions_payload(
            action,
            user_id=OWNER,
            channel_id=CHANNEL,
            message=message,
            team_id=team_id,
            response_url=response_url,
        )
    return interactivity_body(payload)


def wizard_view(metadata: str | None) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []}
    if metadata is not None:
        view["private_metadata"] = metadata
    return view


def submission(metadata: str | None) -> str:
    payload = view_submission_payload(wizard_view(metadata), {}, user_id=OWNER)
    if metadata is None:
        payload["view"].pop("private_metadata")
    return interactivity_body(payload)


META = '{{"project_id":{p},"stage":"{s}","channel_id":"{c}","endpoint_id":{e}}}'

SIGNED_MALFORMED: list[tuple[str, str, str]] = [
    ("edit with an id past 32 bits", FORM, command(f"edit {BIG}")),
    ("terminate with an 18-digit id", FORM, command("terminate 999999999999999999")),
    ("a button naming a huge endpoint", FORM, button(ActionId.EDIT, f'{{"endpoint_id":{BIG}}}')),
    (
        "a button naming a huge service",
        FORM,
        button(ActionId.VERIFY_DNS, f'{{"service_id":{BIG}}}'),
    ),
    (
        "a button naming a huge request",
        FORM,
        button(ActionId.ACCEPT_CONNECTION, f'{{"request_id":{BIG}}}'),
    ),
    ("a button value that is not JSON", FORM, button(ActionId.TERMINATE, "not json")),
    (
        "metadata naming a huge endpoint",
        FORM,
        submission(META.format(p=1, s="interface_endpoint", c=CHANNEL, e=BIG)),
    ),
    (
        "metadata naming a huge project",
        FORM,
        submission(META.format(p=BIG, s="choose_cluster", c=CHANNEL, e="null")),
    ),
    (
        "metadata with a long channel",
        FORM,
        submission(META.format(p=1, s="choose_cluster", c="C" * 200, e="null")),
    ),
    ("no private_metadata", FORM, submission(None)),
    ("private_metadata that is not JSON", FORM, submission("{")),
    ("a user id longer than its column", FORM, command("list", user_id="U" * 40)),
    ("a channel id longer than its column", FORM, command("list", channel_id="C" * 40)),
    ("a team id longer than its column", FORM, command("create", team_id="T" * 40)),
    ("no user_id", FORM, command("list", user_id=None)),
    ("no channel_id", FORM, command("list", channel_id=None)),
    ("no team_id", FORM, command("list", team_id=None)),
    ("a payload that is a JSON list", FORM, "payload=" + quote("[1, 2]")),
    ("a payload that is a JSON string", FORM, "payload=" + quote('"block_actions"')),
    ("a payload that is not JSON", FORM, "payload=%7Bnope"),
    (
        "empty actions",
        FORM,
        "payload="
        + quote(
            json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": OWNER},
                    "team": {"id": "T0001"},
                    "actions": [],
                }
            )
        ),
    ),
    (
        "an action that is not an object",
        FORM,
        "payload="
        + quote(
            json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": OWNER},
                    "team": {"id": "T0001"},
                    "actions": ["x"],
                }
            )
        ),
    ),
    (
        "a view_submission without a view",
        FORM,
        "payload="
        + quote(
            json.dumps({"type": "view_submission", "user": {"id": OWNER}, "team": {"id": "T0001"}})
        ),
    ),
    (
        "a view id longer than its column",
        FORM,
        interactivity_body(
            view_closed_payload(
                {"id": "V" * 80, "type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []},
                user_id=OWNER,
            )
        ),
    ),
    ("a body that is not UTF-8", FORM, "payload=\udcff\udcfe"),
    ("an event that is not JSON", JSON, "{not json"),
    ("an event that is a JSON list", JSON, "[]"),
    (
        "an event without its event",
        JSON,
        json.dumps({"type": "event_callback", "team_id": "T0001"}),
    ),
    (
        "app_home_opened without a user",
        JSON,
        json.dumps(app_home_opened_payload(user_id=OWNER) | {"event": {"type": "app_home_opened"}}),
    ),
    (
        "a response_url that is not Slack's",
        FORM,
        command("list", response_url="http://10.0.0.1/steal"),
    ),
]


@pytest.mark.parametrize(
    ("case", "content_type", "body"), SIGNED_MALFORMED, ids=[c[0] for c in SIGNED_MALFORMED]
)
def test_signed_malformed_requests_get_no_5xx_and_write_nothing(
    world: World, caplog: pytest.LogCaptureFixture, case: str, content_type: str, body: str
) -> None:
    world.person().command("list")  # the project knows its workspace and owner
    before = snapshot(world)
    caplog.set_level(logging.INFO)
    answer = world.client.post(body.encode("utf-8", "surrogateescape"), content_type=content_type)
    assert answer.status < 500, (case, answer.status, answer.text)
    if answer.status == 200 and answer.text.strip().startswith("{"):
        assert "Traceback" not in answer.text
    assert snapshot(world) == before, case
    no_traceback(caplog)


def test_a_huge_id_is_told_as_not_found(world: World) -> None:
    answer = world.person().command(f"edit {BIG}")
    assert f"There is no private endpoint #{BIG}" in answer.text


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("no headers", {}),
        (
            "a text timestamp",
            {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64},
        ),
        (
            "a signature that is not hex",
            {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=zz"},
        ),
        (
            "a huge timestamp",
            {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=" + "0" * 64},
        ),
    ],
)
def test_unsigned_requests_get_401_before_any_parse(
    world: World, caplog: pytest.LogCaptureFixture, case: str, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG)
    before = snapshot(world)
    for body in (b"payload=%7Bnope", b"\xff\xfe", command("list").encode()):
        status = raw_post(world, body, headers)
        assert status == 401, case
    assert snapshot(world) == before
    no_traceback(caplog)
    assert len(caplog.text) < 2000  # refused requests are counted, not logged one by one


def test_forged_and_stale_signatures_get_401(world: World) -> None:
    body = command("create")
    for delivery in (Delivery.forged(), Delivery.unsigned(), Delivery.stale()):
        assert world.client.post(body, content_type=FORM, delivery=delivery).status == 401


def test_a_large_body_is_refused_with_413_unread(world: World) -> None:
    body = b"payload=" + b"x" * (MAX_BODY + 1)
    headers = signed_headers(SECRET, body, timestamp=int(time.time()))
    assert raw_post(world, body, headers) == 413
    declared = {"Content-Length": str(200 * 1024 * 1024)}
    assert raw_post(world, b"x" * 10, headers | declared, length_lie=True) == 413


def test_only_post_reaches_the_slack_path(world: World) -> None:
    import urllib.error
    import urllib.request

    for method, path in (("GET", "/slack/events"), ("POST", "/elsewhere")):
        request = urllib.request.Request(world.url + path, method=method, data=None)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code in (404, 405)


def raw_post(
    world: World, body: bytes, headers: dict[str, str], *, length_lie: bool = False
) -> int:
    """POST `body` over a plain socket (headers as given; Content-Length may lie); the status."""
    host, port = world.url.removeprefix("http://").split(":")
    lines = ["POST /slack/events HTTP/1.1", f"Host: {host}", f"Content-Type: {FORM}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if not length_lie:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = connection.recv(256)
    return int(answer.split(b" ", 2)[1])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
INTERACTIONS = st.builds(
    lambda kind, actions, view, extra: interactivity_body(
        {
            "type": kind,
            "user": {"id": OWNER},
            "team": {"id": "T0001"},
            "actions": actions,
            "view": view,
            **extra,
        }
    ).encode(),
    st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut"]),
    JSON_VALUES,
    JSON_VALUES
    | st.fixed_dictionaries({"id": st.just("V0FUZZ"), "private_metadata": st.text(max_size=40)}),
    st.dictionaries(
        st.sampled_from(["trigger_id", "channel", "response_url", "command"]),
        JSON_VALUES,
        max_size=2,
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
            lambda d: ("payload=" + quote(json.dumps(d))).encode()
        ),
        INTERACTIONS,
        INTERACTIONS,
    ),
    content_type=st.sampled_from([FORM, FORM, JSON, "text/plain", ""]),
)
def test_signed_fuzzed_bodies_never_get_a_5xx_or_write(
    world: World, body: bytes, content_type: str
) -> None:
    before = snapshot(world)
    headers = signed_headers(SECRET, body, timestamp=int(time.time()))
    headers |= {"Content-Type": content_type} if content_type else {}
    assert raw_post(world, body, headers) < 500
    assert snapshot(world) == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=300) | INTERACTIONS)
def test_unsigned_fuzzed_bodies_get_401(world: World, body: bytes) -> None:
    assert raw_post(world, body, {"Content-Type": FORM}) == 401


def test_many_idle_connections_do_not_stop_service(world: World) -> None:
    host, port = world.url.removeprefix("http://").split(":")
    idle = []
    try:
        for _ in range(150):  # waitress's default allowed 100 connections at most
            connection = socket.create_connection((host, int(port)), timeout=5)
            connection.sendall(b"POST /slack/events HTTP/1.1\r\n")
            idle.append(connection)
        started = time.monotonic()
        answer = world.person().command("help")
        assert "private-endpoint" in answer.text
        assert time.monotonic() - started < 3
    finally:
        for connection in idle:
            connection.close()


# --- forged payloads -------------------------------------------------------------------------


def test_a_forged_team_cannot_verify_another_workspaces_dns(world: World) -> None:
    endpoint_at(world, "dns")  # the owner used the bot: the project knows its workspace
    with world.sessions() as session:
        service_id = session.scalars(select(orm.EndpointService.id)).one()
    before = snapshot(world)
    value = json.dumps({"service_id": service_id})
    answer = world.client.post(
        button(
            ActionId.VERIFY_DNS,
            value,
            team_id=FOREIGN_TEAM,
            view=False,
            response_url=world.slack.response_url(),
        ),
        content_type=FORM,
    )
    assert answer.status == 200
    responses = world.slack.standin.wait_for("response_url", count=1)
    assert "another Slack workspace" in json.dumps(responses[-1].args)
    assert snapshot(world) == before  # no Verify now request for the worker to carry out


def test_buttons_with_a_foreign_team_change_nothing(world: World) -> None:
    endpoint_id = endpoint_at(world, "interface")
    before = snapshot(world)
    opened = len(world.slack.standin.calls("views.open"))
    value = json.dumps({"endpoint_id": endpoint_id})
    for action in (ActionId.TERMINATE, ActionId.EDIT, ActionId.RETRY):
        answer = world.client.post(button(action, value, team_id=FOREIGN_TEAM), content_type=FORM)
        assert answer.status == 200
    # each lazy half is done once it has opened its refusal for the clicker
    refusals = world.slack.standin.wait_for("views.open", count=opened + 3)[opened:]
    assert all("another Slack workspace" in json.dumps(call.args) for call in refusals)
    assert snapshot(world) == before


def test_closing_a_modal_that_names_someone_elses_endpoint_keeps_their_view(world: World) -> None:
    endpoint_id = endpoint_at(world, "interface")
    with world.sessions() as session:
        kept = session.get(orm.PrivateEndpoint, endpoint_id)
        assert kept is not None and kept.view_id
        view_id = kept.view_id
    metadata = META.format(p=1, s="interface_endpoint", c=CHANNEL, e=endpoint_id)
    forged = view_closed_payload(
        {
            "type": "modal",
            "callback_id": CallbackId.WIZARD,
            "blocks": [],
            "private_metadata": metadata,
        },
        user_id="U0STRANGER",
    )
    assert world.client.send_interaction(forged).status == 200
    time.sleep(0.5)  # the close's work is done after the ack, and leaves nothing to wait for
    with world.sessions() as session:
        still = session.get(orm.PrivateEndpoint, endpoint_id)
        assert still is not None and still.view_id == view_id
    genuine = view_closed_payload(  # the control: the owner's own close does forget it
        {"id": view_id, "type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []}
        | {"private_metadata": metadata},
        user_id=OWNER,
    )
    assert world.client.send_interaction(genuine).status == 200
    deadline = time.monotonic() + 5
    while True:
        with world.sessions() as session:
            row = session.get(orm.PrivateEndpoint, endpoint_id)
            if row is not None and row.view_id is None:
                break
        assert time.monotonic() < deadline, "the owner's close was not applied"
        time.sleep(0.05)


def test_show_instructions_on_a_foreign_endpoint_updates_no_modal(world: World) -> None:
    endpoint_id = endpoint_at(world, "accept")
    with world.sessions() as session:
        victim = session.get(orm.PrivateEndpoint, endpoint_id)
        assert victim is not None and victim.view_id
        view_id = victim.view_id
    updates = len(world.slack.standin.calls("views.update"))
    metadata = META.format(p=1, s="accept_endpoint_connection", c=CHANNEL, e=endpoint_id)
    action = {"type": "button", "action_id": ActionId.TOGGLE_INSTRUCTIONS, "block_id": "b"}
    view = {"id": view_id, "type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []}
    for user, team in (("U0STRANGER", "T0001"), (OWNER, FOREIGN_TEAM)):
        forged = block_actions_payload(
            action, user_id=user, team_id=team, view=view | {"private_metadata": metadata}
        )
        assert world.client.send_interaction(forged).status == 200
    genuine = block_actions_payload(  # the control: the owner's own click does update it
        action, user_id=OWNER, view=view | {"private_metadata": metadata}
    )
    assert world.client.send_interaction(genuine).status == 200
    world.slack.standin.wait_for("views.update", count=updates + 1)
    time.sleep(0.3)  # a forged update, had there been one, would have come by now as well
    assert len(world.slack.standin.calls("views.update")) == updates + 1


def test_a_refused_command_does_not_make_a_member(world: World) -> None:
    stranger = world.person(user_id="U0STRANGER")
    answer = stranger.command("create")
    assert "Only owners" in answer.text
    with world.sessions() as session:
        members = session.scalars(select(orm.ProjectMember.user_id)).all()
    assert "U0STRANGER" not in members


# --- the database down -----------------------------------------------------------------------


@pytest.fixture
def without_database(standin: Any) -> Any:
    """The bot served with a database nobody answers for (loopback, a closed port)."""
    from bot.config import Settings
    from bot.server import assemble, http_in_background
    from sandbox.slack_api import DEFAULT_TOKEN

    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=standin.api_url,
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/none",  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield url
    bot.engine.dispose()


def test_while_the_database_is_down_users_are_told_and_metrics_answer(
    without_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    import urllib.request

    from sandbox.slack_client import SlackRequestClient

    client = SlackRequestClient(without_database, signing_secret=SECRET)
    answer = client.post(command("list"), content_type=FORM)
    assert answer.status == 200 and "cannot reach its database" in answer.text
    submitted = client.post(
        submission(META.format(p=1, s="choose_cluster", c=CHANNEL, e="null")), content_type=FORM
    )
    assert submitted.status == 200 and "cannot reach its database" in submitted.text
    with urllib.request.urlopen(without_database + "/metrics", timeout=10) as metrics:
        text = metrics.read().decode()
    assert metrics.status == 200 and "privatelink_database_up 0" in text
    assert "privatelink_http_refused_total" in text
    no_traceback(caplog)
