"""The notice of a step of a connection request from an unknown endpoint."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.domain.connection_requests import RequestStatus
from bot.notices.base import Notice

CONNECTION_REQUEST = "connection_request"
"""The outbox kind of a connection request's notices."""


class RequestSnapshot(BaseModel):
    """A connection request as one change left it: what its channel messages show."""

    model_config = ConfigDict(frozen=True)

    id: int
    project_id: int
    cluster: str
    region: str
    service_id: str
    vpce_id: str
    owner_account: str
    status: RequestStatus
    owners: tuple[str, ...] = ()
    decided_by: str | None = None
    detail: str | None = None  # why it is gone, or why AWS refused the decision


def request_thread(*, service_id: str, vpce_id: str) -> str:
    """The thread key of a connection request's messages."""
    return f"request:{service_id}:{vpce_id}"


class ConnectionRequestNotice(Notice):
    """A step of a connection request from an unknown endpoint."""

    KIND: ClassVar[str] = CONNECTION_REQUEST

    text: str
    request: RequestSnapshot

    @property
    def thread_key(self) -> str:
        """One thread per request (service and vpce)."""
        return request_thread(service_id=self.request.service_id, vpce_id=self.request.vpce_id)
