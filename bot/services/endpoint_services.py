"""Endpoint services: one per cluster, created on demand and retried after a failure."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.errors import Conflict
from bot.domain.states import ServiceStatus
from bot.domain.transitions import ServiceEvent, service_transition
from bot.storage import event_log, orm, service_queries

SERVICE_SUBJECT = "endpoint_service"


def client_token(cluster_id: int, attempt: int) -> str:
    """The stable ClientToken of a cluster's n-th creation attempt."""
    return f"privatelink-bot-cluster-{cluster_id}-{attempt}"


def ensure(*, session: Session, cluster: orm.Cluster, actor: str) -> orm.EndpointService:
    """The cluster's endpoint service; queued for creation when it has none or it failed."""
    service = service_queries.get_service_by_cluster(session=session, cluster_id=cluster.id)
    if service is None:
        service = orm.EndpointService(
            cluster_id=cluster.id,
            status=ServiceStatus.CREATING,
            client_token=client_token(cluster.id, 1),
            private_dns_name=cluster.private_dns_host,
        )
        session.add(service)
        session.flush()
        _record(session, cluster, service, actor, "queued", None, service.status)
    elif service.status is ServiceStatus.FAILED:
        attempt = int(service.client_token.rsplit("-", 1)[1]) + 1
        apply(
            session=session, cluster=cluster, service=service, event=ServiceEvent.RETRY, actor=actor
        )
        service.client_token = client_token(cluster.id, attempt)
        service.failure_reason = None
        service.aws_service_id = None
    elif service.status in (ServiceStatus.DELETING, ServiceStatus.DELETED):
        raise Conflict(f"The endpoint service of {cluster.name} is being deleted.")
    return service


def apply(
    *,
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    event: ServiceEvent,
    actor: str,
    detail: str | None = None,
) -> ServiceStatus:
    """Move `service` by `event` (or raise IllegalTransition), recording it in the audit log."""
    to_status = service_transition(service.status, event)
    _record(session, cluster, service, actor, event, service.status, to_status, detail)
    service.status = to_status
    return to_status


def _record(
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    actor: str,
    action: str,
    from_status: ServiceStatus | None,
    to_status: ServiceStatus,
    detail: str | None = None,
) -> None:
    event_log.record_event(
        session=session,
        project_id=cluster.project_id,
        subject=SERVICE_SUBJECT,
        subject_id=service.id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
