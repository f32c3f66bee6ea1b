"""The Web API client the bot uses: slack_sdk's, counting the calls that fail, and retrying what
may be repeated: a lost connection, a 429 (after its Retry-After) and a 5xx, twice each.

Calls go on connections kept alive between calls, one per thread and host
(`bot.slack.connections`), not a new connection (and TLS handshake) per call.

A repeat is safe for what goes through it (views.update, views.publish, auth.test): they
replace state rather than add to it. What must not be repeated goes through a copy without
retries (`without_retries`): the outbox's posts (a hidden repeat of chat.postMessage would post
twice; the outbox paces and retries on its own) and views.open (its trigger opens one view).
"""

from __future__ import annotations

import copy
import io
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web import SlackResponse

from bot.observability import SLACK_ERRORS
from bot.slack import connections

RETRIES = 2


def without_retries(client: WebClient) -> WebClient:
    """A copy of `client` that makes each call once (no retry handlers): for calls whose first
    try may have worked unseen and must not be repeated (posts, views.open's one-use trigger)."""
    clone = copy.copy(client)
    clone.retry_handlers = []
    return clone


def metered(client: WebClient) -> WebClient:
    """`client` as a MeteredWebClient (the same token, workspace, URL and handlers): Bolt makes
    a plain WebClient for each request, which would open a connection per call."""
    if isinstance(client, MeteredWebClient):
        return client
    return MeteredWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=client.retry_handlers,
    )


def retry_handlers() -> list[RetryHandler]:
    """slack_sdk's own handlers for what may be repeated: connection errors, 429 and 5xx."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=RETRIES),
        RateLimitErrorRetryHandler(max_retry_count=RETRIES),
        ServerErrorRetryHandler(max_retry_count=RETRIES),
    ]


class MeteredWebClient(WebClient):
    """A WebClient that counts failed calls by method and error for `GET /metrics`, and
    retries what may be repeated (`retry_handlers`) unless given handlers of its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("retry_handlers", retry_handlers())
        super().__init__(*args, **kwargs)

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        """Call `api_method`; a failure is counted, then raised as usual."""
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            reason = error.response.get("error") if error.response is not None else None
            SLACK_ERRORS.labels(method=api_method, error=str(reason or "unknown")).inc()
            raise

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        """Send `req` on a kept-alive connection, answering as slack_sdk's urllib call does:
        an answer not 2xx raised as urllib's HTTPError, which slack_sdk reads and retries."""
        if self.proxy is not None or not url.lower().startswith(("http://", "https://")):
            return super()._perform_urllib_http_request_internal(url, req)
        answer = connections.send(req, timeout=self.timeout, context=self.ssl)
        if not 200 <= answer.status < 300:
            raise HTTPError(
                url, answer.status, answer.reason, answer.headers, io.BytesIO(answer.body)
            )
        if answer.headers.get_content_type() == "application/gzip":
            return {"status": answer.status, "headers": answer.headers, "body": answer.body}
        charset = answer.headers.get_content_charset() or "utf-8"
        body = answer.body.decode(charset)
        return {"status": answer.status, "headers": answer.headers, "body": body}
