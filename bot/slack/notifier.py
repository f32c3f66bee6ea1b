"""The Slack-sending side of the outbox: notice threads posted, updated and looked up.

Every Web API failure becomes one of six exceptions the worker can act on: `RateLimited`
(wait `retry_after`), `MessageGone` (post a new parent), `PermanentFailure` (a few more tries,
then give up) and its case `ChannelBlocked` (Slack takes no post there until a person acts: hold
the channel's rows, tell the owners), `TransientFailure` (back off and retry) and its case
`OutcomeUnknown` (no answer, or one that says the call may have been carried out: look before
posting again). The client never retries by itself: a hidden retry of `chat.postMessage` after a
lost answer would post twice. Each post carries its outbox row and step in its metadata, so
`find_parent` and `find_reply` can tell whether Slack has it (one `conversations.history` or
`conversations.replies` call over the few messages since the attempt began). `blocker_of` asks
Slack (`conversations.info`) whether the bot can post in a channel, and why not.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.notices.base import Notice
from bot.slack import renderers
from bot.slack.client import without_retries
from bot.slack.views.alerts import Message

METADATA_EVENT_TYPE = "privatelink_notice"
PARENT_STEP = "parent"
REPLY_STEP = "reply"
DEFAULT_RETRY_AFTER = 1.0
# How far Slack's clock (a message's ts) may be behind ours when we look for a post.
CLOCK_MARGIN = timedelta(seconds=60)
LOOKUP_PAGE = 200
LOOKUP_PAGES = 10  # a lookup reads at most this many pages, then tries again later

# The message to update, or the thread to reply in, is no longer there.
GONE_ERRORS = frozenset(
    {"message_not_found", "thread_not_found", "cant_update_message", "invalid_thread_ts"}
)
# Errors another try will not fix until a person acts in Slack. Of the channel: the bot is not
# in it, it is archived, or the bot cannot see it (deleted, or private without the bot).
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
# Of the app: its token, its scopes, or a workspace setting that keeps it from posting.
APP_ERRORS = frozenset(
    {
        "account_inactive",
        "ekm_access_denied",
        "invalid_auth",
        "missing_scope",
        "no_permission",
        "not_authed",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
    }
)
# Of the message itself (a fault of ours, not of anyone's set-up): a few tries, then given up.
MESSAGE_ERRORS = frozenset(
    {
        "invalid_arguments",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "msg_too_long",
        "no_text",
    }
)
PERMANENT_ERRORS = CHANNEL_ERRORS | APP_ERRORS | MESSAGE_ERRORS
DEFAULT_BOT_NAME = "privatelink-bot"  # the manifest's display name, if Slack cannot say


class Blocker(StrEnum):
    """Why Slack takes none of the bot's posts in a channel until a person acts."""

    NOT_IN_CHANNEL = "not_in_channel"  # invite the bot to the channel
    ARCHIVED = "is_archived"  # unarchive the channel
    NOT_FOUND = "channel_not_found"  # deleted, mistyped, or private without the bot
    APP_SETUP = "app_setup"  # the app's token, scopes or workspace settings: reinstall
    UNINSTALLED = "app_uninstalled"  # installs by OAuth: the workspace has no install now


# Errors after which Slack "may have completed some aspect of the operation" (its words).
MAYBE_DONE_ERRORS = frozenset({"fatal_error", "internal_error"})


class SlackFailure(Exception):
    """A Web API call failed; `error` is Slack's error code or the network error."""

    not_posted = False
    """Set on the failure of a post that Slack certainly did not make: nothing to look up."""

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


class ChannelBlocked(PermanentFailure):
    """Slack takes no post from the bot in the channel until a person acts (`blocker` says
    what): its posts are held, never given up on."""

    def __init__(self, error: str, *, blocker: Blocker) -> None:
        super().__init__(error)
        self.blocker = blocker


class TransientFailure(SlackFailure):
    """A server or network error that may pass."""


class OutcomeUnknown(TransientFailure):
    """The call may have been carried out: no answer in time, a reset connection, a 5xx, or
    an error Slack says may follow a partial success."""


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
    if status >= 500 or code in MAYBE_DONE_ERRORS:
        return OutcomeUnknown(code)
    if code in GONE_ERRORS:
        return MessageGone(code)
    if code in CHANNEL_ERRORS:
        return ChannelBlocked(code, blocker=Blocker(code))
    if code in APP_ERRORS:
        return ChannelBlocked(code, blocker=Blocker.APP_SETUP)
    if code in PERMANENT_ERRORS:
        return PermanentFailure(code)
    return TransientFailure(code)


def _call(send: Callable[[], SlackResponse]) -> SlackResponse:
    try:
        return send()
    except SlackApiError as error:
        raise classify(error) from error
    except (OSError, HTTPException) as error:  # URLError, timeouts, resets, truncated bodies
        raise OutcomeUnknown(f"network: {type(error).__name__}: {error}") from error


def _posted(send: Callable[[], SlackResponse]) -> str:
    """The ts of the message `send` posts; a failure says whether Slack certainly did not."""
    try:
        response = _call(send)
    except SlackFailure as failure:
        failure.not_posted = not isinstance(failure, OutcomeUnknown)
        raise
    ts = response.get("ts")
    if not isinstance(ts, str):
        raise OutcomeUnknown("no ts in Slack's answer")
    return ts


def blocker_of(*, client: WebClient, channel: str) -> Blocker | None:
    """What keeps the bot from posting in `channel`, as `conversations.info` tells it (None:
    nothing); a SlackFailure when Slack cannot tell (a token or scope error included)."""
    try:
        response = _call(lambda: client.conversations_info(channel=channel))
    except ChannelBlocked as blocked:
        if blocked.blocker is Blocker.APP_SETUP:
            raise  # about the app and this call (a scope it lacks, say), not the channel
        return blocked.blocker
    info = response.get("channel")
    if not isinstance(info, dict):
        raise TransientFailure("no channel in Slack's answer")
    if info.get("is_archived") is True:
        return Blocker.ARCHIVED
    if info.get("is_member") is False:
        return Blocker.NOT_IN_CHANNEL
    return None


def _metadata(thread_key: str, outbox_id: int, step: str) -> dict[str, Any]:
    payload = {"thread": thread_key, "outbox_id": outbox_id, "step": step}
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": payload}


def _is_post_of(message: Any, outbox_id: int, step: str) -> bool:
    """Whether a message read back is the post of this outbox row's step (by its metadata)."""
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return (
        isinstance(payload, dict)
        and payload.get("outbox_id") == outbox_id
        and payload.get("step") == step
    )


def _oldest(since: datetime) -> str:
    """A Slack ts bound a little before `since`, our clock and Slack's may differ."""
    return f"{(since - CLOCK_MARGIN).timestamp():.6f}"


def _find(read: Callable[[str | None], SlackResponse], outbox_id: int, step: str) -> str | None:
    """The ts of the message `read` pages through that is this row's `step`, if any."""
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        response = _call(functools.partial(read, cursor))
        messages = response.get("messages")
        for message in messages if isinstance(messages, list) else []:
            if _is_post_of(message, outbox_id, step) and isinstance(message.get("ts"), str):
                return str(message["ts"])
        metadata = response.get("response_metadata")
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        if not response.get("has_more") or not cursor:
            return None
    raise TransientFailure(f"lookup: over {LOOKUP_PAGES * LOOKUP_PAGE} messages to read")


class Notifier:
    """Posts and updates the channel's notice threads, one Web API call each."""

    def __init__(self, *, client: WebClient) -> None:
        self._client = without_retries(client)
        self._bot_name: str | None = None

    def why_blocked(self, *, channel: str, failure: ChannelBlocked) -> Blocker | None:
        """Why the channel takes no post after `failure`: as `conversations.info` tells it, or
        as `failure` says when Slack cannot tell; None when Slack says the bot may post there
        (then the failure was not the channel's)."""
        if failure.blocker is Blocker.APP_SETUP:
            return failure.blocker
        try:
            return blocker_of(client=self._client, channel=channel)
        except SlackFailure:
            return failure.blocker

    def bot_name(self) -> str:
        """The bot's user name, as `/invite @…` takes it (`auth.test`; once per notifier)."""
        if self._bot_name is None:
            try:
                name = _call(self._client.auth_test).get("user")
            except SlackFailure:
                name = None
            self._bot_name = name if isinstance(name, str) and name else DEFAULT_BOT_NAME
        return self._bot_name

    def tell(self, *, user: str, message: Message) -> None:
        """Send `message` to `user` as a direct message from the app (`conversations.open`,
        then `chat.postMessage` in that conversation)."""
        opened = _call(lambda: self._client.conversations_open(users=user))
        conversation = opened.get("channel")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
            raise TransientFailure("no conversation in Slack's answer")
        _call(
            lambda: self._client.chat_postMessage(
                channel=conversation["id"],
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
        )

    def post_parent(self, *, channel: str, notice: Notice, outbox_id: int) -> str:
        """Post the thread's parent message; its ts."""
        message = renderers.parent(notice)
        metadata = _metadata(notice.thread_key, outbox_id, PARENT_STEP)
        return _posted(lambda: self._post(channel, message, metadata=metadata))

    def find_parent(self, *, channel: str, outbox_id: int, since: datetime) -> str | None:
        """The ts of the parent message posted for this outbox row since `since`, if any."""
        return _find(
            lambda cursor: self._client.conversations_history(
                channel=channel,
                oldest=_oldest(since),
                inclusive=True,
                limit=LOOKUP_PAGE,
                include_all_metadata=True,
                cursor=cursor,
            ),
            outbox_id,
            PARENT_STEP,
        )

    def find_reply(
        self, *, channel: str, thread_ts: str, outbox_id: int, since: datetime
    ) -> str | None:
        """The ts of the reply posted for this outbox row in the thread since `since`, if any."""
        return _find(
            lambda cursor: self._client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                oldest=_oldest(since),
                inclusive=True,
                limit=LOOKUP_PAGE,
                include_all_metadata=True,
                cursor=cursor,
            ),
            outbox_id,
            REPLY_STEP,
        )

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
        metadata = _metadata(notice.thread_key, outbox_id, REPLY_STEP)
        return _posted(
            lambda: self._post(
                channel, message, metadata=metadata, thread_ts=thread_ts, broadcast=notice.broadcast
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
