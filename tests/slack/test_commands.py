"""`/private-endpoint` over signed HTTP: help, unbound channels, permissions, signatures."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.domain.slash import COMMAND, SUBCOMMANDS, Arg, Subcommand
from bot.domain.states import EndpointStatus, Stage
from bot.services import projects
from bot.slack.listeners.commands import ANSWERS
from bot.storage import cluster_queries, orm, project_queries
from bot.storage.db import transaction
from sandbox.slack_client import Delivery
from tests.slack.conftest import CHANNEL, MEMBER, OWNER, World


@pytest.mark.parametrize("text", ["", "help", "frobnicate", "HELP me"])
def test_empty_or_unknown_text_shows_help(world: World, text: str) -> None:
    response = world.person().command(text)
    assert response.status == 200
    assert "/private-endpoint create [cluster]" in response.json()["blocks"][0]["text"]["text"]


def test_a_channel_without_project_says_how_to_bind_one(world: World) -> None:
    response = world.person(channel_id="C0NOWHERE1").command("list")
    text = response.json()["blocks"][0]["text"]["text"]
    assert "belongs to no project" in text
    assert "projects add <project> --channel C0NOWHERE1" in text


@pytest.mark.parametrize(
    "delivery",
    [Delivery.forged(), Delivery.unsigned(), Delivery.stale()],
    ids=["forged", "unsigned", "stale"],
)
def test_bad_signatures_get_401_and_change_nothing(world: World, delivery: Delivery) -> None:
    response = world.person().command("create orders", delivery=delivery)
    assert response.status == 401
    assert world.slack.standin.calls("views.open") == []
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.Event)) == 1 + 5  # seed only


@pytest.mark.parametrize("text", ["create", "edit 1", "terminate 1"])
def test_members_may_not_change_anything(world: World, text: str) -> None:
    response = world.person(MEMBER).command(text)
    blocks = response.json()["blocks"]
    assert (
        "Only owners of project payments" in blocks[0]["text"]["text"]
        or "no private endpoint #1" in blocks[0]["text"]["text"]
    )
    assert world.slack.standin.calls("views.open") == []


def test_members_may_list_connect_and_see_billing(world: World) -> None:
    member = world.person(MEMBER)
    assert "payments has no private endpoints" in member.command("list").text
    assert "No cluster in payments has an active private endpoint" in member.command("connect").text
    assert "USD 0.00 per month" in member.command("billing").text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("edit", "Usage: /private-endpoint edit <id>"),
        ("terminate x", "Usage: /private-endpoint terminate <id>"),
        ("create Bad;Name", "not a valid cluster name"),
        ("create nope", "no cluster named"),
        ("create analytics", "Not applicable"),
        ("create sandbox", "Developer-tier"),
        ("create fresh", "still being created"),
    ],
)
def test_bad_arguments_say_why(world: World, text: str, message: str) -> None:
    assert message in world.person().command(text).text


def test_a_retried_command_opens_one_wizard_and_says_nothing_more(world: World) -> None:
    from sandbox.slack_client import slash_command_body

    owner = world.person()
    body = slash_command_body(
        "/private-endpoint",
        "create orders",
        user_id=owner.user_id,
        channel_id=owner.channel_id,
        response_url=world.slack.response_url(),
    )
    assert world.client.send_slash_command(body).status == 200
    for retry in (1, 2, 3):
        assert world.client.send_slash_command(body, delivery=Delivery.retry(retry)).status == 200
    calls = world.slack.standin.wait_for("views.open", count=4)
    assert [c.ok for c in calls] == [True, False, False, False]  # the trigger works once
    time.sleep(0.5)  # a reply, if the bot wrongly sent one, would follow the failed views.open
    assert world.slack.standin.calls("response_url") == []
    assert len(world.slack.standin.views()) == 1


@pytest.mark.parametrize("verb", ["edit", "terminate"])
def test_an_endpoint_of_another_project_is_not_found(world: World, verb: str) -> None:
    with transaction(world.sessions) as session:
        projects.add(session=session, name="other", channel_id="C0OTHER01", owners=[OWNER])
        other = project_queries.get_project_by_channel(session=session, channel_id="C0OTHER01")
        payments = project_queries.get_project_by_channel(session=session, channel_id=CHANNEL)
        assert other is not None and payments is not None
        (orders,) = [
            c for c in cluster_queries.list_clusters(session=session) if c.name == "orders"
        ]
        foreign = orm.PrivateEndpoint(
            project_id=other.id,
            cluster_id=orders.id,
            stage=Stage.INTERFACE_ENDPOINT,
            status=EndpointStatus.NOT_CONFIGURED,
            created_by=OWNER,
        )
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    text = world.person().command(f"{verb} {foreign_id}").text
    assert f"There is no private endpoint #{foreign_id} in payments" in text
    assert world.slack.standin.calls("views.open") == []


def add_endpoint(world: World, *, channel_id: str = CHANNEL) -> int:
    """A private endpoint of the channel's project on its cluster "orders", no VPC given yet."""
    with transaction(world.sessions) as session:
        project = project_queries.get_project_by_channel(session=session, channel_id=channel_id)
        assert project is not None
        (orders,) = [
            c for c in cluster_queries.list_clusters(session=session) if c.name == "orders"
        ]
        endpoint = orm.PrivateEndpoint(
            project_id=project.id,
            cluster_id=orders.id,
            stage=Stage.INTERFACE_ENDPOINT,
            status=EndpointStatus.NOT_CONFIGURED,
            created_by=OWNER,
        )
        session.add(endpoint)
        session.flush()
        return endpoint.id


EXAMPLE_ARGUMENT = {Arg.NONE: "", Arg.CLUSTER: " orders", Arg.ENDPOINT_ID: " #{id}"}


def typed(row: Subcommand, endpoint_id: int) -> str:
    """The row's verb with a valid argument of its kind."""
    return row.verb.value + EXAMPLE_ARGUMENT[row.arg].format(id=endpoint_id)


def test_every_verb_of_the_table_has_one_answer() -> None:
    assert list(ANSWERS) == [row.verb for row in SUBCOMMANDS]


def test_the_help_lists_every_subcommand_of_the_table_in_order(world: World) -> None:
    text = world.person(MEMBER).command("help").json()["blocks"][0]["text"]["text"]
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == len(SUBCOMMANDS)
    for line, row in zip(lines, SUBCOMMANDS, strict=True):
        assert line.startswith(f"• `{COMMAND} {row.usage}`: {row.help}"), line
        assert line.endswith(" (owners)") == row.owners_only, line


@pytest.mark.parametrize("row", SUBCOMMANDS, ids=lambda row: row.verb.value)
def test_an_owner_gets_a_modal_from_exactly_the_verbs_that_open_one(
    world: World, row: Subcommand
) -> None:
    endpoint_id = add_endpoint(world)
    answer = world.person().command(typed(row, endpoint_id))
    assert answer.status == 200
    if row.opens_view:
        assert answer.text == ""  # the ack says nothing; the modal follows it
        (opened,) = world.slack.standin.wait_for("views.open", count=1)
        assert opened.ok
    else:
        assert answer.json()["blocks"]
        assert world.slack.standin.calls("views.open") == []


@pytest.mark.parametrize("row", SUBCOMMANDS, ids=lambda row: row.verb.value)
def test_a_member_is_refused_exactly_the_owners_verbs(world: World, row: Subcommand) -> None:
    endpoint_id = add_endpoint(world)
    text = world.person(MEMBER).command(typed(row, endpoint_id)).json()["blocks"][0]["text"]["text"]
    assert ("Only owners of project payments" in text) == row.owners_only, text
    assert world.slack.standin.calls("views.open") == []
