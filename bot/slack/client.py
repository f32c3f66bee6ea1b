"""The Web API client the bot uses: slack_sdk's, counting the calls that fail, and retrying what
may be repeated: a lost connection, a 429 (after its Retry-After) and a 5xx, twice each.

A repeat is safe for what goes through it (views.update, views.publish, auth.test): they
replace state rather than add to it. What must not be repeated goes through a copy without
retries (`without_retries`): the outbox's posts (a hidden repeat of chat.postMessage would post
twice; the outbox paces and retries on its own) and views.open (its trigger opens one view).
"""

from __future__ import annotations

import copy
from typing import Any

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

RETRIES = 2


def without_retries(client: WebClient) -> WebClient:
    """A copy of `client` that makes each call once (no retry handlers): for calls whose first
    try may have worked unseen and must not be repeated (posts, views.open's one-use trigger)."""
    clone = copy.copy(client)
    clone.retry_handlers = []
    return clone


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
