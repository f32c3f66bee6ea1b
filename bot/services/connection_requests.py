"""Connection requests from unknown endpoints: recorded when the worker first sees one, decided
by an owner in Slack, carried out by the worker on AWS. Every step is an audit event and a
notice in the request's channel thread, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.domain import entities, rules
from bot.domain.connection_requests import (
    OPEN_STATUSES,
    RequestEvent,
    RequestStatus,
    decide,
    request_transition,
)
from bot.domain.errors import NotFound
from bot.domain.states import Action
from bot.notices import outbox
from bot.notices.connection_requests import ConnectionRequestNotice, RequestSnapshot
from bot.storage import event_log, orm, request_queries

REQUEST_SUBJECT = "connection_request"


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """What the worker reads of a connection request."""

    id: int
    service_id: int
    vpce_id: str
    owner_account: str
    status: RequestStatus
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """One step the worker saw, made only if the request is still as the worker saw it."""

    request_id: int
    expect_status: RequestStatus
    event: RequestEvent
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Where:
    """The service a request is on, with its cluster and project, as its messages name them."""

    project: entities.Project
    cluster: entities.Cluster
    aws_service_id: str


def list_for_services(
    *, session: Session, service_ids: Sequence[int], vpce_ids: Sequence[str] = ()
) -> list[OpenRequest]:
    """The requests on these services that are open, or whose vpce is one of `vpce_ids`,
    in one query."""
    if not service_ids:
        return []
    rows = request_queries.list_for_services(
        session=session, service_ids=service_ids, statuses=OPEN_STATUSES, vpce_ids=vpce_ids
    )
    return [_open(row) for row in rows]


def announce(
    *, session: Session, where: Where, service_id: int, vpce_id: str, owner_account: str
) -> bool:
    """Record a request no private endpoint expects and tell the owners, once per request;
    whether it was new."""
    if request_queries.exists(session=session, service_id=service_id, vpce_id=vpce_id):
        return False
    row = orm.ConnectionRequest(
        endpoint_service_id=service_id,
        vpce_id=vpce_id,
        owner_account=owner_account,
        status=RequestStatus.PENDING,
    )
    session.add(row)
    session.flush()
    owners = " ".join(f"<@{o}>" for o in sorted(where.project.owners)) or "Owners"
    text = (
        f"{owners}: AWS account {owner_account} asks to connect {vpce_id} to "
        f"{where.cluster.name}, and no private endpoint of this project expects it. Accept "
        "or Reject it above; the bot does neither on its own."
    )
    _record(session, row, where, RequestEvent.SEEN, None, event_log.SYSTEM_ACTOR, text)
    return True


def settle(*, session: Session, where: Where, outcomes: Sequence[RequestOutcome]) -> int:
    """Save what the worker did or saw for these requests; how many were no longer as it
    saw them (an owner decided meanwhile), left for the next pass."""
    if not outcomes:
        return 0
    ids = sorted({o.request_id for o in outcomes})
    rows = request_queries.map_locked(session=session, ids=ids)
    stale = 0
    for outcome in outcomes:
        row = rows.get(outcome.request_id)
        if row is None or row.status != outcome.expect_status:
            stale += 1
            continue
        text = _worker_line(row, where, outcome)
        _record(session, row, where, outcome.event, outcome.detail, event_log.SYSTEM_ACTOR, text)
        if outcome.event is RequestEvent.AWS_REFUSED:
            row.decided_by = None
    return stale


def close_all(*, session: Session, where: Where, service_id: int, reason: str) -> None:
    """The service is going (its cluster was dropped): its open requests are gone."""
    open_rows = request_queries.list_of_service(
        session=session, service_id=service_id, statuses=OPEN_STATUSES
    )
    for row in open_rows:
        text = f"The request from {row.vpce_id} is no longer pending: {reason}"
        _record(session, row, where, RequestEvent.GONE, reason, event_log.SYSTEM_ACTOR, text)


def owner_decides(
    *, session: Session, request_id: int, user_id: str, accept: bool, team_id: str | None = None
) -> str:
    """An owner pressed Accept or Reject: the request waits for the worker to do it on AWS.
    What to tell the owner; a repeated click changes nothing."""
    row = request_queries.get_locked(session=session, request_id=request_id)
    if row is None:
        raise NotFound(
            "This connection request no longer exists: its cluster was dropped, so there is "
            "nothing to decide."
        )
    where = where_of(session=session, service_id=row.endpoint_service_id)
    rules.authorize(where.project, user_id, Action.DECIDE_CONNECTION, team_id=team_id)
    decision = decide(
        status=RequestStatus(row.status),
        accept=accept,
        vpce_id=row.vpce_id,
        decided_by=row.decided_by,
    )
    if decision.event is not None:
        row.decided_by = user_id
        verb = "accept" if accept else "reject"
        text = (
            f"<@{user_id}> asked to {verb} the connection from {row.vpce_id}; the bot does it "
            "on AWS within a minute."
        )
        _record(session, row, where, decision.event, None, user_id, text)
    return decision.message


def where_of(*, session: Session, service_id: int) -> Where:
    """The project, cluster and AWS id of an endpoint service."""
    service = session.get(orm.EndpointService, service_id)
    assert service is not None
    cluster = session.get(orm.Cluster, service.cluster_id)
    assert cluster is not None
    project = session.get(orm.Project, cluster.project_id)
    assert project is not None
    return Where(project.to_domain(), cluster.to_domain(), service.aws_service_id or "")


def _open(row: orm.ConnectionRequest) -> OpenRequest:
    return OpenRequest(
        id=row.id,
        service_id=row.endpoint_service_id,
        vpce_id=row.vpce_id,
        owner_account=row.owner_account,
        status=RequestStatus(row.status),
        decided_by=row.decided_by,
    )


def _worker_line(row: orm.ConnectionRequest, where: Where, outcome: RequestOutcome) -> str:
    who = f"<@{row.decided_by}>" if row.decided_by else "an owner"
    vpce, cluster = row.vpce_id, where.cluster.name
    match outcome.event:
        case RequestEvent.AWS_ACCEPTED:
            return f"The connection from {vpce} was accepted by {who}: it can now reach {cluster}."
        case RequestEvent.AWS_REJECTED:
            return f"The connection from {vpce} was rejected by {who}: it cannot reach {cluster}."
        case RequestEvent.AWS_REFUSED:
            verb = "accept" if row.status == RequestStatus.ACCEPT_REQUESTED else "reject"
            return (
                f"AWS did not {verb} the connection from {vpce}: {outcome.detail} "
                "Accept and Reject are back: decide again once that is fixed."
            )
        case _:
            return f"The request from {vpce} is no longer pending: {outcome.detail}"


def _record(
    session: Session,
    row: orm.ConnectionRequest,
    where: Where,
    event: RequestEvent,
    detail: str | None,
    actor: str,
    text: str,
) -> None:
    """Move the request by `event` (none for the first sighting), audit it, queue its notice."""
    from_status = None if event is RequestEvent.SEEN else RequestStatus(row.status)
    if from_status is not None:
        row.status = request_transition(from_status, event)
    audit = event_log.record_event(
        session=session,
        project_id=where.project.id,
        subject=REQUEST_SUBJECT,
        subject_id=row.id,
        actor=actor,
        action=event,
        from_status=from_status,
        to_status=row.status,
        detail=detail,
    )
    session.flush()
    snapshot = RequestSnapshot(
        id=row.id,
        project_id=where.project.id,
        cluster=where.cluster.name,
        region=where.cluster.region,
        service_id=where.aws_service_id,
        vpce_id=row.vpce_id,
        owner_account=row.owner_account,
        status=RequestStatus(row.status),
        owners=tuple(sorted(where.project.owners)),
        decided_by=row.decided_by,
        detail=detail,
    )
    notice = ConnectionRequestNotice(text=text, request=snapshot)
    outbox.queue(
        session=session,
        notice=notice,
        dedupe_key=f"request:{row.id}:event:{audit.id}",
        team_id=where.project.team_id,
        channel_id=where.project.channel_id,
    )
