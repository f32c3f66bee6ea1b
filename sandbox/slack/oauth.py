"""The stand-in app's OAuth v2 install, as Slack runs it.

``GET /oauth/v2/authorize`` stands for the browser page where a person approves the install:
the test appends who approves, ``team=T…`` (the default workspace if absent), ``user=U…`` (the
installer, ``INSTALLER_USER_ID`` if absent) and ``deny=1`` (the person cancels). The answer is a
302 to ``redirect_uri`` with a one-use ``code`` and the ``state`` (or ``error=access_denied``),
or a 400 page when Slack would not send the person back (unknown client id, no redirect URI).
``oauth.v2.access`` exchanges the code, within ten minutes, for a bot token of that workspace;
its errors are Slack's: ``invalid_client_id``, ``bad_client_secret``, ``invalid_code``,
``bad_redirect_uri``, ``invalid_grant_type``. Bot scopes only: a ``user_scope`` is refused.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import urlencode

from sandbox.slack.args import text_arg
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import (
    APP_ID,
    CODE_TTL_SECONDS,
    INSTALLER_USER_ID,
    JsonDict,
    TeamIdentity,
    new_oauth_code,
)

AUTHORIZE_PATH = "/oauth/v2/authorize"
AUTHORIZE_METHOD = "oauth.v2.authorize"  # how a visit to the authorize page is recorded
ACCESS_METHOD = "oauth.v2.access"


@dataclass(frozen=True)
class Grant:
    """What a code stands for: the app, workspace, installer and scopes a person approved."""

    client_id: str
    team_id: str
    user_id: str
    scope: str
    redirect_uri: str | None  # as the authorize request carried it
    expires_at: float


@dataclass(frozen=True)
class Authorization:
    """The authorize page's answer: a 302 to ``location``, or a 400 page naming ``error``."""

    status: int
    location: str | None = None
    error: str | None = None
    team_id: str | None = None

    def body(self) -> JsonDict:
        """The answer as recorded among the calls."""
        if self.location is None:
            return {"ok": False, "error": self.error}
        return {"ok": self.error is None, "location": self.location} | (
            {"error": self.error} if self.error else {}
        )


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """The client id and secret of an ``Authorization: Basic`` header, if it carries them."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[len("basic ") :].strip(), validate=True)
        client_id, sep, client_secret = decoded.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, client_secret) if sep else None


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


class OAuthApp:
    """The app's credentials and the codes it has handed out; the caller serializes access."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        code_ttl: float = CODE_TTL_SECONDS,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri  # the app's configured one: the default and the prefix
        self._code_ttl = code_ttl
        self._codes: dict[str, Grant] = {}

    def authorize(
        self, query: dict[str, str], *, workspace: Workspace | None, now: float
    ) -> Authorization:
        """A person in ``workspace`` answers the authorize page for this query."""
        team_id = None if workspace is None else workspace.team.id
        if query.get("client_id") != self.client_id:
            return Authorization(400, error="invalid_client_id")
        sent = query.get("redirect_uri") or None
        redirect_uri = sent or self.redirect_uri
        if redirect_uri is None or not redirect_uri.startswith(self.redirect_uri or ""):
            return Authorization(400, error="bad_redirect_uri")
        if workspace is None:
            return Authorization(400, error="team_not_found")
        if query.get("user_scope"):
            return Authorization(400, error="user_scopes_not_supported", team_id=team_id)
        scope = query.get("scope", "")
        if not scope:
            return Authorization(400, error="no_scopes", team_id=team_id)
        try:
            installer = workspace.user(query.get("user") or INSTALLER_USER_ID)
        except ApiError as exc:
            return Authorization(400, error=exc.error, team_id=team_id)
        if installer.deleted:
            return Authorization(400, error="user_disabled", team_id=team_id)
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("deny") in ("1", "true"):
            location = _with_query(redirect_uri, {"error": "access_denied"} | state)
            return Authorization(302, location, "access_denied", team_id)
        code = new_oauth_code(now=now)
        expires_at = now + self._code_ttl
        grant = Grant(self.client_id, workspace.team.id, installer.id, scope, sent, expires_at)
        self._codes[code] = grant
        return Authorization(302, _with_query(redirect_uri, {"code": code} | state), None, team_id)

    def redeem(self, args: JsonDict, *, now: float) -> Grant:
        """Spend a code given to ``oauth.v2.access``: what it grants, or Slack's error."""
        if text_arg(args, "client_id") != self.client_id:
            raise ApiError("invalid_client_id")
        if text_arg(args, "client_secret") != self.client_secret:
            raise ApiError("bad_client_secret")
        if text_arg(args, "grant_type") not in (None, "authorization_code"):
            raise ApiError("invalid_grant_type")
        code = text_arg(args, "code") or ""
        grant = self._codes.get(code)
        if grant is not None and grant.expires_at <= now:
            del self._codes[code]
            grant = None
        if grant is None or grant.client_id != self.client_id:
            raise ApiError("invalid_code")
        if grant.redirect_uri is not None and text_arg(args, "redirect_uri") != grant.redirect_uri:
            raise ApiError("bad_redirect_uri")
        del self._codes[code]
        return grant

    def clear(self) -> None:
        """Forget every code handed out."""
        self._codes.clear()


def access_response(team: TeamIdentity, grant: Grant, token: str) -> JsonDict:
    """oauth.v2.access's answer for a bot install, in Slack's documented shape."""
    return {
        "ok": True,
        "access_token": token,
        "token_type": "bot",
        "scope": grant.scope,
        "bot_user_id": team.bot_user_id,
        "app_id": APP_ID,
        "team": {"name": team.name, "id": team.id},
        "enterprise": None,
        "authed_user": {"id": grant.user_id},
        "is_enterprise_install": False,
    }
