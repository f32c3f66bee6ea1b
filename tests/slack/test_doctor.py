"""`/private-endpoint doctor <id>` over signed HTTP, the Slack stand-in and the local AWS, on
SQLite and Postgres: the ack says what is being checked, the checklist follows privately with
the endpoint's real values; unhealthy targets and AWS's failures are lines marked ✗ with their
reasons; ids that are not the caller's are refused as `status` refuses them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.server import assemble, http_in_background
from bot.services import projects
from bot.storage.db import make_sessionmaker, transaction
from sandbox.aws import call_count, configure, inject_fault, provider_credentials
from sandbox.person import Person
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import Delivery, SlackRequestClient
from tests.aws_fixtures import (  # noqa: F401 (fixtures)
    REGION,
    aws_url,
    ec2_client,
    local_aws_server,
    unused_loopback_url,
)
from tests.slack.checks import check_message
from tests.slack.conftest import SECRET
from tests.slack.conftest import World as SlackWorld
from tests.slack.test_commands import add_endpoint
from tests.slack.test_hostile import FOREIGN_TEAM
from tests.slack.test_status import other_project
from tests.slack.test_wizard import texts
from tests.worker.test_reconcile_world import CHANNEL, OWNER
from tests.worker.test_reconcile_world import World as AwsWorld

MEMBER = "U0MEMBER99"
HOST = "orders.us-west-2.privatelink.example.com"
OK, BAD, NOT_YET = ":white_check_mark:", ":x:", ":white_circle:"
TOPICS = (
    "Endpoint service",
    "Connection",
    "Allowed account",
    "Private DNS name",
    "Load balancer targets",
)


@dataclass
class Clinic:
    """The bot over HTTP with its AWS at the local AWS, and the worker's passes to drive it."""

    aws: AwsWorld
    slack: RunningStandIn
    client: SlackRequestClient

    def person(self, user_id: str = OWNER) -> Person:
        return Person(user_id=user_id, channel_id=CHANNEL, client=self.client, slack=self.slack)

    def active_endpoint(self) -> tuple[int, str]:
        """An endpoint walked to active on cluster orders, with a real vpce: (id, vpce id)."""
        cluster = self.aws.cluster("orders")
        endpoint = self.aws.endpoint(cluster)
        self.aws.ready(cluster)
        self.aws.interface(endpoint)
        self.aws.run()
        vpce = self.aws.create_vpce(cluster)
        self.aws.vpce(endpoint, vpce)
        self.aws.run()
        self.aws.create(endpoint)
        self.aws.run()
        row = self.aws.row(endpoint)
        assert row is not None and row.status == "active", row and row.status
        return endpoint, vpce

    def doctor(self, endpoint_id: int, user_id: str = OWNER) -> dict[str, Any]:
        """Type `doctor <id>`: the checklist that follows the ack (checked against Block Kit)."""
        before = len(self.slack.standin.calls("response_url"))
        ack = self.person(user_id).command(f"doctor {endpoint_id}")
        assert ack.status == 200
        assert ack.json()["text"] == f"Checking private endpoint #{endpoint_id}"
        calls = self.slack.standin.wait_for("response_url", count=before + 1, timeout=30)
        answer = calls[-1].args
        assert answer["response_type"] == "ephemeral"
        return check_message({k: answer[k] for k in ("text", "blocks")})


@pytest.fixture
def clinic(
    clean_database: str,
    db_engine: Engine,
    aws_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Clinic]:
    """Project payments (channel C0RECONCILE, owner U0OWNER001), the bot, the local AWS."""
    provider = provider_credentials()
    for name, value in {"AWS_ENDPOINT_URL": aws_url, **provider.env()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    configure(dns_verified=True)
    sessions = make_sessionmaker(db_engine)
    with transaction(sessions) as session:
        projects.add(session=session, name="payments", channel_id=CHANNEL, owners=[OWNER])
    _, running = start(SlackStandIn(trigger_ttl=None))
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=running.api_url,
        DATABASE_URL=clean_database,  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield Clinic(
            aws=AwsWorld(sessions=sessions, aws_url=aws_url),
            slack=running,
            client=SlackRequestClient(url, signing_secret=SECRET),
        )
    bot.engine.dispose()
    running.stop()


def lines(answer: dict[str, Any]) -> dict[str, str]:
    """The checklist's lines by their name: `<mark> <what was seen…>`."""
    found = {}
    for block in answer["blocks"]:
        text = block.get("text", {}).get("text", "")
        for topic in TOPICS:
            marker = f" *{topic}:* "
            if marker in text:
                mark, _, rest = text.partition(marker)
                found[topic] = f"{mark} {rest}"
    return found


def user_commands(answer: dict[str, Any]) -> list[str]:
    """The commands of the user's own checks, as shown (inside ``` ```)."""
    return [
        block["text"]["text"].split("```")[1]
        for block in answer["blocks"]
        if block["type"] == "section" and "```" in block["text"]["text"]
    ]


@pytest.mark.parametrize("user", [OWNER, MEMBER], ids=["owner", "member"])
def test_an_active_endpoint_gets_every_check_with_its_real_values(
    clinic: Clinic, user: str
) -> None:
    endpoint, vpce = clinic.active_endpoint()
    clinic.person(user).command("list")  # a member is known to the project by then

    answer = clinic.doctor(endpoint, user)

    assert answer["text"] == (
        f"Doctor for private endpoint #{endpoint}: nothing wrong on the provider's side"
    )
    shown = texts(answer)
    assert f"`{vpce}`" in shown and REGION in shown and f"`{HOST}:4000`" in shown
    found = lines(answer)
    assert set(found) == set(TOPICS)
    assert all(line.startswith(OK) for line in found.values()), found
    assert "2 of 2 targets are healthy" in found["Load balancer targets"]
    assert f"`{vpce}` is available" in found["Connection"]
    assert f"`{HOST}` is verified" in found["Private DNS name"]
    describe, groups, dig, nc = user_commands(answer)
    assert describe == (
        f"aws ec2 describe-vpc-endpoints --region {REGION} --vpc-endpoint-ids {vpce} --query "
        "'VpcEndpoints[0].{State:State,PrivateDns:PrivateDnsEnabled,Groups:Groups[].GroupId}'"
    )
    assert groups.startswith(f"aws ec2 describe-security-groups --region {REGION} --group-ids $(")
    assert "(FromPort&lt;=`4000` &amp;&amp; ToPort&gt;=`4000`)" in groups  # mrkdwn-escaped
    assert dig == f"dig +short {HOST}    # or: nslookup {HOST}"
    assert nc == f"nc -vz {HOST} 4000"
    assert "private DNS is off on the endpoint" in shown  # what a bad answer means


def test_unhealthy_targets_are_marked_with_aws_reason(clinic: Clinic) -> None:
    endpoint, _ = clinic.active_endpoint()
    provider = ec2_client(provider_credentials(), clinic.aws.aws_url)
    reservations = provider.describe_instances()["Reservations"]
    instances = sorted(i["InstanceId"] for r in reservations for i in r["Instances"])
    assert len(instances) == 2  # one per subnet of the cluster's load balancer
    provider.stop_instances(InstanceIds=[instances[0]])

    answer = clinic.doctor(endpoint)

    targets = lines(answer)["Load balancer targets"]
    assert targets.startswith(f"{BAD} 1 of 2 targets are healthy.")
    assert (
        f":x: `{instances[0]}:4000` is unused: Target is in the stopped state (Target.InvalidState)"
    ) in targets
    assert instances[1] not in targets
    assert "*Fix:* Connections go to the healthy targets meanwhile" in targets
    assert answer["text"] == f"Doctor for private endpoint #{endpoint}: 1 problem(s) found"

    provider.stop_instances(InstanceIds=[instances[1]])
    targets = lines(clinic.doctor(endpoint))["Load balancer targets"]
    assert targets.startswith(f"{BAD} 0 of 2 targets are healthy.")
    assert "Nothing on your side can fix this" in targets


def test_an_unverified_name_is_marked_and_the_host_is_the_endpoints_own_name(
    clinic: Clinic,
) -> None:
    configure(dns_verified=False)
    endpoint, vpce = clinic.active_endpoint()

    answer = clinic.doctor(endpoint)

    found = lines(answer)
    assert found["Private DNS name"].startswith(
        f"{BAD} `{HOST}` is not verified (Pending verification): it does not resolve in your VPC"
    )
    assert "publish the TXT record and press Verify now" in found["Private DNS name"]
    own = clinic.aws.consumer().ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])
    own_name = own["VpcEndpoints"][0]["DnsEntries"][0]["DnsName"]
    assert own_name.startswith(f"{vpce}-")
    *_, dig, nc = user_commands(answer)
    assert (dig, nc) == (
        f"dig +short {own_name}    # or: nslookup {own_name}",
        f"nc -vz {own_name} 4000",
    )
    assert f"`{own_name}:4000`" in texts(answer)


def test_an_aws_failure_is_a_line_with_its_reason_and_the_rest_is_still_checked(
    clinic: Clinic,
) -> None:
    endpoint, _ = clinic.active_endpoint()
    inject_fault(
        action="DescribeVpcEndpointConnections",
        code="UnauthorizedOperation",
        message="You are not authorized to perform this operation.",
        status=403,
    )

    answer = clinic.doctor(endpoint)

    found = lines(answer)
    connection = found.pop("Connection")
    assert connection.startswith(f"{BAD} The bot could not read this from AWS: ")
    assert "not allowed" in connection or "not authorized" in connection, connection
    assert "Traceback" not in json.dumps(answer)
    assert all(line.startswith(OK) for line in found.values()), found


def test_aws_out_of_reach_makes_each_line_that_reads_it_a_cross_quickly(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, _ = clinic.active_endpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL", unused_loopback_url())  # read by the bot's first call

    started = time.monotonic()
    answer = clinic.doctor(endpoint)

    assert time.monotonic() - started < 15
    found = lines(answer)
    assert set(found) == set(TOPICS)
    for line in found.values():
        assert line.startswith(f"{BAD} The bot could not read this from AWS: "), line
        assert "Run the doctor again in a minute" in line
    assert answer["text"] == f"Doctor for private endpoint #{endpoint}: 5 problem(s) found"


def test_an_endpoint_without_a_vpce_says_its_stage_and_checks_the_provider_side(
    clinic: Clinic,
) -> None:
    cluster = clinic.aws.cluster("orders")
    endpoint = clinic.aws.endpoint(cluster)
    clinic.aws.ready(cluster)

    answer = clinic.doctor(endpoint)

    shown = texts(answer)
    assert f"#{endpoint} is *not_configured*, at the wizard's Interface Endpoint stage" in shown
    found = lines(answer)
    assert found["Endpoint service"].startswith(OK)
    assert found["Load balancer targets"].startswith(OK)
    assert found["Connection"] == f"{NOT_YET} No VPC endpoint yet."
    assert found["Allowed account"] == f"{NOT_YET} No AWS account given yet."
    assert user_commands(answer) == []  # nothing on the user's side to check yet


def test_a_retried_command_is_answered_once(clinic: Clinic) -> None:
    endpoint, _ = clinic.active_endpoint()
    clinic.doctor(endpoint)
    reads = call_count(action="DescribeVpcEndpointConnections")

    retried = clinic.person().command(f"doctor {endpoint}", delivery=Delivery.retry(1))

    assert retried.status == 200
    time.sleep(1.5)  # what the retry would have sent by now
    assert len(clinic.slack.standin.calls("response_url")) == 1
    assert call_count(action="DescribeVpcEndpointConnections") == reads


# --- refusals, as `status` words them (no AWS needed: refused in the ack) ------------------


def doctor_and_status(person: Person, argument: str) -> tuple[str, str]:
    """What `doctor` and `status` answer with `argument`, the verb written `<verb>`."""
    found = []
    for verb in ("doctor", "status"):
        answer = person.command(f"{verb} {argument}")
        assert answer.status == 200
        found.append(answer.text.replace(f"/private-endpoint {verb} ", "/private-endpoint <verb> "))
    return found[0], found[1]


@pytest.mark.parametrize("argument", ["", "#0", "abc", "1 2", "9" * 19, "4242", "2147483648"])
def test_bad_ids_are_refused_as_status_refuses_them(world: SlackWorld, argument: str) -> None:
    add_endpoint(world)
    doctor, status = doctor_and_status(world.person(), argument)
    assert doctor == status
    assert json.loads(doctor)["blocks"][0]["text"]["text"].startswith(":no_entry:")
    assert world.slack.standin.calls("response_url") == []


def test_outsiders_and_other_workspaces_are_refused_as_status_refuses_them(
    world: SlackWorld,
) -> None:
    ours = add_endpoint(world)
    theirs = other_project(world)
    world.person().command("list")  # the project learns its workspace
    outsider = world.person("U0OTHER1", "C0OTHER01")  # an owner, of another project
    doctor, status = doctor_and_status(outsider, str(ours))
    assert doctor == status
    assert f"There is no private endpoint #{ours} in other" in doctor
    doctor, status = doctor_and_status(world.person(), str(theirs))
    assert doctor == status
    assert f"There is no private endpoint #{theirs} in payments" in doctor
    foreign = world.person()
    foreign.team_id = FOREIGN_TEAM  # the same user and channel ids, in another workspace
    doctor, status = doctor_and_status(foreign, str(ours))
    assert doctor == status
    assert "belongs to no project" in doctor
    assert world.slack.standin.calls("response_url") == []
