"""`/private-endpoint status <id>` over signed HTTP: every status, owners and members, and every
id that is not theirs refused as `edit` and `terminate` refuse it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.slash import COMMAND
from bot.domain.states import EndpointStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.services import changes, projects, wizard
from bot.storage import orm
from bot.storage.db import transaction
from sandbox.person import Person
from tests.slack.conftest import MEMBER, OWNER, World
from tests.slack.test_commands import add_endpoint
from tests.slack.test_hostile import FOREIGN_TEAM, snapshot
from tests.slack.test_surfaces import endpoint_at
from tests.slack.test_wizard import VPCE, texts

OTHER_CHANNEL = "C0OTHER01"
SAME_REFUSAL = ("status", "edit", "terminate")


def endpoint_in(world: World, case: str) -> int:
    """The one endpoint of payments, walked to `case`: a stage of `endpoint_at`, or past it."""
    if case in ("done", "deleting", "deleted"):
        endpoint_id = endpoint_at(world, "dns")
        with world.sessions.begin() as session:
            if case == "done":
                wizard.submit_create(session=session, endpoint_id=endpoint_id, user_id=OWNER)
            else:
                wizard.terminate(session=session, endpoint_id=endpoint_id, user_id=OWNER)
        if case == "deleted":
            with world.sessions.begin() as session:
                endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
                assert endpoint is not None
                changes.apply(
                    session=session, endpoint=endpoint, event=EndpointEvent.REMOVED, actor="system"
                )
        return endpoint_id
    return endpoint_at(world, case)


def stored(world: World, endpoint_id: int) -> orm.PrivateEndpoint:
    with world.sessions() as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        return endpoint


def field_texts(answer: dict[str, Any]) -> dict[str, str]:
    """The reply's fields, label -> value."""
    found = {}
    for block in answer["blocks"]:
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            found[label.strip("*")] = value
    return found


def slack_date(when: datetime) -> str:
    """`when` as Slack's date formatting writes it, UTC as the fallback."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


JUST_NOW = r" \(for [0-9]{1,2}s\)"


def edit(endpoint_id: int) -> str:
    return f"`{COMMAND} edit {endpoint_id}` (owners)"


# case -> (status, wizard stage, the next step's words, with {id} and {vpce})
CASES: dict[str, tuple[EndpointStatus, Stage, str]] = {
    "interface": (
        EndpointStatus.NOT_CONFIGURED,
        Stage.INTERFACE_ENDPOINT,
        "Give your AWS account and VPC in the wizard: {edit}.",
    ),
    "accept": (
        EndpointStatus.INITIATING,
        Stage.ACCEPT_ENDPOINT_CONNECTION,
        "Create the interface endpoint in your VPC with the command the wizard shows, then "
        "paste its vpce id there: {edit}.",
    ),
    "verifying": (
        EndpointStatus.INITIATING,
        Stage.ACCEPT_ENDPOINT_CONNECTION,
        "Nothing to do: the bot is verifying and accepting `{vpce}`; the channel hears when it "
        "is accepted.",
    ),
    "dns": (
        EndpointStatus.PENDING,
        Stage.ENABLE_PRIVATE_DNS,
        "Turn on private DNS for your endpoint: `aws ec2 modify-vpc-endpoint --vpc-endpoint-id "
        "{vpce} --region us-west-2 --private-dns-enabled`; then press Create in the wizard: "
        "{edit}.",
    ),
    "done": (
        EndpointStatus.PENDING,
        Stage.DONE,
        "Nothing to do: it turns active when AWS reports the connection available; the channel "
        "hears when.",
    ),
    "active": (
        EndpointStatus.ACTIVE,
        Stage.DONE,
        f"Connect from inside your VPC: `{COMMAND} connect orders`.",
    ),
    "failed": (
        EndpointStatus.FAILED,
        Stage.ACCEPT_ENDPOINT_CONNECTION,
        "Retry it: press Retry on its message in the channel, or {edit}; the wizard resumes at "
        "Accept Endpoint Connection.",
    ),
    "deleting": (
        EndpointStatus.DELETING,
        Stage.ENABLE_PRIVATE_DNS,
        "Nothing to do: it is being removed from AWS; the channel hears when it is gone.",
    ),
    "deleted": (EndpointStatus.DELETED, Stage.ENABLE_PRIVATE_DNS, "Nothing to do: it was deleted."),
}


@pytest.mark.parametrize("user", [OWNER, MEMBER], ids=["owner", "member"])
@pytest.mark.parametrize("case", list(CASES))
def test_status_says_where_an_endpoint_stands_and_what_next(
    world: World, case: str, user: str
) -> None:
    endpoint_id = endpoint_in(world, case)
    row = stored(world, endpoint_id)
    status, stage, step = CASES[case]
    assert (row.status, row.stage) == (status, stage)
    world.person(user).command("list")  # known to the project (a first command writes that)
    before = snapshot(world)

    answer = world.person(user).command(f"status #{endpoint_id}")

    assert answer.status == 200
    reply = answer.json()
    assert set(reply) == {"text", "blocks"}  # the ack's own message: only the caller sees it
    assert reply["text"] == f"Private endpoint #{endpoint_id} is {status.value}"
    assert f"*Private endpoint #{endpoint_id}* to *orders* (us-west-2)" in texts(reply)
    since = row.status_changed_at
    shown = field_texts(reply)
    assert re.fullmatch(JUST_NOW, shown.pop("Since").removeprefix(slack_date(since)))
    assert shown == {
        "Status": f"*{status.value}*",
        "Wizard stage": stage.label,
        "VPC endpoint": f"`{row.vpce_id}`" if row.vpce_id else "none yet",
    }
    words = step.format(edit=edit(endpoint_id), vpce=VPCE)
    assert f"*Next step:* {words}" in texts(reply)
    assert ("Why it failed" in texts(reply)) == (status is EndpointStatus.FAILED)
    assert snapshot(world) == before  # status only reads
    assert world.slack.standin.calls("chat.postMessage") == []
    assert world.slack.standin.calls("response_url") == []


def test_a_failed_endpoint_shows_its_stored_reason(world: World) -> None:
    endpoint_id = endpoint_in(world, "failed")
    reply = world.person(MEMBER).command(f"status {endpoint_id}").json()
    reason = f":x: *Why it failed:* {VPCE} belongs to another service"
    assert reason in texts(reply)


def test_since_is_when_the_status_last_changed(world: World) -> None:
    endpoint_id = endpoint_in(world, "accept")
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3, minutes=5)
    with world.sessions.begin() as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.status_changed_at = three_hours_ago
        endpoint.stage = Stage.ACCEPT_ENDPOINT_CONNECTION  # a step within the status
    reply = world.person().command(f"status {endpoint_id}").json()
    since = field_texts(reply)["Since"]
    assert since.startswith(f"<!date^{int(three_hours_ago.timestamp())}^")
    assert since.endswith(" (for 3h)")

    owner = world.person()
    owner.open_wizard(f"edit {endpoint_id}")
    owner.submit({"vpce": VPCE})  # a step that stays initiating: since stays
    assert field_texts(owner.command(f"status {endpoint_id}").json())["Since"] == since
    with world.sessions.begin() as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.stage = Stage.ENABLE_PRIVATE_DNS
        changes.apply(
            session=session,
            endpoint=endpoint,
            event=EndpointEvent.CONNECTION_ACCEPTED,
            actor="system",
        )
    moved = field_texts(owner.command(f"status {endpoint_id}").json())["Since"]
    with world.sessions() as session:
        accepted_at = session.get(orm.PrivateEndpoint, endpoint_id)
        assert accepted_at is not None
        assert re.fullmatch(JUST_NOW, moved.removeprefix(slack_date(accepted_at.status_changed_at)))
    assert accepted_at.status_changed_at > three_hours_ago + timedelta(hours=3)


def refusals(person: Person, argument: str) -> dict[str, str]:
    """What `status`, `edit` and `terminate` answer with `argument` (the whole reply, as JSON),
    the verb written `<verb>`."""
    found = {}
    for verb in SAME_REFUSAL:
        answer = person.command(f"{verb} {argument}")
        assert answer.status == 200
        found[verb] = answer.text.replace(f"{COMMAND} {verb} ", f"{COMMAND} <verb> ")
    return found


def assert_refused_alike(person: Person, argument: str, words: str) -> None:
    found = refusals(person, argument)
    assert len(set(found.values())) == 1, found
    said = json.loads(found["status"])["text"]
    assert words in said, said


@pytest.mark.parametrize("user", [OWNER, MEMBER], ids=["owner", "member"])
@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("", "Usage: /private-endpoint <verb> <id>, with the endpoint's number from"),
        ("#0", "Usage: /private-endpoint <verb> <id>"),
        ("abc", "Usage: /private-endpoint <verb> <id>"),
        ("1 2", "Usage: /private-endpoint <verb> <id>"),
        ("9" * 19, "Usage: /private-endpoint <verb> <id>"),
        ("4242", "There is no private endpoint #4242 in payments; see `/private-endpoint list`."),
        ("2147483648", "There is no private endpoint #2147483648 in this project."),
        ("#999999999999999999", "There is no private endpoint #999999999999999999"),
    ],
)
def test_unknown_and_malformed_ids_are_refused_as_edit_and_terminate_refuse_them(
    world: World, user: str, argument: str, words: str
) -> None:
    add_endpoint(world)
    before = snapshot(world)
    assert_refused_alike(world.person(user), argument, words)
    assert world.slack.standin.calls("views.open") == []
    assert snapshot(world) == before  # a refused command writes nothing


def other_project(world: World) -> int:
    """Project "other" in its own channel, with an endpoint of its own; that endpoint's id."""
    with transaction(world.sessions) as session:
        projects.add(session=session, name="other", channel_id=OTHER_CHANNEL, owners=["U0OTHER1"])
    return add_endpoint(world, channel_id=OTHER_CHANNEL)


def test_an_id_of_another_project_is_not_found(world: World) -> None:
    theirs = other_project(world)
    for user in (OWNER, MEMBER):
        assert_refused_alike(
            world.person(user), str(theirs), f"There is no private endpoint #{theirs} in payments"
        )
    answer = world.person("U0OTHER1", OTHER_CHANNEL).command(f"status {theirs}")
    assert answer.json()["text"] == f"Private endpoint #{theirs} is not_configured"


def test_people_outside_the_project_are_refused(world: World) -> None:
    ours = add_endpoint(world)
    other_project(world)
    outsider = world.person("U0OTHER1", OTHER_CHANNEL)  # an owner, of another project
    assert_refused_alike(outsider, str(ours), f"There is no private endpoint #{ours} in other")
    stranger = world.person("U0STRANGE", "C0NOWHERE1")  # in a channel of no project
    assert_refused_alike(stranger, str(ours), "belongs to no project")


def test_another_workspace_is_refused(world: World) -> None:
    ours = add_endpoint(world)
    world.person().command("list")  # the project learns its workspace
    before = snapshot(world)
    foreign = world.person()
    foreign.team_id = FOREIGN_TEAM  # the same user and channel ids, in another workspace
    assert_refused_alike(foreign, str(ours), "belongs to no project")
    assert snapshot(world) == before
