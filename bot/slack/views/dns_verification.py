"""The channel thread of an endpoint service's private DNS name verification: pure builders.

One parent message per service, posted in the project's channel and updated in place: while
the name is not verified it mentions the owners, gives the TXT record to publish and carries
Verify now; once AWS is checking, or has verified the name, it says so instead. Each change
(needs verification, started, verified, failed) is a reply. The notice itself is
`bot.notices.dns_verification.DnsVerification`; `bot.slack.renderers` renders it with these
builders.
"""

from __future__ import annotations

from bot.domain.dns_verification import DnsChange, DnsState, dns_label
from bot.notices.dns_verification import DnsSnapshot
from bot.slack.ids import ActionId
from bot.slack.metadata import ServiceRef
from bot.slack.views.alerts import Message, escape_keeping_mentions
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    clip,
    code,
    context,
    escape,
    header,
    section,
)

REASON_MAX = 1500
FALLBACK_MAX = 3000
MODIFY_COMMAND = (
    "aws ec2 modify-vpc-endpoint --vpc-endpoint-id <vpce-id> --region {region} "
    "--private-dns-enabled"
)


def _title(s: DnsSnapshot) -> str:
    where = f"Private DNS for {s.cluster} ({s.region})"
    if s.state == DnsState.VERIFIED:
        return f"{where} is verified"
    if s.state == DnsState.VERIFYING:
        return f"{where} is being verified"
    return f"{where} needs verification"


def _owners(s: DnsSnapshot) -> str:
    mentions = " ".join(f"<@{owner}>" for owner in sorted(s.owners))
    return mentions or "Project owners"


def _record(s: DnsSnapshot) -> list[Block]:
    if not (s.txt_name and s.txt_value):
        return [section("AWS has not given the TXT record yet; this message shows it once it has.")]
    domain = escape(s.domain)
    return [
        section(
            f"*TXT record name* (under `{domain}`, that is "
            f"`{escape(s.txt_name)}.{domain}`)\n{code(s.txt_name)}"
        ),
        section(f"*TXT record value*\n{code(s.txt_value)}"),
    ]


def dns_message(s: DnsSnapshot) -> Message:
    """The parent message: what to publish and Verify now, or that AWS checks or verified."""
    domain = escape(s.domain)
    blocks: list[Block] = [header(_title(s))]
    if s.state == DnsState.VERIFIED:
        blocks.append(
            section(
                f":white_check_mark: AWS has verified `{domain}`: connection strings for it "
                f"resolve in every VPC whose endpoint to {escape(s.cluster)} has private DNS "
                "enabled."
            )
        )
    else:
        blocks.append(
            section(
                f"{_owners(s)}: consumers can reach {escape(s.cluster)} at `{domain}` only once "
                "AWS has verified that the provider owns the domain. Publish this TXT record in "
                f"the public DNS zone of `{domain}` (or of a parent domain you own), then press "
                "*Verify now*."
            )
        )
        blocks += _record(s)
        if s.state == DnsState.FAILED:
            reason = escape(clip(s.failure_reason or "AWS gave no reason.", REASON_MAX))
            blocks.append(section(f":x: *The last verification failed:* {reason}"))
        if s.state == DnsState.VERIFYING:
            blocks.append(
                section(
                    ":hourglass_flowing_sand: AWS is checking the TXT record; the result is "
                    "posted in this thread."
                )
            )
        else:
            verify = button(
                "Verify now",
                action_id=ActionId.VERIFY_DNS,
                value=ServiceRef(service_id=s.service_id).dump(),
                style="primary",
            )
            blocks.append(actions([verify]))
    service = f" · endpoint service `{escape(s.aws_service_id)}`" if s.aws_service_id else ""
    who = "" if s.state == DnsState.VERIFIED else " Only project owners can press Verify now;"
    blocks.append(
        context(f"State: *{dns_label(s.state)}*{service}.{who} Every change is in this thread.")
    )
    fallback = escape(f"{_title(s)}: {s.domain}")
    return {"text": clip(fallback, FALLBACK_MAX), "blocks": blocks}


def dns_reply(*, change: DnsChange, dns: DnsSnapshot, actor: str | None = None) -> Message:
    """One change of the name, as a line in its thread."""
    s, domain = dns, escape(dns.domain)
    blocks: list[Block]
    if change is DnsChange.STARTED:
        who = f" by <@{actor}>" if actor else ""
        line = f"Verification started{who}: AWS is checking the TXT record for `{s.domain}`."
        blocks = [section(escape_keeping_mentions(line))]
    elif change is DnsChange.VERIFIED:
        line = f"Verified ✓: connection strings for `{domain}` now resolve."
        blocks = [
            section(f":white_check_mark: {line}"),
            section(
                "On an endpoint created before now, turn private DNS on:\n"
                + code(MODIFY_COMMAND.format(region=s.region))
            ),
        ]
    elif change is DnsChange.FAILED:
        reason = clip(s.failure_reason or "AWS gave no reason.", REASON_MAX)
        line = f"Verification failed: {reason}"
        blocks = [
            section(f":x: {escape(line)}"),
            context("Publish the TXT record shown above, then press Verify now again."),
        ]
    else:
        line = (
            f"The private DNS name `{domain}` is not verified yet, so connection strings for it "
            "do not resolve. Owners: publish the TXT record above, then press Verify now."
        )
        blocks = [section(f":warning: {line}")]
    return {"text": clip(line, FALLBACK_MAX), "blocks": blocks}
