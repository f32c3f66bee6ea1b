"""Which workspace a request acts for, with installs by OAuth: Bolt's `authorize` over the bot's
installation store, and the answers given before any listener runs.

- `WorkspaceAuthorize` finds the workspace's bot token and remembers each token's `auth.test`
  (a token's answer never changes, and a deleted install is not found before the cache). Unlike
  Bolt's `InstallationStoreAuthorize`, it lets a database failure through instead of reading it
  as "not installed", which would ask the user to reinstall the app while the database is down.
- A workspace without an install gets Bolt's own answer (its note asking to reinstall, through
  `response_url` or as the ack's text), except a modal's submission: Slack shows a plain-text
  ack there as a generic error, so `NotInstalled` is raised for it and `on_error` answers with
  the modal updated to say what happened and what to do.
- `on_error` answers a database failure before any listener in the form of the surface the user
  looks at: a modal's submission updates the modal, a slash command's ack is a message, a click
  on a message is told through its `response_url`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import InstallationStore

from bot.slack.listeners.modals import message_view
from bot.slack.middleware import DATABASE_DOWN
from bot.slack.views import messages
from bot.storage.db import is_unavailable, unavailable_reason

log = logging.getLogger("bot.slack.authorize")

IN_MODAL = "privatelink_answer_in_modal"  # context key: the request is a modal's submission


class NotInstalled(Exception):
    """The request's workspace has no install of the app (a modal's submission only)."""

    def __init__(self, team_id: str | None, install_url: str | None) -> None:
        super().__init__(f"workspace {team_id} has no install")
        self.team_id, self.install_url = team_id, install_url

    def words(self) -> str:
        """What the user reads in the modal."""
        where = f" at {self.install_url}" if self.install_url else " from the app's install page"
        return (
            "This app is no longer installed in this workspace, so nothing was saved. "
            f"Ask a workspace admin to install it again{where}, then start over."
        )


class WorkspaceAuthorize(Authorize):
    """The workspace's bot token from `store` (its newest bot install), with `auth.test`."""

    def __init__(self, *, store: InstallationStore, install_url: str | None) -> None:
        self.store = store
        self.install_url = install_url
        self.known: dict[str, AuthorizeResult] = {}

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        bot = self.store.find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=context.is_enterprise_install,
        )
        if bot is None or not bot.bot_token:
            if context.get(IN_MODAL):
                raise NotInstalled(team_id, self.install_url)
            return None  # Bolt answers: its note asking to reinstall
        token: str = bot.bot_token
        if token in self.known:
            return self.known[token]
        try:
            answer = context.client.auth_test(token=token)
        except SlackApiError as error:  # revoked: as not installed
            log.info("workspace %s: auth.test refused its token: %s", team_id, error)
            if context.get(IN_MODAL):
                raise NotInstalled(team_id, self.install_url) from None
            return None
        result = AuthorizeResult.from_auth_test_response(
            auth_test_response=answer, bot_token=token, bot_scopes=bot.bot_scopes
        )
        self.known[token] = result
        return result


def mark_submission(body: dict[str, Any], context: BoltContext, next: Any) -> None:
    """Bolt's `before_authorize`: note a modal's submission, whose answer has its own form."""
    if body.get("type") == "view_submission":
        context[IN_MODAL] = True
    next()


def on_error(error: Exception, request: BoltRequest, logger: logging.Logger) -> BoltResponse | None:
    """Bolt's error handler: a submission from a workspace without an install, and a database
    failure before any listener, answered to the user; anything else logged as Bolt logs it."""
    if isinstance(error, NotInstalled):
        log.info("a modal submitted from workspace %s, which has no install", error.team_id)
        return in_form_of(request, error.words())
    if is_unavailable(error):
        log.warning("database unavailable: %s", unavailable_reason(error))
        return in_form_of(request, DATABASE_DOWN)
    logger.exception(f"Failed to run a middleware or listener (error: {error})")
    return None


def in_form_of(request: BoltRequest, text: str) -> BoltResponse:
    """`text`, told where the user looks: the modal submitted, the command's reply, or below
    the message clicked (through its `response_url`, as Bolt tells its own note)."""
    body = request.body
    if body.get("type") == "view_submission":
        return _json({"response_action": "update", "view": message_view(text)})
    if "command" in body:
        return _json({"response_type": "ephemeral", **messages.refusal(text)})
    respond = request.context.respond
    if respond is not None:
        try:
            respond(response_type="ephemeral", replace_original=False, **messages.refusal(text))
        except (SlackClientError, OSError) as failure:
            log.info("could not tell the user through response_url: %s", type(failure).__name__)
    return BoltResponse(status=200, body="")


def _json(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(body),
        headers={"content-type": "application/json;charset=utf-8"},
    )
