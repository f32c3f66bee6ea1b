"""`/private-endpoint doctor <id>`: one endpoint checked end to end, for owners and members.

Two steps, on either side of the ack. `find` reads the database (who may ask, which endpoint,
its cluster and endpoint service) and is quick enough for the ack. `examine` then reads AWS
in the cluster's region: the endpoint service (its state and private DNS name, one call), the
endpoint's connection (one call), the allowed principals (one call) and the load balancer's
target health (a bounded few). Each read stands alone: an AWS failure makes its own lines ✗
with the reason in words (`bot.aws.errors`) and the rest are still checked; once AWS in the
region proved unreachable, the remaining reads fail at once instead of waiting on the network
again (the gateway's guard for one pass, `for_pass`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.aws.errors import RegionUnreachable
from bot.aws.gateways import Gateways
from bot.aws.privatelink import PrivateLinkGateway
from bot.domain import entities
from bot.domain.doctor import (
    Check,
    ConnectionSeen,
    ServiceSeen,
    TargetSeen,
    Topic,
    account_check,
    connection_check,
    dns_check,
    host_of,
    service_check,
    targets_check,
    unreadable,
)
from bot.domain.errors import AwsError, InvalidInput
from bot.domain.user_side_checks import UserCheck, user_side_checks
from bot.services.endpoints import find_in_project
from bot.storage import cluster_queries, service_queries
from bot.storage.project_cache import ProjectLike

READ_FAILURES = (AwsError, RegionUnreachable)


@dataclass(frozen=True, slots=True)
class Patient:
    """The endpoint the doctor looks at, as the database has it."""

    endpoint: entities.PrivateEndpoint
    cluster: entities.Cluster
    service: entities.EndpointService | None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What the doctor found: the provider's lines, the host and the user's own checks."""

    patient: Patient
    checks: list[Check]
    host: str | None
    user_checks: list[UserCheck]


def find(*, session: Session, project: ProjectLike, user_id: str, endpoint_id: int) -> Patient:
    """The endpoint to examine: one of the project's, for owners and members (else NotFound)."""
    endpoint = find_in_project(
        session=session, project=project, user_id=user_id, endpoint_id=endpoint_id
    )
    cluster = cluster_queries.get_cluster(session=session, cluster_id=endpoint.cluster_id)
    assert cluster is not None  # an endpoint's cluster outlives it
    service = service_queries.get_service_by_cluster(session=session, cluster_id=cluster.id)
    return Patient(
        endpoint=endpoint.to_domain(),
        cluster=cluster.to_domain(),
        service=service.to_domain() if service is not None else None,
    )


def examine(*, patient: Patient, gateways: Gateways) -> Diagnosis:
    """The checklist of `patient`, read from AWS in its cluster's region."""
    endpoint, cluster, service = patient.endpoint, patient.cluster, patient.service
    gateway = gateways(cluster.region).for_pass()
    service_id = service.aws_service_id if service is not None else None
    checks: dict[Topic, Check] = {}

    seen: ServiceSeen | None = None
    if service_id is not None:
        try:
            seen = _service(gateway, service_id)
        except READ_FAILURES as error:
            checks[Topic.SERVICE] = unreadable(Topic.SERVICE, _reason(error))
            checks[Topic.DNS] = unreadable(Topic.DNS, _reason(error))
    checks.setdefault(Topic.SERVICE, service_check(service=service, seen=seen))

    connection: ConnectionSeen | None = None
    if service_id is not None and endpoint.vpce_id is not None:
        try:
            connection = _connection(gateway, service_id, endpoint.vpce_id)
        except READ_FAILURES as error:
            checks[Topic.CONNECTION] = unreadable(Topic.CONNECTION, _reason(error))
    checks.setdefault(Topic.CONNECTION, connection_check(endpoint=endpoint, seen=connection))

    principals: list[str] = []
    if service_id is not None and endpoint.account_id is not None:
        try:
            principals = gateway.allowed_principals(service_id=service_id)
        except READ_FAILURES as error:
            checks[Topic.ACCOUNT] = unreadable(Topic.ACCOUNT, _reason(error))
    checks.setdefault(Topic.ACCOUNT, account_check(endpoint=endpoint, principals=principals))
    checks.setdefault(Topic.DNS, dns_check(seen=seen))

    targets: list[TargetSeen] = []
    if cluster.nlb_arn is not None:
        try:
            targets = _targets(gateway, cluster.nlb_arn, cluster.port)
        except READ_FAILURES as error:
            checks[Topic.TARGETS] = unreadable(Topic.TARGETS, _reason(error))
    checks.setdefault(Topic.TARGETS, targets_check(cluster=cluster, targets=targets))

    host = host_of(cluster=cluster, seen=seen, connection=connection)
    return Diagnosis(
        patient=patient,
        checks=[checks[topic] for topic in Topic],
        host=host,
        user_checks=_user_checks(endpoint, cluster, host),
    )


def _reason(error: AwsError | RegionUnreachable) -> str:
    """Why a read failed, in words: AWS's error, or why the region could not be reached."""
    return str(error.cause if isinstance(error, RegionUnreachable) else error)


def _service(gateway: PrivateLinkGateway, service_id: str) -> ServiceSeen | None:
    found = gateway.list_services(service_ids=[service_id])
    if not found:
        return None
    info = found[0]
    return ServiceSeen(info.state, info.private_dns_name, info.dns_state)


def _connection(
    gateway: PrivateLinkGateway, service_id: str, vpce_id: str
) -> ConnectionSeen | None:
    for found in gateway.list_connections(service_ids=[service_id], vpce_id=vpce_id):
        if found.vpce_id == vpce_id:
            return ConnectionSeen(found.state, found.owner_account, found.dns_names)
    return None


def _targets(gateway: PrivateLinkGateway, nlb_arn: str, port: int) -> list[TargetSeen]:
    health = gateway.target_health(load_balancer_arn=nlb_arn, port=port)
    return [
        TargetSeen(t.name, t.state, reason=t.reason, description=t.description)
        for t in health.targets
    ]


def _user_checks(
    endpoint: entities.PrivateEndpoint, cluster: entities.Cluster, host: str | None
) -> list[UserCheck]:
    """The user's own checks, once there is an endpoint to check (and a host to name)."""
    if endpoint.vpce_id is None or host is None:
        return []
    try:
        return user_side_checks(
            vpce_id=endpoint.vpce_id,
            region=cluster.region,
            host=host,
            port=cluster.port,
            vpc_id=endpoint.vpc_id,
            security_group_ids=endpoint.security_group_ids,
        )
    except InvalidInput:  # a stored value that is not what it should be: no command with it
        return []
