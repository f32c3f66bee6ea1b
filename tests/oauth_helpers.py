"""Installs by OAuth over HTTP, as a browser makes them, and the settings of a bot installed
that way against the Slack stand-in (tests of one or many workspaces share them)."""

from __future__ import annotations

import html
import re
import urllib.parse
from http.client import HTTPConnection
from typing import Protocol

from bot.config import Settings
from sandbox.slack.workspace import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from sandbox.slack_api import RunningStandIn
from tests.slack.conftest import SECRET


class Served(Protocol):
    """A bot served at `url`."""

    url: str


def oauth_settings(slack: RunningStandIn, url: str, database_url: str, **more: object) -> Settings:
    """Settings of a bot at `url` that workspaces install by OAuth from the stand-in."""
    return Settings(
        SLACK_CLIENT_ID=SANDBOX_CLIENT_ID,
        SLACK_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        SLACK_AUTHORIZE_URL=slack.authorize_url(),
        SLACK_REDIRECT_URI=f"{url}/slack/oauth_redirect",
        DATABASE_URL=database_url,
        **more,  # type: ignore[arg-type]
    )


def install(bot: Served, team: str) -> None:
    """An admin of `team` installs the app: the Add to Slack page, Slack's consent, the
    redirect back, as a browser makes them (the state cookie included)."""
    status, headers, page = get(bot.url + "/slack/install")
    assert status == 200, page
    link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', page)
    assert link is not None, page
    authorize = html.unescape(link[1])
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, headers, _ = get(f"{authorize}&team={team}")  # the admin picks the workspace
    assert status == 302, headers
    redirect = headers["location"]
    assert redirect.startswith(bot.url + "/slack/oauth_redirect?code=")
    status, _, page = get(redirect, cookie=cookie)
    assert status == 200, page


def get(url: str, *, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    parts = urllib.parse.urlsplit(url)
    connection = HTTPConnection(parts.netloc, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read().decode()
    finally:
        connection.close()
