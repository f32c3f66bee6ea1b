"""The notice of a private endpoint's change: its snapshot, and one thread per endpoint."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.domain.states import EndpointStatus, Stage
from bot.notices.base import Notice

ENDPOINT_UPDATE = "endpoint_update"
"""The outbox kind of a private endpoint's notices."""


class TargetsSnapshot(BaseModel):
    """The targets behind the endpoint's cluster's load balancer, as the worker last read them
    (`bot.domain.cluster_health.TargetHealth`); `down`: clients were told they cannot reach it."""

    model_config = ConfigDict(frozen=True)

    healthy: int
    total: int
    reason: str | None = None
    down: bool = False


class EndpointSnapshot(BaseModel):
    """An endpoint as one change left it: what its channel messages show."""

    model_config = ConfigDict(frozen=True)

    id: int
    project_id: int
    cluster: str
    region: str
    host: str
    port: int
    status: EndpointStatus
    stage: Stage
    vpc_id: str | None = None
    vpce_id: str | None = None
    failure_reason: str | None = None
    created_by: str
    dns_verified: bool | None = None  # whether `host` resolves (None: not known)
    targets: TargetsSnapshot | None = None  # of an Active endpoint's cluster (None: not read)


def endpoint_thread(endpoint_id: int) -> str:
    """The thread key of a private endpoint's messages."""
    return f"endpoint:{endpoint_id}"


class EndpointUpdate(Notice):
    """A private endpoint's change (see `bot.services.changes`)."""

    KIND: ClassVar[str] = ENDPOINT_UPDATE

    text: str
    endpoint: EndpointSnapshot

    @property
    def thread_key(self) -> str:
        """One thread per private endpoint."""
        return endpoint_thread(self.endpoint.id)
