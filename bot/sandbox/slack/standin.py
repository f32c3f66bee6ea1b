"""The Slack Web API stand-in: answers calls as Slack does, records them, injects faults."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from threading import Condition

from bot.sandbox.slack import views
from bot.sandbox.slack.faults import FaultPlan, Reply
from bot.sandbox.slack.methods import METHODS
from bot.sandbox.slack.socket_link import SocketLinks
from bot.sandbox.slack.state import ApiError, Workspace
from bot.sandbox.slack.workspace import (
    DEFAULT_TOKEN,
    TRIGGER_TTL_SECONDS,
    JsonDict,
    new_trigger_id,
)

RESPONSE_URL_METHOD = "response_url"


@dataclass(frozen=True)
class Call:
    """One recorded call: method, arguments as parsed (token left out), time, HTTP answer."""

    method: str
    args: JsonDict
    at: float
    status: int
    response: JsonDict

    @property
    def ok(self) -> bool:
        """Whether Slack answered ``ok: true``."""
        return self.status == 200 and self.response.get("ok") is True

    def to_json(self) -> JsonDict:
        """The call as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: JsonDict) -> Call:
        """A call from its JSON object."""
        return cls(data["method"], data["args"], data["at"], data["status"], data["response"])


class SlackStandIn:
    """A local Slack workspace behind the Web API; thread-safe, every call recorded."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        trigger_ttl: float | None = TRIGGER_TTL_SECONDS,
        auto_create: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self._clock = clock
        self._trigger_ttl = trigger_ttl
        self._auto_create = auto_create
        self._cond = Condition()
        self._ws = self._new_workspace()
        self._faults = FaultPlan()
        self._calls: list[Call] = []
        self._latency: dict[str, float] = {}
        self.links = SocketLinks()  # Socket Mode connections, when an app opens one

    def _new_workspace(self) -> Workspace:
        return Workspace(self._clock, auto_create=self._auto_create, trigger_ttl=self._trigger_ttl)

    # --- answering ------------------------------------------------------------------------

    def handle(self, method: str, args: JsonDict, *, token: str | None) -> Reply:
        """Answer one Web API call as Slack would, and record it."""
        delay = self._latency.get(method, 0.0)
        if delay:
            time.sleep(delay)  # outside the lock: other calls go on meanwhile
        with self._cond:
            reply = self._answer(method, args, token)
            self._record(method, args, reply)
        return reply

    def _answer(self, method: str, args: JsonDict, token: str | None) -> Reply:
        handler = METHODS.get(method)
        if handler is None:
            return Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
        if not token:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        channel = args.get("channel")
        fault = self._faults.check(method, channel=channel if isinstance(channel, str) else None)
        if fault is not None:
            return fault
        try:
            reply = Reply(200, handler(self._ws, args))
        except ApiError as exc:
            reply = Reply(200, exc.body())
        return self._faults.after(method, reply)

    def _record(self, method: str, args: JsonDict, reply: Reply) -> None:
        body = copy.deepcopy(reply.body)
        self._calls.append(Call(method, copy.deepcopy(args), self._clock(), reply.status, body))
        self._cond.notify_all()

    def record(self, method: str, args: JsonDict, reply: Reply) -> None:
        """Record a call answered before it reached a method (a body that could not be read)."""
        with self._cond:
            self._record(method, args, reply)

    def record_response_url(self, path: str, body: JsonDict) -> None:
        """Record a post to a ``response_url`` as a ``response_url`` call with ``args["url"]``."""
        delay = self._latency.get(RESPONSE_URL_METHOD, 0.0)
        if delay:
            time.sleep(delay)  # `slow_down("response_url", ...)` slows these too
        with self._cond:
            self._record(RESPONSE_URL_METHOD, {"url": path, **body}, Reply(200, {"ok": True}))

    # --- inspecting -----------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call so far (of one method if given), oldest first."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` (matching ``where``) are recorded; them."""

        def matching() -> list[Call]:
            found = [c for c in self._calls if c.method == method]
            return [c for c in found if where(c)] if where is not None else found

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                seen = [c.method for c in self._calls]
                raise TimeoutError(
                    f"{count} {method} call(s) not seen in {timeout}s; calls: {seen}"
                )
            return matching()

    def messages(self, channel: str) -> list[JsonDict]:
        """What the channel shows, oldest first: top-level messages and broadcast replies."""
        with self._cond:
            return self._ws.snapshot(self._ws.history.get(channel, []))

    def replies(self, channel: str, thread_ts: str) -> list[JsonDict]:
        """The replies in a thread, oldest first (the parent message not included)."""
        with self._cond:
            return self._ws.snapshot(self._ws.threads.get((channel, thread_ts), []))

    def message(self, channel: str, ts: str) -> JsonDict | None:
        """One message or reply as it is now, by its ts."""
        with self._cond:
            return self._ws.snapshot(self._ws.by_ts.get((channel, ts)))

    def ephemerals(self, channel: str | None = None) -> list[JsonDict]:
        """Ephemeral messages (``channel``, ``user``, ``message_ts``, ``message``), oldest first."""
        with self._cond:
            found = [e for e in self._ws.ephemerals if channel is None or e["channel"] == channel]
            return self._ws.snapshot(found)

    def views(self) -> list[JsonDict]:
        """The modal views open now, each stack from its root up, stacks oldest first."""
        with self._cond:
            ids = [view_id for stack in self._ws.stacks.values() for view_id in stack]
            return self._ws.snapshot([self._ws.views[view_id] for view_id in ids])

    def view(self, view_id: str) -> JsonDict | None:
        """An open modal or an App Home page as it is now, by id."""
        with self._cond:
            return self._ws.snapshot(self._ws.views.get(view_id))

    def home_view(self, user_id: str) -> JsonDict | None:
        """The App Home page last published for a user."""
        with self._cond:
            view_id = self._ws.homes.get(user_id)
            return None if view_id is None else self._ws.snapshot(self._ws.views[view_id])

    def direct_messages(self, user_id: str) -> list[JsonDict]:
        """What the bot sent a user in their direct message conversation, oldest first."""
        with self._cond:
            channel_id = self._ws.ims.get(user_id)
            return [] if channel_id is None else self._ws.snapshot(self._ws.history[channel_id])

    # --- acting as the user, and as Slack ------------------------------------------------------

    def new_trigger_id(self) -> str:
        """A trigger id as minted for a user's interaction now."""
        return new_trigger_id(now=self._clock())

    def close_view(self, view_id: str) -> list[JsonDict]:
        """The user closes a modal: it and the views above it go; the closed views, top first."""
        with self._cond:
            return self._ws.close(view_id)

    def apply_view_response(self, view_id: str, response: JsonDict | None) -> JsonDict | None:
        """Do what Slack does with the bot's answer to a view_submission; the view shown after."""
        action = (response or {}).get("response_action")
        with self._cond:
            stack = self._ws.open_stack_of(view_id)
            if stack is None:
                raise ApiError("not_found")
            if action == "errors":
                pass
            elif action == "update":
                new = views.view_arg(response or {}, kinds=("modal",))
                views.replace(self._ws, view_id, new)
            elif action == "push":
                views.push_onto(self._ws, stack, views.view_arg(response or {}, kinds=("modal",)))
            elif action == "clear":
                self._ws.close(stack[0])
            elif action is None:
                self._ws.close(view_id)
            else:
                raise ApiError("invalid_arguments", f"[ERROR] unknown response_action: {action}")
            return self._ws.snapshot(self._ws.views[stack[-1]]) if stack else None

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
        bot_member: bool = True,
    ) -> None:
        """Create (or replace) a channel; ``members`` None lets every user in; the bot is in
        it unless ``bot_member`` is False."""
        with self._cond:
            self._ws.add_channel(
                channel_id,
                name=name,
                is_private=is_private,
                is_archived=is_archived,
                members=members,
                bot_member=bot_member,
            )

    def invite_bot(self, channel_id: str, *, member: bool = True) -> None:
        """Someone invites the bot to the channel (or, ``member`` False, removes it). Slack would
        then send the bot a ``member_joined_channel`` event: a test sends it, signed."""
        with self._cond:
            self._ws.channel(channel_id).bot_member = member

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Create (or replace) a user."""
        with self._cond:
            self._ws.add_user(
                user_id,
                name=name,
                real_name=real_name,
                is_admin=is_admin,
                is_bot=is_bot,
                deleted=deleted,
            )

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, method: str, *, error: str, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._cond:
            self._faults.fail_next(method, error=error, times=times, status=status)

    def rate_limit_next(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        with self._cond:
            self._faults.rate_limit_next(method, times=times, retry_after=retry_after)

    def rate_limit_for(
        self, method: str, *, seconds: float, retry_after: int | None = None
    ) -> None:
        """Answer every call of ``method`` with 429 for ``seconds`` from now."""
        with self._cond:
            self._faults.rate_limit_for(method, seconds=seconds, retry_after=retry_after)

    def limit_rate(
        self, *, method: str = "chat.postMessage", per_second: float = 1.0, burst: int = 1
    ) -> None:
        """Enforce Slack's rate per channel on ``method`` (429 with ``Retry-After`` beyond it)."""
        with self._cond:
            self._faults.limit_rate(method=method, per_second=per_second, burst=burst)

    def unlimit_rate(self, *, method: str = "chat.postMessage") -> None:
        """Stop enforcing a rate on ``method``."""
        with self._cond:
            self._faults.unlimit_rate(method=method)

    def answer_late(self, method: str, *, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a post is made), but answer each
        only after ``seconds`` (longer than the client's timeout: it gives up first)."""
        with self._cond:
            self._faults.answer_late(method, seconds=seconds, times=times)

    def drop_answer(self, method: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a post is made), then reset the
        connection instead of answering."""
        with self._cond:
            self._faults.drop_answer(method, times=times)

    def slow_down(self, method: str, *, seconds: float) -> None:
        """Answer every call of ``method`` only after ``seconds`` (0 to stop), carrying it out
        only then."""
        with self._cond:
            self._latency[method] = seconds

    def reset(self) -> None:
        """Forget every call, message, view, channel, user and planned fault."""
        with self._cond:
            self._ws = self._new_workspace()
            self._faults.clear()
            self._latency.clear()
            self._calls.clear()
