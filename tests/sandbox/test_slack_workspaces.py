"""Two workspaces in one stand-in: each call answered from its token's workspace and recorded
with token and team, revoked and unknown tokens refused, the same ids kept apart; in process,
over the remote client, and with a Bolt app that serves both workspaces."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from werkzeug.serving import make_server

from sandbox.slack_api import (
    BOT_USER_ID,
    DEFAULT_TOKEN,
    TEAM_ID,
    RunningStandIn,
    SlackStandIn,
    StandInError,
    StandInRemote,
    TeamIdentity,
    start,
)
from sandbox.slack_client import (
    SlackRequestClient,
    app_uninstalled_payload,
    block_actions_payload,
    event_callback,
    member_joined_channel_payload,
    slash_command_body,
    tokens_revoked_payload,
)

B = "T0002"
CHANNEL = "C0SAME"  # the same channel id in both workspaces
SECRET = "workspaces-signing-secret"


@pytest.fixture
def running() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn())
    with running:
        yield running


@pytest.fixture
def token_b(running: RunningStandIn) -> str:
    running.standin.add_workspace(B, name="Bee Corp", domain="bee")
    return running.standin.install(B)


def web(running: RunningStandIn, token: str) -> WebClient:
    return WebClient(token=token, base_url=running.api_url)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def test_the_same_channel_id_in_two_workspaces_stays_apart(
    running: RunningStandIn, token_b: str
) -> None:
    a, b = web(running, DEFAULT_TOKEN), web(running, token_b)
    a.chat_postMessage(channel=CHANNEL, text="from A")
    posted = b.chat_postMessage(channel=CHANNEL, text="from B")

    standin = running.standin
    assert [m["text"] for m in standin.messages(CHANNEL)] == ["from A"]
    assert [m["text"] for m in standin.messages(CHANNEL, team=B)] == ["from B"]
    assert [m["text"] for m in b.conversations_history(channel=CHANNEL)["messages"]] == ["from B"]
    shown = standin.message(CHANNEL, posted["ts"], team=B)
    assert shown is not None
    assert (shown["team"], shown["user"], shown["bot_id"]) == (B, "U0002BOT", "B0002")
    assert standin.message(CHANNEL, posted["ts"]) is None
    assert b.conversations_info(channel=CHANNEL)["channel"]["context_team_id"] == B
    assert b.users_info(user="U0002X")["user"]["team_id"] == B


def test_auth_test_answers_for_the_tokens_workspace(running: RunningStandIn, token_b: str) -> None:
    a, b = web(running, DEFAULT_TOKEN).auth_test(), web(running, token_b).auth_test()

    assert (a["team_id"], a["user_id"], a["bot_id"]) == (TEAM_ID, BOT_USER_ID, "B0001")
    assert (b["team_id"], b["team"], b["user_id"], b["bot_id"], b["url"]) == (
        B,
        "Bee Corp",
        "U0002BOT",
        "B0002",
        "https://bee.slack.com/",
    )
    assert running.standin.team(B) == TeamIdentity(B, "Bee Corp", "bee", "U0002BOT", "B0002")
    assert [t.id for t in running.standin.teams()] == [TEAM_ID, B]


def test_every_call_records_its_token_and_workspace(running: RunningStandIn, token_b: str) -> None:
    web(running, DEFAULT_TOKEN).chat_postMessage(channel=CHANNEL, text="a")
    web(running, token_b).chat_postMessage(channel=CHANNEL, text="b")
    web(running, token_b).auth_test()

    standin = running.standin
    assert [(c.method, c.token) for c in standin.calls(team=B)] == [
        ("chat.postMessage", token_b),
        ("auth.test", token_b),
    ]
    assert [c.token for c in standin.calls(team=TEAM_ID)] == [DEFAULT_TOKEN]
    assert len(standin.calls("chat.postMessage")) == 2
    assert [c.args["text"] for c in standin.wait_for("chat.postMessage", team=B)] == ["b"]
    with pytest.raises(TimeoutError):
        standin.wait_for("auth.test", team=TEAM_ID, timeout=0.1)


def test_a_response_url_belongs_to_its_workspace(running: RunningStandIn, token_b: str) -> None:
    request = urllib.request.Request(
        running.response_url(team=B), data=b'{"text": "done"}', method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    hooked = running.standin.calls("response_url", team=B)
    assert [(c.args["text"], c.token) for c in hooked] == [("done", None)]
    assert running.standin.calls("response_url", team=TEAM_ID) == []


def test_unknown_and_revoked_tokens_are_refused(running: RunningStandIn, token_b: str) -> None:
    assert error_of(web(running, "xoxb-nobody").auth_test) == "invalid_auth"
    assert running.standin.revoke_tokens(B) == [token_b]

    assert error_of(web(running, token_b).auth_test) == "token_revoked"
    assert web(running, DEFAULT_TOKEN).auth_test()["ok"] is True
    refused = running.standin.calls("auth.test")
    assert [(c.token, c.team, c.response["error"]) for c in refused[:2]] == [
        ("xoxb-nobody", None, "invalid_auth"),
        (token_b, B, "token_revoked"),
    ]
    assert running.standin.tokens(B) == []


def test_the_default_token_can_be_revoked_too(running: RunningStandIn) -> None:
    assert running.standin.revoke_tokens(TEAM_ID) == [DEFAULT_TOKEN]

    assert error_of(web(running, DEFAULT_TOKEN).auth_test) == "token_revoked"


def test_uninstall_revokes_and_takes_the_bot_out_of_every_channel(
    running: RunningStandIn, token_b: str
) -> None:
    web(running, token_b).chat_postMessage(channel=CHANNEL, text="before")

    assert running.standin.uninstall(B) == [token_b]

    assert error_of(web(running, token_b).auth_test) == "token_revoked"
    again = web(running, running.standin.install(B))
    assert error_of(lambda: again.chat_postMessage(channel=CHANNEL, text="x")) == "not_in_channel"
    running.standin.invite_bot(CHANNEL, team=B)
    assert again.chat_postMessage(channel=CHANNEL, text="after")["ok"] is True
    assert web(running, DEFAULT_TOKEN).chat_postMessage(channel=CHANNEL, text="A")["ok"] is True


def test_views_users_and_channels_belong_to_one_workspace(
    running: RunningStandIn, token_b: str
) -> None:
    standin = running.standin
    standin.add_channel("G0PRIV", is_private=True, bot_member=False, team=B)
    standin.add_user("U0002DEL", deleted=True, team=B)
    b = web(running, token_b)

    opened = b.views_open(
        trigger_id=standin.new_trigger_id(team=B),
        view={"type": "modal", "title": {"type": "plain_text", "text": "B"}, "blocks": []},
    )["view"]
    b.views_publish(user_id="U0002X", view={"type": "home", "blocks": []})
    b.chat_postEphemeral(channel=CHANNEL, user="U0002X", text="psst")
    b.chat_postMessage(channel=b.conversations_open(users="U0002X")["channel"]["id"], text="hi")

    assert (opened["team_id"], opened["bot_id"]) == (B, "B0002")
    assert [v["id"] for v in standin.views(team=B)] == [opened["id"]] and standin.views() == []
    assert standin.view(opened["id"]) is None and standin.view(opened["id"], team=B) is not None
    assert standin.home_view("U0002X", team=B) is not None and standin.home_view("U0002X") is None
    assert [e["user"] for e in standin.ephemerals(team=B)] == ["U0002X"]
    assert standin.ephemerals() == []
    assert [m["text"] for m in standin.direct_messages("U0002X", team=B)] == ["hi"]
    assert standin.direct_messages("U0002X") == []
    assert error_of(lambda: b.conversations_info(channel="G0PRIV")) == "channel_not_found"
    assert error_of(lambda: b.conversations_open(users="U0002DEL")) == "user_disabled"
    assert web(running, DEFAULT_TOKEN).conversations_info(channel="G0PRIV")["ok"] is True
    assert standin.close_view(opened["id"], team=B)[0]["id"] == opened["id"]


def test_a_rate_limit_counts_each_workspaces_channel_apart(
    running: RunningStandIn, token_b: str
) -> None:
    running.standin.limit_rate(per_second=0.01, burst=1)
    a, b = web(running, DEFAULT_TOKEN), web(running, token_b)

    assert a.chat_postMessage(channel=CHANNEL, text="1")["ok"] is True
    assert b.chat_postMessage(channel=CHANNEL, text="1")["ok"] is True
    assert error_of(lambda: a.chat_postMessage(channel=CHANNEL, text="2")) == "ratelimited"


def test_workspaces_are_named_once_and_must_exist(running: RunningStandIn, token_b: str) -> None:
    with pytest.raises(ValueError, match="exists already"):
        running.standin.add_workspace(B)
    with pytest.raises(ValueError, match="not a team id"):
        running.standin.add_workspace("team-3")
    with pytest.raises(ValueError, match="no workspace"):
        running.standin.messages(CHANNEL, team="T0404")
    with pytest.raises(ValueError, match="no workspace"):
        running.standin.install("T0404")


def test_reset_leaves_only_the_default_workspace(running: RunningStandIn, token_b: str) -> None:
    running.standin.revoke_tokens(TEAM_ID)
    running.standin.reset()

    assert [t.id for t in running.standin.teams()] == [TEAM_ID]
    assert error_of(web(running, token_b).auth_test) == "invalid_auth"
    assert web(running, DEFAULT_TOKEN).auth_test()["team_id"] == TEAM_ID


def test_the_remote_client_names_the_workspace(running: RunningStandIn) -> None:
    remote = StandInRemote(running.api_url)
    team = remote.add_workspace(B, name="Bee Corp")
    token = remote.install(B)
    remote.add_channel(CHANNEL, name="bees", team=B)
    remote.add_user("U0002X", real_name="Bea", team=B)
    b = web(running, token)
    b.chat_postMessage(channel=CHANNEL, text="buzz")
    b.views_open(
        trigger_id=remote.new_trigger_id(team=B),
        view={"type": "modal", "title": {"type": "plain_text", "text": "B"}, "blocks": []},
    )

    assert team == remote.team(B) == TeamIdentity(B, "Bee Corp", "team-0002", "U0002BOT", "B0002")
    assert [t.id for t in remote.teams()] == [TEAM_ID, B]
    assert remote.tokens(B) == [token]
    assert [m["text"] for m in remote.messages(CHANNEL, team=B)] == ["buzz"]
    assert remote.messages(CHANNEL) == []
    assert b.conversations_info(channel=CHANNEL)["channel"]["name"] == "bees"
    assert b.users_info(user="U0002X")["user"]["real_name"] == "Bea"
    assert [(c.method, c.token, c.team) for c in remote.calls(team=B)][:1] == [
        ("chat.postMessage", token, B)
    ]
    assert [c.team for c in remote.wait_for("views.open", team=B)] == [B]
    view_id = remote.views(team=B)[0]["id"]
    assert remote.view(view_id, team=B) is not None and remote.view(view_id) is None
    assert remote.close_view(view_id, team=B)[0]["id"] == view_id
    remote.invite_bot(CHANNEL, member=False, team=B)
    assert error_of(lambda: b.chat_postMessage(channel=CHANNEL, text="x")) == "not_in_channel"
    assert remote.revoke_tokens(B) == [token]
    assert remote.uninstall(B) == []
    with pytest.raises(StandInError, match="no workspace"):
        remote.messages(CHANNEL, team="T0404")
    remote.reset()
    assert [t.id for t in remote.teams()] == [TEAM_ID]


def test_payloads_speak_for_the_workspace_they_name() -> None:
    body = dict(parse_qsl(slash_command_body("/x", "", user_id="U2", channel_id="C1", team_id=B)))
    joined = member_joined_channel_payload(channel=CHANNEL, team_id=B)
    uninstalled = app_uninstalled_payload(team_id=B)
    revoked = tokens_revoked_payload(team_id=B)

    assert (body["team_id"], body["team_domain"]) == (B, "team-0002")
    assert joined["event"]["user"] == joined["authorizations"][0]["user_id"] == "U0002BOT"
    assert event_callback({"type": "x"})["authorizations"][0]["user_id"] == BOT_USER_ID
    assert (uninstalled["type"], uninstalled["team_id"], uninstalled["event"]) == (
        "event_callback",
        B,
        {"type": "app_uninstalled"},
    )
    assert revoked["event"] == {
        "type": "tokens_revoked",
        "tokens": {"oauth": [], "bot": ["U0002BOT"]},
    }
    assert tokens_revoked_payload(bot=[], oauth=["U1"])["event"]["tokens"] == {
        "oauth": ["U1"],
        "bot": [],
    }
    action = block_actions_payload(
        {"action_id": "a"}, user_id="U2", view={"type": "modal"}, team_id=B
    )
    assert (action["team"], action["view"]["bot_id"]) == ({"id": B, "domain": "team-0002"}, "B0002")


# --- one Bolt app serving both workspaces ----------------------------------------------------


@pytest.fixture
def bot(running: RunningStandIn, token_b: str) -> Iterator[tuple[SlackRequestClient, list[Any]]]:
    tokens = {TEAM_ID: DEFAULT_TOKEN, B: token_b}
    seen: list[Any] = []

    def authorize(enterprise_id: str | None, team_id: str, logger: Any) -> AuthorizeResult:
        team = running.standin.team(team_id)
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=tokens[team_id],
            bot_user_id=team.bot_user_id,
            bot_id=team.bot_id,
        )

    app = App(
        client=WebClient(base_url=running.api_url), signing_secret=SECRET, authorize=authorize
    )

    @app.command("/hello")
    def hello(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_postMessage(channel=body["channel_id"], text=f"hello {body['team_id']}")

    @app.event("app_uninstalled")
    def uninstalled(event: dict[str, Any], context: Any) -> None:
        seen.append((event["type"], context.team_id))

    @app.event("tokens_revoked")
    def revoked(event: dict[str, Any], context: Any) -> None:
        seen.append((event["type"], context.team_id, event["tokens"]["bot"]))

    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield SlackRequestClient(f"http://127.0.0.1:{server.server_port}", signing_secret=SECRET), seen
    server.shutdown()


def test_a_bolt_app_answers_each_workspace_with_its_own_token(
    running: RunningStandIn, token_b: str, bot: tuple[SlackRequestClient, list[Any]]
) -> None:
    client, _ = bot
    assert client.slash_command("/hello", "", user_id="U1", channel_id=CHANNEL).status == 200
    assert (
        client.slash_command("/hello", "", user_id="U2", channel_id=CHANNEL, team_id=B).status
        == 200
    )

    posts = running.standin.wait_for("chat.postMessage", count=2)
    assert {(c.team, c.token) for c in posts} == {(TEAM_ID, DEFAULT_TOKEN), (B, token_b)}
    assert [m["text"] for m in running.standin.messages(CHANNEL, team=B)] == [f"hello {B}"]
    assert [m["text"] for m in running.standin.messages(CHANNEL)] == [f"hello {TEAM_ID}"]


def test_a_bolt_app_hears_uninstalls_and_revocations_signed(
    running: RunningStandIn, bot: tuple[SlackRequestClient, list[Any]]
) -> None:
    client, seen = bot
    running.standin.uninstall(B)

    assert client.send_event(app_uninstalled_payload(team_id=B)).status == 200
    assert client.send_event(tokens_revoked_payload(team_id=B)).status == 200

    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # Bolt runs listeners after the ack, on its own threads
    assert sorted(seen) == [("app_uninstalled", B), ("tokens_revoked", B, ["U0002BOT"])]
