"""The channel thread of a connection request from an unknown endpoint: pure builders.

One parent message per request, posted in the project's channel and updated in place: while
the request is pending it mentions the owners and carries Accept and Reject; once an owner has
decided it shows the decision instead. Each step (seen, decided, done on AWS, gone) is a reply.
The notice itself is `bot.notices.connection_requests.ConnectionRequestNotice`;
`bot.slack.renderers` renders it with these builders.
"""

from __future__ import annotations

from bot.domain.connection_requests import RequestStatus
from bot.notices.connection_requests import RequestSnapshot
from bot.slack.ids import ActionId
from bot.slack.metadata import RequestRef
from bot.slack.views.alerts import Message, escape_keeping_mentions
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    escape,
    section,
)

DETAIL_MAX = 1000
FALLBACK_MAX = 3000


def _mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "an owner"


def title(request: RequestSnapshot) -> str:
    """The request in one line (plain text, unescaped)."""
    return (
        f"Connection request from an unknown endpoint: {request.vpce_id} in account "
        f"{request.owner_account} → {request.cluster} ({request.region})"
    )


def _status_line(r: RequestSnapshot) -> str:
    who = _mention(r.decided_by)
    detail = escape(clip(r.detail, DETAIL_MAX)) if r.detail else ""
    return {
        RequestStatus.PENDING: "",
        RequestStatus.ACCEPT_REQUESTED: f":hourglass_flowing_sand: Accepting, as {who} asked.",
        RequestStatus.REJECT_REQUESTED: f":hourglass_flowing_sand: Rejecting, as {who} asked.",
        RequestStatus.ACCEPTED: f":white_check_mark: Accepted by {who}: "
        f"`{escape(r.vpce_id)}` is connected to *{escape(r.cluster)}*.",
        RequestStatus.REJECTED: f":no_entry_sign: Rejected by {who}: "
        f"`{escape(r.vpce_id)}` cannot connect.",
        RequestStatus.GONE: f":black_circle: Nothing to decide any more. {detail}".rstrip(),
    }[r.status]


def decision_buttons(request: RequestSnapshot) -> Block:
    """Accept (primary) and Reject (danger, confirmed first) for one request."""
    value = RequestRef(request_id=request.id).dump()
    return actions(
        [
            button(
                "Accept",
                action_id=ActionId.ACCEPT_CONNECTION,
                value=value,
                style="primary",
            ),
            button(
                "Reject",
                action_id=ActionId.REJECT_CONNECTION,
                value=value,
                style="danger",
                confirm=confirm_dialog(
                    title="Reject this connection?",
                    text=f"{request.vpce_id} in account {request.owner_account} will not be "
                    f"able to connect to {request.cluster}. This cannot be undone.",
                    confirm="Reject",
                ),
            ),
        ]
    )


def request_message(request: RequestSnapshot) -> Message:
    """The request's one channel message, as of `request` (updated in place on each step)."""
    r = request
    blocks: list[Block] = [
        section(
            f":question: *Connection request from an unknown endpoint:* `{escape(r.vpce_id)}` "
            f"in account `{escape(r.owner_account)}` → *{escape(r.cluster)}* "
            f"({escape(r.region)})"
        )
    ]
    if r.status is RequestStatus.PENDING:
        owners = ", ".join(_mention(owner) for owner in r.owners) or "no owner is named yet"
        if r.detail:
            blocks.append(section(f":warning: {escape(clip(r.detail, DETAIL_MAX))}"))
        blocks.append(
            section(
                "No private endpoint of this project expects it, so the bot has not accepted "
                "it. Accept it only if you know whose endpoint it is. "
                f"Owners decide: {owners}."
            )
        )
        blocks.append(decision_buttons(r))
    else:
        blocks.append(section(_status_line(r)))
    blocks.append(
        context(
            f"Endpoint service `{escape(r.service_id)}` · request #{r.id} · "
            "every step is in this thread."
        )
    )
    fallback = f"{escape(title(r))}: {r.status.value.replace('_', ' ')}"
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks}


def request_reply(text: str) -> Message:
    """One step of the request, as a thread reply (user mentions kept)."""
    line = escape_keeping_mentions(text)
    return {"text": clip(line, FALLBACK_MAX), "blocks": [section(line)]}
