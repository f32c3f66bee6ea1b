"""The Slack-sending side of the outbox: notice threads posted and updated, errors sorted.

Every Web API failure becomes one of four exceptions the worker can act on: `RateLimited`
(wait `retry_after`), `MessageGone` (post a new parent), `PermanentFailure` (a few more tries,
then give up) and `TransientFailure` (back off and retry). The client never retries by itself:
a hidden retry of `chat.postMessage` after a lost answer would post twice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.notices.base import Notice
from bot.slack import renderers
from bot.slack.views.alerts import Message

METADATA_EVENT_TYPE = "privatelink_notice"
DEFAULT_RETRY_AFTER = 1.0

# The message to update, or the thread to reply in, is no longer there.
GONE_ERRORS = frozenset(
    {"message_not_found", "thread_not_found", "cant_update_message", "invalid_thread_ts"}
)
# Errors that another try will not fix until a person acts (invites the bot, unarchives…).
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "ekm_access_denied",
        "invalid_arguments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "is_archived",
        "missing_scope",
        "msg_too_long",
        "no_permission",
        "no_text",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
    }
)


class SlackFailure(Exception):
    """A Web API call failed; `error` is Slack's error code or the network error."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class RateLimited(SlackFailure):
    """Slack answered 429: call again after `retry_after` seconds."""

    def __init__(self, error: str, *, retry_after: float) -> None:
        super().__init__(error)
        self.retry_after = retry_after


class MessageGone(SlackFailure):
    """The message to update, or the thread to reply in, was deleted."""


class PermanentFailure(SlackFailure):
    """Retrying will not help until someone changes Slack (channel, membership, token)."""


class TransientFailure(SlackFailure):
    """A server or network error that may pass."""


def without_retries(client: WebClient) -> WebClient:
    """A copy of `client` that makes each call once (no retry handlers)."""
    clone = copy.copy(client)
    clone.retry_handlers = []
    return clone


def retry_after(headers: Mapping[str, Any]) -> float:
    """The seconds a 429 asks to wait (`Retry-After`, any case), at least one."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(DEFAULT_RETRY_AFTER, float(str(raw).strip()))
            except ValueError:
                return DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER


def classify(error: SlackApiError) -> SlackFailure:
    """The failure a Web API error stands for."""
    response = error.response
    status = response.status_code
    code = str(response.get("error") or f"http_{status}")
    if status == 429:
        return RateLimited(code, retry_after=retry_after(response.headers))
    if status >= 500:
        return TransientFailure(code)
    if code in GONE_ERRORS:
        return MessageGone(code)
    if code in PERMANENT_ERRORS:
        return PermanentFailure(code)
    return TransientFailure(code)


def _call(send: Callable[[], SlackResponse]) -> SlackResponse:
    try:
        return send()
    except SlackApiError as error:
        raise classify(error) from error
    except (OSError, HTTPException) as error:  # URLError, timeouts, resets, truncated bodies
        raise TransientFailure(f"network: {type(error).__name__}: {error}") from error


def _metadata(thread_key: str, outbox_id: int, step: str) -> dict[str, Any]:
    payload = {"thread": thread_key, "outbox_id": outbox_id, "step": step}
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": payload}


def _ts(response: SlackResponse) -> str:
    ts = response.get("ts")
    if not isinstance(ts, str):
        raise TransientFailure("no ts in Slack's answer")
    return ts


class Notifier:
    """Posts and updates the channel's notice threads, one Web API call each."""

    def __init__(self, *, client: WebClient) -> None:
        self._client = without_retries(client)

    def post_parent(self, *, channel: str, notice: Notice, outbox_id: int) -> str:
        """Post the thread's parent message; its ts."""
        message = renderers.parent(notice)
        metadata = _metadata(notice.thread_key, outbox_id, "parent")
        return _ts(_call(lambda: self._post(channel, message, metadata=metadata)))

    def update_parent(self, *, channel: str, ts: str, notice: Notice) -> None:
        """Show the thread's subject as `notice` left it, in its parent message."""
        message = renderers.parent(notice)
        _call(
            lambda: self._client.chat_update(
                channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]
            )
        )

    def post_reply(self, *, channel: str, thread_ts: str, notice: Notice, outbox_id: int) -> str:
        """Post the change in the thread (also to the channel if broadcast); its ts."""
        message = renderers.reply(notice)
        metadata = _metadata(notice.thread_key, outbox_id, "reply")
        return _ts(
            _call(
                lambda: self._post(
                    channel,
                    message,
                    metadata=metadata,
                    thread_ts=thread_ts,
                    broadcast=notice.broadcast,
                )
            )
        )

    def _post(
        self,
        channel: str,
        message: Message,
        *,
        metadata: dict[str, Any],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> SlackResponse:
        return self._client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            metadata=metadata,
            thread_ts=thread_ts,
            reply_broadcast=broadcast if thread_ts is not None else None,
            unfurl_links=False,
            unfurl_media=False,
        )
