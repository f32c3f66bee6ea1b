"""What the outbox sends: each kind of notice, one thread each (a parent message, and replies).

An outbox row names its kind and carries the notice's payload; the sender reads it back with
`read_notice`, posts or updates the thread's parent, then posts the reply. A new kind is a
`Notice` subclass listed in `KINDS`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.slack.views.alerts import EndpointSnapshot, Message, parent_message, thread_reply

ENDPOINT_UPDATE = "endpoint_update"


class Notice(BaseModel):
    """One change to tell a channel about, in the thread it belongs to."""

    model_config = ConfigDict(frozen=True)

    broadcast: bool = False  # the reply is also shown in the channel

    @property
    @abstractmethod
    def thread_key(self) -> str:
        """The thread: one parent message per key (`endpoint:7`, `dns:3`, …)."""

    @abstractmethod
    def parent(self) -> Message:
        """The thread's parent message as it should read now."""

    @abstractmethod
    def reply(self) -> Message:
        """This change, as a reply in the thread."""


class EndpointUpdate(Notice):
    """A private endpoint's change (see `bot.services.changes`)."""

    text: str
    endpoint: EndpointSnapshot

    @property
    def thread_key(self) -> str:
        """One thread per private endpoint."""
        return endpoint_thread(self.endpoint.id)

    def parent(self) -> Message:
        """The endpoint's message, showing its status now."""
        return parent_message(self.endpoint)

    def reply(self) -> Message:
        """The change; Active carries the connection strings, Failed a Retry button."""
        return thread_reply(text=self.text, snapshot=self.endpoint)


def endpoint_thread(endpoint_id: int) -> str:
    """The thread key of a private endpoint's messages."""
    return f"endpoint:{endpoint_id}"


# Notices defined next to their views subclass `Notice`, so they are imported once it exists.
from bot.slack.views.dns import DNS_VERIFICATION, DnsVerification  # noqa: E402
from bot.slack.views.requests import CONNECTION_REQUEST, ConnectionRequestNotice  # noqa: E402

KINDS: dict[str, type[Notice]] = {
    ENDPOINT_UPDATE: EndpointUpdate,
    CONNECTION_REQUEST: ConnectionRequestNotice,
    DNS_VERIFICATION: DnsVerification,
}


class UnreadableNotice(ValueError):
    """An outbox row whose kind is unknown or whose payload does not fit its kind."""


def read_notice(kind: str, payload: dict[str, Any]) -> Notice:
    """The notice an outbox row carries, or UnreadableNotice saying why not."""
    model = KINDS.get(kind)
    if model is None:
        raise UnreadableNotice(f"unknown kind {kind!r}")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise UnreadableNotice(f"malformed payload: {error.error_count()} error(s)") from None
