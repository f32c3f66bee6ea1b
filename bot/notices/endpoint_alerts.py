"""The notice of an alert the worker raised about a private endpoint (`bot.domain.alerts`): a
reply in the endpoint's thread, its parent message kept as the endpoint is now."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from bot.domain.alerts import AlertKind
from bot.notices.base import Notice
from bot.notices.endpoint import EndpointSnapshot, endpoint_thread

ENDPOINT_ALERT = "endpoint_alert"
"""The outbox kind of the alerts the worker raises about private endpoints."""


class EndpointAlert(Notice):
    """An alert about an endpoint in the status its snapshot shows (see
    `bot.services.changes.alert`)."""

    KIND: ClassVar[str] = ENDPOINT_ALERT

    alert: AlertKind
    since: datetime  # when the endpoint entered its status
    at: datetime  # when the worker raised the alert
    endpoint: EndpointSnapshot

    @property
    def thread_key(self) -> str:
        """The endpoint's own thread."""
        return endpoint_thread(self.endpoint.id)
