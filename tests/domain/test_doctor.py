"""The doctor's rules: every line's mark, what it says and its fix, from AWS's answers as plain
values; and the user's own checks, validated and quoted."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.doctor import (
    ASK_AGAIN,
    ConnectionSeen,
    Mark,
    ServiceSeen,
    TargetSeen,
    Topic,
    account_check,
    connection_check,
    dns_check,
    host_of,
    service_check,
    stage_note,
    targets_check,
    unreadable,
)
from bot.domain.entities import Cluster, EndpointService, PrivateEndpoint
from bot.domain.errors import InvalidInput
from bot.domain.states import (
    Cloud,
    ClusterStatus,
    ConnectionState,
    EndpointStatus,
    ServiceStatus,
    Stage,
    Tier,
)
from bot.domain.user_side_checks import user_side_checks

ACCOUNT = "111122223333"
VPCE = "vpce-0123456789abcdef0"
HOST = "orders.us-west-2.privatelink.example.com"
CLUSTER = Cluster(
    id=1,
    project_id=1,
    name="orders",
    tier=Tier.DEDICATED,
    cloud=Cloud.AWS,
    region="us-west-2",
    status=ClusterStatus.ACTIVE,
    nlb_arn="arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/orders/0123",
    private_dns_host=HOST,
)
SERVICE = EndpointService(
    id=1,
    cluster_id=1,
    status=ServiceStatus.ACTIVE,
    aws_service_id="vpce-svc-0123456789abcdef0",
    service_name="com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
)
ENDPOINT = PrivateEndpoint(
    id=7,
    project_id=1,
    cluster_id=1,
    stage=Stage.DONE,
    status=EndpointStatus.ACTIVE,
    created_by="U0OWNER01",
    account_id=ACCOUNT,
    vpc_id="vpc-0123456789abcdef0",
    vpce_id=VPCE,
)
AVAILABLE = ServiceSeen("Available", HOST, "verified")


def test_every_connection_state_aws_reports_has_its_mark_and_words() -> None:
    marks = {}
    for state in ConnectionState:
        check = connection_check(endpoint=ENDPOINT, seen=ConnectionSeen(state.value, ACCOUNT))
        assert check.topic is Topic.CONNECTION
        assert check.seen.startswith(f"`{VPCE}` ")
        assert (check.mark is Mark.OK) == (check.fix == ""), state
        if check.mark is Mark.BAD:
            assert "/private-endpoint edit 7" in check.fix, state
        marks[state] = check.mark
    assert marks == {
        ConnectionState.AVAILABLE: Mark.OK,
        ConnectionState.PENDING_ACCEPTANCE: Mark.WAITING,
        ConnectionState.PENDING: Mark.WAITING,
        ConnectionState.DELETING: Mark.BAD,
        ConnectionState.DELETED: Mark.BAD,
        ConnectionState.REJECTED: Mark.BAD,
        ConnectionState.FAILED: Mark.BAD,
        ConnectionState.EXPIRED: Mark.BAD,
    }


def test_a_connection_that_is_missing_unknown_or_of_another_account_is_wrong() -> None:
    missing = connection_check(endpoint=ENDPOINT, seen=None)
    assert (missing.mark, missing.seen) == (
        Mark.BAD,
        f"AWS has no connection from `{VPCE}` to this service: it was deleted, or it was made "
        "for another service.",
    )
    odd = connection_check(endpoint=ENDPOINT, seen=ConnectionSeen("sleeping", ACCOUNT))
    assert (odd.mark, odd.fix) == (Mark.BAD, ASK_AGAIN)
    theirs = connection_check(endpoint=ENDPOINT, seen=ConnectionSeen("available", "444455556666"))
    assert theirs.mark is Mark.BAD
    assert theirs.seen == f"`{VPCE}` belongs to AWS account 444455556666, not {ACCOUNT}."
    no_vpce = dataclasses.replace(ENDPOINT, vpce_id=None)
    assert connection_check(endpoint=no_vpce, seen=None).mark is Mark.NOT_YET


@pytest.mark.parametrize(
    ("service", "seen", "mark"),
    [
        (None, None, Mark.NOT_YET),
        (
            dataclasses.replace(SERVICE, aws_service_id=None, status=ServiceStatus.CREATING),
            None,
            Mark.WAITING,
        ),
        (SERVICE, AVAILABLE, Mark.OK),
        (SERVICE, ServiceSeen("Pending", HOST, None), Mark.WAITING),
        (SERVICE, ServiceSeen("Failed", HOST, None), Mark.BAD),
        (SERVICE, ServiceSeen("Deleting", HOST, None), Mark.BAD),
        (SERVICE, None, Mark.BAD),  # AWS has no such service
    ],
)
def test_the_endpoint_service(
    service: EndpointService | None, seen: ServiceSeen | None, mark: Mark
) -> None:
    check = service_check(service=service, seen=seen)
    assert check.mark is mark, check
    assert bool(check.fix) == (mark is Mark.BAD)


def test_a_service_that_failed_to_be_made_says_why() -> None:
    failed = dataclasses.replace(
        SERVICE, status=ServiceStatus.FAILED, aws_service_id=None, failure_reason="quota reached"
    )
    check = service_check(service=failed, seen=None)
    assert (check.mark, check.seen) == (Mark.BAD, "Creating it failed: quota reached")


def test_the_account_must_be_among_the_allowed_principals() -> None:
    allowed = account_check(endpoint=ENDPOINT, principals=[f"arn:aws:iam::{ACCOUNT}:root"])
    assert (allowed.mark, allowed.seen) == (Mark.OK, f"AWS account {ACCOUNT} may connect.")
    assert account_check(endpoint=ENDPOINT, principals=["*"]).mark is Mark.OK
    missing = account_check(endpoint=ENDPOINT, principals=["arn:aws:iam::444455556666:root"])
    assert missing.mark is Mark.BAD and "/private-endpoint edit 7" in missing.fix
    deleting = dataclasses.replace(ENDPOINT, status=EndpointStatus.DELETING)
    assert account_check(endpoint=deleting, principals=[]).mark is Mark.OK
    no_account = dataclasses.replace(ENDPOINT, account_id=None)
    assert account_check(endpoint=no_account, principals=[]).mark is Mark.NOT_YET


def test_the_private_dns_name_must_be_verified() -> None:
    assert dns_check(seen=AVAILABLE).mark is Mark.OK
    failed = dns_check(seen=ServiceSeen("Available", HOST, "failed"))
    assert failed.mark is Mark.BAD
    assert failed.seen.startswith(f"`{HOST}` is not verified (Verification failed)")
    assert dns_check(seen=ServiceSeen("Available", None, None)).mark is Mark.NOT_YET
    assert dns_check(seen=None).mark is Mark.NOT_YET


def test_every_target_must_be_healthy_and_each_unhealthy_one_is_named() -> None:
    healthy = TargetSeen("i-1:4000", "healthy")
    sick = TargetSeen("i-2:4000", "unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    draining = TargetSeen("i-3:4000", "draining", "Target.DeregistrationInProgress")
    assert targets_check(cluster=CLUSTER, targets=[healthy]).mark is Mark.OK
    check = targets_check(cluster=CLUSTER, targets=[healthy, sick, draining])
    assert (check.mark, check.seen) == (Mark.BAD, "1 of 3 targets are healthy.")
    assert check.details == (
        "`i-2:4000` is unhealthy: Health checks failed (Target.FailedHealthChecks)",
        "`i-3:4000` is draining: Target.DeregistrationInProgress",
    )
    none = targets_check(cluster=CLUSTER, targets=[])
    assert (none.mark, none.seen) == (Mark.BAD, "No target is registered with the load balancer.")
    assert "Nothing on your side can fix this" in none.fix
    no_nlb = dataclasses.replace(CLUSTER, nlb_arn=None)
    assert targets_check(cluster=no_nlb, targets=[]).mark is Mark.NOT_YET


def test_an_unreadable_line_gives_the_reason_in_words() -> None:
    check = unreadable(Topic.TARGETS, "AWS refused: access denied.")
    assert (check.mark, check.seen, check.fix) == (
        Mark.BAD,
        "The bot could not read this from AWS: AWS refused: access denied.",
        ASK_AGAIN,
    )


def test_the_host_is_the_private_name_once_verified_else_the_endpoints_own() -> None:
    own = ConnectionSeen("available", ACCOUNT, ("*.vpce-svc-1.example", "vpce-1-ab.vpce-svc-1.x"))
    assert host_of(cluster=CLUSTER, seen=AVAILABLE, connection=own) == HOST
    unverified = ServiceSeen("Available", HOST, "pendingVerification")
    assert host_of(cluster=CLUSTER, seen=unverified, connection=own) == "vpce-1-ab.vpce-svc-1.x"
    assert host_of(cluster=CLUSTER, seen=unverified, connection=None) == HOST


def test_the_stage_note_says_what_can_be_checked() -> None:
    assert stage_note(ENDPOINT) is None
    waiting = dataclasses.replace(
        ENDPOINT,
        vpce_id=None,
        status=EndpointStatus.NOT_CONFIGURED,
        stage=Stage.INTERFACE_ENDPOINT,
    )
    note = stage_note(waiting)
    assert note is not None
    assert note.startswith("#7 is *not_configured*, at the wizard's Interface Endpoint stage")
    deleting = stage_note(dataclasses.replace(ENDPOINT, status=EndpointStatus.DELETING))
    assert deleting is not None and deleting.startswith("#7 is being deleted")


def test_the_users_checks_use_the_groups_given_quoted_and_validated() -> None:
    checks = user_side_checks(
        vpce_id=VPCE,
        region="us-west-2",
        host=HOST,
        port=3306,
        security_group_ids=("sg-0123456789abcdef0", "sg-0fedcba9876543210"),
    )
    assert [c.title for c in checks] == [
        "Private DNS and security groups of your endpoint",
        "Your security groups admit TCP 3306",
        "The host resolves to private addresses, from inside your VPC",
        "A connection gets through, from inside your VPC",
    ]
    assert " --group-ids sg-0123456789abcdef0 sg-0fedcba9876543210 --query " in checks[1].command
    assert "$(" not in checks[1].command
    assert checks[3].command == f"nc -vz {HOST} 3306"
    assert "--vpc-id <VPC ID>" in checks[2].bad  # no VPC given: a placeholder, never a guess
    for bad in [
        {"vpce_id": "vpce-1; rm -rf /"},
        {"host": "$(reboot).example.com"},
        {"region": "us-west-2 --debug"},
        {"port": 0},
    ]:
        given = {"vpce_id": VPCE, "region": "us-west-2", "host": HOST, "port": 4000, **bad}
        with pytest.raises(InvalidInput):
            user_side_checks(**given)  # type: ignore[arg-type]
