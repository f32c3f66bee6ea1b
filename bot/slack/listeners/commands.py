"""`/private-endpoint …`: answered in the ack, or by opening the wizard right after it (and, if
the bot cannot post in the channel where the wizard's results go, saying so to its user)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.domain import rules
from bot.domain.errors import DomainError
from bot.domain.slash import SlashCommand, Verb, parse
from bot.domain.states import Action
from bot.services import endpoints, wizard
from bot.slack.deps import Deps, log
from bot.slack.ids import COMMAND
from bot.slack.middleware import (
    OPEN_VIEW,
    Answer,
    Caller,
    after_ack,
    answer_command,
    open_answered_view,
)
from bot.slack.notifier import DEFAULT_BOT_NAME, SlackFailure, blocker_of
from bot.slack.views import messages, setup
from bot.slack.views.wizard import wizard_view


def answer(session: Session, command: SlashCommand, caller: Caller) -> Answer:
    """What a command answers in the channel's project: a message, or a modal to open."""
    project = caller.project(session)
    user, channel = caller.user_id, caller.channel_id
    now = datetime.now(UTC)
    match command.verb:
        case Verb.LIST:
            listing = endpoints.list_rows(session=session, project=project, user_id=user)
            return Answer(messages.list_message(project.name, listing, now))
        case Verb.CONNECT:
            found = endpoints.connect(
                session=session, project=project, user_id=user, cluster_name=command.cluster
            )
            return Answer(messages.connect_message(found))
        case Verb.BILLING:
            estimate = endpoints.estimate(session=session, project=project, user_id=user)
            return Answer(messages.billing_message(project.name, estimate))
        case Verb.TERMINATE:
            assert command.endpoint_id is not None
            row = endpoints.get_row(
                session=session, project=project, user_id=user, endpoint_id=command.endpoint_id
            )
            if not row.can_terminate:
                return Answer(messages.refusal(f"#{row.endpoint.id} is already being deleted."))
            rules.authorize(project.to_domain(), user, Action.TERMINATE)
            return Answer(messages.terminate_prompt(row))
        case Verb.CREATE:
            state = wizard.start(
                session=session,
                project=project,
                user_id=user,
                channel_id=channel,
                requested=command.cluster,
            )
            return Answer(view=wizard_view(state))
        case Verb.EDIT:
            assert command.endpoint_id is not None
            endpoint = endpoints.find_in_project(  # kept: resume reads it from the session
                session=session, project=project, user_id=user, endpoint_id=command.endpoint_id
            )
            state = wizard.resume(session=session, endpoint_id=endpoint.id, user_id=user)
            return Answer(view=wizard_view(state))
        case _:
            return Answer(messages.help_message())


def warn_if_cannot_post(
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    request: BoltRequest,
    context: BoltContext,
) -> None:
    """After the ack that opens a wizard: if the bot cannot post in the channel (its results
    and alerts go there), tell the wizard's user what to do (`conversations.info`)."""
    if context.get(OPEN_VIEW) is None or request.headers.get("x-slack-retry-num"):
        return
    channel = str(body.get("channel_id") or "")
    with after_ack("check the channel"):
        try:
            blocker = blocker_of(client=client, channel=channel)
        except SlackFailure as failure:
            log.info("cannot tell whether the bot may post in %s: %s", channel, failure.error)
            return
        if blocker is not None:
            authorized = context.authorize_result
            bot_name = (authorized.user if authorized else None) or DEFAULT_BOT_NAME
            respond(**setup.wizard_warning(blocker=blocker, bot_name=bot_name))


def register(app: App, deps: Deps) -> None:
    """Wire the slash command: the answer is the ack; a wizard opens right after it."""

    def answer_in_ack(body: dict[str, Any], caller: Caller) -> Answer:
        command = parse(body.get("text", ""))
        if command.verb is Verb.HELP:
            return Answer(messages.help_message())
        run = deps.run if command.verb is Verb.EDIT else deps.read  # Edit may move a stage
        return run(lambda session: answer(session, command, caller))

    def may_open_view(body: dict[str, Any]) -> bool:
        try:
            return parse(body.get("text", "")).verb in (Verb.CREATE, Verb.EDIT)
        except DomainError:
            return False  # the ack answers with why the command cannot be read

    # Only create and edit have work after the ack; the other verbs skip Bolt's lazy runner
    # (a deep copy of the request and a thread hand-off each). The first match wins.
    ack = answer_command(deps, answer_in_ack)
    lazy = [open_answered_view(deps), warn_if_cannot_post]
    app.command(COMMAND, matchers=[may_open_view])(ack=ack, lazy=lazy)
    app.command(COMMAND)(ack)
