"""The reconcile worker's test world (imported by the other test_reconcile_* modules; it has no
tests itself): a seeded project over SQLite/Postgres, the local AWS over HTTP as provider and
as a consumer account, and helpers that drive the wizard's own use cases."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from moto.ec2.models import ec2_backends
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import Cloud, ClusterStatus, Tier
from bot.services import clusters, projects, wizard
from bot.storage import orm
from bot.storage.db import make_sessionmaker, transaction
from bot.storage.types import utcnow
from bot.worker.reconciler import Checkpoint, PassReport, ReconcilePolicy, reconcile_once
from sandbox.aws import (
    PROVIDER_ACCOUNT_ID,
    ConsumerNetwork,
    Credentials,
    ProviderNetwork,
    credentials_for_account,
    provider_credentials,
    seed_consumer_network,
    seed_provider_network,
)
from sandbox.aws.settings import LOCK
from tests.aws_fixtures import (
    CONSUMER_ACCOUNT,
    REGION,
    InspectingGateway,
    ec2_client,
    elbv2_client,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from slack_sdk import WebClient

CHANNEL = "C0RECONCILE"
OWNER = "U0OWNER001"
WORKER = "worker-1"
FAST = ReconcilePolicy(not_found_grace=0.0)
Row = orm.PrivateEndpoint


@dataclass
class Consumer:
    """An AWS account of a user, with a VPC whose subnets are in the service's AZs."""

    credentials: Credentials
    ec2: EC2Client
    network: ConsumerNetwork


@dataclass
class World:
    """The database, the local AWS and the provider's gateways, counting their AWS calls."""

    sessions: sessionmaker[Session]
    aws_url: str
    page_size: int = 1000
    calls: Counter[str] = field(default_factory=Counter)
    balancer_calls: Counter[str] = field(default_factory=Counter)  # ELBv2's, apart from EC2's
    networks: dict[int, ProviderNetwork] = field(default_factory=dict)  # by cluster id
    _gateways: dict[str, InspectingGateway] = field(default_factory=dict)
    _consumers: dict[str, Consumer] = field(default_factory=dict)

    def gateway(self, region: str) -> InspectingGateway:
        """The bot's gateway in `region` (no botocore retries; every call counted)."""
        if region not in self._gateways:
            client = ec2_client(provider_credentials(), self.aws_url, region=region)
            client.meta.events.register("before-call.ec2.*", self._count)
            balancers = elbv2_client(provider_credentials(), self.aws_url, region=region)
            balancers.meta.events.register(
                "before-call.elastic-load-balancing-v2.*", self._count_balancer
            )
            self._gateways[region] = InspectingGateway(
                client, page_size=self.page_size, balancers=lambda: balancers
            )
        return self._gateways[region]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _count_balancer(self, model: Any, **_: Any) -> None:
        self.balancer_calls[model.name] += 1

    def run(
        self,
        *,
        worker: str = WORKER,
        slack: WebClient | None = None,
        now: datetime | None = None,
        policy: ReconcilePolicy = FAST,
        checkpoint: Checkpoint | None = None,
    ) -> PassReport:
        """One reconcile pass."""
        return reconcile_once(
            sessions=self.sessions,
            gateways=self.gateway,
            slack=slack,
            worker_id=worker,
            now=now,
            policy=policy,
            checkpoint=checkpoint,
        )

    def cluster(self, name: str = "orders", *, region: str = REGION) -> int:
        """A dedicated AWS cluster with its own NLB on the local AWS; its id."""
        provider = provider_credentials()
        network = seed_provider_network(
            ec2=ec2_client(provider, self.aws_url, region=region),
            elbv2=provider.elbv2(region=region, endpoint_url=self.aws_url),
            cluster_name=name,
        )
        spec = clusters.parse_spec(
            {
                "project": "payments",
                "name": name,
                "tier": Tier.DEDICATED,
                "cloud": Cloud.AWS,
                "region": region,
                "status": ClusterStatus.ACTIVE,
                "nlb_arn": network.nlb_arn,
            },
            dns_zone="privatelink.example.com",
        )
        with transaction(self.sessions) as session:
            cluster_id = clusters.add(session=session, spec=spec).id
        self.networks[cluster_id] = network
        return cluster_id

    def endpoint(self, cluster_id: int, *, region: str = REGION) -> int:
        """A private endpoint started in the wizard (its service queued); its id."""
        with transaction(self.sessions) as session:
            project = session.scalars(select(orm.Project)).one()
            state = wizard.submit_region(
                session=session,
                project=project,
                user_id=OWNER,
                channel_id=CHANNEL,
                cluster_id=cluster_id,
                region=region,
                creation_key=uuid.uuid4().hex,
            )
            assert state.endpoint is not None
            return state.endpoint.id

    def consumer(self, account_id: str = CONSUMER_ACCOUNT) -> Consumer:
        """A user's account and VPC (made once per account)."""
        if account_id not in self._consumers:
            credentials = credentials_for_account(
                account_id=account_id, endpoint_url=self.aws_url, region=REGION
            )
            ec2 = ec2_client(credentials, self.aws_url)
            zones = sorted(
                z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]
            )
            network = seed_consumer_network(ec2=ec2, covered_az_ids=zones[:2])
            self._consumers[account_id] = Consumer(credentials, ec2, network)
        return self._consumers[account_id]

    def interface(self, endpoint_id: int, account_id: str = CONSUMER_ACCOUNT) -> None:
        """The owner submits the Interface Endpoint stage with the consumer's VPC."""
        network = self.consumer(account_id).network
        with transaction(self.sessions) as session:
            wizard.submit_interface(
                session=session,
                endpoint_id=endpoint_id,
                user_id=OWNER,
                account_id=account_id,
                vpc_id=network.vpc_id,
                subnet_ids=" ".join(network.subnet_ids),
            )

    def vpce(self, endpoint_id: int, vpce_id: str) -> None:
        """The owner submits the VPC endpoint id."""
        with transaction(self.sessions) as session:
            wizard.submit_vpce(
                session=session, endpoint_id=endpoint_id, user_id=OWNER, vpce_id=vpce_id
            )

    def create(self, endpoint_id: int) -> None:
        """The owner presses Create at Enable Private DNS."""
        with transaction(self.sessions) as session:
            wizard.submit_create(session=session, endpoint_id=endpoint_id, user_id=OWNER)

    def terminate(self, endpoint_id: int) -> None:
        """The owner terminates the endpoint."""
        with transaction(self.sessions) as session:
            wizard.terminate(session=session, endpoint_id=endpoint_id, user_id=OWNER)

    def create_vpce(self, cluster_id: int, account_id: str = CONSUMER_ACCOUNT) -> str:
        """The consumer runs `aws ec2 create-vpc-endpoint` for the cluster's service."""
        consumer = self.consumer(account_id)
        answer = consumer.ec2.create_vpc_endpoint(
            VpcId=consumer.network.vpc_id,
            ServiceName=self.service(cluster_id).service_name or "",
            VpcEndpointType="Interface",
            SubnetIds=list(consumer.network.subnet_ids),
        )
        return answer["VpcEndpoint"]["VpcEndpointId"]

    def connection_state(self, vpce_id: str) -> str:
        """The connection's state as the provider sees it."""
        found = self.gateway(REGION).list_connections()
        return next(c.state for c in found if c.vpce_id == vpce_id)

    def endpoint_state(self, vpce_id: str, account_id: str = CONSUMER_ACCOUNT) -> str:
        """The VPC endpoint's state as its owner sees it."""
        found = self.consumer(account_id).ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])
        return str(found["VpcEndpoints"][0].get("State"))

    def row(self, endpoint_id: int) -> Row | None:
        """The endpoint's row as it is now."""
        with self.sessions() as session:
            return session.get(Row, endpoint_id)

    def service(self, cluster_id: int) -> orm.EndpointService:
        """The cluster's endpoint service row as it is now."""
        with self.sessions() as session:
            query = select(orm.EndpointService).where(orm.EndpointService.cluster_id == cluster_id)
            return session.scalars(query).one()

    def events(self, subject: str, subject_id: int) -> list[tuple[str, str | None]]:
        """(action, to_status) of a subject's audit events, oldest first."""
        with self.sessions() as session:
            query = (
                select(orm.Event.action, orm.Event.to_status)
                .where(orm.Event.subject == subject, orm.Event.subject_id == subject_id)
                .order_by(orm.Event.id)
            )
            return [(a, s) for a, s in session.execute(query)]

    def ready(self, cluster_id: int) -> str:
        """Passes until the cluster's service is active; its AWS id."""
        for _ in range(3):
            self.run()
            service = self.service(cluster_id)
            if service.aws_service_id and service.status == "active":
                return service.aws_service_id
        raise AssertionError("the endpoint service did not become active")

    def allowed(self, service_id: str) -> list[str]:
        """The principals allowed on a service, as AWS has them."""
        return self.gateway(REGION).allowed_principals(service_id=service_id)


def set_service_state(service_id: str, state: str) -> None:
    """Make the local AWS report a service in `state` (AWS's own failures cannot be caused)."""
    with LOCK:
        ec2_backends[PROVIDER_ACCOUNT_ID][REGION].configurations[service_id].service_state = state


def later(seconds: float) -> datetime:
    """A time `seconds` from now (past leases and grace periods)."""
    return utcnow() + timedelta(seconds=seconds)


@pytest.fixture(name="world")
def world_fixture(clean_database: str, db_engine: Engine, aws_url: str) -> Iterator[World]:  # noqa: F811
    """Project payments (channel C0RECONCILE, owner U0OWNER001) and an empty local AWS."""
    sessions = make_sessionmaker(db_engine)
    with transaction(sessions) as session:
        projects.add(session=session, name="payments", channel_id=CHANNEL, owners=[OWNER])
    yield World(sessions=sessions, aws_url=aws_url)


class Crash(BaseException):
    """The worker process dies here (not an Exception: nothing may catch it)."""


def crash_at(step: str) -> Callable[[str, int], None]:
    """A checkpoint that kills the worker when it reaches `step`."""

    def checkpoint(reached: str, service_id: int) -> None:
        if reached == step:
            raise Crash(f"{step} of service {service_id}")

    return checkpoint
