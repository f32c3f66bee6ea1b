"""Installs by OAuth: Bolt's install flow (`GET /slack/install`, `GET /slack/oauth_redirect`)
with slack_sdk's SQLAlchemy installation and state stores in the bot's own database.

A workspace's bot token lives in `slack_bots` / `slack_installations` (Alembic made them, in
slack_sdk's own shapes) from its install until `app_uninstalled` or `tokens_revoked`. Saving an
install lets the posts held while the workspace had none go out (`on_installed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import yaml
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, desc, select
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.slack.authorize import WorkspaceAuthorize

log = logging.getLogger("bot.slack.oauth")

STATE_SECONDS = 600  # an install started must come back within ten minutes
REDIRECT_PATH = "/slack/oauth_redirect"  # Bolt's; SLACK_REDIRECT_URI's path when it is set
INSTALL_PATH = "/slack/install"  # Bolt's
Installed = Callable[[str], None]


@cache
def bot_scopes() -> tuple[str, ...]:
    """The bot scopes an install asks for: manifest.yml's, the one list of them."""
    text = resources.files("bot").joinpath("manifest.yml").read_text(encoding="utf-8")
    manifest: dict[str, Any] = yaml.safe_load(text)
    return tuple(manifest["oauth_config"]["scopes"]["bot"])


class StateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy state store, which also drops the states that expired unused:
    anyone can open the install page, and each visit issues one."""

    def issue(self, *args: Any, **kwargs: Any) -> str:
        now = normalize_datetime_for_db(datetime.now(UTC))
        with self.engine.begin() as connection:
            table = self.oauth_states
            connection.execute(table.delete().where(table.c.expire_at < now))
        return super().issue(*args, **kwargs)


class InstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store, telling `installed` the team of every install saved."""

    def __init__(self, *, client_id: str, engine: Engine, installed: Installed) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self._installed = installed

    def save(self, installation: Installation) -> None:
        super().save(installation)
        if installation.team_id:
            log.info("installed in workspace %s", installation.team_id)
            try:
                self._installed(installation.team_id)
            except SQLAlchemyError as error:  # the install stands; held posts go at a recheck
                log.warning(
                    "workspace %s: held posts not released now: %s", installation.team_id, error
                )

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's newest bot install, found by the workspace alone: the app installs
        per workspace (the manifest's org_deploy_enabled is false), and a workspace's requests
        name its Enterprise Grid org, if any, whether or not the install did."""
        if not team_id or is_enterprise_install:
            return None
        c = self.bots.c
        query = (
            select(self.bots)
            .where(c.client_id == self.client_id, c.team_id == team_id, c.bot_token.is_not(None))
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else self.build_bot_entity(row)

    def bot_token(self, team_id: str) -> str | None:
        """The workspace's bot token, or None if the app is not installed there."""
        bot = self.find_bot(enterprise_id=None, team_id=team_id)
        return None if bot is None else bot.bot_token

    def forget(self, team_id: str, *, made_before: datetime) -> int:
        """Delete the workspace's installs and tokens made before `made_before` (when it
        uninstalled the app, or revoked them), whichever org they were made under; how many
        bot installs went. An install made since is left alone: a late or retried event about
        an earlier install never ends a newer one."""
        before = made_before.astimezone(UTC).replace(tzinfo=None)  # stored as naive UTC
        deleted = 0
        with self.engine.begin() as connection:
            for table in (self.bots, self.installations):
                c = table.c
                result = connection.execute(
                    table.delete().where(
                        c.client_id == self.client_id,
                        c.team_id == team_id,
                        c.installed_at < before,
                    )
                )
                if table is self.bots:
                    deleted = result.rowcount
        log.info("workspace %s: %s installation(s) deleted", team_id, deleted)
        return deleted


def installation_store(
    settings: Settings, engine: Engine, installed: Installed
) -> InstallationStore:
    """The store of the workspaces' tokens, in the bot's database."""
    assert settings.SLACK_CLIENT_ID is not None
    return InstallationStore(client_id=settings.SLACK_CLIENT_ID, engine=engine, installed=installed)


def oauth_settings(settings: Settings, store: InstallationStore) -> OAuthSettings:
    """Bolt's install flow over `store` (its states in the same database), asking for the
    manifest's bot scopes."""
    engine = store.engine
    assert settings.SLACK_CLIENT_ID is not None and settings.SLACK_CLIENT_SECRET is not None
    client_secret = settings.SLACK_CLIENT_SECRET.get_secret_value()
    oauth = OAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=client_secret,
        scopes=list(bot_scopes()),
        user_scopes=[],
        redirect_uri=settings.SLACK_REDIRECT_URI,
        redirect_uri_path=_path_of(settings.SLACK_REDIRECT_URI) or REDIRECT_PATH,
        authorization_url=settings.SLACK_AUTHORIZE_URL,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=StateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log),
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    # Bolt asks Slack who a token is (auth.test) on every request unless told to remember it;
    # a token's answer never changes, and a deleted install is not found before the cache.
    oauth.authorize = WorkspaceAuthorize(store=store, install_url=install_url(settings))
    return oauth


def install_url(settings: Settings) -> str | None:
    """Where a workspace's admin installs the app (`GET /slack/install`), when the bot's public
    address is known (from SLACK_REDIRECT_URI)."""
    if not settings.SLACK_REDIRECT_URI:
        return None
    parts = urlsplit(settings.SLACK_REDIRECT_URI)
    return f"{parts.scheme}://{parts.netloc}{INSTALL_PATH}"


def _path_of(url: str | None) -> str | None:
    """The path of the redirect URL, where the bot answers Slack's redirect."""
    return urlsplit(url).path or None if url else None
