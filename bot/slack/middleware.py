"""Listener plumbing: the channel's project, one refusal for any DomainError, acks, lazy halves.

- The channel's project: `Caller.project` finds it inside the listener's own transaction (the
  process's `ProjectCache`, checked against the database by one small query) and notes whether
  the project already knows the caller; a new caller is remembered in one write after it, and
  only then.
- Refusals: `_attempt` is the one place where a `DomainError` becomes the words the user reads,
  in the form of the surface they are looking at: a message (a slash command's ack, a reply to
  a button) or a modal (a submission's ack, a modal opened or updated after a click).
- Acks and after-ack work: each wrapper below is the ack or the lazy half of a listener. Work
  after the ack is logged when it fails and goes no further (see `after_ack`).

These are wrappers used in each module's `register`, not Bolt middleware: Bolt's middleware runs
before a listener and cannot catch what the listener raises, and `@app.error` never sees the
lazy (after-ack) half, whose failures Bolt only logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import Ack, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, ForeignWorkspace, PermissionDenied
from bot.slack.deps import Deps, log
from bot.slack.listeners.modals import message_view, open_modal
from bot.slack.views import messages
from bot.storage import orm, outbox_queries, project_queries
from bot.storage.db import is_unavailable, unavailable_reason
from bot.storage.project_cache import ChannelProject, ProjectCache

Body = dict[str, Any]
View = dict[str, Any]
Listener = Callable[..., None]  # what Bolt calls, with the arguments its signature names
A = TypeVar("A", bound="Answer | None")
F = TypeVar("F", bound=Callable[..., Any])

OPEN_VIEW = "open_view"  # the modal a slash command's ack decided to open, for its lazy half
LATER = "later"  # what else a slash command's ack left to its lazy half (`Answer.later`)
UNBOUND_NOW = "This channel no longer belongs to a project; ask an operator to bind it."
DATABASE_DOWN = (
    "The bot cannot reach its database just now; nothing was changed. Try again in a minute."
)


class UnboundChannel(LookupError):
    """No project is bound to the channel (in this workspace)."""


def find_project(session: Session, *, channel_id: str, team_id: str) -> orm.Project:
    """The project bound to the channel (in this workspace), or UnboundChannel."""
    project = project_queries.get_project_for_channel(
        session=session, channel_id=channel_id, team_id=team_id
    )
    if project is None:
        raise UnboundChannel(channel_id)
    return project


@dataclass(slots=True)
class Caller:
    """Who acts, and from which channel; `is_new` is set by `project` when the channel's
    project has yet to remember the caller (or its own workspace)."""

    team_id: str
    channel_id: str
    user_id: str
    projects: ProjectCache
    is_new: bool = False

    @classmethod
    def of_command(cls, body: Body, projects: ProjectCache) -> Caller:
        """The person running a slash command, in the channel they run it in."""
        return cls(
            team_id=str(body.get("team_id") or ""),
            channel_id=str(body.get("channel_id") or ""),
            user_id=str(body.get("user_id") or ""),
            projects=projects,
        )

    def project(self, session: Session) -> ChannelProject:
        """The channel's project, as of the caller's transaction (from the process's cache,
        checked against the database), or UnboundChannel."""
        if not (self.team_id and self.channel_id and self.user_id):
            raise UnboundChannel(self.channel_id)
        project = self.projects.get(session, channel_id=self.channel_id, team_id=self.team_id)
        if project is None:
            raise UnboundChannel(self.channel_id)
        self.is_new = project.team_id != self.team_id or self.user_id not in project.members
        return project

    def remember(self, session: Session) -> orm.Project:
        """The channel's project, which now knows its workspace and the caller (a write)."""
        project = find_project(session, channel_id=self.channel_id, team_id=self.team_id)
        if project.team_id is None:
            project.team_id = self.team_id
            # its notifications queued meanwhile are of this workspace too: one queue per channel
            outbox_queries.adopt_team(
                session=session, channel_id=project.channel_id, team_id=self.team_id
            )
        project_queries.add_member(session=session, project=project, user_id=self.user_id)
        return project


@dataclass(frozen=True, slots=True)
class Answer:
    """What a listener shows: a message, a modal, or (a submission only) field errors."""

    message: messages.Message | None = None
    view: View | None = None
    errors: dict[str, str] | None = None
    later: object | None = None  # a slash command's work for its lazy half (`LATER`)


def _in_message(reason: str) -> Answer:
    """A refusal where the user reads a message."""
    return Answer(messages.refusal(reason))


def _in_modal(reason: str) -> Answer:
    """A refusal where the user looks at a modal."""
    return Answer(view=message_view(reason))


def _attempt(
    work: Callable[[], A], refused: Callable[[str], Answer], *, identity: bool = True
) -> A | Answer:
    """What `work` answers or, if a rule of the domain refused it, the refusal in its words
    (a refusal of who the caller is, PermissionDenied, is raised instead unless `identity`);
    while the database is unavailable (`is_unavailable`: lost, read-only, full, ...), a message
    that says it cannot be reached (one log line, no trace)."""
    try:
        return work()
    except PermissionDenied as error:
        if not identity:
            raise
        return refused(str(error))
    except DomainError as error:
        return refused(str(error))
    except SQLAlchemyError as error:
        if not is_unavailable(error):
            raise
        log.warning("database unavailable: %s", unavailable_reason(error))
        return refused(DATABASE_DOWN)


@contextmanager
def after_ack(what: str) -> Iterator[None]:
    """Work done after the ack. A failure is logged with its traceback and goes no further:
    raised out of the listener, Bolt would take back the ack it already sent (Slack then shows
    the user an error), and there is no one else to tell."""
    try:
        yield
    except Exception:
        log.exception("%s failed after the ack", what)


def ack_now(ack: Ack) -> None:
    """The ack of a listener whose work all happens after it (in its lazy half)."""
    ack()


def _named(wrapper: F, listener: Callable[..., Any]) -> F:
    """`wrapper` under the listener's name in Bolt's logs (not `functools.wraps`: Bolt would
    then pass the listener's arguments instead of the wrapper's)."""
    wrapper.__name__ = wrapper.__qualname__ = getattr(listener, "__name__", wrapper.__name__)
    return wrapper


def answer_command(deps: Deps, listener: Callable[[Body, Caller], Answer]) -> Listener:
    """The ack of a slash command: the listener's answer or its refusal; a caller new to the
    channel's project is remembered first (one write, only then); a modal it answers with is
    opened right after the ack by `open_answered_view`, and its `later` work is left in the
    context (`LATER`) for the command's lazy half."""

    def ack_command(ack: Ack, body: Body, context: BoltContext) -> None:
        caller = Caller.of_command(body, deps.projects)
        refused = False

        def in_message(reason: str) -> Answer:
            nonlocal refused
            refused = True
            return _in_message(reason)

        try:
            answer = _attempt(lambda: listener(body, caller), in_message)
        except UnboundChannel:
            answer = Answer(messages.unbound_channel(caller.channel_id))
        if caller.is_new and not refused:  # a write only the first time someone uses the bot
            answer = _attempt(lambda: _remembered(deps, caller, answer), _in_message)
        if answer.view is not None:
            context[OPEN_VIEW] = answer.view
        if answer.later is not None:
            context[LATER] = answer.later
        ack(**(answer.message or {}))

    return _named(ack_command, listener)


def _remembered(deps: Deps, caller: Caller, answer: Answer) -> Answer:
    """`answer`, once the channel's project has remembered the caller."""
    deps.run(caller.remember)
    return answer


def open_answered_view(deps: Deps) -> Listener:
    """The lazy half of a slash command: open the modal its ack answered with, if any."""

    def open_answered(
        body: Body, client: WebClient, respond: Respond, request: BoltRequest, context: BoltContext
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

    return open_answered


def answer_submission(listener: Callable[[Body], Answer]) -> Listener:
    """The ack of a modal's submission: the next view or field errors, or why it cannot go on."""

    def ack_submission(ack: Ack, body: Body) -> None:
        try:
            answer = _attempt(lambda: listener(body), _in_modal)
        except UnboundChannel:  # the channel lost its project while the modal was open
            answer = _in_modal(UNBOUND_NOW)
        if answer.errors is not None:
            ack(response_action="errors", errors=answer.errors)
        else:
            ack(response_action="update", view=answer.view)

    return _named(ack_submission, listener)


def reply_after_ack(
    what: str, listener: Callable[[Body], Answer | None], *, replace: bool
) -> Listener:
    """A click's lazy half: the listener's message, or why it was refused, to the clicker, in
    place of the message clicked (`replace`) or privately below it. None shows nothing."""
    where: dict[str, Any] = (
        {"replace_original": True}
        if replace
        else {"response_type": "ephemeral", "replace_original": False}
    )

    def reply(body: Body, respond: Respond) -> None:
        with after_ack(what):
            answer = _attempt(lambda: listener(body), _in_message)
            if answer is not None and answer.message is not None:
                respond(**where, **answer.message)

    return _named(reply, listener)


def open_after_ack(
    deps: Deps,
    what: str,
    listener: Callable[[Body], Answer | None],
    *,
    then: Callable[[Body, WebClient], None] | None = None,
) -> Listener:
    """A click's lazy half: open the listener's modal, or one that says why it was refused;
    `then` runs after either (not when the listener answers None, which shows nothing, nor
    for a click from another workspace, for which nothing is done but saying so)."""

    def open_view(body: Body, client: WebClient) -> None:
        with after_ack(what):
            foreign = False
            try:
                answer = _attempt(lambda: listener(body), _in_modal, identity=False)
            except PermissionDenied as error:
                answer, foreign = _in_modal(str(error)), isinstance(error, ForeignWorkspace)
            if answer is None:
                return
            if answer.view is not None:
                open_modal(deps, client, body["trigger_id"], answer.view)
            if then is not None and not foreign:
                then(body, client)

    return _named(open_view, listener)


def update_after_ack(what: str, listener: Callable[[Body], Answer | None]) -> Listener:
    """A click's lazy half inside a modal: the modal becomes the listener's view, or says why
    it was refused. None shows nothing."""

    def update_view(body: Body, client: WebClient) -> None:
        with after_ack(what):
            try:
                answer = _attempt(lambda: listener(body), _in_modal, identity=False)
            except PermissionDenied as error:
                # a modal the caller may not act on may not be theirs: nothing is shown in it
                log.info("%s refused, the modal left as it is: %s", what, type(error).__name__)
                return
            if answer is None or answer.view is None:
                return
            view = body["view"]
            try:
                client.views_update(view_id=view["id"], hash=view.get("hash"), view=answer.view)
            except SlackApiError as error:
                log.info("views.update after %s: %s", what, error.response.get("error"))

    return _named(update_view, listener)
