"""The channel's messages about a private endpoint: its parent message and its thread replies.

Pure builders from the outbox snapshot (`bot.notices.endpoint.EndpointSnapshot`): one parent
message per endpoint, updated in place, and one reply per change; Active and Failed replies say
more. An Active endpoint's message says so while no target behind its cluster's load balancer
is healthy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain import commands
from bot.domain.connection import PASSWORD_VARIABLE, connection_strings
from bot.domain.errors import InvalidInput
from bot.domain.states import EndpointStatus
from bot.notices.endpoint import EndpointSnapshot
from bot.slack.ids import ActionId, BlockId
from bot.slack.metadata import EndpointRef
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    clip,
    code,
    context,
    escape,
    fields,
    header,
    section,
)

Message = dict[str, Any]

FIELD_TEXT_MAX = 2000  # Slack's limit on one section field
REASON_MAX = 1500
FALLBACK_MAX = 3000
_MENTION = re.compile(r"(<@[UW][A-Z0-9]+>)")

_STATUS_EMOJI = {
    EndpointStatus.NOT_CONFIGURED: ":white_circle:",
    EndpointStatus.INITIATING: ":large_blue_circle:",
    EndpointStatus.PENDING: ":hourglass_flowing_sand:",
    EndpointStatus.ACTIVE: ":large_green_circle:",
    EndpointStatus.DELETING: ":wastebasket:",
    EndpointStatus.FAILED: ":red_circle:",
    EndpointStatus.DELETED: ":black_circle:",
}
_STATUS_HINT = {
    EndpointStatus.NOT_CONFIGURED: "Waiting for the VPC details in the wizard.",
    EndpointStatus.INITIATING: "Waiting for the VPC endpoint to be created and accepted.",
    EndpointStatus.PENDING: "Connection accepted; waiting for private DNS to be enabled.",
    EndpointStatus.ACTIVE: "Ready: connect from inside the VPC.",
    EndpointStatus.DELETING: "Being removed from AWS.",
    EndpointStatus.FAILED: "A step failed; see the reason in the thread and retry.",
    EndpointStatus.DELETED: "This private endpoint was deleted; its history stays in the thread.",
}


Snapshot = EndpointSnapshot | Mapping[str, Any]


def as_snapshot(snapshot: Snapshot) -> EndpointSnapshot:
    """The snapshot as a model (a dict is validated; pydantic's ValidationError if malformed)."""
    if isinstance(snapshot, EndpointSnapshot):
        return snapshot
    return EndpointSnapshot.model_validate(dict(snapshot))


def status_label(status: EndpointStatus) -> str:
    """A status as a person reads it, with its emoji."""
    return f"{_STATUS_EMOJI[status]} {status.value.replace('_', ' ').capitalize()}"


def escape_keeping_mentions(text: str) -> str:
    """`text` escaped for mrkdwn, except the user mentions (`<@U…>`) it holds."""
    parts = _MENTION.split(text)
    return "".join(part if _MENTION.fullmatch(part) else escape(part) for part in parts)


def _title(s: EndpointSnapshot) -> str:
    return f"Private endpoint #{s.id} · {s.cluster} · {s.region}"


def person(user_id: str) -> str:
    """A Slack user, mentioned (or shown as is, escaped, if the id is not one)."""
    mention = f"<@{user_id}>"
    return mention if _MENTION.fullmatch(mention) else escape(user_id)


def _or_dash(value: str | None) -> str:
    return f"`{escape(value)}`" if value else "—"


def parent_message(snapshot: Snapshot) -> Message:
    """The endpoint's one channel message, as of `snapshot` (updated in place on each change)."""
    s = as_snapshot(snapshot)
    pairs = [
        ("Status", status_label(s.status)),
        ("Cluster", escape(s.cluster)),
        ("Region", escape(s.region)),
        ("VPC endpoint", _or_dash(s.vpce_id)),
        ("VPC", _or_dash(s.vpc_id)),
        ("Created by", person(s.created_by)),
    ]
    blocks: list[Block] = [
        header(_title(s)),
        fields([(label, clip(value, FIELD_TEXT_MAX - 40)) for label, value in pairs]),
    ]
    if s.status is EndpointStatus.FAILED and s.failure_reason:
        blocks.append(section(f":x: {escape(clip(s.failure_reason, REASON_MAX))}"))
    if s.status is EndpointStatus.ACTIVE and s.targets is not None and s.targets.down:
        blocks.append(context(f":warning: {unreachable(s)}"))
    blocks.append(context(_STATUS_HINT[s.status] + " Every change is in this thread."))
    fallback = f"{escape(_title(s))}: {s.status.value.replace('_', ' ')}"
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks}


def targets_healthy(s: EndpointSnapshot) -> str:
    """How many of the cluster's targets are healthy, as last read ("0 of 2 targets healthy")."""
    if s.targets is None:
        return "its targets are not read yet"
    plural = "" if s.targets.total == 1 else "s"
    return f"{s.targets.healthy} of {s.targets.total} target{plural} healthy"


def unreachable(s: EndpointSnapshot) -> str:
    """That clients cannot reach the endpoint's cluster now, and why, in plain text (escaped)."""
    line = f"clients cannot reach {escape(s.cluster)} now: {targets_healthy(s)}"
    if s.targets is not None and s.targets.reason:
        line += f" ({escape(clip(s.targets.reason, REASON_MAX))})"
    return line


def thread_reply(*, text: str, snapshot: Snapshot) -> Message:
    """The thread reply for one change: its line, plus connection strings or a Retry button."""
    s = as_snapshot(snapshot)
    line = escape_keeping_mentions(text)
    blocks: list[Block] = [section(line)]
    fallback = line
    if s.status is EndpointStatus.ACTIVE:
        blocks += _active_blocks(s)
        fallback = (
            f"Private endpoint #{s.id} to {escape(s.cluster)} is active: {escape(s.host)}:{s.port}"
        )
        if s.dns_verified is False:
            fallback += " (the host does not resolve yet: its private DNS name is not verified)"
    elif s.status is EndpointStatus.FAILED:
        blocks += _failed_blocks(s)
        reason = s.failure_reason or "no reason was recorded"
        fallback = f"Private endpoint #{s.id} to {escape(s.cluster)} failed: {escape(reason)}"
    elif s.status is EndpointStatus.DELETING and s.vpce_id:
        blocks += cleanup_blocks(
            vpce_id=s.vpce_id, region=s.region, cluster=s.cluster, endpoint_id=s.id
        )
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks}


def cleanup_blocks(*, vpce_id: str, region: str, cluster: str, endpoint_id: int) -> list[Block]:
    """How the user deletes their own interface endpoint, which terminating leaves in their
    account (and billed): the exact command, and what to do with Terraform or CloudFormation."""
    try:
        command = commands.delete_endpoint_command(vpce_id=vpce_id, region=region)
        stack = commands.endpoint_resource_name(cluster_name=cluster, endpoint_id=endpoint_id)
    except InvalidInput as error:
        return [
            context(f"Delete your interface endpoint in your AWS account ({escape(str(error))})")
        ]
    return [
        section(
            f":broom: *Delete your interface endpoint too:* `{escape(vpce_id)}` stays in your AWS "
            "account, billed by the hour, until you delete it. With the credentials of that "
            "account:\n" + code(command)
        ),
        context(
            "Made it with Terraform? Remove its resources from the configuration and run "
            "`terraform apply` (or `terraform destroy` in its own directory). With "
            f"CloudFormation, delete the stack `{stack}`. A security group the wizard's "
            "commands made stays: delete it once the endpoint is gone."
        ),
    ]


def _active_blocks(s: EndpointSnapshot) -> list[Block]:
    intro = (
        f":white_check_mark: *Private endpoint #{s.id} is active.* From inside your VPC, "
        f"connect to `{escape(s.host)}:{s.port}`:"
    )
    if s.dns_verified is False:
        vpce = escape(s.vpce_id or "<vpce-id>")
        intro = (
            f":white_check_mark: *Private endpoint #{s.id} is active*, but :warning: "
            f"*`{escape(s.host)}` does not resolve yet*: the provider has not verified this "
            "private DNS name with AWS, so the strings below work only once it is verified (the "
            "channel hears when) and private DNS is on for your endpoint. Until then, use your "
            f"endpoint's own DNS name as the host: `aws ec2 describe-vpc-endpoints --region "
            f"{escape(s.region)} --vpc-endpoint-ids {vpce} --query "
            "'VpcEndpoints[0].DnsEntries[0].DnsName'`."
        )
    try:
        strings = connection_strings(host=s.host, port=s.port)
    except InvalidInput as error:
        return [section(intro), context(f"Connection strings unavailable: {escape(str(error))}")]
    blocks = [section(intro)]
    blocks += [section(f"*{item.client.label}*\n{code(item.text)}") for item in strings]
    blocks.append(context(f"The password is read from `${PASSWORD_VARIABLE}`; set it first."))
    return blocks


def _failed_blocks(s: EndpointSnapshot) -> list[Block]:
    reason = escape(clip(s.failure_reason or "No reason was recorded.", REASON_MAX))
    retry = button(
        "Retry",
        action_id=ActionId.RETRY,
        value=EndpointRef(endpoint_id=s.id).dump(),
        style="primary",
    )
    return [
        section(f":x: *Private endpoint #{s.id} failed:* {reason}"),
        actions([retry], block_id=BlockId.FAILED_ACTIONS),
    ]
