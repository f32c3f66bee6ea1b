"""A realistic world for a reconcile pass, seeded by fast paths: N private endpoints over
endpoint services in three regions, in the local AWS and in the database alike.

Each service gets an even share of the endpoints, in four kinds: most `active` with an
`available` connection (nothing to do), some `pending` at Done whose connection is available
(to activate), some `initiating` with a vpce id whose connection awaits acceptance (to accept),
a few `deleting` whose connection is still up (to reject, then remove). The local AWS gets the
services through the API and the connections straight into moto's state (`seed_connections`);
the database gets projects, clusters and services through the ORM and the endpoints in one
bulk INSERT. What a pass must then do (pages, target health reads, mutations, transitions)
follows from the layout.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.aws.privatelink import FILTER_VALUES_MAX, IDS_PER_CALL, PAGE_SIZE
from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Stage, Tier
from bot.storage import cluster_queries, orm, project_queries
from bot.storage.db import transaction
from bot.storage.types import utcnow
from tests.benchmarks._reconcile_aws import LocalAwsProcess, SeededService, ServiceSeed

REGIONS = ("us-west-2", "us-east-1", "eu-west-1")
ACCOUNTS = ("111122223333", "444455556666")
OWNER = "U0BENCH0001"
DNS_ZONE = "privatelink.example.com"
MAX_SERVICES = int(os.environ.get("BENCH_RECONCILE_SERVICES", "30"))
MIN_ENDPOINTS_PER_SERVICE = 33
"""Small N gets fewer services, so that most endpoints of every service stay active."""
TARGET_HEALTH_CALLS_PER_SERVICE = 2
"""`DescribeTargetGroups` by its load balancer, `DescribeTargetHealth` of its one target group."""


@dataclass(frozen=True)
class Kind:
    """A kind of endpoint: its row, its connection's AWS state, its share of the endpoints."""

    name: str
    status: EndpointStatus
    stage: Stage
    aws_state: str
    share: float


ACTIVE = Kind("active", EndpointStatus.ACTIVE, Stage.DONE, "available", 0.0)  # the rest
PENDING = Kind("pending", EndpointStatus.PENDING, Stage.DONE, "available", 0.05)
INITIATING = Kind(
    "initiating",
    EndpointStatus.INITIATING,
    Stage.ACCEPT_ENDPOINT_CONNECTION,
    "pendingAcceptance",
    0.05,
)
DELETING = Kind("deleting", EndpointStatus.DELETING, Stage.DONE, "available", 0.02)
KINDS = (ACTIVE, PENDING, INITIATING, DELETING)


@dataclass(frozen=True)
class ServicePlan:
    """One cluster with its endpoint service: where, whose endpoints, how many of each kind."""

    index: int
    region: str
    account: str
    counts: Mapping[str, int]

    @property
    def name(self) -> str:
        return f"db-{self.index:03d}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Expected:
    """What one pass over the world must do, from the layout alone."""

    endpoints: int
    services: int
    connections_by_region: Mapping[str, int]
    pages_by_region: Mapping[str, int]
    accept_calls: int
    reject_calls: int
    by_kind: Mapping[str, int]

    @property
    def pages(self) -> int:
        return sum(self.pages_by_region.values())

    @property
    def target_health_calls(self) -> int:
        """The reads of the targets behind each active service's load balancer (once an
        interval; every pass at the benchmark's policy, which has none)."""
        return self.services * TARGET_HEALTH_CALLS_PER_SERVICE

    @property
    def mutations(self) -> int:
        return self.accept_calls + self.reject_calls

    @property
    def transitions(self) -> int:
        """Activated, accepted and removed endpoints."""
        return sum(self.by_kind[k.name] for k in (PENDING, INITIATING, DELETING))

    def after_pass(self) -> dict[str, int]:
        """Endpoint rows by status once the pass is done."""
        return {
            EndpointStatus.ACTIVE.value: self.by_kind[ACTIVE.name] + self.by_kind[PENDING.name],
            EndpointStatus.PENDING.value: self.by_kind[INITIATING.name],
        }


@dataclass
class Seeded:
    """The seeded world: its plan, what a pass must do, and how long seeding took."""

    plans: list[ServicePlan]
    expected: Expected
    seconds: dict[str, float] = field(default_factory=dict)


def layout(n: int, *, max_services: int = MAX_SERVICES) -> list[ServicePlan]:
    """N endpoints over services dealt round-robin to the regions, kinds by share."""
    services = min(max_services, max(len(REGIONS), n // MIN_ENDPOINTS_PER_SERVICE))
    plans = []
    for index in range(services):
        size = n // services + (1 if index < n % services else 0)
        counts = {k.name: round(size * k.share) for k in KINDS if k is not ACTIVE}
        counts[ACTIVE.name] = size - sum(counts.values())
        plans.append(
            ServicePlan(
                index=index,
                region=REGIONS[index % len(REGIONS)],
                account=ACCOUNTS[index % len(ACCOUNTS)],
                counts={k.name: counts[k.name] for k in KINDS},
            )
        )
    return plans


def expected(plans: Sequence[ServicePlan]) -> Expected:
    """Pages per region (one listing of the region's services' connections, in chunks of
    FILTER_VALUES_MAX services), batched accept and reject calls, endpoints by kind."""
    connections: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    for region in REGIONS:
        mine = [p for p in plans if p.region == region]
        for start in range(0, len(mine), FILTER_VALUES_MAX):
            chunk = sum(p.total for p in mine[start : start + FILTER_VALUES_MAX])
            connections[region] += chunk
            pages[region] += max(1, math.ceil(chunk / PAGE_SIZE))
    by_kind: Counter[str] = Counter()
    for plan in plans:
        by_kind.update(plan.counts)
    return Expected(
        endpoints=sum(p.total for p in plans),
        services=len(plans),
        connections_by_region=dict(connections),
        pages_by_region={r: pages[r] for r in REGIONS if r in pages},
        accept_calls=sum(math.ceil(p.counts[INITIATING.name] / IDS_PER_CALL) for p in plans),
        reject_calls=sum(math.ceil(p.counts[DELETING.name] / IDS_PER_CALL) for p in plans),
        by_kind=dict(by_kind),
    )


def _aws_counts(plan: ServicePlan) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for kind in KINDS:
        counts[kind.aws_state] += plan.counts[kind.name]
    return dict(counts)


def _vpces_by_kind(plan: ServicePlan, made: SeededService) -> dict[str, list[str]]:
    """The seeded vpce ids dealt to the kinds, in KINDS order within each AWS state."""
    left = {state: list(ids) for state, ids in made.vpces.items()}
    dealt = {}
    for kind in KINDS:
        count = plan.counts[kind.name]
        ids = left.get(kind.aws_state, [])
        dealt[kind.name], left[kind.aws_state] = ids[:count], ids[count:]
    return dealt


def _client_token(cluster_id: int) -> str:
    return f"privatelink-bench-{cluster_id}"


def seed(sessions: sessionmaker[Session], aws: LocalAwsProcess, n: int) -> Seeded:
    """Seed N endpoints into the (empty) database and the (empty) local AWS."""
    plans = layout(n)
    world = Seeded(plans=plans, expected=expected(plans))
    started = time.perf_counter()
    with transaction(sessions) as session:
        projects = {
            region: project_queries.create_project(
                session=session,
                name=f"bench-{region}",
                channel_id=f"C0BENCH{index:04d}",
                team_id="T0BENCH01",
                owners=[OWNER],
            )
            for index, region in enumerate(REGIONS)
        }
        clusters = [
            cluster_queries.create_cluster(
                session=session,
                project_id=projects[plan.region].id,
                name=plan.name,
                tier=Tier.DEDICATED,
                cloud=Cloud.AWS,
                region=plan.region,
                status=ClusterStatus.ACTIVE,
                nlb_arn=None,
                port=4000,
                private_dns_host=f"{plan.name}.{plan.region}.{DNS_ZONE}",
            )
            for plan in plans
        ]
        cluster_ids = [c.id for c in clusters]
        channels = {region: p.channel_id for region, p in projects.items()}
        project_ids = {region: p.id for region, p in projects.items()}
    world.seconds["db_clusters"] = time.perf_counter() - started

    started = time.perf_counter()
    made = aws.seed(
        [
            ServiceSeed(
                key=plan.name,
                region=plan.region,
                cluster_id=cluster_id,
                cluster_name=plan.name,
                private_dns_name=f"{plan.name}.{plan.region}.{DNS_ZONE}",
                client_token=_client_token(cluster_id),
                account=plan.account,
                connections=_aws_counts(plan),
            )
            for plan, cluster_id in zip(plans, cluster_ids, strict=True)
        ]
    )
    world.seconds["aws"] = time.perf_counter() - started

    started = time.perf_counter()
    past = utcnow() - timedelta(hours=1)
    rows: list[dict[str, Any]] = []
    with transaction(sessions) as session:
        for plan, cluster_id, service in zip(plans, cluster_ids, made, strict=True):
            cluster = session.get(orm.Cluster, cluster_id)
            assert cluster is not None
            cluster.nlb_arn = service.nlb_arn
            session.add(
                orm.EndpointService(
                    cluster_id=cluster_id,
                    status=ServiceStatus.ACTIVE,
                    client_token=_client_token(cluster_id),
                    aws_service_id=service.service_id,
                    service_name=service.service_name,
                    az_ids=list(service.az_ids),
                    private_dns_name=f"{plan.name}.{plan.region}.{DNS_ZONE}",
                    allowed_accounts=[plan.account],
                    dns_state=service.dns_state,
                    dns_txt_name=service.dns_txt_name,
                    dns_txt_value=service.dns_txt_value,
                    created_at=past,
                    updated_at=past,
                )
            )
            for kind_name, vpces in _vpces_by_kind(plan, service).items():
                kind = next(k for k in KINDS if k.name == kind_name)
                for vpce in vpces:
                    rows.append(
                        {
                            "project_id": project_ids[plan.region],
                            "cluster_id": cluster_id,
                            "stage": kind.stage,
                            "status": kind.status,
                            "created_by": OWNER,
                            "account_id": plan.account,
                            "vpc_id": "vpc-" + vpce.removeprefix("vpce-"),
                            "subnet_ids": ["subnet-" + vpce.removeprefix("vpce-")],
                            "vpce_id": vpce,
                            "channel_id": channels[plan.region],
                            "version": 1,
                            "created_at": past,
                            "updated_at": past,
                        }
                    )
        session.flush()
        table = cast(Table, orm.PrivateEndpoint.__table__)
        session.execute(insert(table), rows)
    world.seconds["db_endpoints"] = time.perf_counter() - started
    return world


def count_by_status(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Endpoint rows by status, as they are now."""
    query = select(orm.PrivateEndpoint.status, func.count()).group_by(orm.PrivateEndpoint.status)
    with sessions() as session:
        return {str(status): int(count) for status, count in session.execute(query)}
