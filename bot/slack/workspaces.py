"""Who the worker calls Slack as, for each workspace: the one bot token (SLACK_BOT_TOKEN), or
the token of the workspace's OAuth install, looked up for every call so that an uninstall
stops the next post."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient

from bot.slack.client import MeteredWebClient

MAX_CLIENTS = 1000  # clients kept for reuse, one per token; beyond it the oldest is dropped


class Workspaces(Protocol):
    """The Web API client of each workspace."""

    def client(self, team_id: str | None) -> WebClient | None:
        """The client to call Slack with for `team_id` (None: the project's workspace is not
        known yet), or None when the app is not installed there."""


class OneWorkspace:
    """The single workspace of SLACK_BOT_TOKEN: one client for every project."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def client(self, team_id: str | None) -> WebClient:
        """The one client, whichever the workspace."""
        return self._client


class InstalledWorkspaces:
    """Workspaces that installed the app by OAuth: each call uses the token its install holds
    now (one indexed read), and a workspace without one gets no client."""

    def __init__(
        self,
        *,
        bot_token: Callable[[str], str | None],
        make_client: Callable[[str], WebClient],
    ) -> None:
        self._bot_token = bot_token
        self._make_client = make_client
        self._clients: dict[str, WebClient] = {}
        self._lock = threading.Lock()

    def client(self, team_id: str | None) -> WebClient | None:
        """The client of the workspace's installed token, or None if it has none."""
        token = self._bot_token(team_id) if team_id else None
        if token is None:
            return None
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                if len(self._clients) >= MAX_CLIENTS:
                    self._clients.pop(next(iter(self._clients)))
                client = self._clients[token] = self._make_client(token)
            return client


def metered_client(*, base_url: str, timeout: int) -> Callable[[str], WebClient]:
    """Makes the worker's client for a token."""

    def make(token: str) -> WebClient:
        return MeteredWebClient(token=token, base_url=base_url, timeout=timeout)

    return make


def workspaces_of(slack: WebClient | Workspaces) -> Workspaces:
    """`slack` as Workspaces: a lone client serves one workspace."""
    return OneWorkspace(slack) if isinstance(slack, WebClient) else slack
