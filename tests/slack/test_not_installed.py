"""Installs by OAuth, when a workspace has none: a modal submitted after the app was
uninstalled is answered in the modal (Slack shows a plain-text ack there as a generic error),
commands and clicks keep Bolt's note asking to reinstall, and nothing is written; while the
database is down, users are told that, not asked to reinstall.

Over signed HTTP against the bot served as `serve` serves it, installed through its install
pages from the Slack stand-in."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.server import assemble, http_in_background
from bot.services import clusters, projects
from bot.slack.ids import CallbackId
from bot.storage.db import make_sessionmaker, transaction
from bot.storage.orm import Base
from sandbox.person import Person
from sandbox.slack.blockkit import view_errors
from sandbox.slack_api import SlackStandIn, start
from sandbox.slack_client import (
    BotResponse,
    SlackRequestClient,
    app_uninstalled_payload,
    block_actions_payload,
    element_action,
    view_submission_payload,
)
from tests.oauth_helpers import install, oauth_settings
from tests.slack.conftest import NLB, SECRET
from tests.slack.test_oauth import OTHER, Served
from tests.slack.test_serve import free_port

CHANNEL, OWNER = "C0OTHER001", "U0OTHER001"
NOT_INSTALLED = "no longer installed in this workspace"
DATABASE_DOWN = "cannot reach its database"


@pytest.fixture
def served(clean_database: str, db_engine: Engine) -> Iterator[Served]:
    """The bot installed by OAuth in workspace OTHER, with a project and a cluster there."""
    standin = SlackStandIn(trigger_ttl=None)
    standin.add_workspace(OTHER)
    standin.add_channel(CHANNEL, team=OTHER)
    _, running = start(standin)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = assemble(oauth_settings(running, url, clean_database))
    sessions = make_sessionmaker(db_engine)
    with transaction(sessions) as session:
        projects.add(
            session=session, name="payments", channel_id=CHANNEL, owners=[OWNER], team_id=OTHER
        )
        spec = {"project": "payments", "name": "orders", "tier": "dedicated", "cloud": "aws"}
        clusters.add(
            session=session,
            spec=clusters.parse_spec(
                spec | {"region": "us-west-2", "nlb_arn": NLB}, dns_zone="privatelink.example.com"
            ),
        )
    with http_in_background(bot, port=port):
        yield Served(url, running, SlackRequestClient(url, signing_secret=SECRET), db_engine)
    bot.engine.dispose()
    running.stop()


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def owner(served: Served) -> Person:
    return Person(
        user_id=OWNER, channel_id=CHANNEL, client=served.client, slack=served.slack, team_id=OTHER
    )


def use_first_element(person: Person) -> BotResponse:
    """Use the modal's first interactive element (a select keeps its chosen option)."""
    view = person.view()
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory"), block.get("element")]:
            if isinstance(element, dict) and "action_id" in element:
                chosen = (element.get("initial_option") or {}).get("value")
                action = element_action(view["blocks"], element["action_id"], value=chosen)
                return person.client.send_interaction(
                    block_actions_payload(action, user_id=OWNER, view=view, team_id=OTHER)
                )
    raise AssertionError("nothing to use in the modal")


def uninstall(served: Served) -> None:
    """The workspace uninstalls the app, and Slack tells the bot."""
    served.slack.standin.uninstall(OTHER)
    assert served.client.send_event(app_uninstalled_payload(team_id=OTHER)).status == 200


def test_a_modal_submitted_after_an_uninstall_says_so_in_the_modal(served: Served) -> None:
    install(served, OTHER)
    person = owner(served)
    wizard = person.open_wizard()
    assert wizard["callback_id"] == CallbackId.WIZARD
    uninstall(served)
    before = snapshot(served.engine)

    answer = person.submit()  # the stand-in shows the answer as Slack would, or fails

    assert answer.status == 200 and answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["response_action"] == "update"
    assert view_errors(body["view"], kinds=("modal",)) == []
    shown = json.dumps(person.view())
    assert NOT_INSTALLED in shown and f"{served.url}/slack/install" in shown
    assert "nothing was saved" in shown
    assert snapshot(served.engine) == before
    assert served.slack.standin.calls("views.update", team=OTHER) == []


def test_a_modal_from_a_workspace_that_never_installed_says_so_too(served: Served) -> None:
    person = owner(served)
    install(served, OTHER)
    person.open_wizard()
    served.slack.standin.uninstall(OTHER)
    with served.engine.begin() as connection:  # the install gone, as an uninstall leaves it
        for table in ("slack_bots", "slack_installations"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
    answer = person.submit()
    assert answer.json()["response_action"] == "update"
    assert NOT_INSTALLED in json.dumps(person.view())


def test_commands_and_clicks_keep_bolts_note_to_reinstall(served: Served) -> None:
    install(served, OTHER)
    person = owner(served)
    person.open_wizard()
    uninstall(served)
    before, notes = snapshot(served.engine), len(served.slack.standin.calls("response_url"))

    answer = person.command("list")
    assert (answer.status, answer.text) == (200, "")
    [note] = served.slack.standin.wait_for("response_url", count=notes + 1)[notes:]
    assert "reinstall" in str(note.args.get("text")).lower()

    clicked = use_first_element(person)
    assert clicked.status == 200 and "reinstall" in clicked.text.lower()  # Bolt's, as before
    assert snapshot(served.engine) == before


def test_an_installed_workspace_submits_as_usual(served: Served) -> None:
    install(served, OTHER)
    person = owner(served)
    person.open_wizard()
    answer = person.submit()
    assert answer.status == 200
    assert NOT_INSTALLED not in answer.text and DATABASE_DOWN not in answer.text


# --- the database down, in OAuth mode ---------------------------------------------------------


@pytest.fixture
def without_database(clean_database: str) -> Iterator[Served]:
    """The bot installed by OAuth, served with a database nobody answers for."""
    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    standin = SlackStandIn(trigger_ttl=None)
    standin.add_workspace(OTHER)
    _, running = start(standin)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"postgresql://postgres@127.0.0.1:{dead}/none"
    bot = assemble(oauth_settings(running, url, database))
    with http_in_background(bot, port=port):
        yield Served(url, running, SlackRequestClient(url, signing_secret=SECRET), bot.engine)
    bot.engine.dispose()
    running.stop()


def test_while_the_database_is_down_no_one_is_asked_to_reinstall(
    without_database: Served, caplog: pytest.LogCaptureFixture
) -> None:
    served = without_database
    person = owner(served)
    answer = person.command("list")
    assert answer.status == 200 and DATABASE_DOWN in answer.json()["text"]
    view = {"type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []}
    view["private_metadata"] = "{}"
    submitted = served.client.send_interaction(
        view_submission_payload(view, {}, user_id=OWNER, team_id=OTHER)
    )
    body = submitted.json()
    assert body["response_action"] == "update" and DATABASE_DOWN in json.dumps(body["view"])
    assert "reinstall" not in (answer.text + submitted.text).lower()
    assert served.slack.standin.calls("response_url") == []
    assert "Traceback" not in caplog.text
