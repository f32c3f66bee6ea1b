"""The notice of a change of an endpoint service's private DNS verification."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.domain.dns_verification import DnsChange
from bot.notices.base import Notice

DNS_VERIFICATION = "dns_verification"
"""The outbox kind of a private DNS name's notices."""


class DnsSnapshot(BaseModel):
    """A service's private DNS name as one change left it: what its channel messages show."""

    model_config = ConfigDict(frozen=True)

    service_id: int
    aws_service_id: str | None = None
    cluster: str
    region: str
    domain: str
    state: str
    txt_name: str | None = None
    txt_value: str | None = None
    failure_reason: str | None = None
    owners: tuple[str, ...] = ()


def dns_thread(service_id: int) -> str:
    """The thread key of a service's private DNS messages."""
    return f"dns:{service_id}"


class DnsVerification(Notice):
    """A change of a service's private DNS verification (see `bot.reconcile.dns_verification`)."""

    KIND: ClassVar[str] = DNS_VERIFICATION

    change: DnsChange
    actor: str | None = None  # who pressed Verify now, for `started`
    dns: DnsSnapshot

    @property
    def thread_key(self) -> str:
        """One thread per endpoint service."""
        return dns_thread(self.dns.service_id)
