"""The Web API client the bot uses: slack_sdk's, counting the calls that fail."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.observability import SLACK_ERRORS


class MeteredWebClient(WebClient):
    """A WebClient that counts failed calls by method and error for `GET /metrics`."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        """Call `api_method`; a failure is counted, then raised as usual."""
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            reason = error.response.get("error") if error.response is not None else None
            SLACK_ERRORS.labels(method=api_method, error=str(reason or "unknown")).inc()
            raise
