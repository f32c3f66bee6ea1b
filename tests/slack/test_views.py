"""Every view and message the builders make is valid Block Kit and within its limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain import billing
from bot.domain.connection import Client, connection_strings
from bot.domain.entities import Cluster, EndpointService, PrivateEndpoint, Project
from bot.domain.rules import choose_cluster
from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Stage, Tier
from bot.services.endpoints import Connect, EndpointRow, Listing, Status
from bot.services.wizard import WizardState
from bot.slack.views import messages
from bot.slack.views.home import home_view
from bot.slack.views.wizard import wizard_view
from tests.slack.checks import InvalidBlocks, check_message, check_view

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PROJECT = Project(id=1, name="payments", channel_id="C0PAYMENTS", owners=frozenset({"U0OWNER01"}))
HOST = "orders.us-west-2.privatelink.example.com"


def cluster(cid: int = 1, name: str = "orders", **kw: object) -> Cluster:
    values: dict[str, object] = {
        "id": cid,
        "project_id": 1,
        "name": name,
        "tier": Tier.DEDICATED,
        "cloud": Cloud.AWS,
        "region": "us-west-2",
        "status": ClusterStatus.ACTIVE,
        "private_dns_host": HOST,
    }
    values.update(kw)
    return Cluster(**values)  # type: ignore[arg-type]


SERVICES = {
    "creating": EndpointService(id=1, cluster_id=1, status=ServiceStatus.CREATING),
    "failed": EndpointService(
        id=1, cluster_id=1, status=ServiceStatus.FAILED, failure_reason="x" * 5000
    ),
    "active": EndpointService(
        id=1,
        cluster_id=1,
        status=ServiceStatus.ACTIVE,
        aws_service_id="vpce-svc-0123456789abcdef0",
        service_name="com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
        az_ids=("usw2-az1", "usw2-az2"),
    ),
}


def endpoint(status: EndpointStatus, stage: Stage, eid: int = 7, **kw: object) -> PrivateEndpoint:
    values: dict[str, object] = {
        "id": eid,
        "project_id": 1,
        "cluster_id": 1,
        "stage": stage,
        "status": status,
        "created_by": "U0OWNER01",
        "account_id": "111122223333",
        "vpc_id": "vpc-0a1b2c3d4e5f67890",
        "subnet_ids": ("subnet-0a1b2c3d4e5f67890",),
        "vpce_id": "vpce-0f1e2d3c4b5a69788",
    }
    values.update(kw)
    return PrivateEndpoint(**values)  # type: ignore[arg-type]


STAGE_STATUSES = [
    (
        Stage.INTERFACE_ENDPOINT,
        EndpointStatus.NOT_CONFIGURED,
        {"vpc_id": None, "vpce_id": None, "subnet_ids": ()},
    ),
    (Stage.INTERFACE_ENDPOINT, EndpointStatus.FAILED, {"failure_reason": "AccessDenied " * 400}),
    (Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING, {"vpce_id": None}),
    (Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING, {}),
    (Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.FAILED, {"failure_reason": "rejected"}),
    (Stage.ENABLE_PRIVATE_DNS, EndpointStatus.PENDING, {}),
    (Stage.DONE, EndpointStatus.PENDING, {}),
    (Stage.DONE, EndpointStatus.ACTIVE, {}),
    (Stage.DONE, EndpointStatus.DELETING, {}),
]


@pytest.mark.parametrize(("stage", "status", "changes"), STAGE_STATUSES)
@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("show", [False, True])
def test_every_wizard_stage_is_valid(
    stage: Stage, status: EndpointStatus, changes: dict[str, object], service: str, show: bool
) -> None:
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=stage,
        cluster=cluster(),
        service=SERVICES[service],
        endpoint=endpoint(status, stage, **changes),
    )
    check_view(wizard_view(state, show_instructions=show))


@pytest.mark.parametrize("count", [0, 1, 150])
def test_choose_cluster_is_valid_with_any_number_of_clusters(count: int) -> None:
    clusters = [cluster(i, f"c{i:03d}") for i in range(count)]
    clusters += [
        cluster(999, "analytics", cloud=Cloud.GCP),
        cluster(998, "dev", tier=Tier.DEVELOPER),
    ]
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=Stage.CHOOSE_CLUSTER,
        choice=choose_cluster(clusters),
    )
    view = check_view(wizard_view(state))
    assert (view.get("submit") is None) is (count == 0)


def test_service_endpoint_stage_is_valid() -> None:
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=Stage.SERVICE_ENDPOINT,
        cluster=cluster(region="ap-southeast-5"),
    )
    view = check_view(wizard_view(state))
    assert view["blocks"][2]["element"]["initial_option"]["value"] == "ap-southeast-5"


def listing(count: int, *, total: int | None = None) -> Listing:
    return Listing(rows=rows(count), total=count if total is None else total)


def rows(count: int) -> list[EndpointRow]:
    statuses = itertools.cycle(list(EndpointStatus)[:-1])
    return [
        EndpointRow(
            endpoint=endpoint(
                next(statuses), Stage.INTERFACE_ENDPOINT, eid=i, failure_reason="AWS said no " * 30
            ),
            cluster=cluster(name="orders-" + "x" * 50),
            created_at=NOW - timedelta(hours=i),
            can_edit=True,
            can_terminate=True,
        )
        for i in range(1, count + 1)
    ]


@pytest.mark.parametrize("count", [0, 1, 45, 500])
def test_list_message_stays_within_limits(count: int) -> None:
    message = check_message(messages.list_message("payments", listing(count), NOW))
    text = str(message)
    listed = {i for i in range(1, count + 1) if f"*#{i}* " in text}
    if count == 500:
        more = message["blocks"][-1]["elements"][0]["text"]
        assert more == f"… and {500 - len(listed)} more: see the app's Home tab."
    else:
        assert listed == set(range(1, count + 1))  # nobody silently left out


@pytest.mark.parametrize("count", [0, 1, 49, 500])
def test_home_stays_within_limits(count: int) -> None:
    projects = [PROJECT, Project(id=2, name="billing", channel_id="C0BILLING")]
    view = check_view(
        home_view(
            user_id="U0OWNER01",
            projects=projects,
            listings={1: listing(count), 2: listing(3)},
            now=NOW,
        )
    )
    text = str(view)
    if count == 500:
        assert "more not shown" in text


def test_counts_cover_the_rows_not_loaded() -> None:
    """A listing holds the first rows and the total: the rest are counted, not dropped."""
    message = check_message(messages.list_message("payments", listing(3, total=1_500), NOW))
    assert message["text"] == "1500 private endpoint(s) in payments"
    assert message["blocks"][-1]["elements"][0]["text"].startswith("… and 1497 more")
    view = check_view(
        home_view(
            user_id="U0OWNER01", projects=[PROJECT], listings={1: listing(3, total=9)}, now=NOW
        )
    )
    assert "9 endpoint(s)" in str(view) and "6 more not shown" in str(view)


def test_home_without_projects_and_for_members() -> None:
    check_view(home_view(user_id="U0X", projects=[], listings={}, now=NOW))
    view = check_view(
        home_view(user_id="U0MEMBER1", projects=[PROJECT], listings={1: listing(3)}, now=NOW)
    )
    assert "actions" not in {b["type"] for b in view["blocks"]}


@pytest.mark.parametrize("client", list(Client))
def test_connect_message(client: Client) -> None:
    found = Connect(cluster=cluster(), strings=connection_strings(host=HOST, port=4000))
    message = check_message(messages.connect_message(found, client))
    assert HOST in str(message)


def test_other_messages() -> None:
    for message in [
        messages.help_message(),
        messages.unbound_channel("C0NOWHERE1"),
        messages.refusal("no " * 2000),
        messages.text_message("done"),
        messages.billing_message("payments", billing.estimate([2, 3], hourly_rate=Decimal("0.01"))),
        messages.terminate_prompt(rows(1)[0]),
    ]:
        check_message(message)


def test_the_checker_catches_broken_blocks() -> None:
    with pytest.raises(InvalidBlocks):
        check_message(
            {
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            }
        )
    with pytest.raises(InvalidBlocks):
        check_view(
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "t"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "a",
                        "label": {"type": "plain_text", "text": "A"},
                        "element": {"type": "plain_text_input", "action_id": "v"},
                    }
                ],
            }
        )
    with pytest.raises(InvalidBlocks):
        check_message({"text": "x", "blocks": [{"type": "divider"}] * 51})


def test_accept_stage_prefills_the_request_seen_on_aws() -> None:
    seen = endpoint(
        EndpointStatus.INITIATING,
        Stage.ACCEPT_ENDPOINT_CONNECTION,
        vpce_id=None,
        suggested_vpce_id="vpce-0aaaabbbbccccdddd",
    )
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=Stage.ACCEPT_ENDPOINT_CONNECTION,
        cluster=cluster(),
        service=SERVICES["active"],
        endpoint=seen,
    )
    view = check_view(wizard_view(state))
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == "vpce-0aaaabbbbccccdddd"
    assert "connection request from `vpce-0aaaabbbbccccdddd`" in str(view)


def test_connect_warns_when_the_host_does_not_resolve_yet() -> None:
    strings = connection_strings(host=HOST, port=4000)
    unverified = check_message(
        messages.connect_message(Connect(cluster=cluster(), strings=strings, dns_verified=False))
    )
    assert "does not resolve yet" in str(unverified)
    for known in (True, None):
        shown = messages.connect_message(
            Connect(cluster=cluster(), strings=strings, dns_verified=known)
        )
        assert "does not resolve yet" not in str(shown)


def status_of(e: PrivateEndpoint, since: datetime = NOW - timedelta(hours=3)) -> Status:
    row = EndpointRow(
        endpoint=e,
        cluster=cluster(),
        created_at=NOW - timedelta(days=2),
        can_edit=True,
        can_terminate=True,
    )
    return Status(row=row, since=since)


@pytest.mark.parametrize("status", list(EndpointStatus))
@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("vpce_id", [None, "vpce-0f1e2d3c4b5a69788"])
def test_status_message_for_every_status_and_stage(
    status: EndpointStatus, stage: Stage, vpce_id: str | None
) -> None:
    e = endpoint(status, stage, vpce_id=vpce_id, failure_reason="x" * 5000)
    message = check_message(messages.status_message(status_of(e), NOW))
    text = str(message)
    assert "<!date^1795597200^{date_short_pretty} {time}|2026-11-25 09:00 UTC> (for 3h)" in text
    assert ("Why it failed" in text) == (status is EndpointStatus.FAILED)
    assert "*Next step:* " in text
    assert (vpce_id or "none yet") in text


def test_the_next_step_marks_what_only_owners_can_do() -> None:
    owners_only = messages.next_step(status_of(endpoint(EndpointStatus.FAILED, Stage.DONE)).row)
    assert "`/private-endpoint edit 7` (owners)" in owners_only
    assert "the wizard resumes at Interface Endpoint" in owners_only  # after acceptance: anew
    anyone = messages.next_step(status_of(endpoint(EndpointStatus.ACTIVE, Stage.DONE)).row)
    assert anyone == "Connect from inside your VPC: `/private-endpoint connect orders`."
