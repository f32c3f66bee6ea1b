"""The five-stage wizard through signed requests, with the stand-in as Slack."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.domain.states import EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.services import changes
from bot.storage import orm
from sandbox.person import Person
from sandbox.slack_client import Delivery, state_values, view_submission_payload
from tests.slack.conftest import World

SERVICE_ID = "vpce-svc-0123456789abcdef0"
SERVICE_NAME = f"com.amazonaws.vpce.us-west-2.{SERVICE_ID}"
ACCOUNT, VPC = "111122223333", "vpc-0a1b2c3d4e5f67890"
SUBNETS = "subnet-0a1b2c3d4e5f67890, subnet-1b2c3d4e5f6789012"
VPCE = "vpce-0f1e2d3c4b5a69788"


def texts(view: dict[str, Any]) -> str:
    """All the text a person reads in a view."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(view.get("blocks", []))
    return "\n".join(out)


def inputs(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def service_becomes_active(world: World) -> None:
    """What the worker does once AWS reports the service Available."""
    with world.sessions.begin() as session:
        service = session.scalars(select(orm.EndpointService)).one()
        service.status = ServiceStatus.ACTIVE
        service.aws_service_id, service.service_name = SERVICE_ID, SERVICE_NAME
        service.az_ids = ["usw2-az1", "usw2-az2"]


def account_allowed(world: World) -> None:
    """What the worker does once AWS allowed the endpoint's account on the service."""
    with world.sessions.begin() as session:
        service = session.scalars(select(orm.EndpointService)).one()
        service.allowed_accounts = [ACCOUNT]


def connection_accepted(world: World) -> None:
    """What the worker does once AWS accepted the connection."""
    with world.sessions.begin() as session:
        endpoint = session.scalars(select(orm.PrivateEndpoint)).one()
        endpoint.stage = Stage.ENABLE_PRIVATE_DNS
        changes.apply(
            session=session,
            endpoint=endpoint,
            event=EndpointEvent.CONNECTION_ACCEPTED,
            actor="system",
        )


def endpoint_rows(world: World) -> list[orm.PrivateEndpoint]:
    with world.sessions() as session:
        return list(session.scalars(select(orm.PrivateEndpoint)))


def to_interface_stage(owner: Person) -> dict[str, Any]:
    view = owner.open_wizard("create orders")
    assert inputs(view) == ["Cluster"]
    owner.submit()
    assert inputs(owner.view()) == ["Region"]
    owner.submit()
    return owner.view()


def test_happy_path_through_every_stage(world: World) -> None:
    owner = world.person()
    view = owner.open_wizard("create")
    assert view["title"]["text"] == "Private endpoint"
    select_block = view["blocks"][1]
    assert select_block["element"]["initial_option"]["text"]["text"] == "ledger (us-west-2)"
    assert [o["text"]["text"] for o in select_block["element"]["options"]] == [
        "ledger (us-west-2)",
        "orders (us-west-2)",
    ]
    assert "analytics*: Not applicable" in texts(view) and "sandbox*: Developer-tier" in texts(view)

    orders = next(o["value"] for o in select_block["element"]["options"] if "orders" in str(o))
    assert owner.submit({"cluster": orders}).json()["response_action"] == "update"
    view = owner.view()
    assert "Step 2 of 5" in texts(view)
    assert view["blocks"][2]["element"]["initial_option"]["value"] == "us-west-2"

    owner.submit()
    view = owner.view()
    assert "Creating the endpoint service for *orders*" in texts(view)
    assert inputs(view) == ["AWS account ID", "VPC ID", "Subnet IDs", "Security group IDs"]
    [endpoint] = endpoint_rows(world)
    assert (endpoint.status, endpoint.stage) == (
        EndpointStatus.NOT_CONFIGURED,
        Stage.INTERFACE_ENDPOINT,
    )

    service_becomes_active(world)
    view = owner.open_wizard(f"edit {endpoint.id}")  # the worker's live update is tested there
    assert "Show instructions" in texts(view) and "VPC → Endpoints" not in texts(view)
    owner.click_in_view("toggle_instructions")
    world.slack.standin.wait_for("views.update")
    view = owner.view()
    shown = texts(view)
    assert SERVICE_NAME in shown and "usw2-az1" in shown and "enableDnsHostnames" in shown
    assert "VPC → Endpoints → Create endpoint" in shown and "<VPC ID>" in shown.replace(
        "&lt;", "<"
    ).replace("&gt;", ">")

    owner.submit({"account_id": "1111-2222-3333", "vpc": VPC, "subnets": SUBNETS})
    view = owner.view()
    assert inputs(view) == ["VPC endpoint ID"]
    assert f"The bot is allowing account {ACCOUNT} on the service" in texts(view)
    assert "create-vpc-endpoint" not in texts(view)  # AWS would refuse it before the grant

    account_allowed(world)
    [endpoint] = endpoint_rows(world)
    view = owner.open_wizard(f"edit {endpoint.id}")  # the worker's live update is tested there
    shown = texts(view)  # the one block, with the values typed and the service's
    assert shown.count("bash <<'PRIVATELINK'") == 1 and f"ACCOUNT={ACCOUNT} VPC={VPC}" in shown
    assert f"SERVICE={SERVICE_NAME}" in shown
    assert "SUBNETS='subnet-0a1b2c3d4e5f67890 subnet-1b2c3d4e5f6789012'" in shown
    [endpoint] = endpoint_rows(world)
    assert endpoint.status is EndpointStatus.INITIATING and endpoint.account_id == ACCOUNT

    owner.submit({"vpce": VPCE})
    view = owner.view()
    assert f"Verifying `{VPCE}`" in texts(view) and not view.get("submit")
    [endpoint] = endpoint_rows(world)
    assert endpoint.vpce_id == VPCE and endpoint.view_id == owner.view_id

    connection_accepted(world)
    view = owner.open_wizard(f"edit {endpoint.id}")
    assert (
        f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {VPCE} --region us-west-2 "
        "--private-dns-enabled"
    ) in texts(view)
    assert view["submit"]["text"] == "Create"
    owner.submit()
    assert "being finalized" in texts(owner.view())
    [endpoint] = endpoint_rows(world)
    assert (endpoint.status, endpoint.stage) == (EndpointStatus.PENDING, Stage.DONE)
    with world.sessions() as session:
        history = session.scalars(
            select(orm.Event.action)
            .where(orm.Event.subject == "private_endpoint")
            .order_by(orm.Event.id)
        ).all()
        outbox = session.scalar(select(func.count()).select_from(orm.Outbox))
    assert history == [
        "created",
        "interface_submitted",
        "vpce_submitted",
        "connection_accepted",
        "create_submitted",
    ]
    assert outbox == len(history)


@pytest.mark.parametrize(
    ("answers", "block", "message"),
    [
        ({"account_id": "12345", "vpc": VPC, "subnets": SUBNETS}, "account_id", "12-digit"),
        ({"account_id": ACCOUNT, "vpc": "vpc-xyz", "subnets": SUBNETS}, "vpc", "not a VPC ID"),
        ({"account_id": ACCOUNT, "vpc": VPC, "subnets": "subnet-1;ls"}, "subnets", "subnet ID"),
        ({"account_id": ACCOUNT, "vpc": VPC, "subnets": " , "}, "subnets", "at least one"),
    ],
)
def test_interface_field_errors_store_nothing(
    world: World, answers: dict[str, str], block: str, message: str
) -> None:
    owner = world.person()
    to_interface_stage(owner)
    response = owner.submit(answers).json()
    assert response["response_action"] == "errors"
    assert list(response["errors"]) == [block] and message in response["errors"][block]
    [endpoint] = endpoint_rows(world)
    assert endpoint.status is EndpointStatus.NOT_CONFIGURED and endpoint.vpc_id is None


def test_vpce_errors(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    response = owner.submit({"vpce": "vpce-\u0430bc12345"}).json()
    assert response["response_action"] == "errors" and "vpce" in response["errors"]
    assert endpoint_rows(world)[0].vpce_id is None


def test_cross_region_is_refused_next_to_the_field(world: World) -> None:
    owner = world.person()
    owner.open_wizard("create orders")
    owner.submit()
    response = owner.submit({"region": "eu-west-1"}).json()
    assert response == {
        "response_action": "errors",
        "errors": {
            "region": "Cross-region private endpoints are not supported: orders is in us-west-2, "
            "so its endpoint must be in us-west-2 too."
        },
    }
    assert endpoint_rows(world) == []


def test_double_submit_and_retries_leave_one_row(world: World) -> None:
    owner = world.person()
    owner.open_wizard("create orders")
    owner.submit()
    view = owner.view()
    payload = view_submission_payload(view, state_values(view, {}), user_id=owner.user_id)
    first = owner.resend(payload, delivery=Delivery())
    for retry in (1, 2, 3):
        again = owner.resend(payload, delivery=Delivery.retry(retry))
        assert again.json() == first.json()
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.PrivateEndpoint)) == 1
        assert session.scalar(select(func.count()).select_from(orm.EndpointService)) == 1
        assert session.scalar(select(func.count()).select_from(orm.Outbox)) == 1
    world.slack.standin.apply_view_response(view["id"], first.json())
    view = owner.view()
    payload = view_submission_payload(
        view,
        state_values(view, {"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS}),
        user_id=owner.user_id,
    )
    first = owner.resend(payload, delivery=Delivery())
    assert owner.resend(payload, delivery=Delivery.retry(1)).json() == first.json()
    with world.sessions() as session:
        events = session.scalars(
            select(orm.Event.action)
            .where(orm.Event.subject == "private_endpoint")
            .order_by(orm.Event.id)
        ).all()
    assert events == ["created", "interface_submitted"]


def test_a_vpce_cannot_serve_two_endpoints(world: World) -> None:
    for _ in range(2):
        owner = world.person()
        to_interface_stage(owner)
        owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    first_response = None
    for endpoint in endpoint_rows(world):
        owner = world.person()
        owner.open_wizard(f"edit {endpoint.id}")
        first_response = owner.submit({"vpce": VPCE}).json()
    assert first_response is not None
    assert first_response["response_action"] == "errors"
    assert "already used by private endpoint" in first_response["errors"]["vpce"]
