"""The product's rules: eligibility, defaults, the region lock, permissions, Edit, Terminate."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.domain.entities import Cluster, PrivateEndpoint, Project
from bot.domain.errors import (
    ForeignWorkspace,
    InvalidInput,
    NotEditable,
    NotEligible,
    NotFound,
    PermissionDenied,
)
from bot.domain.states import Action, Cloud, ClusterStatus, EndpointStatus, Stage, Tier
from bot.domain.transitions import (
    ENDPOINT_TRANSITIONS,
    EndpointChange,
    EndpointEvent,
    endpoint_transition,
)
from bot.domain.validation import Field

MEMBER_ACTIONS = frozenset({Action.LIST, Action.CONNECT, Action.BILLING})
ACTION_WORDS = {
    Action.DECIDE_CONNECTION: "accept or reject connection requests",
    Action.VERIFY_DNS: "verify its private DNS names",
}
"""How a refusal names an action that is not "<action> private endpoints"."""


def ineligibility(cluster: Cluster) -> str | None:
    """Why `cluster` cannot get a private endpoint, or None when it can."""
    if cluster.cloud is Cloud.GCP:
        return "Not applicable: AWS PrivateLink private endpoints are for clusters on AWS."
    if cluster.tier is Tier.DEVELOPER:
        return "Developer-tier clusters do not support private endpoints; use a Dedicated cluster."
    if cluster.status is ClusterStatus.CREATING:
        return "The cluster is still being created; try again once it is active."
    if cluster.status is ClusterStatus.DELETING:
        return "The cluster is being deleted."
    return None


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """The wizard's first stage: what to offer, what to leave out and why, the default."""

    eligible: tuple[Cluster, ...]
    excluded: tuple[tuple[Cluster, str], ...]
    default: Cluster | None


def choose_cluster(
    clusters: Sequence[Cluster],
    *,
    requested: str | None = None,
    with_endpoint: Collection[int] = (),
) -> ClusterChoice:
    """Partition `clusters` and pick the default: the one requested, else the first eligible
    one without a private endpoint (`with_endpoint` holds the ids that have one)."""
    eligible: list[Cluster] = []
    excluded: list[tuple[Cluster, str]] = []
    for cluster in clusters:
        reason = ineligibility(cluster)
        if reason is None:
            eligible.append(cluster)
        else:
            excluded.append((cluster, reason))
    if requested:
        named = next((c for c in clusters if c.name == requested), None)
        if named is None:
            raise NotFound(f"There is no cluster named {requested!r} in this project.")
        reason = ineligibility(named)
        if reason is not None:
            raise NotEligible(f"{named.name}: {reason}")
        default: Cluster | None = named
    else:
        default = next((c for c in eligible if c.id not in with_endpoint), None)
    return ClusterChoice(eligible=tuple(eligible), excluded=tuple(excluded), default=default)


def check_eligible(cluster: Cluster) -> None:
    """Raise NotEligible when `cluster` cannot get a private endpoint."""
    reason = ineligibility(cluster)
    if reason is not None:
        raise NotEligible(f"{cluster.name}: {reason}")


def check_region(cluster: Cluster, region: str) -> None:
    """The endpoint service lives in the cluster's region; any other region is refused."""
    if region != cluster.region:
        raise InvalidInput(
            Field.REGION,
            f"Cross-region private endpoints are not supported: {cluster.name} is in "
            f"{cluster.region}, so its endpoint must be in {cluster.region} too.",
        )


def may(project: Project, user_id: str, action: Action) -> bool:
    """Owners may do everything; members of the channel may list, connect and see billing."""
    return user_id in project.owners or action in MEMBER_ACTIONS


def authorize(
    project: Project, user_id: str, action: Action, *, team_id: str | None = None
) -> None:
    """Raise PermissionDenied, naming the owners, when `user_id` may not do `action`; and
    ForeignWorkspace when the request comes from a workspace (`team_id`) not the project's."""
    if team_id is not None and project.team_id is not None and team_id != project.team_id:
        raise ForeignWorkspace("That belongs to a project of another Slack workspace.")
    if may(project, user_id, action):
        return
    owners = ", ".join(f"<@{owner}>" for owner in sorted(project.owners)) or "none yet"
    what = ACTION_WORDS.get(action, f"{action.value.replace('_', ' ')} private endpoints")
    raise PermissionDenied(f"Only owners of project {project.name} can {what}. Owners: {owners}.")


def edit_stage(endpoint: PrivateEndpoint) -> Stage:
    """The stage Edit resumes at, or NotEditable with the reason."""
    match endpoint.status:
        case EndpointStatus.NOT_CONFIGURED:
            return Stage.INTERFACE_ENDPOINT
        case EndpointStatus.INITIATING if endpoint.verifying:
            raise NotEditable(
                f"{endpoint.vpce_id} is being verified and accepted; "
                "you can edit again once that is done."
            )
        case EndpointStatus.INITIATING:
            return Stage.ACCEPT_ENDPOINT_CONNECTION
        case EndpointStatus.PENDING:
            return Stage.ENABLE_PRIVATE_DNS
        case EndpointStatus.FAILED:
            return retry_stage(endpoint.stage)
        case EndpointStatus.ACTIVE:
            raise NotEditable("Active private endpoints cannot be edited.")
        case _:
            raise NotEditable(f"The private endpoint is {endpoint.status.value}.")


RETRYABLE_STAGES = (Stage.INTERFACE_ENDPOINT, Stage.ACCEPT_ENDPOINT_CONNECTION)


def retry_stage(failed_at: Stage) -> Stage:
    """Where a failed endpoint is retried: the stage that failed, or, once the connection had
    been accepted (its endpoint is gone or rejected), a new interface endpoint."""
    return failed_at if failed_at in RETRYABLE_STAGES else Stage.INTERFACE_ENDPOINT


def can_edit(endpoint: PrivateEndpoint) -> bool:
    """Whether Edit is offered for `endpoint`."""
    try:
        edit_stage(endpoint)
    except NotEditable:
        return False
    return True


def can_terminate(endpoint: PrivateEndpoint) -> bool:
    """Whether Terminate is offered for `endpoint`."""
    return (endpoint.status, EndpointEvent.TERMINATE) in ENDPOINT_TRANSITIONS


def terminate(endpoint: PrivateEndpoint) -> EndpointChange:
    """Terminate one endpoint: it alone goes to `deleting`."""
    return endpoint_transition(endpoint.status, EndpointEvent.TERMINATE)
