"""The read path over signed HTTP: the channel's project is never served stale from a process's
cache, and the Home tab is sent to Slack only when the page changed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.domain.states import Role
from bot.server import assemble, http_in_background
from bot.services import projects
from bot.slack.listeners.home import OnePerUser
from bot.storage import orm, project_queries
from bot.storage.db import transaction
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import SlackRequestClient, app_home_opened_payload
from tests.slack.conftest import CHANNEL, MEMBER, OWNER, SECRET, World

NEW_CHANNEL = "C0NEWPROJ1"
NEWCOMER = "U0NEWCOME1"
SETTLE = 0.5  # seconds for work after an ack, which Slack does not wait for, to have run


def _database_url(world: World) -> str:
    return str(world.sessions.kw["bind"].url.render_as_string(hide_password=False))


def _version(world: World, channel_id: str = CHANNEL) -> int:
    with world.sessions() as session:
        project = project_queries.get_project_by_channel(session=session, channel_id=channel_id)
        assert project is not None
        return project.version


def _open_home(client: SlackRequestClient, user_id: str = OWNER) -> None:
    assert client.send_event(app_home_opened_payload(user_id=user_id)).status == 200


def _publishes(world: World, count: int) -> list[str]:
    """The Home tab's publishes so far, once there are `count`, and no more after a while."""
    calls = world.slack.standin.wait_for("views.publish", count=count)
    time.sleep(SETTLE)
    calls = world.slack.standin.calls("views.publish")
    assert len(calls) == count, [c.response for c in calls]
    return [str(c.response.get("error") or "ok") for c in calls]


def test_a_project_added_from_the_cli_between_two_requests_answers_the_next(
    world: World,
) -> None:
    person = world.person(channel_id=NEW_CHANNEL)
    assert "belongs to no project" in person.command("list").text
    env = {**os.environ, "DATABASE_URL": _database_url(world)}
    added = subprocess.run(
        [sys.executable, "-m", "bot", "projects", "add", "fresh", "--channel", NEW_CHANNEL]
        + ["--owner", OWNER],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "fresh has no private endpoints" in person.command("list").text


def test_a_new_owner_may_act_at_their_next_request(world: World) -> None:
    member = world.person(MEMBER)
    assert "payments has no private endpoints" in member.command("list").text  # cached, known
    assert "Only owners of project payments" in member.command("create orders").text
    before = _version(world)
    with transaction(world.sessions) as session:
        project = project_queries.get_project_by_channel(session=session, channel_id=CHANNEL)
        assert project is not None
        (row,) = [m for m in project.members if m.user_id == MEMBER]
        row.role = Role.OWNER
    assert _version(world) == before + 1
    answer = member.command("create orders")
    assert answer.status == 200 and "Only owners" not in answer.text
    assert world.slack.standin.wait_for("views.open", count=1)[0].ok


def test_a_member_joining_is_remembered_once_and_then_read_from_the_cache(world: World) -> None:
    before = _version(world)
    newcomer = world.person(NEWCOMER)
    assert "payments has no private endpoints" in newcomer.command("list").text
    assert _version(world) == before + 1  # the project knows them: its version moved on
    assert "payments has no private endpoints" in newcomer.command("list").text
    assert _version(world) == before + 1  # and nothing was written again
    with world.sessions() as session:
        members = session.scalars(
            select(orm.ProjectMember.user_id).where(orm.ProjectMember.user_id == NEWCOMER)
        ).all()
    assert members == [NEWCOMER]


def test_the_home_tab_is_sent_only_when_its_page_changed(world: World) -> None:
    _open_home(world.client)
    assert _publishes(world, 1) == ["ok"]
    _open_home(world.client)
    assert _publishes(world, 1) == ["ok"]  # the same page: not sent again
    with transaction(world.sessions) as session:
        projects.add(session=session, name="fresh", channel_id=NEW_CHANNEL, owners=[OWNER])
    _open_home(world.client)
    assert _publishes(world, 2) == ["ok", "ok"]
    home = world.slack.standin.home_view(OWNER)
    assert home is not None and "*fresh*" in str(home["blocks"])


def test_a_page_slack_says_it_shows_otherwise_is_sent_again(world: World) -> None:
    _open_home(world.client)
    assert _publishes(world, 1) == ["ok"]
    shown = world.slack.standin.home_view(OWNER)
    assert shown is not None
    opened = app_home_opened_payload(user_id=OWNER, view=shown)  # as Slack sends it: the page
    assert world.client.send_event(opened).status == 200
    assert _publishes(world, 1) == ["ok"]  # Slack shows the page recorded: not sent again
    elsewhere = {**shown, "hash": "1700000000.0badc0de"}  # Slack shows another page
    assert (
        world.client.send_event(app_home_opened_payload(user_id=OWNER, view=elsewhere)).status
        == 200
    )
    assert _publishes(world, 2) == ["ok", "ok"]


def test_a_failed_publish_is_not_recorded_and_is_sent_again(world: World) -> None:
    world.slack.standin.fail_next("views.publish", error="not_authed")
    _open_home(world.client)
    assert _publishes(world, 1) == ["not_authed"]
    _open_home(world.client)
    assert _publishes(world, 2) == ["not_authed", "ok"]
    _open_home(world.client)
    assert _publishes(world, 2) == ["not_authed", "ok"]


def test_a_page_published_elsewhere_since_is_replaced_after_reading_again(world: World) -> None:
    _open_home(world.client)
    assert _publishes(world, 1) == ["ok"]
    # someone else (another process, no record of it) sends the user a page of their own
    world.slack.standin.handle(
        "views.publish",
        {"user_id": OWNER, "view": {"type": "home", "blocks": []}},
        token=DEFAULT_TOKEN,
    )
    with transaction(world.sessions) as session:
        projects.add(session=session, name="fresh", channel_id=NEW_CHANNEL, owners=[OWNER])
    _open_home(world.client)
    assert _publishes(world, 4) == ["ok", "ok", "hash_conflict", "ok"]
    home = world.slack.standin.home_view(OWNER)
    assert home is not None and "*fresh*" in str(home["blocks"])


@pytest.fixture
def second_process(world: World) -> Iterator[SlackRequestClient]:
    """A second bot on the same database (its own engine, cache and threads), as another
    `serve` process would be."""
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=world.slack.api_url,
        DATABASE_URL=_database_url(world),  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield SlackRequestClient(url, signing_secret=SECRET)
    bot.engine.dispose()


def test_two_processes_share_what_they_published_and_what_changed(
    world: World, second_process: SlackRequestClient
) -> None:
    _open_home(world.client)
    assert _publishes(world, 1) == ["ok"]
    _open_home(second_process)
    assert _publishes(world, 1) == ["ok"]  # the page the first process sent is recorded
    with transaction(world.sessions) as session:
        projects.add(session=session, name="fresh", channel_id=NEW_CHANNEL, owners=[OWNER])
    _open_home(second_process)
    assert _publishes(world, 2) == ["ok", "ok"]
    _open_home(world.client)
    assert _publishes(world, 2) == ["ok", "ok"]  # what the second one sent is not sent again
    # the channel's project as each process caches it: a member joining through one is
    # known to the other at its next request
    member = world.person(NEWCOMER)
    assert "payments has no private endpoints" in member.command("list").text
    version = _version(world)
    other = world.person(NEWCOMER)
    other.client = second_process
    assert "payments has no private endpoints" in other.command("list").text
    assert _version(world) == version  # the second process knew them: no second write


def test_opens_during_a_publish_are_folded_into_one_more() -> None:
    one_per_user = OnePerUser()
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow() -> None:
        runs.append("run")
        started.set()
        release.wait(5)

    first = threading.Thread(target=one_per_user.run, args=(OWNER, slow))
    first.start()
    assert started.wait(5)
    for _ in range(3):  # returns at once: the running publish will go again
        one_per_user.run(OWNER, slow)
    one_per_user.run(MEMBER, lambda: runs.append("other user"))  # other users are not held
    release.set()
    first.join(5)
    assert runs == ["run", "other user", "run"]
    one_per_user.run(OWNER, lambda: runs.append("later"))
    assert runs[-1] == "later"
