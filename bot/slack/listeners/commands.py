"""`/private-endpoint …`: answered in the ack, or by opening the wizard right after it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.domain import rules
from bot.domain.errors import DomainError
from bot.domain.slash import SlashCommand, Verb, parse
from bot.domain.states import Action
from bot.services import endpoints, wizard
from bot.slack.deps import Deps, after_ack
from bot.slack.ids import COMMAND
from bot.slack.listeners.modals import open_modal
from bot.slack.views import messages
from bot.slack.views.wizard import wizard_view
from bot.storage import orm, repository

Reply = dict[str, Any]


def find_project(session: Session, *, channel_id: str, team_id: str) -> orm.Project:
    """The project bound to the channel (in this workspace), or LookupError."""
    project = repository.get_project_by_channel(session=session, channel_id=channel_id)
    if project is None or (project.team_id and project.team_id != team_id):
        raise LookupError(channel_id)
    return project


def knows_caller(project: orm.Project, *, team_id: str, user_id: str) -> bool:
    """Whether the project already knows its workspace and this member of its channel."""
    return project.team_id == team_id and any(m.user_id == user_id for m in project.members)


def project_for(session: Session, *, channel_id: str, team_id: str, user_id: str) -> orm.Project:
    """The project bound to the channel; the caller is remembered as a member of it."""
    project = find_project(session, channel_id=channel_id, team_id=team_id)
    if project.team_id is None:
        project.team_id = team_id
    repository.add_member(session=session, project=project, user_id=user_id)
    return project


REMEMBER = "remember_caller"  # set in a reply when the caller is new to the project


def answer(session: Session, command: SlashCommand, body: dict[str, Any]) -> Reply:
    """The reply to a command, or `{"view": …}` when a modal should open; `REMEMBER` is set
    when the caller should be recorded as a member of the channel's project."""
    user, channel = body["user_id"], body["channel_id"]
    try:
        project = find_project(session, channel_id=channel, team_id=body["team_id"])
    except LookupError:
        return messages.unbound_channel(channel)
    try:
        reply = _answer(session, command, project, body)
    except DomainError as error:
        reply = messages.refusal(str(error))
    if not knows_caller(project, team_id=body["team_id"], user_id=user):
        reply[REMEMBER] = True
    return reply


def _answer(
    session: Session, command: SlashCommand, project: orm.Project, body: dict[str, Any]
) -> Reply:
    user, channel = body["user_id"], body["channel_id"]
    now = datetime.now(UTC)
    match command.verb:
        case Verb.LIST:
            listing = endpoints.list_rows(session=session, project=project, user_id=user)
            return messages.list_message(project.name, listing, now)
        case Verb.CONNECT:
            found = endpoints.connect(
                session=session, project=project, user_id=user, cluster_name=command.cluster
            )
            return messages.connect_message(found)
        case Verb.BILLING:
            estimate = endpoints.estimate(session=session, project=project, user_id=user)
            return messages.billing_message(project.name, estimate)
        case Verb.TERMINATE:
            assert command.endpoint_id is not None
            row = endpoints.get_row(
                session=session, project=project, user_id=user, endpoint_id=command.endpoint_id
            )
            if not row.can_terminate:
                return messages.refusal(f"#{row.endpoint.id} is already being deleted.")
            rules.authorize(project.to_domain(), user, Action.TERMINATE)
            return messages.terminate_prompt(row)
        case Verb.CREATE:
            state = wizard.start(
                session=session,
                project=project,
                user_id=user,
                channel_id=channel,
                requested=command.cluster,
            )
            return {"view": wizard_view(state)}
        case Verb.EDIT:
            assert command.endpoint_id is not None
            endpoint = endpoints.find_in_project(  # kept: resume reads it from the session
                session=session, project=project, user_id=user, endpoint_id=command.endpoint_id
            )
            state = wizard.resume(session=session, endpoint_id=endpoint.id, user_id=user)
            return {"view": wizard_view(state)}
        case _:
            return messages.help_message()


OPEN_VIEW = "open_view"  # the modal the ack decided to open, for the lazy half


def register(app: App, deps: Deps) -> None:
    """Wire the slash command: the answer is the ack; a wizard opens right after it."""

    def answer_in_ack(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        try:
            command = parse(body.get("text", ""))
            if command.verb is Verb.HELP:
                ack(**messages.help_message())
                return
            run = deps.run if command.verb is Verb.EDIT else deps.read  # Edit may move a stage
            reply = run(lambda session: answer(session, command, body))
            if reply.pop(REMEMBER, False):  # a write only the first time someone uses the bot
                deps.run(
                    lambda session: project_for(
                        session,
                        channel_id=body["channel_id"],
                        team_id=body["team_id"],
                        user_id=body["user_id"],
                    )
                )
        except DomainError as error:
            ack(**messages.refusal(str(error)))
            return
        view = reply.pop("view", None)
        if view is not None:
            context[OPEN_VIEW] = view
        ack(**reply)

    def open_after_ack(
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        request: BoltRequest,
        context: BoltContext,
    ) -> None:
        view = context.get(OPEN_VIEW)
        if view is None:
            return
        with after_ack("open the wizard"):
            opened = open_modal(deps, client, body["trigger_id"], view)
            if not opened and not request.headers.get("x-slack-retry-num"):
                # (a retry's trigger was spent by the first delivery, which opened the wizard)
                respond(
                    **messages.refusal("Slack would not open the wizard; run the command again.")
                )

    def may_open_view(body: dict[str, Any]) -> bool:
        try:
            return parse(body.get("text", "")).verb in (Verb.CREATE, Verb.EDIT)
        except DomainError:
            return False

    # Only create and edit have work after the ack; the other verbs skip Bolt's lazy runner
    # (a deep copy of the request and a thread hand-off each). The first match wins.
    app.command(COMMAND, matchers=[may_open_view])(ack=answer_in_ack, lazy=[open_after_ack])
    app.command(COMMAND)(answer_in_ack)
