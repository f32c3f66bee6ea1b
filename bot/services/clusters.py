"""Registering, importing and dropping clusters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.orm import Session

from bot.domain.entities import DEFAULT_PORT, default_private_dns_host
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Tier
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.domain.validation import (
    Field,
    parse_dns_name,
    parse_gcp_region,
    parse_name,
    parse_nlb_arn,
    parse_port,
    parse_region,
)
from bot.services import changes, endpoint_services
from bot.storage import (
    cluster_queries,
    endpoint_queries,
    event_log,
    orm,
    project_queries,
    service_queries,
)

SPEC_KEYS = frozenset(
    {"project", "name", "tier", "cloud", "region", "nlb_arn", "port", "status", "private_dns_host"}
)
REQUIRED_KEYS = frozenset({"project", "name", "tier", "cloud", "region"})
# What its endpoint service and the connection strings already given depend on.
FIXED_WITH_SERVICE = frozenset({"region", "nlb_arn", "cloud", "tier", "port", "private_dns_host"})


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """A validated cluster description, as given to `clusters add` or in an import file."""

    project: str
    name: str
    tier: Tier
    cloud: Cloud
    region: str
    nlb_arn: str | None
    port: int
    status: ClusterStatus
    private_dns_host: str


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], value: object, *, field: str) -> E:
    try:
        return enum(str(value))
    except ValueError:
        allowed = " | ".join(member.value for member in enum)
        raise InvalidInput(field, f"{field} must be one of {allowed}, not {value!r}.") from None


REGISTERED_STATUSES = (ClusterStatus.CREATING, ClusterStatus.ACTIVE)


def _registered_status(value: object) -> ClusterStatus:
    """A registered cluster is creating or active; `deleting` comes only from `clusters drop`."""
    status = _choice(ClusterStatus, value or ClusterStatus.ACTIVE, field="status")
    if status not in REGISTERED_STATUSES:
        raise InvalidInput(
            "status", "status must be creating or active; use `clusters drop` to remove a cluster."
        )
    return status


def cluster_region(text: str, *, cloud: Cloud) -> str:
    """A cluster's region: an AWS region code on AWS; on GCP a GCP region code such as
    `us-central1` (an AWS-style code, as clusters were registered before, is still taken)."""
    if cloud is Cloud.AWS:
        return parse_region(text)
    try:
        return parse_gcp_region(text)
    except InvalidInput as not_gcp:
        try:
            return parse_region(text)
        except InvalidInput:
            raise not_gcp from None


def parse_spec(raw: Mapping[str, object], *, dns_zone: str) -> ClusterSpec:
    """Validate one cluster description; raise InvalidInput naming the bad field."""
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise InvalidInput(unknown[0], f"Unknown field {unknown[0]!r}; known: {sorted(SPEC_KEYS)}.")
    missing = sorted(REQUIRED_KEYS - {k for k, v in raw.items() if v not in (None, "")})
    if missing:
        raise InvalidInput(missing[0], f"{missing[0]} is required.")
    name = parse_name(str(raw["name"]), what="cluster name")
    cloud = _choice(Cloud, raw["cloud"], field="cloud")
    region = cluster_region(str(raw["region"]), cloud=cloud)
    nlb_raw = raw.get("nlb_arn")
    if cloud is Cloud.GCP and nlb_raw:
        raise InvalidInput(
            Field.NLB_ARN,
            "A cluster on GCP has no AWS Network Load Balancer: leave nlb_arn out "
            "(GCP clusters are listed in the wizard as not applicable).",
        )
    nlb_arn = parse_nlb_arn(str(nlb_raw), region=region) if nlb_raw else None
    if cloud is Cloud.AWS and nlb_arn is None:
        raise InvalidInput(Field.NLB_ARN, "nlb_arn is required for a cluster on AWS.")
    host_raw = raw.get("private_dns_host")
    return ClusterSpec(
        project=parse_name(str(raw["project"]), what="project name"),
        name=name,
        tier=_choice(Tier, raw["tier"], field="tier"),
        cloud=cloud,
        region=region,
        nlb_arn=nlb_arn,
        port=parse_port(str(raw.get("port") or DEFAULT_PORT)),
        status=_registered_status(raw.get("status")),
        private_dns_host=(
            parse_dns_name(str(host_raw))
            if host_raw
            else default_private_dns_host(cluster_name=name, region=region, zone=dns_zone)
        ),
    )


def _project(session: Session, name: str) -> orm.Project:
    project = project_queries.get_project_by_name(session=session, name=name)
    if project is None:
        raise NotFound(f"There is no project named {name}; add it with `projects add`.")
    return project


def add(*, session: Session, spec: ClusterSpec, actor: str = event_log.SYSTEM_ACTOR) -> orm.Cluster:
    """Register a new cluster in its project; names are unique within a project."""
    project = _project(session, spec.project)
    if cluster_queries.get_cluster_by_name(session=session, project_id=project.id, name=spec.name):
        raise Conflict(f"Project {project.name} already has a cluster named {spec.name}.")
    values = asdict(spec)
    del values["project"]
    cluster = cluster_queries.create_cluster(session=session, project_id=project.id, **values)
    _record(session, cluster, actor=actor, action="cluster_added", to_status=cluster.status)
    return cluster


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def import_specs(
    *, session: Session, specs: Sequence[ClusterSpec], actor: str = event_log.SYSTEM_ACTOR
) -> ImportResult:
    """Add or update every cluster of an import file; running it twice changes nothing."""
    seen: set[tuple[str, str]] = set()
    added = updated = unchanged = 0
    for spec in specs:
        key = (spec.project, spec.name)
        if key in seen:
            raise Conflict(f"Cluster {spec.name} of project {spec.project} is listed twice.")
        seen.add(key)
        project = _project(session, spec.project)
        cluster = cluster_queries.get_cluster_by_name(
            session=session, project_id=project.id, name=spec.name
        )
        if cluster is None:
            add(session=session, spec=spec, actor=actor)
            added += 1
        elif _update(session, cluster, spec, actor=actor):
            updated += 1
        else:
            unchanged += 1
    return ImportResult(added=added, updated=updated, unchanged=unchanged)


def _update(session: Session, cluster: orm.Cluster, spec: ClusterSpec, *, actor: str) -> bool:
    changes = {
        key: value
        for key, value in asdict(spec).items()
        if key != "project" and getattr(cluster, key) != value
    }
    if not changes:
        return False
    if cluster.status is ClusterStatus.DELETING:
        raise Conflict(f"Cluster {cluster.name} is being dropped; import it again afterwards.")
    fixed = FIXED_WITH_SERVICE & set(changes)
    service = service_queries.get_service_by_cluster(session=session, cluster_id=cluster.id)
    if fixed and service is not None:
        raise Conflict(
            f"Cluster {cluster.name} has an endpoint service, so its "
            f"{', '.join(sorted(fixed))} cannot change."
        )
    before = cluster.status
    for key, value in changes.items():
        setattr(cluster, key, value)
    _record(
        session,
        cluster,
        actor=actor,
        action="cluster_updated",
        from_status=before,
        to_status=cluster.status,
        detail=", ".join(sorted(changes)),
    )
    return True


@dataclass(frozen=True, slots=True)
class DropResult:
    cluster: str
    endpoints: int
    removed_now: bool  # nothing existed on AWS, so the rows are gone already


def drop(
    *, session: Session, name: str, project: str | None = None, actor: str = event_log.SYSTEM_ACTOR
) -> DropResult:
    """Drop a cluster: its service and every endpoint go to `deleting` for the worker to
    clean up on AWS; a cluster with nothing on AWS is removed at once."""
    cluster = _find(session, name, project)
    if cluster.status is ClusterStatus.DELETING:
        raise Conflict(f"Cluster {cluster.name} is already being dropped.")
    endpoints = endpoint_queries.list_endpoints(session=session, cluster_id=cluster.id)
    service = service_queries.get_service_by_cluster(session=session, cluster_id=cluster.id)
    if service is None and not endpoints:
        _record(session, cluster, actor=actor, action="cluster_dropped", from_status=cluster.status)
        cluster_queries.delete_cluster(session=session, cluster=cluster)
        return DropResult(cluster=name, endpoints=0, removed_now=True)
    before = cluster.status
    cluster.status = ClusterStatus.DELETING
    _record(
        session,
        cluster,
        actor=actor,
        action="cluster_dropped",
        from_status=before,
        to_status=cluster.status,
    )
    if service is not None and service.status is not ServiceStatus.DELETING:
        endpoint_services.apply(
            session=session,
            cluster=cluster,
            service=service,
            event=ServiceEvent.CLUSTER_DROPPED,
            actor=actor,
        )
    moving = [
        e for e in endpoints if e.status not in (EndpointStatus.DELETING, EndpointStatus.DELETED)
    ]
    for endpoint in moving:
        changes.apply(
            session=session, endpoint=endpoint, event=EndpointEvent.CLUSTER_DROPPED, actor=actor
        )
    session.flush()
    return DropResult(cluster=name, endpoints=len(moving), removed_now=False)


def _find(session: Session, name: str, project: str | None) -> orm.Cluster:
    if project is not None:
        owner = _project(session, project)
        cluster = cluster_queries.get_cluster_by_name(
            session=session, project_id=owner.id, name=name
        )
        candidates = [cluster] if cluster is not None else []
    else:
        candidates = list(cluster_queries.list_clusters_named(session=session, name=name))
    if not candidates:
        raise NotFound(f"There is no cluster named {name}.")
    if len(candidates) > 1:
        raise Conflict(f"Several projects have a cluster named {name}; add --project.")
    return cluster_queries.lock_cluster(session=session, cluster=candidates[0])


def _record(
    session: Session,
    cluster: orm.Cluster,
    *,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str | None = None,
) -> None:
    event_log.record_event(
        session=session,
        project_id=cluster.project_id,
        subject="cluster",
        subject_id=cluster.id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
