"""The ack-latency workload: a seeded project, and Slack's requests against it as templates.

The database gets the project of `tests.slack.conftest.seed` (five clusters) with endpoint
services ready on `orders` and `ledger` and eleven private endpoints at every status, plus a
second project (`bulk`) that the write-heavy requests fill. The templates cover each listener:
slash commands answered in the ack (`list`, `billing`, `help`, `connect`) or opening a modal
after it (`create`), buttons (the instructions toggle in a modal, the connect picker in a
message), the Home tab event, and a view submission at each wizard stage. Modals are built by
`wizard_view` from the database, as the bot built them, so their `private_metadata` is real.

Submissions of a stage the endpoint has left (every one after the first) take the bot's
idempotent path: a double click or Slack retry, answered from the database. The Service
Endpoint submission is sent with a new view id each time (`__VIEWID__`), so each creates a
private endpoint with its event and outbox row: the write path.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.connection import Client
from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Stage, Tier
from bot.domain.transitions import EndpointEvent
from bot.services import changes, clusters, endpoint_services, endpoints, projects, wizard
from bot.slack.ids import COMMAND, ActionId, BlockId
from bot.slack.views import messages
from bot.slack.views.wizard import wizard_view
from bot.storage import cluster_queries, endpoint_queries, event_log, orm, project_queries
from bot.storage.db import transaction
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import (
    app_home_opened_payload,
    block_actions_payload,
    element_action,
    interactivity_body,
    new_trigger_id,
    slash_command_body,
    state_values,
    view_submission_payload,
)
from tests.slack.conftest import CHANNEL, NLB, OWNER, SECRET, seed
from tests.storage.queries import get_project

__all__ = [
    "SECRET",
    "TRIGGER",
    "VIEW_ID",
    "EVENT_ID",
    "Template",
    "Workload",
    "World",
    "build_workload",
    "plan_order",
    "seed_world",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TRIGGER = "__TRIGGER__"
VIEW_ID = "__VIEWID__"
EVENT_ID = "__EVENTID__"  # each event a new id, as Slack sends them (a repeated id is a retry)
BULK_CHANNEL = "C0BULKWRITES"
ACCOUNT = "123456789012"
SUBNETS = "subnet-0123456789abcdef0 subnet-0123456789abcdef1"
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Template:
    kind: str
    content_type: str
    body: str
    expect: str  # what the bot's answer must show, checked once before timing

    def as_json(self) -> JsonDict:
        return {"kind": self.kind, "content_type": self.content_type, "body": self.body}


@dataclass(frozen=True)
class World:
    """Ids of what `seed_world` made."""

    project_id: int
    orders_id: int
    bulk_project_id: int
    bulk_cluster_id: int
    at_interface: int
    toggled: int
    at_accept: int
    at_dns: int


@dataclass(frozen=True)
class Workload:
    templates: list[Template]
    toggle_view_id: str


def _activate(session: Session, cluster: orm.Cluster) -> None:
    service = endpoint_services.ensure(session=session, cluster=cluster, actor=OWNER)
    service.status = ServiceStatus.ACTIVE
    service.aws_service_id = f"vpce-svc-{cluster.id:017x}"
    service.service_name = f"com.amazonaws.vpce.{cluster.region}.{service.aws_service_id}"
    service.az_ids = ["usw2-az1", "usw2-az2", "usw2-az3"]


def _endpoint(
    session: Session, project: orm.Project, cluster: orm.Cluster, n: int, until: EndpointStatus
) -> int:
    """A private endpoint walked through the wizard until it has status `until`."""
    state = wizard.submit_region(
        session=session,
        project=project,
        user_id=OWNER,
        channel_id=project.channel_id,
        cluster_id=cluster.id,
        region=cluster.region,
        creation_key=f"seed-{n}",
    )
    assert state.endpoint is not None
    endpoint_id = state.endpoint.id
    if until is EndpointStatus.NOT_CONFIGURED:
        return endpoint_id
    wizard.submit_interface(
        session=session,
        endpoint_id=endpoint_id,
        user_id=OWNER,
        account_id=ACCOUNT,
        vpc_id=f"vpc-{n:017x}",
        subnet_ids=SUBNETS,
    )
    endpoint = endpoint_queries.get_endpoint(session=session, endpoint_id=endpoint_id)
    assert endpoint is not None
    if until is EndpointStatus.FAILED:
        endpoint.failure_reason = "The subnet's Availability Zone is not supported"
        changes.apply(
            session=session, endpoint=endpoint, event=EndpointEvent.STEP_FAILED, actor=OWNER
        )
        return endpoint_id
    if until is EndpointStatus.INITIATING:
        return endpoint_id
    wizard.submit_vpce(
        session=session, endpoint_id=endpoint_id, user_id=OWNER, vpce_id=f"vpce-{n:017x}"
    )
    endpoint.stage = Stage.ENABLE_PRIVATE_DNS
    changes.apply(
        session=session,
        endpoint=endpoint,
        event=EndpointEvent.CONNECTION_ACCEPTED,
        actor=event_log.SYSTEM_ACTOR,
    )
    if until is EndpointStatus.PENDING:
        return endpoint_id
    wizard.submit_create(session=session, endpoint_id=endpoint_id, user_id=OWNER)
    changes.apply(
        session=session,
        endpoint=endpoint,
        event=EndpointEvent.CONNECTION_AVAILABLE,
        actor=event_log.SYSTEM_ACTOR,
    )
    return endpoint_id


def seed_world(sessions: sessionmaker[Session]) -> World:
    """The tests' project with ready services and endpoints at every status, and `bulk`."""
    seed(sessions)
    with transaction(sessions) as session:
        projects.add(session=session, name="bulk", channel_id=BULK_CHANNEL, owners=[OWNER])
        spec = clusters.parse_spec(
            {
                "project": "bulk",
                "name": "bulk",
                "tier": Tier.DEDICATED,
                "cloud": Cloud.AWS,
                "region": "us-west-2",
                "status": ClusterStatus.ACTIVE,
                "nlb_arn": NLB,
            },
            dns_zone="privatelink.example.com",
        )
        clusters.add(session=session, spec=spec)
    with transaction(sessions) as session:
        project = project_queries.get_project_by_channel(session=session, channel_id=CHANNEL)
        bulk = project_queries.get_project_by_channel(session=session, channel_id=BULK_CHANNEL)
        assert project is not None and bulk is not None
        named = {c.name: c for c in cluster_queries.list_clusters(session=session)}
        orders, ledger, bulk_cluster = named["orders"], named["ledger"], named["bulk"]
        for cluster in (orders, ledger, bulk_cluster):
            _activate(session, cluster)
        numbers = iter(range(1, 100))

        def make(cluster: orm.Cluster, until: EndpointStatus) -> int:
            return _endpoint(session, project, cluster, next(numbers), until)

        for cluster in (orders, ledger, orders, ledger, orders, ledger):
            make(cluster, EndpointStatus.ACTIVE)
        make(ledger, EndpointStatus.FAILED)
        return World(
            project_id=project.id,
            orders_id=orders.id,
            bulk_project_id=bulk.id,
            bulk_cluster_id=bulk_cluster.id,
            at_interface=make(ledger, EndpointStatus.NOT_CONFIGURED),
            toggled=make(orders, EndpointStatus.NOT_CONFIGURED),
            at_accept=make(ledger, EndpointStatus.INITIATING),
            at_dns=make(orders, EndpointStatus.PENDING),
        )


def _state_view(session: Session, endpoint_id: int) -> JsonDict:
    endpoint = endpoint_queries.get_endpoint(session=session, endpoint_id=endpoint_id)
    assert endpoint is not None
    return wizard_view(wizard.state_of(session=session, endpoint=endpoint))


def _command(text: str, hook: str, expect: str) -> Template:
    body = slash_command_body(
        COMMAND, text, user_id=OWNER, channel_id=CHANNEL, trigger_id=TRIGGER, response_url=hook
    )
    return Template(f"command {text}", FORM, body, expect)


def _submission(
    kind: str, view: JsonDict, view_id: str, answers: dict[str, Any], expect: str
) -> Template:
    shown = view | {"id": view_id}
    payload = view_submission_payload(
        shown, state_values(shown, answers), user_id=OWNER, trigger_id=TRIGGER
    )
    return Template(kind, FORM, interactivity_body(payload), expect)


def build_workload(
    sessions: sessionmaker[Session], world: World, *, api_url: str, hooks_url: str
) -> Workload:
    """Every request template; the toggled modal is opened on the stand-in first."""
    hook = f"{hooks_url}commands/T0001/1/benchmark"
    with sessions() as session:
        project = get_project(session=session, project_id=world.project_id)
        bulk = get_project(session=session, project_id=world.bulk_project_id)
        assert project is not None and bulk is not None
        choose = wizard_view(
            wizard.start(
                session=session,
                project=project,
                user_id=OWNER,
                channel_id=CHANNEL,
                requested="orders",
            )
        )
        region = wizard_view(
            wizard.submit_cluster(
                session=session,
                project=bulk,
                user_id=OWNER,
                channel_id=BULK_CHANNEL,
                cluster_id=world.bulk_cluster_id,
            )
        )
        interface = _state_view(session, world.at_interface)
        toggled = _state_view(session, world.toggled)
        accept = _state_view(session, world.at_accept)
        dns = _state_view(session, world.at_dns)
        found = endpoints.connect(
            session=session, project=project, user_id=OWNER, cluster_name="orders"
        )
        session.rollback()
    opened = WebClient(token=DEFAULT_TOKEN, base_url=api_url).views_open(
        trigger_id=new_trigger_id(), view=toggled
    )
    toggle_view_id = str(opened["view"]["id"])
    message = messages.connect_message(found, Client.MYSQL_CLI) | {
        "type": "message",
        "ts": "1700000000.000100",
        "user": "U0BOT",
    }
    (picker,) = [b for b in message["blocks"] if b.get("block_id") == BlockId.CONNECT]
    jdbc = next(o for o in picker["accessory"]["options"] if "JDBC" in o["text"]["text"])
    connect_action = element_action(message["blocks"], ActionId.CONNECT_CLIENT, value=jdbc["value"])
    toggle_action = element_action(toggled["blocks"], ActionId.TOGGLE_INSTRUCTIONS)
    actions_hook = f"{hooks_url}actions/T0001/1/benchmark"
    shown_toggle = toggled | {"id": toggle_view_id, "hash": None}
    bad_vpc: dict[str, Any] = {
        BlockId.ACCOUNT_ID: ACCOUNT,
        BlockId.VPC_ID: "vpc-nothex",
        BlockId.SUBNET_IDS: "",
    }
    good_interface: dict[str, Any] = {
        BlockId.ACCOUNT_ID: ACCOUNT,
        BlockId.VPC_ID: "vpc-0123456789abcdef0",
        BlockId.SUBNET_IDS: SUBNETS,
    }
    templates = [
        _command("list", hook, "Private endpoints of payments"),
        _command("billing", hook, "Estimated PrivateLink cost"),
        _command("help", hook, "create"),
        _command("connect orders", hook, "Connect to orders"),
        _command("create orders", hook, ""),
        Template(
            "action toggle_instructions",
            FORM,
            interactivity_body(
                block_actions_payload(
                    toggle_action, user_id=OWNER, view=shown_toggle, trigger_id=TRIGGER
                )
            ),
            "",
        ),
        Template(
            "action connect_client",
            FORM,
            interactivity_body(
                block_actions_payload(
                    connect_action,
                    user_id=OWNER,
                    channel_id=CHANNEL,
                    message=message,
                    response_url=actions_hook,
                    trigger_id=TRIGGER,
                )
            ),
            "",
        ),
        Template(
            "event app_home_opened",
            JSON,
            json.dumps(app_home_opened_payload(user_id=OWNER, event_id=EVENT_ID)),
            "",
        ),
        _submission(
            "submit choose_cluster",
            choose,
            "VBENCHCHOOSE",
            {BlockId.CLUSTER: str(world.orders_id)},
            "Step 2 of",
        ),
        _submission("submit service_endpoint (new)", region, VIEW_ID, {}, "Step 3 of"),
        _submission(
            "submit interface_endpoint", interface, "VBENCHIFACE", good_interface, "Step 4 of"
        ),
        _submission("submit interface (invalid)", interface, "VBENCHIFACE", bad_vpc, '"errors"'),
        _submission(
            "submit accept_connection",
            accept,
            "VBENCHACCEPT",
            {BlockId.VPCE_ID: "vpce-0123456789abcdef0"},
            "Verifying",
        ),
        _submission("submit enable_private_dns", dns, "VBENCHDNS", {}, "being finalized"),
    ]
    return Workload(templates=templates, toggle_view_id=toggle_view_id)


def plan_order(count: int, kinds: int, *, seed: int = 7) -> list[int]:
    """Template indices for `count` requests: every kind once per round, rounds shuffled."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < count:
        round_ = list(range(kinds))
        rng.shuffle(round_)
        order += round_
    return order[:count]
