"""How each notice kind reads in Slack: its thread's parent message and its reply.

One registry: `RENDERERS` maps each `bot.notices` kind to its pure builders in
`bot.slack.views`. A new notice kind adds its `Renderer` here (a test checks every kind has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.notices.base import Notice
from bot.notices.connection_requests import ConnectionRequestNotice
from bot.notices.dns_verification import DnsVerification
from bot.notices.endpoint import EndpointUpdate
from bot.notices.endpoint_alerts import EndpointAlert
from bot.slack.views.alerts import Message, parent_message, thread_reply
from bot.slack.views.connection_requests import request_message, request_reply
from bot.slack.views.dns_verification import dns_message, dns_reply
from bot.slack.views.endpoint_alerts import alert_reply

N = TypeVar("N", bound=Notice)


@dataclass(frozen=True)
class Renderer(Generic[N]):
    """The builders of one notice kind's parent message and reply."""

    parent: Callable[[N], Message]
    reply: Callable[[N], Message]


RENDERERS: dict[type[Notice], Renderer[Any]] = {
    EndpointUpdate: Renderer[EndpointUpdate](
        parent=lambda n: parent_message(n.endpoint),
        reply=lambda n: thread_reply(text=n.text, snapshot=n.endpoint),
    ),
    EndpointAlert: Renderer[EndpointAlert](
        parent=lambda n: parent_message(n.endpoint),
        reply=alert_reply,
    ),
    DnsVerification: Renderer[DnsVerification](
        parent=lambda n: dns_message(n.dns),
        reply=lambda n: dns_reply(change=n.change, dns=n.dns, actor=n.actor),
    ),
    ConnectionRequestNotice: Renderer[ConnectionRequestNotice](
        parent=lambda n: request_message(n.request),
        reply=lambda n: request_reply(n.text),
    ),
}


def _renderer(notice: Notice) -> Renderer[Any]:
    renderer = RENDERERS.get(type(notice))
    if renderer is None:
        raise LookupError(f"no Slack renderer for notice kind {notice.KIND!r}")
    return renderer


def parent(notice: Notice) -> Message:
    """The notice's thread parent message as it should read now."""
    return _renderer(notice).parent(notice)


def reply(notice: Notice) -> Message:
    """The notice's change, as a reply in its thread."""
    return _renderer(notice).reply(notice)
