"""The create wizard, stage by stage: each submission loads, checks, moves and saves.

A submission that arrives for a stage the endpoint has already left (a double click, a
retried request) changes nothing and answers with the endpoint's current stage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from bot.domain import entities, rules
from bot.domain.errors import InvalidInput, NotEditable, NotEligible, NotFound
from bot.domain.rules import ClusterChoice
from bot.domain.states import Action, EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.domain.validation import (
    Field,
    parse_account_id,
    parse_region,
    parse_security_group_ids,
    parse_subnet_ids,
    parse_vpc_id,
    parse_vpce_id,
)
from bot.services import changes, endpoint_services
from bot.storage import cluster_queries, endpoint_queries, orm, service_queries
from bot.storage.project_cache import ProjectLike


@dataclass(frozen=True, slots=True)
class WizardState:
    """Everything a stage's view shows."""

    project: entities.Project
    channel_id: str
    stage: Stage
    choice: ClusterChoice | None = None
    cluster: entities.Cluster | None = None
    service: entities.EndpointService | None = None
    endpoint: entities.PrivateEndpoint | None = None
    notice: str | None = None  # said above the stage, e.g. why a submission was not applied


STALE = "This private endpoint had already moved on, so what you entered was not applied."


def start(
    *,
    session: Session,
    project: ProjectLike,
    user_id: str,
    channel_id: str,
    requested: str | None = None,
) -> WizardState:
    """The Choose Cluster stage: eligible clusters, the excluded ones with reasons, a default."""
    domain_project = project.to_domain()
    rules.authorize(domain_project, user_id, Action.CREATE)
    clusters = cluster_queries.list_project_clusters(session=session, project_id=project.id)
    counts = endpoint_queries.count_endpoints_by_cluster(
        session=session, cluster_ids=[c.id for c in clusters]
    )
    choice = rules.choose_cluster(clusters, requested=requested, with_endpoint=set(counts))
    return WizardState(
        project=domain_project, channel_id=channel_id, stage=Stage.CHOOSE_CLUSTER, choice=choice
    )


def _cluster(session: Session, project: entities.Project, cluster_id: int) -> orm.Cluster:
    cluster = cluster_queries.get_cluster_locked(
        session=session, cluster_id=cluster_id, project_id=project.id
    )
    if cluster is None:
        raise InvalidInput(Field.CLUSTER, "That cluster no longer exists.")
    try:
        rules.check_eligible(cluster.to_domain())
    except NotEligible as error:
        raise InvalidInput(Field.CLUSTER, str(error)) from None
    return cluster


def submit_cluster(
    *, session: Session, project: ProjectLike, user_id: str, channel_id: str, cluster_id: int
) -> WizardState:
    """Choose Cluster submitted: on to Service Endpoint with the cluster's region."""
    domain_project = project.to_domain()
    rules.authorize(domain_project, user_id, Action.CREATE)
    cluster = _cluster(session, domain_project, cluster_id)
    return WizardState(
        project=domain_project,
        channel_id=channel_id,
        stage=Stage.SERVICE_ENDPOINT,
        cluster=cluster.to_domain(),
    )


def submit_region(
    *,
    session: Session,
    project: ProjectLike,
    user_id: str,
    channel_id: str,
    cluster_id: int,
    region: str,
    creation_key: str,
    view_id: str | None = None,
) -> WizardState:
    """Service Endpoint submitted: the private endpoint is created (`not_configured`) and the
    cluster's endpoint service queued if it has none. Once per wizard (`creation_key`)."""
    domain_project = project.to_domain()
    rules.authorize(domain_project, user_id, Action.CREATE)
    existing = endpoint_queries.get_endpoint_by_creation_key(
        session=session, creation_key=creation_key
    )
    if existing is not None:
        return state_of(session=session, endpoint=existing)
    cluster = _cluster(session, domain_project, cluster_id)
    rules.check_region(cluster.to_domain(), parse_region(region))
    service = endpoint_services.ensure(session=session, cluster=cluster, actor=user_id)
    endpoint = orm.PrivateEndpoint(
        project_id=project.id,
        cluster_id=cluster.id,
        stage=Stage.INTERFACE_ENDPOINT,
        status=EndpointStatus.NOT_CONFIGURED,
        created_by=user_id,
        creation_key=creation_key,
        channel_id=project.channel_id,
        view_id=view_id,
    )
    changes.created(session=session, endpoint=endpoint, actor=user_id)
    # from what this transaction holds: the project as checked above, not read again
    return state_from(project=domain_project, cluster=cluster, service=service, row=endpoint)


def _owned_endpoint(
    session: Session,
    endpoint_id: int,
    user_id: str,
    action: Action = Action.EDIT,
    *,
    view_id: str | None = None,
    team_id: str | None = None,
) -> orm.PrivateEndpoint:
    """The endpoint, once its project's rules let `user_id` (of workspace `team_id`, when
    known) do `action`; `view_id` is kept as the modal showing it (for the worker's live
    updates) if the transaction commits."""
    endpoint = endpoint_queries.get_endpoint_in_context(session=session, endpoint_id=endpoint_id)
    if endpoint is None:
        raise NotFound(f"Private endpoint #{endpoint_id} does not exist (any more).")
    rules.authorize(endpoint.project.to_domain(), user_id, action, team_id=team_id)
    if action is not Action.TERMINATE and endpoint.status is EndpointStatus.DELETING:
        raise NotEditable(
            f"Private endpoint #{endpoint.id} is being deleted (terminated, or "
            "its cluster was dropped); nothing more can be changed."
        )
    if view_id is not None and endpoint.view_id != view_id:
        endpoint.view_id = view_id
    return endpoint


def submit_interface(
    *,
    session: Session,
    endpoint_id: int,
    user_id: str,
    account_id: str,
    vpc_id: str,
    subnet_ids: str = "",
    view_id: str | None = None,
    team_id: str | None = None,
    security_group_ids: str = "",
) -> WizardState:
    """Interface Endpoint submitted: account and VPC, subnets and security groups (both
    optional: the user's block finds or makes them) recorded; on to Accept."""
    subnets = parse_subnet_ids(subnet_ids) if subnet_ids.strip() else ()
    values = (parse_account_id(account_id), parse_vpc_id(vpc_id), subnets)
    groups = parse_security_group_ids(security_group_ids)
    endpoint = _owned_endpoint(session, endpoint_id, user_id, view_id=view_id, team_id=team_id)
    at_stage = endpoint.stage is Stage.INTERFACE_ENDPOINT
    if not at_stage or endpoint.status not in (
        EndpointStatus.NOT_CONFIGURED,
        EndpointStatus.FAILED,
    ):
        same = (endpoint.account_id, endpoint.vpc_id, tuple(endpoint.subnet_ids)) == values
        same = same and tuple(endpoint.security_group_ids or ()) == groups
        return stale(session=session, endpoint=endpoint, applied=same)
    endpoint_services.ensure(session=session, cluster=endpoint.cluster, actor=user_id)
    endpoint.account_id, endpoint.vpc_id = values[0], values[1]
    endpoint.subnet_ids = list(values[2])
    endpoint.security_group_ids = list(groups)
    endpoint.vpce_id = endpoint.suggested_vpce_id = None  # a retry needs a new endpoint
    endpoint.failure_reason = None
    endpoint.stage = Stage.ACCEPT_ENDPOINT_CONNECTION
    changes.apply(
        session=session, endpoint=endpoint, event=EndpointEvent.INTERFACE_SUBMITTED, actor=user_id
    )
    return state_of(session=session, endpoint=endpoint)


def submit_vpce(
    *,
    session: Session,
    endpoint_id: int,
    user_id: str,
    vpce_id: str,
    view_id: str | None = None,
    team_id: str | None = None,
) -> WizardState:
    """Accept Endpoint Connection submitted: the vpce id is queued for verification."""
    vpce = parse_vpce_id(vpce_id)
    endpoint = _owned_endpoint(session, endpoint_id, user_id, view_id=view_id, team_id=team_id)
    waiting = endpoint.status is EndpointStatus.INITIATING and endpoint.vpce_id is None
    retrying = endpoint.status is EndpointStatus.FAILED
    if endpoint.stage is not Stage.ACCEPT_ENDPOINT_CONNECTION or not (waiting or retrying):
        return stale(session=session, endpoint=endpoint, applied=endpoint.vpce_id == vpce)
    other = endpoint_queries.get_endpoint_by_vpce(session=session, vpce_id=vpce)
    if other is not None and other.id != endpoint.id:
        raise InvalidInput(
            Field.VPCE_ID, f"{vpce} is already used by private endpoint #{other.id}."
        )
    endpoint.vpce_id = vpce
    endpoint.failure_reason = None
    changes.apply(
        session=session, endpoint=endpoint, event=EndpointEvent.VPCE_SUBMITTED, actor=user_id
    )
    return state_of(session=session, endpoint=endpoint)


def submit_create(
    *,
    session: Session,
    endpoint_id: int,
    user_id: str,
    view_id: str | None = None,
    team_id: str | None = None,
) -> WizardState:
    """Enable Private DNS finished with Create: the worker activates it once AWS says so."""
    endpoint = _owned_endpoint(session, endpoint_id, user_id, view_id=view_id, team_id=team_id)
    if endpoint.stage is not Stage.ENABLE_PRIVATE_DNS or endpoint.status is not (
        EndpointStatus.PENDING
    ):
        return stale(session=session, endpoint=endpoint, applied=endpoint.stage is Stage.DONE)
    endpoint.stage = Stage.DONE
    changes.apply(
        session=session, endpoint=endpoint, event=EndpointEvent.CREATE_SUBMITTED, actor=user_id
    )
    return state_of(session=session, endpoint=endpoint)


def resume(
    *, session: Session, endpoint_id: int, user_id: str, team_id: str | None = None
) -> WizardState:
    """Edit: the wizard reopened where the endpoint's status says, or NotEditable."""
    endpoint = _owned_endpoint(session, endpoint_id, user_id, team_id=team_id)
    stage = rules.edit_stage(endpoint.to_domain())
    if endpoint.stage is not stage:
        endpoint.stage = stage  # e.g. a failure after acceptance restarts at the interface stage
    return state_of(session=session, endpoint=endpoint)


def terminate(
    *, session: Session, endpoint_id: int, user_id: str, team_id: str | None = None
) -> entities.PrivateEndpoint:
    """Terminate one endpoint: it goes to `deleting`; the worker removes it from AWS."""
    return terminate_endpoint(
        session=session, endpoint_id=endpoint_id, user_id=user_id, team_id=team_id
    ).endpoint


@dataclass(frozen=True, slots=True)
class Terminated:
    """A terminated endpoint with its cluster: what the reply needs to tell the user how to
    delete their own interface endpoint."""

    endpoint: entities.PrivateEndpoint
    cluster: entities.Cluster


def terminate_endpoint(
    *, session: Session, endpoint_id: int, user_id: str, team_id: str | None = None
) -> Terminated:
    """`terminate`, answering with the endpoint's cluster too."""
    endpoint = _owned_endpoint(session, endpoint_id, user_id, Action.TERMINATE, team_id=team_id)
    if endpoint.status is not EndpointStatus.DELETING:
        changes.apply(
            session=session, endpoint=endpoint, event=EndpointEvent.TERMINATE, actor=user_id
        )
    return Terminated(endpoint=endpoint.to_domain(), cluster=endpoint.cluster.to_domain())


def state_of(*, session: Session, endpoint: orm.PrivateEndpoint) -> WizardState:
    """The wizard as it stands for `endpoint`."""
    project, cluster = endpoint.project, endpoint.cluster
    service = service_queries.get_service_by_cluster(session=session, cluster_id=cluster.id)
    return state_from(project=project.to_domain(), cluster=cluster, service=service, row=endpoint)


def state_from(
    *,
    project: entities.Project,
    cluster: orm.Cluster,
    service: orm.EndpointService | None,
    row: orm.PrivateEndpoint,
) -> WizardState:
    """The wizard as it stands for `row`, from rows already loaded (no queries)."""
    return WizardState(
        project=project,
        channel_id=row.channel_id or project.channel_id,
        stage=row.stage,
        cluster=cluster.to_domain(),
        service=service.to_domain() if service else None,
        endpoint=row.to_domain(),
    )


def stale(*, session: Session, endpoint: orm.PrivateEndpoint, applied: bool) -> WizardState:
    """The wizard as it stands after a submission for a stage it had left: a repeat of what
    was applied (a double click, a retry) answers the same; anything else says it was not."""
    state = state_of(session=session, endpoint=endpoint)
    return state if applied else replace(state, notice=STALE)


def service_ready(state: WizardState) -> bool:
    """Whether the endpoint service exists on AWS and can take connections."""
    return state.service is not None and state.service.status is ServiceStatus.ACTIVE


def current(
    *,
    session: Session,
    endpoint_id: int,
    user_id: str,
    view_id: str | None = None,
    team_id: str | None = None,
) -> WizardState:
    """The wizard as it stands, for an owner looking at it again (in the modal `view_id`)."""
    endpoint = _owned_endpoint(session, endpoint_id, user_id, view_id=view_id, team_id=team_id)
    return state_of(session=session, endpoint=endpoint)


def remember_view(*, session: Session, endpoint_id: int, view_id: str) -> None:
    """Keep the id of the modal showing this endpoint, for the worker's live updates."""
    endpoint = endpoint_queries.get_endpoint(session=session, endpoint_id=endpoint_id)
    if endpoint is not None and endpoint.view_id != view_id:
        endpoint.view_id = view_id


def forget_view(*, session: Session, endpoint_id: int, view_id: str) -> None:
    """The user closed the modal `view_id`: the worker has nothing to update in it any more.
    Only the modal the endpoint records is forgotten: closing any other one changes nothing."""
    endpoint = endpoint_queries.get_endpoint(session=session, endpoint_id=endpoint_id)
    if endpoint is not None and endpoint.view_id == view_id:
        endpoint.view_id = None
