"""Issue 8, "only the user's AWS account may connect", over the local AWS (HTTP) with two
consumer accounts and SQLite/Postgres: the account given in the wizard is allowed on the
service, and only it; the wizard shows the create command once that grant is in place (and an
open modal follows it live); each grant is made once. The wrong-account vpce and the removal of
the last endpoint's principal are in test_reconcile_connections."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from slack_sdk import WebClient

from sandbox.aws import call_count
from sandbox.slack_api import RunningStandIn
from tests.aws_fixtures import CONSUMER_ACCOUNT, OTHER_ACCOUNT, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_connections import status
from tests.worker.test_reconcile_modals import open_wizard, shown
from tests.worker.test_reconcile_workers import in_parallel
from tests.worker.test_reconcile_world import (
    FAST,
    World,
    world_fixture,  # noqa: F401 (fixture)
)

GRANT = "ModifyVpcEndpointServicePermissions"
ACCEPT = "AcceptVpcEndpointConnections"


def principal(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def test_only_the_granted_account_can_create_an_endpoint_and_it_reaches_active(
    world: World,
) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    service_id = world.ready(cluster)
    world.interface(endpoint, CONSUMER_ACCOUNT)
    world.run()
    assert world.allowed(service_id) == [principal(CONSUMER_ACCOUNT)]

    with pytest.raises(ClientError) as refused:
        world.create_vpce(cluster, OTHER_ACCOUNT)
    assert refused.value.response["Error"]["Code"] == "InvalidServiceName"

    vpce = world.create_vpce(cluster, CONSUMER_ACCOUNT)
    world.vpce(endpoint, vpce)
    world.run()
    world.create(endpoint)
    world.run()
    assert status(world, endpoint)[:2] == ("active", "done")
    assert world.connection_state(vpce) == "available"


def test_the_accept_stage_shows_the_command_once_the_grant_is_in_place(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    world.interface(endpoint, CONSUMER_ACCOUNT)
    view_id = open_wizard(world, running, client, endpoint)
    before = shown(running, view_id)
    assert f"The bot is allowing account {CONSUMER_ACCOUNT} on the service" in before
    assert "create-vpc-endpoint" not in before

    report = world.run(slack=client)

    assert (report.allowed, report.modals_updated) == (1, 1)
    after = shown(running, view_id)
    assert f"AWS account {CONSUMER_ACCOUNT} is allowed to connect" in after
    assert "bash <<'PRIVATELINK'" in after and "create-vpc-endpoint" in after
    assert world.run(slack=client).modals_updated == 0


def test_each_account_keeps_its_principal_while_one_of_its_endpoints_needs_it(
    world: World,
) -> None:
    cluster = world.cluster()
    ours = [world.endpoint(cluster), world.endpoint(cluster)]
    theirs = world.endpoint(cluster)
    service_id = world.ready(cluster)
    for endpoint in ours:
        world.interface(endpoint, CONSUMER_ACCOUNT)
    world.interface(theirs, OTHER_ACCOUNT)
    world.run()
    both = sorted([principal(CONSUMER_ACCOUNT), principal(OTHER_ACCOUNT)])
    assert sorted(world.allowed(service_id)) == both

    world.terminate(ours[0])
    world.run()
    assert sorted(world.allowed(service_id)) == both  # the other endpoint of the account

    world.terminate(theirs)
    world.run()
    assert world.allowed(service_id) == [principal(CONSUMER_ACCOUNT)]
    assert world.service(cluster).allowed_accounts == [CONSUMER_ACCOUNT]
    with pytest.raises(ClientError):
        world.create_vpce(cluster, OTHER_ACCOUNT)


def test_a_submission_that_arrives_twice_makes_each_mutation_once(world: World) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    for _ in range(2):
        world.interface(endpoint, CONSUMER_ACCOUNT)
    in_parallel(world, workers=2, passes=2, policy=FAST)
    assert call_count(action=GRANT) == 1

    vpce = world.create_vpce(cluster, CONSUMER_ACCOUNT)
    for _ in range(2):
        world.vpce(endpoint, vpce)
    in_parallel(world, workers=2, passes=2, policy=FAST)
    for _ in range(2):
        world.create(endpoint)
    in_parallel(world, workers=2, passes=2, policy=FAST)

    assert status(world, endpoint)[:2] == ("active", "done")
    assert (call_count(action=GRANT), call_count(action=ACCEPT)) == (1, 1)
    assert [a for a, _ in world.events("private_endpoint", endpoint)] == [
        "created",
        "interface_submitted",
        "vpce_submitted",
        "connection_accepted",
        "create_submitted",
        "connection_available",
    ]
