"""Installs by OAuth, at the edges: the install pages, a forged or replayed redirect, the
events that end an install, and single-workspace mode left without them."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from bot.server import assemble, http_in_background
from bot.slack.oauth import bot_scopes
from bot.storage.slack_tables import SLACK_TABLES
from sandbox.slack.workspace import SANDBOX_CLIENT_ID, TEAM_ID
from sandbox.slack_api import RunningStandIn, SlackStandIn, start
from sandbox.slack_client import (
    Delivery,
    SlackRequestClient,
    app_uninstalled_payload,
    tokens_revoked_payload,
)
from tests.oauth_helpers import get, install, oauth_settings
from tests.slack.conftest import SECRET
from tests.slack.test_serve import free_port

OTHER = "T0OTHER001"


@dataclass
class Served:
    url: str
    slack: RunningStandIn
    client: SlackRequestClient
    engine: Engine


@pytest.fixture
def served(clean_database: str, db_engine: Engine) -> Iterator[Served]:
    standin = SlackStandIn(trigger_ttl=None)
    standin.add_workspace(OTHER)
    _, running = start(standin)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = assemble(oauth_settings(running, url, clean_database))
    with http_in_background(bot, port=port):
        yield Served(url, running, SlackRequestClient(url, signing_secret=SECRET), db_engine)
    bot.engine.dispose()
    running.stop()


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in SLACK_TABLES
        }


def test_the_install_page_asks_for_the_manifests_scopes(served: Served) -> None:
    status, headers, page = get(served.url + "/slack/install")
    assert status == 200 and "Add to Slack" in page
    assert "slack-app-oauth-state=" in headers["set-cookie"]
    query = page[page.index("?", page.index("/oauth/v2/authorize")) + 1 :].split('"')[0]
    asked = urllib.parse.parse_qs(query.replace("&amp;", "&"))
    assert asked["client_id"] == [SANDBOX_CLIENT_ID]
    assert asked["scope"][0].split(",") == list(bot_scopes())
    assert asked["redirect_uri"] == [served.url + "/slack/oauth_redirect"]


def test_an_install_keeps_the_workspaces_token_and_uninstall_forgets_it(served: Served) -> None:
    install(served, OTHER)
    assert _rows(served.engine)["slack_bots"] == 1
    [token] = served.slack.standin.tokens(OTHER)
    with served.engine.connect() as connection:
        bots = SLACK_TABLES[1]
        assert connection.scalar(select(bots.c.bot_token).where(bots.c.team_id == OTHER)) == token
    forged = served.client.send_event(
        app_uninstalled_payload(team_id=OTHER), delivery=Delivery.forged()
    )
    assert forged.status == 401 and _rows(served.engine)["slack_bots"] == 1
    assert served.client.send_event(app_uninstalled_payload(team_id=OTHER)).status == 200
    assert _rows(served.engine)["slack_bots"] == 0
    assert _rows(served.engine)["slack_installations"] == 0


def test_a_revoked_bot_token_ends_the_install_a_user_token_alone_does_not(
    served: Served,
) -> None:
    install(served, OTHER)
    user_only = tokens_revoked_payload(team_id=OTHER, bot=[], oauth=["U0SOMEONE"])
    assert served.client.send_event(user_only).status == 200
    assert _rows(served.engine)["slack_bots"] == 1
    assert served.client.send_event(tokens_revoked_payload(team_id=OTHER)).status == 200
    assert _rows(served.engine)["slack_bots"] == 0


def test_a_redirect_without_its_state_cookie_or_replayed_installs_nothing(
    served: Served,
) -> None:
    status, headers, page = get(served.url + "/slack/install")
    start_at = page.index("http", page.index('href="'))
    authorize = page[start_at : page.index('"', start_at)].replace("&amp;", "&")
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, headers, _ = get(f"{authorize}&team={OTHER}")
    redirect = headers["location"]
    status, _, _ = get(redirect)  # no cookie: another browser than the one that started
    assert status >= 400 and _rows(served.engine)["slack_bots"] == 0
    status, _, _ = get(redirect, cookie="slack-app-oauth-state=forged")
    assert status >= 400 and _rows(served.engine)["slack_bots"] == 0
    assert get(redirect, cookie=cookie)[0] == 200
    assert _rows(served.engine)["slack_bots"] == 1
    assert get(redirect, cookie=cookie)[0] >= 400  # the state is used up
    assert _rows(served.engine)["slack_bots"] == 1


def test_one_workspace_mode_has_no_install_pages(world: object) -> None:
    url = world.url  # type: ignore[attr-defined]
    assert get(url + "/slack/install")[0] == 404
    assert get(url + "/slack/oauth_redirect?code=x&state=y")[0] == 404


def test_a_workspace_without_an_install_is_answered_and_nothing_is_written(
    served: Served,
) -> None:
    from bot.storage.orm import Project

    before = _rows(served.engine)
    answer = served.client.slash_command(
        "/private-endpoint",
        "create",
        user_id="U0NOBODY01",
        channel_id="C0NOBODY01",
        team_id=OTHER,
        response_url=served.slack.response_url(team=OTHER),
    )
    assert answer.status == 200
    [note] = served.slack.standin.wait_for("response_url")
    assert "reinstall" in str(note.args.get("text")).lower()
    assert _rows(served.engine) == before
    with served.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Project)) == 0
    assert served.slack.standin.calls("views.open") == []
    assert TEAM_ID not in {c.team for c in served.slack.standin.calls() if c.token}


def test_an_uninstall_forgets_the_home_pages_published_there(served: Served) -> None:
    from bot.services import projects
    from bot.storage import home_queries
    from bot.storage.db import make_sessionmaker, transaction
    from bot.storage.orm import ProjectMember

    sessions = make_sessionmaker(served.engine)
    with transaction(sessions) as session:
        for name, team in (("alpha", OTHER), ("beta", TEAM_ID)):
            projects.add(
                session=session,
                name=name,
                channel_id="C0SAME0001",
                owners=["U0OWNER001"],
                team_id=team,
            )
        ids = list(session.scalars(select(ProjectMember.id)))
        home_queries.record_published(
            session=session, member_ids=ids, digest="d" * 64, slack_hash="1.a"
        )
    install(served, OTHER)
    assert served.client.send_event(app_uninstalled_payload(team_id=OTHER)).status == 200
    with sessions() as session:
        left = {(m.project.name, m.home_digest) for m in session.scalars(select(ProjectMember))}
    assert left == {("alpha", None), ("beta", "d" * 64)}  # the other workspace's pages stay


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=x",
        "state=y",
        "error=access_denied&state=y",
        "code=%ZZ&state=%ZZ",
        "code=" + "x" * 4000 + "&state=" + "y" * 4000,
        "code=a&code=b&state=c&state=d",
    ],
)
def test_a_malformed_redirect_is_refused_and_installs_nothing(served: Served, query: str) -> None:
    status, _, _ = get(
        f"{served.url}/slack/oauth_redirect?{query}", cookie="slack-app-oauth-state=y"
    )
    assert 400 <= status < 500 or status == 200  # Bolt's failure page, never a 5xx
    assert _rows(served.engine)["slack_bots"] == 0
    assert _rows(served.engine)["slack_installations"] == 0
    assert served.slack.standin.calls("oauth.v2.access") == []


def test_a_retried_uninstall_from_before_a_reinstall_changes_nothing(served: Served) -> None:
    """Slack retries an event after about 1 and 5 minutes: an uninstall (or a revoke) from
    before the workspace installed the app again must not end the new install, however often
    it comes; one from after it does."""
    install(served, OTHER)
    earlier = int(time.time()) - 120
    stale = app_uninstalled_payload(team_id=OTHER, event_id="Ev0STALE0001")
    stale["event_time"] = earlier
    revoked = tokens_revoked_payload(team_id=OTHER, event_id="Ev0STALE0002")
    revoked["event_time"] = earlier
    for payload in (stale, stale, revoked):
        answer = served.client.send_event(payload, delivery=Delivery.retry(1))
        assert answer.status == 200
        assert _rows(served.engine)["slack_bots"] == 1
    [token] = served.slack.standin.tokens(OTHER)
    with served.engine.connect() as connection:
        bots = SLACK_TABLES[1]
        assert connection.scalar(select(bots.c.bot_token).where(bots.c.team_id == OTHER)) == token

    assert served.client.send_event(app_uninstalled_payload(team_id=OTHER)).status == 200
    rows = _rows(served.engine)
    assert (rows["slack_installations"], rows["slack_bots"]) == (0, 0)


def test_an_uninstall_retried_after_a_reinstall_changes_nothing_even_without_its_time(
    served: Served,
) -> None:
    """An envelope without `event_time` cannot be dated: its `event_id`, seen before, is what
    keeps Slack's retry of it from ending the install made since."""
    install(served, OTHER)
    uninstalled = app_uninstalled_payload(team_id=OTHER, event_id="Ev0UNDATED01")
    del uninstalled["event_time"]
    assert served.client.send_event(uninstalled).status == 200
    assert _rows(served.engine)["slack_bots"] == 0

    install(served, OTHER)
    for retry in (1, 2):
        answer = served.client.send_event(uninstalled, delivery=Delivery.retry(retry))
        assert answer.status == 200
    assert _rows(served.engine)["slack_bots"] == 1
    assert served.client.send_event(app_uninstalled_payload(team_id=OTHER)).status == 200
    assert _rows(served.engine)["slack_bots"] == 0
