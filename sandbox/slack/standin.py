"""The Slack Web API stand-in: answers calls as Slack does, from the workspace each call's token
belongs to; runs the app's OAuth install; records every call; injects faults (in every workspace).

Inspection and acting methods take ``team=`` (the default workspace, ``TEAM_ID``, if omitted);
``calls`` and ``wait_for`` see every workspace unless given one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from sandbox.slack import views
from sandbox.slack.calls import SECRET_ARGS, Call, select
from sandbox.slack.faults import FaultControls, Reply
from sandbox.slack.methods import METHODS
from sandbox.slack.oauth import (
    ACCESS_METHOD,
    AUTHORIZE_METHOD,
    Authorization,
    OAuthApp,
    access_response,
)
from sandbox.slack.socket_link import SocketLinks
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.teams import Teams
from sandbox.slack.workspace import (
    DEFAULT_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    JsonDict,
    TeamIdentity,
    new_trigger_id,
)

RESPONSE_URL_METHOD = "response_url"

__all__ = ["RESPONSE_URL_METHOD", "Call", "SlackStandIn"]


class SlackStandIn(FaultControls):
    """Local Slack workspaces behind the Web API; thread-safe, every call recorded."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        trigger_ttl: float | None = TRIGGER_TTL_SECONDS,
        auto_create: bool = True,
        clock: Callable[[], float] = time.time,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        redirect_uri: str | None = None,
    ) -> None:
        super().__init__()
        self.token = token  # the default workspace's bot token
        self._clock = clock
        self._trigger_ttl = trigger_ttl
        self._auto_create = auto_create
        self._teams = self._new_teams()
        self.oauth = OAuthApp(
            client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri
        )
        self._calls: list[Call] = []
        self.links = SocketLinks()  # Socket Mode connections, when an app opens one

    def _new_teams(self) -> Teams:
        def new_workspace(team: TeamIdentity) -> Workspace:
            return Workspace(
                self._clock, auto_create=self._auto_create, trigger_ttl=self._trigger_ttl, team=team
            )

        return Teams(new_workspace, default_token=self.token)

    def _ws(self, team: str) -> Workspace:
        return self._teams.get(team)

    # --- answering ------------------------------------------------------------------------

    def handle(self, method: str, args: JsonDict, *, token: str | None) -> Reply:
        """Answer one Web API call as Slack would, and record it."""
        delay = self._latency.get(method, 0.0)
        if delay:
            time.sleep(delay)  # outside the lock: other calls go on meanwhile
        with self._cond:
            reply, team = self._answer(method, args, token)
            self._record(method, args, reply, token=token, team=team)
        return reply

    def _answer(self, method: str, args: JsonDict, token: str | None) -> tuple[Reply, str | None]:
        handler = METHODS.get(method)
        if handler is None and method != ACCESS_METHOD:
            return Reply(200, {"ok": False, "error": "unknown_method", "req_method": method}), None
        team = self._teams.team_of(token)
        try:  # oauth.v2.access carries the app's credentials, not a token
            ws = None if method == ACCESS_METHOD else self._teams.open(token)
        except ApiError as exc:
            return Reply(200, exc.body()), team
        channel = args.get("channel")
        where = f"{team}/{channel}" if isinstance(channel, str) else None  # limits per workspace
        fault = self._faults.check(method, channel=where)
        if fault is not None:
            return fault, team
        try:
            if ws is None:
                body, team = self._access(args)
            else:
                body = METHODS[method](ws, args)
            reply = Reply(200, body)
        except ApiError as exc:
            reply = Reply(200, exc.body())
        return self._faults.after(method, reply), team

    def _access(self, args: JsonDict) -> tuple[JsonDict, str]:
        """oauth.v2.access: a code for a fresh bot token of the workspace it was issued in."""
        grant = self.oauth.redeem(args, now=self._clock())
        token = self._teams.issue(grant.team_id)
        return access_response(self._ws(grant.team_id).team, grant, token), grant.team_id

    def authorize(self, query: str) -> Authorization:
        """A person opens the app's ``/oauth/v2/authorize`` URL and approves (or cancels) the
        install; where their browser is sent (see :mod:`sandbox.slack.oauth`). Recorded as
        an ``oauth.v2.authorize`` call."""
        args: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
        with self._cond:
            workspace = self._teams.find(str(args.get("team") or TEAM_ID))
            answer = self.oauth.authorize(args, workspace=workspace, now=self._clock())
            reply = Reply(answer.status, answer.body())
            self._record(AUTHORIZE_METHOD, args, reply, token=None, team=answer.team_id)
        return answer

    def _record(
        self, method: str, args: JsonDict, reply: Reply, *, token: str | None, team: str | None
    ) -> None:
        kept = {k: copy.deepcopy(v) for k, v in args.items() if k not in SECRET_ARGS}
        body = copy.deepcopy(reply.body)
        self._calls.append(Call(method, kept, self._clock(), reply.status, body, token, team))
        self._cond.notify_all()

    def record(self, method: str, args: JsonDict, reply: Reply) -> None:
        """Record a call answered before it reached a method (a body that could not be read)."""
        with self._cond:
            self._record(method, args, reply, token=None, team=None)

    def record_response_url(self, path: str, body: JsonDict) -> None:
        """Record a post to a ``response_url`` as a ``response_url`` call with ``args["url"]``."""
        delay = self._latency.get(RESPONSE_URL_METHOD, 0.0)
        if delay:
            time.sleep(delay)  # `slow_down("response_url", ...)` slows these too
        parts = path.split("/")  # /hooks/commands/<team>/<n>/<secret>
        with self._cond:
            team = parts[3] if len(parts) > 3 and self._teams.find(parts[3]) else None
            args = {"url": path, **body}
            self._record(RESPONSE_URL_METHOD, args, Reply(200, {"ok": True}), token=None, team=team)

    # --- workspaces and installs ----------------------------------------------------------

    def add_workspace(
        self, team_id: str, *, name: str | None = None, domain: str | None = None
    ) -> TeamIdentity:
        """Add an empty workspace, with no token yet (install the app to get one); who it is."""
        with self._cond:
            return self._teams.add(TeamIdentity.of(team_id, name=name, domain=domain)).team

    def team(self, team: str = TEAM_ID) -> TeamIdentity:
        """Who a workspace is, and who the app's bot is in it."""
        with self._cond:
            return self._ws(team).team

    def teams(self) -> list[TeamIdentity]:
        """Every workspace, the default one first."""
        with self._cond:
            return self._teams.identities()

    def install(self, team: str = TEAM_ID) -> str:
        """A fresh bot token for a workspace, as a finished OAuth install would issue it."""
        with self._cond:
            return self._teams.issue(team)

    def tokens(self, team: str = TEAM_ID) -> list[str]:
        """The bot tokens of a workspace that still work, oldest first."""
        with self._cond:
            return self._teams.tokens(team)

    def revoke_tokens(self, team: str) -> list[str]:
        """Revoke a workspace's bot tokens (calls with them get ``token_revoked``); the tokens.
        Slack would then send the app a ``tokens_revoked`` event: a test sends it, signed."""
        with self._cond:
            return self._teams.revoke(team)

    def uninstall(self, team: str) -> list[str]:
        """Uninstall the app from a workspace: its tokens are revoked and its bot leaves every
        channel; the tokens revoked. Slack would then send ``app_uninstalled`` (and
        ``tokens_revoked``) events: a test sends them, signed."""
        with self._cond:
            return self._teams.uninstall(team)

    # --- inspecting -----------------------------------------------------------------------

    def calls(self, method: str | None = None, *, team: str | None = None) -> list[Call]:
        """Every call so far (of one method, for one workspace, if given), oldest first."""
        with self._cond:
            return select(self._calls, method, team=team)

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
        team: str | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` (for ``team``, matching ``where``) are
        recorded; them."""

        def matching() -> list[Call]:
            return select(self._calls, method, team=team, where=where)

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                seen = [c.method for c in self._calls]
                raise TimeoutError(
                    f"{count} {method} call(s) not seen in {timeout}s; calls: {seen}"
                )
            return matching()

    def messages(self, channel: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """What the channel shows, oldest first: top-level messages and broadcast replies."""
        with self._cond:
            ws = self._ws(team)
            return ws.snapshot(ws.history.get(channel, []))

    def replies(self, channel: str, thread_ts: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The replies in a thread, oldest first (the parent message not included)."""
        with self._cond:
            ws = self._ws(team)
            return ws.snapshot(ws.threads.get((channel, thread_ts), []))

    def message(self, channel: str, ts: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """One message or reply as it is now, by its ts."""
        with self._cond:
            ws = self._ws(team)
            return ws.snapshot(ws.by_ts.get((channel, ts)))

    def ephemerals(self, channel: str | None = None, *, team: str = TEAM_ID) -> list[JsonDict]:
        """Ephemeral messages (``channel``, ``user``, ``message_ts``, ``message``), oldest first."""
        with self._cond:
            ws = self._ws(team)
            return ws.snapshot([e for e in ws.ephemerals if channel in (None, e["channel"])])

    def views(self, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The modal views open now, each stack from its root up, stacks oldest first."""
        with self._cond:
            ws = self._ws(team)
            ids = [view_id for stack in ws.stacks.values() for view_id in stack]
            return ws.snapshot([ws.views[view_id] for view_id in ids])

    def view(self, view_id: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """An open modal or an App Home page as it is now, by id."""
        with self._cond:
            ws = self._ws(team)
            return ws.snapshot(ws.views.get(view_id))

    def home_view(self, user_id: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """The App Home page last published for a user."""
        with self._cond:
            ws = self._ws(team)
            view_id = ws.homes.get(user_id)
            return None if view_id is None else ws.snapshot(ws.views[view_id])

    def direct_messages(self, user_id: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """What the bot sent a user in their direct message conversation, oldest first."""
        with self._cond:
            ws = self._ws(team)
            channel_id = ws.ims.get(user_id)
            return [] if channel_id is None else ws.snapshot(ws.history[channel_id])

    # --- acting as the user, and as Slack ------------------------------------------------------

    def new_trigger_id(self, *, team: str = TEAM_ID) -> str:
        """A trigger id as minted for a user's interaction in a workspace now."""
        with self._cond:
            self._ws(team)
        return new_trigger_id(now=self._clock())

    def close_view(self, view_id: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The user closes a modal: it and the views above it go; the closed views, top first."""
        with self._cond:
            return self._ws(team).close(view_id)

    def apply_view_response(
        self, view_id: str, response: JsonDict | None, *, team: str = TEAM_ID
    ) -> JsonDict | None:
        """Do what Slack does with the bot's answer to a view_submission; the view shown after."""
        action = (response or {}).get("response_action")
        with self._cond:
            ws = self._ws(team)
            stack = ws.open_stack_of(view_id)
            if stack is None:
                raise ApiError("not_found")
            if action == "errors":
                pass
            elif action == "update":
                new = views.view_arg(response or {}, kinds=("modal",))
                views.replace(ws, view_id, new)
            elif action == "push":
                views.push_onto(ws, stack, views.view_arg(response or {}, kinds=("modal",)))
            elif action == "clear":
                ws.close(stack[0])
            elif action is None:
                ws.close(view_id)
            else:
                raise ApiError("invalid_arguments", f"[ERROR] unknown response_action: {action}")
            return ws.snapshot(ws.views[stack[-1]]) if stack else None

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
        bot_member: bool = True,
        team: str = TEAM_ID,
    ) -> None:
        """Create (or replace) a channel; ``members`` None lets every user in; the bot is in
        it unless ``bot_member`` is False."""
        with self._cond:
            self._ws(team).add_channel(
                channel_id,
                name=name,
                is_private=is_private,
                is_archived=is_archived,
                members=members,
                bot_member=bot_member,
            )

    def invite_bot(self, channel_id: str, *, member: bool = True, team: str = TEAM_ID) -> None:
        """Someone invites the bot to the channel (or, ``member`` False, removes it). Slack would
        then send the bot a ``member_joined_channel`` event: a test sends it, signed."""
        with self._cond:
            self._ws(team).channel(channel_id).bot_member = member

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        team: str = TEAM_ID,
    ) -> None:
        """Create (or replace) a user."""
        with self._cond:
            self._ws(team).add_user(
                user_id,
                name=name,
                real_name=real_name,
                is_admin=is_admin,
                is_bot=is_bot,
                deleted=deleted,
            )

    def reset(self) -> None:
        """Forget every call, message, view, channel, user, planned fault, added workspace,
        issued token and OAuth code: only the default workspace and its token are left."""
        with self._cond:
            self._teams = self._new_teams()
            self.oauth.clear()
            self._faults.clear()
            self._latency.clear()
            self._calls.clear()
