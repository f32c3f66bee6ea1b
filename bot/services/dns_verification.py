"""Private DNS verification as the project's owners see it: the Verify now request (done on
AWS by the worker), and the channel notices that tell each change of the name's state."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain import entities, rules
from bot.domain.dns_verification import DnsChange, DnsState
from bot.domain.errors import NotFound
from bot.domain.states import Action, EndpointStatus, ServiceStatus
from bot.notices import outbox
from bot.notices.dns_verification import DnsSnapshot, DnsVerification, dns_thread
from bot.services import changes
from bot.services.endpoint_services import SERVICE_SUBJECT
from bot.storage import endpoint_queries, event_log, orm, outbox_queries, service_queries

REQUESTED = "dns_verification_requested"
"""The audit event of an owner pressing Verify now (its actor is named when AWS starts)."""


def request_verification(
    *, session: Session, service_id: int, user_id: str, team_id: str | None = None
) -> str:
    """Queue AWS's check of a service's private DNS name for the worker; what to tell the user.

    Only project owners may; a double click or a retried request queues nothing more."""
    service = session.get(orm.EndpointService, service_id)
    cluster = session.get(orm.Cluster, service.cluster_id) if service else None
    project = session.get(orm.Project, cluster.project_id) if cluster else None
    if service is None or cluster is None or project is None:
        raise NotFound("This endpoint service no longer exists: its cluster was dropped.")
    rules.authorize(project.to_domain(), user_id, Action.VERIFY_DNS, team_id=team_id)
    name = service.private_dns_name or "the private DNS name"
    if service.status is not ServiceStatus.ACTIVE:
        return (
            f"The endpoint service of {cluster.name} is {service.status.value}, so {name} "
            "cannot be verified now."
        )
    if service.dns_state == DnsState.VERIFIED:
        return f"{name} is verified already; there is nothing to do."
    if service.dns_state == DnsState.VERIFYING:
        return f"AWS is checking {name} already; the result is posted in this thread."
    if service_queries.request_dns_verification(session=session, service_id=service.id):
        event_log.record_event(
            session=session,
            project_id=project.id,
            subject=SERVICE_SUBJECT,
            subject_id=service.id,
            actor=user_id,
            action=REQUESTED,
            detail=name,
        )
    return (
        f"Verification of {name} requested: the bot asks AWS to check the TXT record now. "
        "The result is posted in this thread."
    )


def requested_by(*, session: Session, service_id: int) -> str | None:
    """Who pressed Verify now last for this service, if anyone did."""
    return event_log.last_actor(
        session=session, subject=SERVICE_SUBJECT, subject_id=service_id, action=REQUESTED
    )


def snapshot(
    *, service: orm.EndpointService, cluster: orm.Cluster, project: entities.Project
) -> DnsSnapshot:
    """What the channel messages show of the service's private DNS name now."""
    return DnsSnapshot(
        service_id=service.id,
        aws_service_id=service.aws_service_id,
        cluster=cluster.name,
        region=cluster.region,
        domain=service.private_dns_name or cluster.private_dns_host or "",
        state=service.dns_state or DnsState.PENDING,
        txt_name=service.dns_txt_name,
        txt_value=service.dns_txt_value,
        failure_reason=service.dns_failure_reason,
        owners=tuple(sorted(project.owners)),
    )


def queue_notice(
    *,
    session: Session,
    service: orm.EndpointService,
    cluster: orm.Cluster,
    project: entities.Project,
    change: DnsChange,
    actor: str | None = None,
) -> bool:
    """Queue the owners' notice of `change` in the service's DNS thread; whether it was new.

    The key counts the thread's rows, so each change is one row, even a second failure."""
    thread = dns_thread(service.id)
    count = outbox_queries.count_in_thread(session=session, thread_key=thread)
    notice = DnsVerification(
        change=change,
        actor=actor,
        broadcast=change is DnsChange.VERIFIED,
        dns=snapshot(service=service, cluster=cluster, project=project),
    )
    row = outbox.queue(
        session=session,
        notice=notice,
        dedupe_key=f"{thread}:{change.value}:{count}",
        team_id=project.team_id,
        channel_id=project.channel_id,
    )
    return row is not None


def refresh_endpoints(
    *, session: Session, service: orm.EndpointService, cluster: orm.Cluster, cause: orm.Event
) -> int:
    """Queue, once per verification (`cause`), the channel messages of the cluster's Active
    endpoints as they read now: their host resolves. How many were queued."""
    host = cluster.private_dns_host or service.private_dns_name or "the private DNS name"
    rows = endpoint_queries.list_of_cluster(
        session=session, cluster_id=cluster.id, status=EndpointStatus.ACTIVE
    )
    session.flush()  # the event's id keys the rows
    for row in rows:
        changes.refreshed(
            session=session,
            endpoint=row,
            cause=cause,
            text=f"Private DNS verified: {host} now resolves.",
        )
    return len(rows)
