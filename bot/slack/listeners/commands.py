"""`/private-endpoint …`: each verb of the command table (`bot.domain.slash`) answered in the ack,
or, for the verbs whose answer is a modal, by opening it right after the ack (and, if the bot
cannot post in the channel where the wizard's results go, saying so to its user); a verb that
reads AWS (`doctor`) acks with what it is doing and answers after the ack, privately, through
the command's `response_url`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.domain import rules
from bot.domain.errors import DomainError
from bot.domain.slash import SlashCommand, Verb, parse
from bot.domain.states import Action
from bot.services import doctor as doctor_service
from bot.services import endpoints, wizard
from bot.slack.deps import Deps, log
from bot.slack.ids import COMMAND
from bot.slack.middleware import (
    LATER,
    OPEN_VIEW,
    Answer,
    Caller,
    after_ack,
    answer_command,
    open_answered_view,
)
from bot.slack.notifier import DEFAULT_BOT_NAME, SlackFailure, blocker_of
from bot.slack.views import messages, setup
from bot.slack.views.doctor import checking_message, doctor_message
from bot.slack.views.wizard import wizard_view
from bot.storage.project_cache import ChannelProject


@dataclass(frozen=True, slots=True)
class Asked:
    """A command in the channel's project, inside the transaction that answers it."""

    session: Session
    project: ChannelProject
    command: SlashCommand
    user_id: str
    channel_id: str

    @property
    def endpoint_id(self) -> int:
        """The endpoint id the command names (its subcommand takes one)."""
        assert self.command.endpoint_id is not None
        return self.command.endpoint_id


InProject = Callable[[Asked], Answer]
Handler = Callable[[Deps, SlashCommand, Caller], Answer]


def _in_project(answer: InProject, *, writes: bool = False) -> Handler:
    """`answer` run in the channel's project, in a read-only transaction unless it `writes`."""

    def handle(deps: Deps, command: SlashCommand, caller: Caller) -> Answer:
        def work(session: Session) -> Answer:
            asked = Asked(
                session=session,
                project=caller.project(session),
                command=command,
                user_id=caller.user_id,
                channel_id=caller.channel_id,
            )
            return answer(asked)

        return (deps.run if writes else deps.read)(work)

    return handle


def create(asked: Asked) -> Answer:
    """The wizard at Choose Cluster, the named cluster chosen if it may be."""
    state = wizard.start(
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        channel_id=asked.channel_id,
        requested=asked.command.cluster,
    )
    return Answer(view=wizard_view(state))


def list_endpoints(asked: Asked) -> Answer:
    """The project's endpoints."""
    listing = endpoints.list_rows(
        session=asked.session, project=asked.project, user_id=asked.user_id
    )
    return Answer(messages.list_message(asked.project.name, listing, datetime.now(UTC)))


def status(asked: Asked) -> Answer:
    """Where one endpoint stands, and the reader's next step."""
    found = endpoints.get_status(
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        endpoint_id=asked.endpoint_id,
    )
    return Answer(messages.status_message(found, datetime.now(UTC)))


def doctor(asked: Asked) -> Answer:
    """That the endpoint is being checked; the checklist follows the ack (`examine_after_ack`)."""
    patient = doctor_service.find(
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        endpoint_id=asked.endpoint_id,
    )
    return Answer(checking_message(patient), later=patient)


def edit(asked: Asked) -> Answer:
    """The wizard reopened where the endpoint stands."""
    endpoint = endpoints.find_in_project(  # kept: resume reads it from the session
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        endpoint_id=asked.endpoint_id,
    )
    state = wizard.resume(session=asked.session, endpoint_id=endpoint.id, user_id=asked.user_id)
    return Answer(view=wizard_view(state))


def terminate(asked: Asked) -> Answer:
    """What Terminate would remove, and a button that asks once more."""
    row = endpoints.get_row(
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        endpoint_id=asked.endpoint_id,
    )
    if not row.can_terminate:
        return Answer(messages.refusal(f"#{row.endpoint.id} is already being deleted."))
    rules.authorize(asked.project.to_domain(), asked.user_id, Action.TERMINATE)
    return Answer(messages.terminate_prompt(row))


def connect(asked: Asked) -> Answer:
    """Connection strings of a cluster with an active endpoint."""
    found = endpoints.connect(
        session=asked.session,
        project=asked.project,
        user_id=asked.user_id,
        cluster_name=asked.command.cluster,
    )
    return Answer(messages.connect_message(found))


def billing(asked: Asked) -> Answer:
    """The project's monthly estimate."""
    estimate = endpoints.estimate(
        session=asked.session, project=asked.project, user_id=asked.user_id
    )
    return Answer(messages.billing_message(asked.project.name, estimate))


def help_reply(deps: Deps, command: SlashCommand, caller: Caller) -> Answer:
    """The help, without reading the database."""
    return Answer(messages.help_message())


ANSWERS: dict[Verb, Handler] = {
    Verb.CREATE: _in_project(create),
    Verb.LIST: _in_project(list_endpoints),
    Verb.STATUS: _in_project(status),
    Verb.DOCTOR: _in_project(doctor),
    Verb.EDIT: _in_project(edit, writes=True),  # Edit may move a failed endpoint's stage
    Verb.TERMINATE: _in_project(terminate),
    Verb.CONNECT: _in_project(connect),
    Verb.BILLING: _in_project(billing),
    Verb.HELP: help_reply,
}
"""How each verb of `slash.SUBCOMMANDS` is answered (a test holds it to exactly the table's)."""


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


DOCTOR_FAILED = (
    "The doctor could not finish its checks just now; nothing was changed. Try again in a "
    "minute, and tell the bot's operators if it keeps failing."
)


def examine_after_ack(deps: Deps) -> Callable[..., None]:
    """The lazy half of `doctor`: the endpoint's checklist, read from AWS, to the person who
    asked only. A retry of the command (`X-Slack-Retry-Num`) is answered by the first delivery."""

    def examine(respond: Respond, request: BoltRequest, context: BoltContext) -> None:
        patient = context.get(LATER)
        if not isinstance(patient, doctor_service.Patient):
            return
        if request.headers.get("x-slack-retry-num"):
            return
        with after_ack("examine the endpoint"):
            try:
                diagnosis = doctor_service.examine(patient=patient, gateways=deps.gateways)
            except Exception:
                respond(response_type="ephemeral", replace_original=False, text=DOCTOR_FAILED)
                raise  # logged with its traceback by after_ack
            respond(response_type="ephemeral", replace_original=False, **doctor_message(diagnosis))

    return examine


def register(app: App, deps: Deps) -> None:
    """Wire the slash command: the answer is the ack; a wizard opens right after it, and the
    doctor's checklist follows it."""

    def answer_in_ack(body: dict[str, Any], caller: Caller) -> Answer:
        command = parse(body.get("text", ""))
        return ANSWERS[command.verb](deps, command, caller)

    def works_after_ack(body: dict[str, Any]) -> bool:
        try:
            row = parse(body.get("text", "")).subcommand
        except DomainError:
            return False  # the ack answers with why the command cannot be read
        return row.opens_view or row.reads_aws

    # Only the verbs whose answer is a modal, or reads AWS, have work after the ack; the others
    # skip Bolt's lazy runner (a deep copy of the request and a thread hand-off each). The
    # first match wins.
    ack = answer_command(deps, answer_in_ack)
    lazy = [open_answered_view(deps), warn_if_cannot_post, examine_after_ack(deps)]
    app.command(COMMAND, matchers=[works_after_ack])(ack=ack, lazy=lazy)
    app.command(COMMAND)(ack)
