"""The stand-in's OAuth v2 install over real HTTP: the authorize page's redirect, the code
exchanged by slack_sdk's ``oauth_v2_access`` and by Bolt's own OAuthFlow, and Slack's errors."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore

from sandbox.slack_api import (
    APP_ID,
    CODE_TTL_SECONDS,
    INSTALLER_USER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    TEAM_ID,
    RunningStandIn,
    SlackStandIn,
    start,
)

TEAM = "T0002"
REDIRECT = "https://bot.example/slack/oauth_redirect"
SCOPES = ["commands", "chat:write", "users:read"]


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def running(clock: Clock) -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(clock=clock))
    running.standin.add_workspace(TEAM, name="Second Team")
    with running:
        yield running


def visit(url: str) -> tuple[int, str | None, str]:
    """GET a URL as a browser would, without following a redirect: status, Location, text."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        return response.status, response.getheader("Location"), response.read().decode()
    finally:
        connection.close()


def authorize_url(running: RunningStandIn, *, state: str = "s-1", **person: str) -> str:
    """The authorize URL Bolt would build, with the person's answer appended."""
    generator = AuthorizeUrlGenerator(
        client_id=SANDBOX_CLIENT_ID,
        scopes=SCOPES,
        redirect_uri=REDIRECT,
        authorization_url=running.authorize_url(),
    )
    url = generator.generate(state)
    return url + ("&" + urlencode(person) if person else "")


def code_for(running: RunningStandIn, **person: str) -> str:
    """Approve an install as a person (``team=``, ``user=``) and take the code from the redirect."""
    status, location, _ = visit(authorize_url(running, **person))
    assert status == 302 and location is not None
    return parse_qs(urlsplit(location).query)["code"][0]


def client(running: RunningStandIn, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=running.api_url)


def exchange(running: RunningStandIn, code: str, /, **overrides: Any) -> dict[str, Any]:
    """oauth.v2.access as slack_sdk sends it (client id and secret with HTTP Basic auth)."""
    kwargs: dict[str, Any] = {
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    return dict(client(running).oauth_v2_access(**(kwargs | overrides)).data)


def refused(running: RunningStandIn, code: str, /, **overrides: Any) -> str:
    """The error oauth.v2.access answers with."""
    with pytest.raises(SlackApiError) as raised:
        exchange(running, code, **overrides)
    return str(raised.value.response["error"])


def test_an_install_redirects_with_a_code_and_the_state_then_issues_a_bot_token(
    running: RunningStandIn,
) -> None:
    status, location, _ = visit(authorize_url(running, state="xyz-42", team=TEAM, user="U0002A"))

    assert status == 302 and location is not None and location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["xyz-42"]
    answer = exchange(running, query["code"][0])

    token = answer["access_token"]
    assert token.startswith("xoxb-")
    assert answer == {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": "commands,chat:write,users:read",
        "bot_user_id": "U0002BOT",
        "app_id": APP_ID,
        "team": {"name": "Second Team", "id": TEAM},
        "enterprise": None,
        "authed_user": {"id": "U0002A"},
        "is_enterprise_install": False,
    }
    who = client(running, token).auth_test()
    assert (who["team_id"], who["team"], who["user_id"], who["bot_id"]) == (
        TEAM,
        "Second Team",
        "U0002BOT",
        "B0002",
    )
    assert who["url"] == "https://team-0002.slack.com/"


def test_the_install_is_recorded_without_the_client_secret(running: RunningStandIn) -> None:
    token = exchange(running, code_for(running, team=TEAM))["access_token"]

    authorize, access = (
        running.standin.calls("oauth.v2.authorize"),
        running.standin.calls("oauth.v2.access"),
    )
    assert [(c.status, c.team, c.token) for c in authorize] == [(302, TEAM, None)]
    assert authorize[0].args["client_id"] == SANDBOX_CLIENT_ID
    assert [(c.ok, c.team, c.token) for c in access] == [(True, TEAM, None)]
    assert access[0].args["client_id"] == SANDBOX_CLIENT_ID
    assert "client_secret" not in access[0].args
    assert SANDBOX_CLIENT_SECRET not in json.dumps([c.to_json() for c in running.standin.calls()])
    assert running.standin.tokens(TEAM) == [token]


def test_without_a_team_the_person_installs_into_the_default_workspace(
    running: RunningStandIn,
) -> None:
    answer = exchange(running, code_for(running))

    assert answer["team"] == {"name": "Example", "id": TEAM_ID}
    assert answer["authed_user"] == {"id": INSTALLER_USER_ID}
    assert client(running, answer["access_token"]).auth_test()["team_id"] == TEAM_ID


def test_a_person_who_cancels_is_sent_back_with_access_denied(running: RunningStandIn) -> None:
    status, location, _ = visit(authorize_url(running, state="s-9", team=TEAM, deny="1"))

    assert status == 302 and location is not None
    assert parse_qs(urlsplit(location).query) == {"error": ["access_denied"], "state": ["s-9"]}
    assert running.standin.calls("oauth.v2.authorize")[0].response["error"] == "access_denied"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "9999.9999"}, "invalid_client_id"),
        ({"team": "T9999"}, "team_not_found"),
        ({"scope": ""}, "no_scopes"),
        ({"user_scope": "search:read"}, "user_scopes_not_supported"),
        ({"redirect_uri": ""}, "bad_redirect_uri"),
        ({"user": "U0002GONE"}, "user_disabled"),
    ],
)
def test_the_authorize_page_refuses_what_slack_would_not_send_back(
    running: RunningStandIn, change: dict[str, str], error: str
) -> None:
    running.standin.add_user("U0002GONE", deleted=True, team=TEAM)
    query = {"client_id": SANDBOX_CLIENT_ID, "scope": "commands", "state": "s"}
    query |= {"redirect_uri": REDIRECT, "team": TEAM} | change

    status, location, text = visit(running.authorize_url() + "?" + urlencode(query))

    assert (status, location) == (400, None)
    assert error in text
    call = running.standin.calls("oauth.v2.authorize")[0]
    assert (call.status, call.response) == (400, {"ok": False, "error": error})


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "9999.9999"}, "invalid_client_id"),
        ({"client_secret": "not-the-secret"}, "bad_client_secret"),
        ({"code": "1700000000000.000000000001.abcdef"}, "invalid_code"),
        ({"redirect_uri": "https://elsewhere.example/cb"}, "bad_redirect_uri"),
        ({"redirect_uri": None}, "bad_redirect_uri"),
        ({"grant_type": "refresh_token", "refresh_token": "xoxe-1-x"}, "invalid_grant_type"),
    ],
)
def test_oauth_v2_access_answers_slacks_errors(
    running: RunningStandIn, change: dict[str, Any], error: str
) -> None:
    code = code_for(running, team=TEAM)

    assert refused(running, code, **change) == error
    assert running.standin.tokens(TEAM) == []
    assert exchange(running, code)["ok"] is True  # a refused exchange leaves the code unspent


def test_a_code_is_good_once(running: RunningStandIn) -> None:
    code = code_for(running, team=TEAM)
    exchange(running, code)

    assert refused(running, code) == "invalid_code"
    assert len(running.standin.tokens(TEAM)) == 1


def test_a_code_is_good_for_ten_minutes(running: RunningStandIn, clock: Clock) -> None:
    fresh, stale = code_for(running, team=TEAM), code_for(running, team=TEAM)
    clock.now += CODE_TTL_SECONDS - 1
    assert exchange(running, fresh)["ok"] is True

    clock.now += 2

    assert refused(running, stale) == "invalid_code"


def test_client_credentials_may_come_as_form_fields(running: RunningStandIn) -> None:
    body = {
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "code": code_for(running, team=TEAM),
        "redirect_uri": REDIRECT,
    }
    request = urllib.request.Request(
        running.api_url + "oauth.v2.access", data=urlencode(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")

    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())

    assert answer["ok"] is True and answer["team"]["id"] == TEAM
    assert "client_secret" not in running.standin.calls("oauth.v2.access")[0].args


def test_a_reinstall_issues_a_new_token_and_the_old_one_works_until_revoked(
    running: RunningStandIn,
) -> None:
    first = exchange(running, code_for(running, team=TEAM))["access_token"]
    second = exchange(running, code_for(running, team=TEAM))["access_token"]

    assert first != second
    assert running.standin.tokens(TEAM) == [first, second]
    assert client(running, first).auth_test()["team_id"] == TEAM

    assert running.standin.revoke_tokens(TEAM) == [first, second]

    for token in (first, second):
        with pytest.raises(SlackApiError) as raised:
            client(running, token).auth_test()
        assert raised.value.response["error"] == "token_revoked"
    third = exchange(running, code_for(running, team=TEAM))["access_token"]
    assert client(running, third).auth_test()["team_id"] == TEAM


def test_a_configured_redirect_url_is_the_default_and_the_prefix() -> None:
    standin = SlackStandIn(redirect_uri=REDIRECT)
    with start(standin)[1] as running:
        query = {"client_id": SANDBOX_CLIENT_ID, "scope": "commands", "state": "s"}
        status, location, _ = visit(running.authorize_url() + "?" + urlencode(query))
        assert status == 302 and location is not None and location.startswith(REDIRECT + "?")
        code = parse_qs(urlsplit(location).query)["code"][0]
        assert exchange(running, code, redirect_uri=None)["ok"] is True

        elsewhere = query | {"redirect_uri": "https://evil.example/cb"}
        status, _, text = visit(running.authorize_url() + "?" + urlencode(elsewhere))
        assert status == 400 and "bad_redirect_uri" in text


def test_bolts_oauth_flow_installs_into_the_workspace_the_person_chose(
    running: RunningStandIn, tmp_path: Path
) -> None:
    store = FileInstallationStore(base_dir=str(tmp_path / "installations"))
    flow = OAuthFlow(
        client=client(running),
        settings=OAuthSettings(
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            scopes=SCOPES,
            redirect_uri=REDIRECT,
            authorization_url=running.authorize_url(),
            install_page_rendering_enabled=False,
            installation_store=store,
            state_store=FileOAuthStateStore(
                expiration_seconds=600, base_dir=str(tmp_path / "states")
            ),
        ),
    )
    started = flow.handle_installation(BoltRequest(body="", query=f"team={TEAM}", headers={}))
    assert started.status == 302
    cookie = started.headers["set-cookie"][0].split(";")[0]

    status, location, _ = visit(started.headers["location"][0] + "&user=U0002A")
    assert status == 302 and location is not None
    done = flow.handle_callback(
        BoltRequest(body="", query=urlsplit(location).query, headers={"cookie": cookie})
    )

    assert done.status == 200, done.body
    installed = store.find_installation(enterprise_id=None, team_id=TEAM)
    assert installed is not None
    assert (installed.team_id, installed.team_name, installed.user_id) == (
        TEAM,
        "Second Team",
        "U0002A",
    )
    assert (installed.bot_id, installed.bot_user_id) == ("B0002", "U0002BOT")
    assert installed.bot_scopes == SCOPES
    assert installed.bot_token in running.standin.tokens(TEAM)
    auth_test = running.standin.calls("auth.test", team=TEAM)
    assert [c.token for c in auth_test] == [installed.bot_token]
