"""The replies of the alerts the worker raises about a private endpoint, in its thread: pure
builders from the notice (`bot.notices.endpoint_alerts.EndpointAlert`), one per alert kind in
`WORDS` (a test checks every kind has its words). The thread's parent message stays the
endpoint's own (`bot.slack.views.alerts.parent_message`).

The stuck reminder mentions the endpoint's creator, says how long it has waited and what to do
next: for `initiating`, create the interface endpoint with the wizard's command or resume the
wizard; for `pending`, turn private DNS on and finish the wizard; either way, or terminate.

The cluster's alerts say, in the thread and the channel, that clients cannot reach the cluster
now (how many of its targets are healthy, and AWS's reason), or that they can again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain import commands
from bot.domain.alerts import AlertKind
from bot.domain.errors import InvalidInput
from bot.domain.slash import Verb
from bot.domain.states import EndpointStatus, Stage
from bot.notices.endpoint import EndpointSnapshot
from bot.notices.endpoint_alerts import EndpointAlert
from bot.slack.ids import COMMAND
from bot.slack.views.alerts import Message, person, targets_healthy, unreachable
from bot.slack.views.blocks import Block, clip, code, context, escape, section

FALLBACK_MAX = 3000


def waited(seconds: float) -> str:
    """A wait as a person says it: the largest whole unit ("2 days", "5 hours", "1 minute")."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


def _date(at: datetime) -> str:
    """`at` in each reader's own time zone (Slack's date token), in UTC where it cannot be."""
    shown = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{shown}>"


def _command(verb: Verb, endpoint_id: int) -> str:
    return f"`{COMMAND} {verb.value} {endpoint_id}`"


def stuck_reply(notice: EndpointAlert) -> Message:
    """The reminder to the creator of an endpoint left waiting on them."""
    s = notice.endpoint
    status = s.status.value.replace("_", " ")
    how_long = waited((notice.at - notice.since).total_seconds())
    what = (
        f":alarm_clock: {person(s.created_by)}, private endpoint #{s.id} to "
        f"*{escape(s.cluster)}* ({escape(s.region)}) has been *{status}* for {how_long}, "
        f"since {_date(notice.since)}: {_waiting_for(s)}"
    )
    blocks: list[Block] = [section(what), *_next_steps(s)]
    blocks.append(
        context(
            f"No longer needed? {_command(Verb.TERMINATE, s.id)} removes it. This reminder "
            f"is sent once while the endpoint is {status}."
        )
    )
    fallback = (
        f"{person(s.created_by)}, private endpoint #{s.id} to {escape(s.cluster)} has been "
        f"{status} for {how_long}: {_waiting_for(s)}"
    )
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks}


def _waiting_for(s: EndpointSnapshot) -> str:
    if s.status is EndpointStatus.INITIATING:
        if s.vpce_id:
            return (
                f"no connection request from `{escape(s.vpce_id)}` has reached this cluster's "
                "endpoint service yet."
            )
        return "the bot is still waiting for your interface endpoint."
    if s.stage is Stage.DONE:
        return "the wizard is done, but AWS does not report your endpoint available yet."
    return "the connection is accepted, but private DNS is not on and the wizard not finished."


def _next_steps(s: EndpointSnapshot) -> list[Block]:
    edit = _command(Verb.EDIT, s.id)
    if s.status is EndpointStatus.INITIATING:
        return [
            section(
                "*Next:* create the interface endpoint in your VPC with the command the "
                f"wizard shows; {edit} opens the wizard where you left off, with that command "
                "and the field for your endpoint's `vpce-…` id."
            )
        ]
    if s.stage is Stage.DONE:
        first = (
            "*Next:* check that private DNS is on for your endpoint and that it is `available` "
            f"in your account; {edit} shows that step of the wizard again."
        )
    else:
        first = (
            "*Next:* turn on private DNS for your endpoint, then press *Create* in the "
            f"wizard: {edit} opens it at that step."
        )
    steps = [section(first)]
    if s.vpce_id:
        try:
            steps.append(
                section(code(commands.modify_endpoint_command(vpce_id=s.vpce_id, region=s.region)))
            )
        except InvalidInput:  # a value that cannot be shown safely: the wizard shows the step
            pass
    return steps


def targets_down_reply(notice: EndpointAlert) -> Message:
    """That clients cannot reach the endpoint's cluster: no target behind its load balancer is
    healthy (also shown in the channel)."""
    s = notice.endpoint
    line = unreachable(s)
    blocks: list[Block] = [
        section(f":warning: {line[0].upper()}{line[1:]}."),
        context(
            f"Private endpoint #{s.id} ({escape(s.region)}) is set up, but the cluster's load "
            "balancer has no healthy target to send connections to. A reply follows here when "
            "one is healthy again."
        ),
    ]
    return {"text": clip(f"Private endpoint #{s.id}: {line}", FALLBACK_MAX), "blocks": blocks}


def targets_up_reply(notice: EndpointAlert) -> Message:
    """That clients can reach the endpoint's cluster again (also shown in the channel)."""
    s = notice.endpoint
    line = f"clients can reach {escape(s.cluster)} again: {targets_healthy(s)}"
    blocks: list[Block] = [section(f":white_check_mark: {line[0].upper()}{line[1:]}.")]
    return {"text": clip(f"Private endpoint #{s.id}: {line}", FALLBACK_MAX), "blocks": blocks}


WORDS: dict[AlertKind, Callable[[EndpointAlert], Message]] = {
    AlertKind.STUCK: stuck_reply,
    AlertKind.TARGETS_DOWN: targets_down_reply,
    AlertKind.TARGETS_UP: targets_up_reply,
}
"""Each alert kind's reply."""


def alert_reply(notice: EndpointAlert) -> Message:
    """The alert's reply in the endpoint's thread."""
    return WORDS[notice.alert](notice)
