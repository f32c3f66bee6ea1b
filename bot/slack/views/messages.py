"""Replies to `/private-endpoint`: help, list, status, connect, billing, terminate, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain import commands, rules
from bot.domain.billing import BillingEstimate
from bot.domain.connection import Client
from bot.domain.slash import COMMAND, SUBCOMMANDS, Subcommand, Verb
from bot.domain.states import EndpointStatus, Stage
from bot.services.endpoints import Connect, EndpointRow, Listing, Status
from bot.slack.ids import ActionId, BlockId
from bot.slack.metadata import ConnectChoice, EndpointRef
from bot.slack.views.alerts import cleanup_blocks, escape_keeping_mentions
from bot.slack.views.blocks import (
    SECTION_TEXT_MAX,
    Block,
    actions,
    button,
    clip,
    code,
    confirm_dialog,
    context,
    escape,
    fields,
    header,
    option,
    section,
)

Message = dict[str, Any]
MESSAGE_BLOCKS_MAX = 50
REASON_MAX = 200

HELP_ABOUT = f"*{COMMAND}* connects your VPC to this project's clusters over AWS PrivateLink."
HELP_FOOTER = (
    "The channel decides the project. The app's Home tab lists your endpoints with Edit and "
    "Terminate."
)


def text_message(text: str) -> Message:
    """A plain reply."""
    return {"text": text, "blocks": [section(escape(text))]}


def help_line(subcommand: Subcommand) -> str:
    """One subcommand in the help reply: how to type it and what it does."""
    owners = " (owners)" if subcommand.owners_only else ""
    return f"• `{COMMAND} {subcommand.usage}`: {subcommand.help}{owners}"


def help_message() -> Message:
    """The help reply: every subcommand of the table, in its order."""
    text = "\n".join([HELP_ABOUT, *(help_line(s) for s in SUBCOMMANDS), HELP_FOOTER])
    return {"text": f"{COMMAND} help", "blocks": [section(text)]}


def unbound_channel(channel_id: str) -> Message:
    """The reply in a channel no project is bound to."""
    text = (
        f"This channel (<#{channel_id}>) belongs to no project yet. An operator binds it "
        f"with `python -m bot projects add <project> --channel {channel_id} --owner <user>`; "
        "then run the command here again."
    )
    return {"text": "This channel belongs to no project yet.", "blocks": [section(text)]}


def refusal(reason: str) -> Message:
    """A reply that says why something was refused."""
    return {"text": reason, "blocks": [section(f":no_entry: {escape_keeping_mentions(reason)}")]}


def age(since: datetime, now: datetime) -> str:
    """How long ago, as a person says it."""
    seconds = int((now - since).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def row_line(row: EndpointRow, now: datetime) -> str:
    """One endpoint as a line of a listing."""
    e, c = row.endpoint, row.cluster
    vpce = f"`{e.vpce_id}`" if e.vpce_id else "no vpce yet"
    line = (
        f"*#{e.id}* {escape(c.name)} · {c.region} · {vpce} · *{e.status.value}* · "
        f"stage {e.stage.label} · {age(row.created_at, now)}"
    )
    if e.failure_reason:
        line += f"\n      :x: {escape(clip(e.failure_reason, REASON_MAX))}"
    return line


def list_message(project: str, listing: Listing, now: datetime) -> Message:
    """`list`: the project's endpoints, packed into sections within Slack's limits."""
    rows, total = listing.rows, listing.total
    if not rows:
        return text_message(f"{project} has no private endpoints. Start one with {COMMAND} create.")
    sections: list[list[str]] = [[]]
    for row in rows:
        line = row_line(row, now)
        if sections[-1] and len("\n".join([*sections[-1], line])) > SECTION_TEXT_MAX:
            if len(sections) == MESSAGE_BLOCKS_MAX - 2:  # room for the header and a footer
                break
            sections.append([])
        sections[-1].append(line)
    blocks = [header(f"Private endpoints of {project} ({total})")]
    blocks += [section("\n".join(lines)) for lines in sections]
    shown = sum(len(lines) for lines in sections)
    if shown < total:
        blocks.append(context(f"… and {total - shown} more: see the app's Home tab."))
    return {"text": f"{total} private endpoint(s) in {project}", "blocks": blocks}


def slack_date(when: datetime) -> str:
    """`when` in the reader's own time zone (Slack's date formatting), UTC where it cannot."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _command(verb: Verb, argument: object) -> str:
    return f"`{COMMAND} {verb.value} {argument}`"


def next_step(row: EndpointRow) -> str:
    """What the reader does next about `row`'s endpoint, in words; "(owners)" marks a step
    only the project's owners can take."""
    e, c = row.endpoint, row.cluster
    edit = f"{_command(Verb.EDIT, e.id)} (owners)"
    match e.status:
        case EndpointStatus.NOT_CONFIGURED:
            return f"Give your AWS account and VPC in the wizard: {edit}."
        case EndpointStatus.INITIATING if e.verifying:
            return (
                f"Nothing to do: the bot is verifying and accepting `{e.vpce_id}`; the channel "
                "hears when it is accepted."
            )
        case EndpointStatus.INITIATING:
            return (
                "Create the interface endpoint in your VPC with the command the wizard shows, "
                f"then paste its vpce id there: {edit}."
            )
        case EndpointStatus.PENDING if e.stage is Stage.ENABLE_PRIVATE_DNS and e.vpce_id:
            modify = commands.modify_endpoint_command(vpce_id=e.vpce_id, region=c.region)
            return (
                f"Turn on private DNS for your endpoint: `{escape(modify)}`; then press Create "
                f"in the wizard: {edit}."
            )
        case EndpointStatus.PENDING:
            return (
                "Nothing to do: it turns active when AWS reports the connection available; "
                "the channel hears when."
            )
        case EndpointStatus.ACTIVE:
            return f"Connect from inside your VPC: {_command(Verb.CONNECT, escape(c.name))}."
        case EndpointStatus.FAILED:
            stage = rules.retry_stage(e.stage).label
            return (
                "Retry it: press Retry on its message in the channel, or "
                f"{edit}; the wizard resumes at {stage}."
            )
        case EndpointStatus.DELETING:
            return "Nothing to do: it is being removed from AWS; the channel hears when it is gone."
        case EndpointStatus.DELETED:
            return "Nothing to do: it was deleted."


def status_message(status: Status, now: datetime) -> Message:
    """`status <id>`: one endpoint's status and since when, its wizard stage, its vpce id, why
    it failed if it did, and the reader's next step."""
    e, c = status.row.endpoint, status.row.cluster
    vpce = f"`{e.vpce_id}`" if e.vpce_id else "none yet"
    blocks = [
        section(f"*Private endpoint #{e.id}* to *{escape(c.name)}* ({c.region})"),
        fields(
            [
                ("Status", f"*{e.status.value}*"),
                ("Since", f"{slack_date(status.since)} (for {age(status.since, now)})"),
                ("Wizard stage", e.stage.label),
                ("VPC endpoint", vpce),
            ]
        ),
    ]
    if e.status is EndpointStatus.FAILED:
        reason = e.failure_reason or "No reason was recorded."
        blocks.append(section(f":x: *Why it failed:* {escape(clip(reason, REASON_MAX))}"))
    blocks.append(section(f"*Next step:* {next_step(status.row)}"))
    return {"text": f"Private endpoint #{e.id} is {e.status.value}", "blocks": blocks}


def connect_message(connect: Connect, client: Client = Client.MYSQL_CLI) -> Message:
    """`connect`: one client's connection string, with a picker for the others."""
    cluster = connect.cluster
    chosen = next(s for s in connect.strings if s.client is client)
    options = {
        s.client: option(
            s.client.label, ConnectChoice(cluster_id=cluster.id, client=s.client).dump()
        )
        for s in connect.strings
    }
    picker = {
        "type": "static_select",
        "action_id": ActionId.CONNECT_CLIENT,
        "options": list(options.values()),
        "initial_option": options[client],
    }
    return {
        "text": f"Connect to {cluster.name} over its private endpoint",
        "blocks": [
            section(
                f"*Connect to {escape(cluster.name)}* over its private endpoint "
                f"(`{escape(cluster.private_dns_host or '')}:{cluster.port}`), from inside "
                "your VPC:",
                accessory=picker,
                block_id=BlockId.CONNECT,
            ),
            section(f"*{client.label}*\n" + code(chosen.text)),
            *_unresolved(connect),
            context("The password is read from `$DB_PASSWORD`; set it in your environment."),
        ],
    }


def _unresolved(connect: Connect) -> list[Block]:
    if connect.dns_verified is not False:
        return []
    return [
        section(
            f":warning: `{escape(connect.cluster.private_dns_host or '')}` does not resolve yet: "
            "the provider has not verified this private DNS name (the owners' message in this "
            "channel says how). Meanwhile connect to your endpoint's own DNS name: `aws ec2 "
            "describe-vpc-endpoints --query 'VpcEndpoints[].DnsEntries[0].DnsName'`."
        )
    ]


def billing_message(project: str, estimate: BillingEstimate) -> Message:
    """`billing`: the monthly estimate and how it was reached."""
    text = (
        f"*Estimated PrivateLink cost for {escape(project)}: USD {estimate.monthly_usd} "
        f"per month*\n{estimate.endpoints} billable endpoint(s) (pending or active) across "
        f"{estimate.endpoint_azs} Availability Zone(s) × USD {estimate.hourly_rate} per AZ-hour "
        f"× 730 hours.\n{estimate.note}"
    )
    return {
        "text": f"Estimated cost: USD {estimate.monthly_usd} per month",
        "blocks": [section(text)],
    }


def terminate_prompt(row: EndpointRow) -> Message:
    """`terminate <id>`: what will go, how to delete the user's own endpoint afterwards, and a
    button that asks once more."""
    e = row.endpoint
    value = EndpointRef(endpoint_id=e.id).dump()
    cleanup = (
        cleanup_blocks(
            vpce_id=e.vpce_id, region=row.cluster.region, cluster=row.cluster.name, endpoint_id=e.id
        )
        if e.vpce_id
        else []
    )
    return {
        "text": f"Terminate private endpoint #{e.id}?",
        "blocks": [
            section(
                f"Terminate private endpoint *#{e.id}* to *{escape(row.cluster.name)}* "
                f"({e.vpce_id or 'no vpce yet'}, {e.status.value})? Its connection is "
                "rejected and clients in your VPC lose access."
            ),
            actions(
                [
                    button(
                        "Terminate",
                        action_id=ActionId.TERMINATE_CONFIRMED,
                        value=value,
                        style="danger",
                        confirm=confirm_dialog(
                            title="Terminate private endpoint?",
                            text=terminate_confirmation(row),
                            confirm="Terminate",
                        ),
                    ),
                ],
                block_id=BlockId.TERMINATE_CONFIRM,
            ),
            *cleanup,
        ],
    }


def terminate_confirmation(row: EndpointRow) -> str:
    """The plain text of Terminate's confirmation dialog (at most 300 characters)."""
    e = row.endpoint
    text = f"#{e.id} to {row.cluster.name} stops working for every client."
    if not e.vpce_id:
        return text
    command = commands.delete_endpoint_command(vpce_id=e.vpce_id, region=row.cluster.region)
    return f"{text} Then delete {e.vpce_id} in your AWS account: {command}"


def terminated_message(
    *, endpoint_id: int, vpce_id: str | None, region: str, cluster: str
) -> Message:
    """The reply once Terminate is confirmed: what happens, and the user's own clean-up."""
    text = f"Private endpoint #{endpoint_id} is being deleted; the channel hears when it is gone."
    blocks = [section(escape(text))]
    if vpce_id:
        blocks += cleanup_blocks(
            vpce_id=vpce_id, region=region, cluster=cluster, endpoint_id=endpoint_id
        )
    return {"text": text, "blocks": blocks}
