"""Slack's requests into Bolt, read once.

Bolt's WSGI adapter reads the raw body into a `BoltRequest`, which parses it; and each listener's
after-ack half gets a copy of the request that parses the raw body again. The gate has parsed
it already, to check its shape (`bot.slack.gate`): `Dispatch` hands Bolt that reading, with the
raw body kept for Bolt's own signature check, and the copies share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

RAW_BODY = "privatelink.raw_body"  # the WSGI environ keys the gate leaves its reading under
BODY = "privatelink.body"


class ReadRequest(BoltRequest):
    """A Bolt request over HTTP made from a body already read: `raw_body` for the signature,
    `body` as Bolt's parser reads it."""

    def __init__(
        self,
        *,
        raw_body: str,
        body: dict[str, Any],
        query: Any,
        headers: Any,
        context: dict[str, Any] | None = None,
    ) -> None:
        # Bolt takes a parsed body only in Socket Mode; the request is HTTP's in every other way
        super().__init__(
            body=body, query=query, headers=headers, context=context, mode="socket_mode"
        )
        self.raw_body = raw_body
        self.mode = "http"

    def to_copyable(self) -> BoltRequest:
        """The copy an after-ack half gets, without parsing the body again."""
        return ReadRequest(
            raw_body=self.raw_body,
            body=self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
        )


class Dispatch:
    """WSGI: a request the gate has read goes to Bolt as a `ReadRequest`; anything else (the
    OAuth install pages) through Bolt's own adapter."""

    def __init__(self, app: App, *, path: str) -> None:
        self.app = app
        self.adapter = SlackRequestHandler(app, path=path)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = environ.get(BODY)
        if body is None:
            return self.adapter(environ, start_response)
        request = ReadRequest(
            raw_body=environ[RAW_BODY],
            body=body,
            query=environ.get("QUERY_STRING"),
            headers=WsgiHttpRequest(environ).get_headers(),
        )
        answer = self.app.dispatch(request)
        response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()
