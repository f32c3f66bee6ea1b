"""One sandbox workspace's state: who it is, its channels (with the bot a member or not), users,
direct messages, messages, views and spent trigger ids."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sandbox.slack.workspace import (
    JsonDict,
    TeamIdentity,
    TsClock,
    is_ts,
    random_id,
    trigger_issued_at,
)

T = TypeVar("T")

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ApiError(Exception):
    """A Web API error answer: ``{"ok": false, "error": error}``, with optional messages."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error, *messages)
        self.error = error
        self.messages = list(messages)

    def body(self) -> JsonDict:
        """The JSON body Slack answers with."""
        body: JsonDict = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass
class Channel:
    """A conversation; ``members`` None means every user is in it; the bot is in it unless
    ``bot_member`` is False (then it can neither post nor read there, as in Slack)."""

    id: str
    name: str
    created: int
    is_private: bool = False
    is_archived: bool = False
    members: set[str] | None = None
    bot_member: bool = True

    def info(self, team: TeamIdentity) -> JsonDict:
        """The conversation object of conversations.info, in the workspace ``team``."""
        is_im = self.id.startswith("D")
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not is_im,
            "is_group": self.is_private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.bot_member,
            "creator": team.bot_user_id,
            "context_team_id": team.id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class User:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Europe/London"

    def info(self, team_id: str) -> JsonDict:
        """The user object of users.info, for a member of the workspace ``team_id``."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
                "team": team_id,
            },
        }


@dataclass
class Workspace:
    """Everything the Web API methods read and change; the stand-in serializes access."""

    clock: Callable[[], float]
    auto_create: bool = True
    trigger_ttl: float | None = None
    team: TeamIdentity = field(default_factory=TeamIdentity)
    ts: TsClock = field(init=False)
    channels: dict[str, Channel] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    history: dict[str, list[JsonDict]] = field(default_factory=dict)
    threads: dict[tuple[str, str], list[JsonDict]] = field(default_factory=dict)
    by_ts: dict[tuple[str, str], JsonDict] = field(default_factory=dict)
    ephemerals: list[JsonDict] = field(default_factory=list)
    views: dict[str, JsonDict] = field(default_factory=dict)
    stacks: dict[str, list[str]] = field(default_factory=dict)
    homes: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    spent_triggers: set[str] = field(default_factory=set)
    ims: dict[str, str] = field(default_factory=dict)  # user id -> the bot's DM with them

    def __post_init__(self) -> None:
        self.ts = TsClock(self.clock)

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
        bot_member: bool = True,
    ) -> Channel:
        """Create (or replace) a channel; ``members`` None lets every user in."""
        channel = Channel(
            channel_id,
            name or f"channel-{channel_id.lower()}",
            int(self.clock()),
            is_private=is_private,
            is_archived=is_archived,
            members=None if members is None else set(members),
            bot_member=bot_member,
        )
        self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> User:
        """Create (or replace) a user."""
        name = name or f"user-{user_id.lower()}"
        user = User(
            user_id,
            name,
            real_name or name.title(),
            is_admin=is_admin,
            is_bot=is_bot,
            deleted=deleted,
        )
        self.users[user_id] = user
        return user

    def channel(self, channel_id: Any) -> Channel:
        """The channel with this id (made on first use if auto-creating), else channel_not_found."""
        if not isinstance(channel_id, str) or not channel_id:
            raise ApiError("channel_not_found")
        if channel_id not in self.channels:
            if not (self.auto_create and _CHANNEL_ID.match(channel_id)):
                raise ApiError("channel_not_found")
            self.add_channel(channel_id)
        return self.channels[channel_id]

    def seen_by_bot(self, channel_id: Any) -> Channel:
        """The channel, unless it is private and the bot is not in it (channel_not_found)."""
        channel = self.channel(channel_id)
        if channel.is_private and not channel.bot_member:
            raise ApiError("channel_not_found")
        return channel

    def joined_by_bot(self, channel_id: Any) -> Channel:
        """The channel, if the bot is in it (to post, update or read), else Slack's error."""
        channel = self.seen_by_bot(channel_id)
        if not channel.bot_member:
            raise ApiError("not_in_channel")
        return channel

    def open_im(self, user_id: str) -> Channel:
        """The bot's direct message conversation with a user, opened on first use."""
        if user_id not in self.ims:
            channel_id = random_id("D")
            self.add_channel(channel_id, name=user_id, members=[user_id, self.team.bot_user_id])
            self.ims[user_id] = channel_id
        return self.channels[self.ims[user_id]]

    def user(self, user_id: Any) -> User:
        """The user with this id (made on first use when auto-creating), else user_not_found."""
        if not isinstance(user_id, str) or not user_id:
            raise ApiError("user_not_found")
        if user_id not in self.users:
            if not (self.auto_create and _USER_ID.match(user_id)):
                raise ApiError("user_not_found")
            self.add_user(user_id)
        return self.users[user_id]

    def spend_trigger(self, trigger_id: Any) -> None:
        """Exchange a trigger id: valid, unexpired, and never used before."""
        if not isinstance(trigger_id, str) or not trigger_id:
            raise ApiError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        issued = trigger_issued_at(trigger_id)
        if issued is None:
            raise ApiError("invalid_trigger_id")
        if trigger_id in self.spent_triggers:
            raise ApiError("exchanged_trigger_id")
        if self.trigger_ttl is not None and self.clock() - issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        self.spent_triggers.add(trigger_id)

    def post(
        self, channel: str, message: JsonDict, *, thread_ts: str | None, broadcast: bool
    ) -> None:
        """Store a channel message, or a thread reply (also shown in the channel if broadcast)."""
        if thread_ts is None:
            self.history.setdefault(channel, []).append(message)
        else:
            parent = self.by_ts[(channel, thread_ts)]
            replies = self.threads.setdefault((channel, thread_ts), [])
            replies.append(message)
            users = parent.setdefault("reply_users", [])
            if message["user"] not in users:
                users.append(message["user"])
            parent.update(
                thread_ts=thread_ts,
                reply_count=len(replies),
                reply_users_count=len(users),
                latest_reply=message["ts"],
            )
            if broadcast:
                self.history.setdefault(channel, []).append(message)
        self.by_ts[(channel, message["ts"])] = message

    def thread_parent(self, channel: str, thread_ts: Any) -> str:
        """The ts of the thread to reply in: the parent of ``thread_ts`` if it is a reply."""
        if not isinstance(thread_ts, str) or not is_ts(thread_ts):
            raise ApiError("invalid_thread_ts", f"[ERROR] {thread_ts!r} is not a valid thread_ts")
        found = self.by_ts.get((channel, thread_ts))
        if found is None:
            raise ApiError("thread_not_found")
        return str(found.get("thread_ts", thread_ts))

    def open_stack_of(self, view_id: str) -> list[str] | None:
        """The stack (root first) holding an open modal view, if any."""
        for stack in self.stacks.values():
            if view_id in stack:
                return stack
        return None

    def close(self, view_id: str) -> list[JsonDict]:
        """Close a modal view and every view pushed above it; the closed views, top first."""
        stack = self.open_stack_of(view_id)
        if stack is None:
            return []
        closing = stack[stack.index(view_id) :]
        del stack[stack.index(view_id) :]
        if not stack:
            self.stacks = {root: s for root, s in self.stacks.items() if s}
        closed = [self.views.pop(v) for v in reversed(closing)]
        for view in closed:
            if view.get("external_id"):
                self.external_ids.pop(view["external_id"], None)
        return closed

    def snapshot(self, value: T) -> T:
        """A deep copy, so callers never share the stand-in's state."""
        return copy.deepcopy(value)
