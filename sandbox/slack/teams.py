"""The workspaces one stand-in serves and the bot tokens that open them.

Every token belongs to exactly one workspace, and a Web API call is answered from that
workspace's state only, so two workspaces may use the same channel ids without meeting. A
token nobody issued is refused with ``invalid_auth``; a revoked one with ``token_revoked``, as
Slack answers for an app that was removed. A reinstall issues a new token and, as in Slack, the
tokens of earlier installs keep working until they are revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import TEAM_ID, TeamIdentity, is_team_id, new_bot_token


@dataclass
class Token:
    """A bot token: the workspace it opens, and whether it was revoked."""

    team_id: str
    revoked: bool = False


class Teams:
    """The stand-in's workspaces by team id, and its bot tokens; the caller serializes access."""

    def __init__(
        self, new_workspace: Callable[[TeamIdentity], Workspace], *, default_token: str
    ) -> None:
        self._new_workspace = new_workspace
        self._workspaces: dict[str, Workspace] = {}
        self._tokens: dict[str, Token] = {}
        self.add(TeamIdentity())
        self._tokens[default_token] = Token(TEAM_ID)

    def add(self, identity: TeamIdentity) -> Workspace:
        """A new, empty workspace; ValueError if the id is malformed or already taken."""
        if not is_team_id(identity.id):
            raise ValueError(f"{identity.id!r} is not a team id (T, then A-Z and 0-9)")
        if identity.id in self._workspaces:
            raise ValueError(f"the workspace {identity.id} exists already")
        workspace = self._new_workspace(identity)
        self._workspaces[identity.id] = workspace
        return workspace

    def get(self, team_id: str = TEAM_ID) -> Workspace:
        """The workspace with this team id; ValueError if there is none."""
        workspace = self.find(team_id)
        if workspace is None:
            raise ValueError(f"the stand-in has no workspace {team_id!r}")
        return workspace

    def find(self, team_id: str) -> Workspace | None:
        """The workspace with this team id, if there is one."""
        return self._workspaces.get(team_id)

    def identities(self) -> list[TeamIdentity]:
        """Every workspace's identity, the default one first."""
        return [workspace.team for workspace in self._workspaces.values()]

    def issue(self, team_id: str) -> str:
        """A fresh bot token for a workspace, as an install issues it."""
        self.get(team_id)
        token = new_bot_token(team_id)
        self._tokens[token] = Token(team_id)
        return token

    def revoke(self, team_id: str) -> list[str]:
        """Revoke every bot token of a workspace; the tokens revoked now."""
        self.get(team_id)
        revoked = []
        for token, entry in self._tokens.items():
            if entry.team_id == team_id and not entry.revoked:
                entry.revoked = True
                revoked.append(token)
        return revoked

    def uninstall(self, team_id: str) -> list[str]:
        """Remove the app from a workspace: its tokens are revoked and its bot user leaves
        every channel (a reinstalled bot is in none until invited again); the tokens revoked."""
        revoked = self.revoke(team_id)
        for channel in self.get(team_id).channels.values():
            if not channel.id.startswith("D"):
                channel.bot_member = False
        return revoked

    def tokens(self, team_id: str) -> list[str]:
        """The bot tokens of a workspace that still work, oldest first."""
        self.get(team_id)
        return [t for t, e in self._tokens.items() if e.team_id == team_id and not e.revoked]

    def team_of(self, token: str | None) -> str | None:
        """The workspace a token was issued for (revoked or not), if any."""
        entry = self._tokens.get(token or "")
        return None if entry is None else entry.team_id

    def open(self, token: str | None) -> Workspace:
        """The workspace a call with this token is answered from, or Slack's refusal."""
        if not token:
            raise ApiError("not_authed")
        entry = self._tokens.get(token)
        if entry is None:
            raise ApiError("invalid_auth")
        if entry.revoked:
            raise ApiError("token_revoked")
        return self._workspaces[entry.team_id]
