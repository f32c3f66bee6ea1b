"""Every notice kind the outbox carries, and reading a row's payload back as its notice."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bot.notices.base import Notice
from bot.notices.connection_requests import ConnectionRequestNotice
from bot.notices.dns_verification import DnsVerification
from bot.notices.endpoint import EndpointUpdate
from bot.notices.endpoint_alerts import EndpointAlert

KINDS: dict[str, type[Notice]] = {
    model.KIND: model
    for model in (EndpointUpdate, EndpointAlert, ConnectionRequestNotice, DnsVerification)
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
