"""Recording a change: the domain transition, its audit event and its Slack notification; and
the alerts the worker raises about an endpoint without a change (`alert`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.alerts import CLUSTER_ALERTS, Alert
from bot.domain.dns_verification import is_verified
from bot.domain.states import EndpointStatus
from bot.domain.transitions import EndpointChange, EndpointEvent, endpoint_transition
from bot.notices import outbox
from bot.notices.endpoint import EndpointSnapshot, EndpointUpdate, TargetsSnapshot
from bot.notices.endpoint_alerts import EndpointAlert
from bot.storage import endpoint_queries, event_log, orm, project_queries, service_queries
from bot.storage.types import utcnow

ENDPOINT_SUBJECT = "private_endpoint"


def describe(
    change: EndpointChange, endpoint: orm.PrivateEndpoint, actor: str, detail: str | None = None
) -> str:
    """One line for the channel thread: who did what, and the status it led to; a removal
    says what AWS reported of the user's endpoint, when the worker tells (`detail`)."""
    who = "The bot" if actor == event_log.SYSTEM_ACTOR else f"<@{actor}>"
    what = {
        EndpointEvent.INTERFACE_SUBMITTED: f"gave VPC {endpoint.vpc_id}",
        EndpointEvent.VPCE_SUBMITTED: f"submitted {endpoint.vpce_id} for acceptance",
        EndpointEvent.VPCE_ADOPTED: f"took {endpoint.vpce_id}, the one connection request from "
        f"account {endpoint.account_id} on this service, as this endpoint's; verifying and "
        "accepting it",
        EndpointEvent.CONNECTION_ACCEPTED: f"accepted the connection from {endpoint.vpce_id}",
        EndpointEvent.CREATE_SUBMITTED: "finished the wizard",
        EndpointEvent.CONNECTION_AVAILABLE: "saw the connection become available",
        EndpointEvent.STEP_FAILED: f"reports a failure: {endpoint.failure_reason}",
        EndpointEvent.TERMINATE: "terminated it",
        EndpointEvent.CLUSTER_DROPPED: "dropped its cluster",
        EndpointEvent.REMOVED: "removed it from AWS",
    }[change.event]
    line = f"{who} {what}: {change.from_status.value} → {change.to_status.value}"
    if change.event is EndpointEvent.REMOVED and detail:
        line += f" ({detail})"
    return line


def created(*, session: Session, endpoint: orm.PrivateEndpoint, actor: str) -> None:
    """Record a new private endpoint (its row added, in its status since now) and queue its
    channel message."""
    at = utcnow()
    endpoint.status_changed_at = at
    session.add(endpoint)
    session.flush()  # the row's id names its event
    event = event_log.record_event(
        session=session,
        project_id=endpoint.project_id,
        subject=ENDPOINT_SUBJECT,
        subject_id=endpoint.id,
        actor=actor,
        action="created",
        to_status=endpoint.status,
        at=at,
    )
    session.flush()
    _queue(session, endpoint, event, text=f"<@{actor}> started a private endpoint", broadcast=False)


def apply(
    *,
    session: Session,
    endpoint: orm.PrivateEndpoint,
    event: EndpointEvent,
    actor: str,
    detail: str | None = None,
) -> EndpointChange:
    """Move `endpoint` by `event` (or raise IllegalTransition), with its event and outbox row;
    a new status is noted as entered now (`status_changed_at`, the event's time)."""
    change = endpoint_transition(endpoint.status, event)
    at = utcnow()
    endpoint.status = change.to_status
    if change.changes_status:
        endpoint.status_changed_at = at
    row = event_log.record_event(
        session=session,
        project_id=endpoint.project_id,
        subject=ENDPOINT_SUBJECT,
        subject_id=endpoint.id,
        actor=actor,
        action=event,
        from_status=change.from_status,
        to_status=change.to_status,
        detail=detail,
        at=at,
    )
    session.flush()
    _queue(
        session,
        endpoint,
        row,
        text=describe(change, endpoint, actor, detail),
        broadcast=change.is_alert,
    )
    return change


def refreshed(
    *, session: Session, endpoint: orm.PrivateEndpoint, cause: orm.Event, text: str
) -> None:
    """Queue the endpoint's channel message as it reads now, with `text` in its thread, once
    per `cause` (a change outside the endpoint, such as its service's DNS name verified)."""
    notice = EndpointUpdate(text=text, endpoint=snapshot(session, endpoint))
    outbox.queue(
        session=session,
        notice=notice,
        dedupe_key=f"endpoint:{endpoint.id}:refresh:{cause.id}",
        team_id=_team_of(session, endpoint),
        channel_id=endpoint.channel_id,
        private_endpoint_id=endpoint.id,
    )


def alert(*, session: Session, endpoint: orm.PrivateEndpoint, alert: Alert) -> bool:
    """Queue `alert` in the endpoint's thread about the status it is in, once per endpoint,
    alert and status (its outbox key), or, about its cluster (in the channel too), once per
    endpoint and change of the cluster; whether it was queued now. The caller checked that the
    endpoint is still as the alert's step saw it."""
    notice = EndpointAlert(
        broadcast=alert.kind in CLUSTER_ALERTS,
        alert=alert.kind,
        since=endpoint.status_changed_at,
        at=alert.at,
        endpoint=snapshot(session, endpoint),
    )
    key = endpoint_queries.alert_key(
        endpoint_id=endpoint.id, alert=alert.kind, status=endpoint.status, change=alert.change
    )
    queued = outbox.queue(
        session=session,
        notice=notice,
        dedupe_key=key,
        team_id=_team_of(session, endpoint),
        channel_id=endpoint.channel_id,
        private_endpoint_id=endpoint.id,
    )
    return queued is not None


def _queue(
    session: Session,
    endpoint: orm.PrivateEndpoint,
    event: orm.Event,
    *,
    text: str,
    broadcast: bool,
) -> None:
    notice = EndpointUpdate(text=text, broadcast=broadcast, endpoint=snapshot(session, endpoint))
    outbox.queue(
        session=session,
        notice=notice,
        dedupe_key=f"endpoint:{endpoint.id}:event:{event.id}",
        team_id=_team_of(session, endpoint),
        channel_id=endpoint.channel_id,
        private_endpoint_id=endpoint.id,
    )


def _team_of(session: Session, endpoint: orm.PrivateEndpoint) -> str | None:
    """The workspace of the endpoint's project (None while it is not known), read once per
    project and session: a pass queues for many endpoints of a few projects."""
    teams: dict[int, str | None] = session.info.setdefault("team_by_project", {})
    if endpoint.project_id not in teams:
        teams[endpoint.project_id] = project_queries.get_team_id(
            session=session, project_id=endpoint.project_id
        )
    return teams[endpoint.project_id]


def snapshot(session: Session, endpoint: orm.PrivateEndpoint) -> EndpointSnapshot:
    """What the channel message shows of an endpoint, as it is now."""
    cluster = session.get(orm.Cluster, endpoint.cluster_id)
    assert cluster is not None
    return EndpointSnapshot(
        id=endpoint.id,
        project_id=endpoint.project_id,
        cluster=cluster.name,
        region=cluster.region,
        host=cluster.private_dns_host,
        port=cluster.port,
        status=endpoint.status,
        stage=endpoint.stage,
        vpc_id=endpoint.vpc_id,
        vpce_id=endpoint.vpce_id,
        failure_reason=endpoint.failure_reason,
        created_by=endpoint.created_by,
        dns_verified=_dns_verified(session, cluster.id)
        if endpoint.status is EndpointStatus.ACTIVE
        else None,
        targets=_targets(cluster) if endpoint.status is EndpointStatus.ACTIVE else None,
    )


def _targets(cluster: orm.Cluster) -> TargetsSnapshot | None:
    """The targets behind the cluster's load balancer as last read (None: never read)."""
    health = cluster.health
    if health.healthy is None or health.total is None:
        return None
    return TargetsSnapshot(
        healthy=health.healthy, total=health.total, reason=health.reason, down=health.down
    )


def _dns_verified(session: Session, cluster_id: int) -> bool | None:
    """Whether the cluster's private DNS name is verified (None: not known). The service's id
    is looked up once per session; the row itself then comes from the session when loaded."""
    ids: dict[int, int | None] = session.info.setdefault("service_id_by_cluster", {})
    if cluster_id not in ids:
        ids[cluster_id] = service_queries.get_id_by_cluster(session=session, cluster_id=cluster_id)
    service_id = ids[cluster_id]
    service = session.get(orm.EndpointService, service_id) if service_id is not None else None
    return is_verified(service.dns_state) if service is not None else None
