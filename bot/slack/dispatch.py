"""Slack's requests into Bolt, read once.

Bolt's WSGI adapter reads the raw body into a `BoltRequest`, which parses it; and each listener's
after-ack half gets a copy of the request that parses the raw body again. The gate has parsed
it already, to check its shape (`bot.slack.gate`): `Dispatch` hands Bolt that reading, with the
raw body kept for Bolt's own signature check, and the copies share it.

Bolt also deep-copies each after-ack half's request whole: its body, and its context with the
Web API client, `respond` and `say` in it (a few hundred objects, the largest cost of a click's
after-ack half). `SharedReading` hands each half a request over the same reading instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.listener.thread_runner import ThreadListenerRunner

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


class SharedReading(ThreadListenerRunner):
    """Bolt's listener runner, whose after-ack halves get a request sharing the first one's reading.

    Nothing in the bot changes a request once read, and what the context holds is shared across
    threads by design (the Web API client keeps a connection per thread; `respond` and `say` make
    one per call); so each half gets a request and a context of its own over the same values,
    with an `ack` of its own (it has nothing to acknowledge), as Bolt's deep copy would give it.
    A request not read by the gate (Socket Mode's) is copied as Bolt copies it.
    """

    @classmethod
    def put_in(cls, app: App) -> None:
        """Make this `app`'s listener runner, configured as the one Bolt made for it (Bolt has
        no setter: its own `App.error` reaches the runner through the same attribute)."""
        runner = app.listener_runner
        app._listener_runner = cls(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            listener_executor=runner.listener_executor,
            lazy_listener_runner=runner.lazy_listener_runner,
        )

    def _build_lazy_request(self, request: BoltRequest, lazy_func_name: str) -> BoltRequest:
        if not isinstance(request, ReadRequest):
            return super()._build_lazy_request(request, lazy_func_name)
        context = BoltContext(request.context)  # every value, the runner's own included
        context["ack"] = Ack()  # type: ignore[no-untyped-call]
        context["listener_runner"] = self
        copy = ReadRequest(
            raw_body=request.raw_body,
            body=request.body,
            query=request.query,
            headers=request.headers,
            context=context,
        )
        copy.lazy_only = True
        copy.lazy_function_name = lazy_func_name
        return copy
