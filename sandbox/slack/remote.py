"""Inspecting and steering a stand-in that runs in another process, over ``/_standin/``: the
same methods, with the same ``team=`` keywords, as :class:`SlackStandIn`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from sandbox.slack.calls import Call
from sandbox.slack.workspace import TEAM_ID, JsonDict, TeamIdentity


class StandInError(RuntimeError):
    """The stand-in refused a control request."""


class StandInRemote:
    """The stand-in's inspection and fault API, for a stand-in served by another process."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        root = url if url.endswith("/") else url + "/"
        self.root_url = root.removesuffix("api/")
        self._timeout = timeout

    def _request(self, verb: str, path: str, body: JsonDict | None = None, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        url = f"{self.root_url}_standin/{path}" + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=verb)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}")
            if exc.code == 404 and detail.get("error") == "not_found":
                return None
            if exc.code == 408:
                raise TimeoutError(detail.get("error")) from exc
            raise StandInError(f"{verb} {path}: {exc.code} {detail}") from exc

    def calls(self, method: str | None = None, *, team: str | None = None) -> list[Call]:
        """Every call so far (of one method, for one workspace, if given), oldest first."""
        answer = self._request("GET", "calls", method=method, team=team)
        return [Call.from_json(c) for c in answer["calls"]]

    def wait_for(
        self, method: str, *, count: int = 1, timeout: float = 5.0, team: str | None = None
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` (for ``team``) are recorded; them."""
        answer = self._request(
            "GET", "wait", method=method, count=count, timeout=timeout, team=team
        )
        return [Call.from_json(c) for c in answer["calls"]]

    def messages(self, channel: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """What the channel shows, oldest first: top-level messages and broadcast replies."""
        return list(self._request("GET", "messages", channel=channel, team=team)["messages"])

    def replies(self, channel: str, thread_ts: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The replies in a thread, oldest first (the parent message not included)."""
        answer = self._request("GET", "replies", channel=channel, thread_ts=thread_ts, team=team)
        return list(answer["replies"])

    def message(self, channel: str, ts: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """One message or reply as it is now, by its ts."""
        found = self._request("GET", "message", channel=channel, ts=ts, team=team)
        return None if found is None else dict(found["message"])

    def ephemerals(self, channel: str | None = None, *, team: str = TEAM_ID) -> list[JsonDict]:
        """Ephemeral messages (``channel``, ``user``, ``message_ts``, ``message``), oldest first."""
        return list(self._request("GET", "ephemerals", channel=channel, team=team)["ephemerals"])

    def views(self, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The modal views open now, each stack from its root up."""
        return list(self._request("GET", "views", team=team)["views"])

    def view(self, view_id: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """An open modal or an App Home page as it is now, by id."""
        found = self._request("GET", f"views/{view_id}", team=team)
        return None if found is None else dict(found["view"])

    def home_view(self, user_id: str, *, team: str = TEAM_ID) -> JsonDict | None:
        """The App Home page last published for a user."""
        found = self._request("GET", "home", user=user_id, team=team)
        return None if found is None else dict(found["view"])

    def direct_messages(self, user_id: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """What the bot sent a user in their direct message conversation, oldest first."""
        return list(self._request("GET", "dms", user=user_id, team=team)["messages"])

    def new_trigger_id(self, *, team: str = TEAM_ID) -> str:
        """A trigger id as minted for a user's interaction in a workspace now."""
        return str(self._request("POST", "trigger_id", {}, team=team)["trigger_id"])

    def close_view(self, view_id: str, *, team: str = TEAM_ID) -> list[JsonDict]:
        """The user closes a modal: it and the views above it go; the closed views, top first."""
        return list(self._request("POST", f"views/{view_id}/close", {}, team=team)["closed"])

    def apply_view_response(
        self, view_id: str, response: JsonDict | None, *, team: str = TEAM_ID
    ) -> JsonDict | None:
        """Do what Slack does with the bot's answer to a view_submission; the view shown after."""
        path = f"views/{view_id}/response"
        shown = self._request("POST", path, response or {}, team=team)["view"]
        return None if shown is None else dict(shown)

    def add_workspace(
        self, team_id: str, *, name: str | None = None, domain: str | None = None
    ) -> TeamIdentity:
        """Add an empty workspace, with no token yet (install the app to get one); who it is."""
        answer = self._request(
            "POST", "workspaces", {"id": team_id, "name": name, "domain": domain}
        )
        return TeamIdentity.from_json(answer["team"])

    def team(self, team: str = TEAM_ID) -> TeamIdentity:
        """Who a workspace is, and who the app's bot is in it."""
        return TeamIdentity.from_json(self._request("GET", "team", team=team)["team"])

    def teams(self) -> list[TeamIdentity]:
        """Every workspace, the default one first."""
        return [TeamIdentity.from_json(t) for t in self._request("GET", "workspaces")["teams"]]

    def install(self, team: str = TEAM_ID) -> str:
        """A fresh bot token for a workspace, as a finished OAuth install would issue it."""
        return str(self._request("POST", "install", {"team": team})["token"])

    def tokens(self, team: str = TEAM_ID) -> list[str]:
        """The bot tokens of a workspace that still work, oldest first."""
        return list(self._request("GET", "tokens", team=team)["tokens"])

    def revoke_tokens(self, team: str) -> list[str]:
        """Revoke a workspace's bot tokens (calls with them get ``token_revoked``); the tokens."""
        return list(self._request("POST", "revoke_tokens", {"team": team})["revoked"])

    def uninstall(self, team: str) -> list[str]:
        """Uninstall the app from a workspace: tokens revoked, bot out of every channel."""
        return list(self._request("POST", "uninstall", {"team": team})["revoked"])

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
        body: JsonDict = {"id": channel_id, "name": name, "is_private": is_private}
        body |= {"is_archived": is_archived, "members": None if members is None else list(members)}
        self._request("POST", "channels", body | {"bot_member": bot_member, "team": team})

    def invite_bot(self, channel_id: str, *, member: bool = True, team: str = TEAM_ID) -> None:
        """Someone invites the bot to the channel (or, ``member`` False, removes it)."""
        body = {"channel": channel_id, "member": member, "team": team}
        self._request("POST", "invite_bot", body)

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
        body: JsonDict = {"id": user_id, "name": name, "real_name": real_name, "team": team}
        body |= {"is_admin": is_admin, "is_bot": is_bot, "deleted": deleted}
        self._request("POST", "users", body)

    def fail_next(self, method: str, *, error: str, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        body = {"method": method, "error": error, "times": times, "status": status}
        self._request("POST", "faults/error", body)

    def rate_limit_next(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        body = {"method": method, "times": times, "retry_after": retry_after}
        self._request("POST", "faults/ratelimit", body)

    def rate_limit_for(
        self, method: str, *, seconds: float, retry_after: int | None = None
    ) -> None:
        """Answer every call of ``method`` with 429 for ``seconds`` from now."""
        body = {"method": method, "seconds": seconds, "retry_after": retry_after}
        self._request("POST", "faults/window", body)

    def answer_late(self, method: str, *, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, but answer each after ``seconds``."""
        self._request("POST", "faults/late", {"method": method, "seconds": seconds, "times": times})

    def drop_answer(self, method: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, then reset the connection instead."""
        self._request("POST", "faults/drop", {"method": method, "times": times})

    def limit_rate(
        self, *, method: str = "chat.postMessage", per_second: float = 1.0, burst: int = 1
    ) -> None:
        """Enforce Slack's rate per channel on ``method`` (429 with ``Retry-After`` beyond it)."""
        body = {"method": method, "per_second": per_second, "burst": burst}
        self._request("POST", "rate_limit", body)

    def unlimit_rate(self, *, method: str = "chat.postMessage") -> None:
        """Stop enforcing a rate on ``method``."""
        self._request("POST", "rate_limit", {"method": method, "enabled": False})

    def reset(self) -> None:
        """Forget every call, message, view, channel, user, planned fault, added workspace,
        issued token and OAuth code: only the default workspace and its token are left."""
        self._request("POST", "reset", {})
