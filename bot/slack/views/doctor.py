"""`/private-endpoint doctor <id>`: the ack that says the bot is checking, and the checklist.

The checklist is one message: what the bot sees on the provider's side, a line per check with
its mark and, when something is wrong, its fix; then the checks only the user's account can
run, each a command with the endpoint's real values, what a good answer looks like and what a
bad one means. Every text is clipped to Slack's limits; the message stays far under 50 blocks.
"""

from __future__ import annotations

from bot.domain.doctor import Check, Mark, stage_note
from bot.domain.user_side_checks import UserCheck
from bot.services.doctor import Diagnosis, Patient
from bot.slack.views.blocks import (
    SECTION_TEXT_MAX,
    Block,
    clip,
    code,
    context,
    divider,
    escape,
    header,
    section,
)
from bot.slack.views.messages import Message

MARKS = {
    Mark.OK: ":white_check_mark:",
    Mark.BAD: ":x:",
    Mark.WAITING: ":hourglass_flowing_sand:",
    Mark.NOT_YET: ":white_circle:",
}
"""How each mark is shown: ✅ as it should be, ❌ wrong, ⏳ on its way, ⚪ nothing to check yet."""
DETAILS_SHOWN = 8  # unhealthy targets listed by name; the rest counted
SEEN_MAX, DETAIL_MAX, FIX_MAX = 600, 200, 500
"""Characters of a line's parts: with 8 details, a line stays within a section's 3,000."""


def checking_message(patient: Patient) -> Message:
    """The ack: which endpoint is being checked, and that the checklist follows."""
    e, c = patient.endpoint, patient.cluster
    text = (
        f":stethoscope: Checking private endpoint #{e.id} to *{escape(c.name)}* ({c.region}) "
        "with AWS; the checklist follows in a few seconds."
    )
    return {"text": f"Checking private endpoint #{e.id}", "blocks": [section(text)]}


def check_line(check: Check) -> str:
    """One line of the checklist: its mark, its name, what was seen, the fix."""
    text = f"{MARKS[check.mark]} *{check.topic.label}:* {escape(clip(check.seen, SEEN_MAX))}"
    shown = check.details[:DETAILS_SHOWN]
    text += "".join(f"\n      :x: {escape(clip(line, DETAIL_MAX))}" for line in shown)
    if len(check.details) > len(shown):
        text += f"\n      … and {len(check.details) - len(shown)} more"
    if check.fix:
        text += f"\n      *Fix:* {escape(clip(check.fix, FIX_MAX))}"
    return clip(text, SECTION_TEXT_MAX)


def user_check_blocks(number: int, check: UserCheck) -> list[Block]:
    """One of the user's checks: its command, a good answer, a bad one and its fix."""
    return [
        section(
            clip(
                f"*{number}. {escape(check.title)}*\n{code(check.command)}",
                SECTION_TEXT_MAX,
            )
        ),
        context(clip(f"*Good:* {escape(check.good)}\n*Bad:* {escape(check.bad)}", 3000)),
    ]


def doctor_message(diagnosis: Diagnosis) -> Message:
    """The checklist of one endpoint."""
    e, c = diagnosis.patient.endpoint, diagnosis.patient.cluster
    where = [f"`{e.vpce_id}`" if e.vpce_id else "no VPC endpoint yet", c.region]
    if diagnosis.host:
        where.append(f"`{escape(diagnosis.host)}:{c.port}`")
    blocks: list[Block] = [
        header(f"Doctor: private endpoint #{e.id} to {c.name}"),
        context(" · ".join([f"*{e.status.value}*", *where])),
    ]
    note = stage_note(e)
    if note is not None:
        blocks.append(section(escape(note)))
    blocks.append(section("*What the bot sees*"))
    blocks += [section(check_line(check)) for check in diagnosis.checks]
    if diagnosis.user_checks:
        blocks += [
            divider(),
            section(
                "*What only you can check*, with the credentials of your AWS account (and the "
                "last two from an instance inside your VPC):"
            ),
        ]
        for number, check in enumerate(diagnosis.user_checks, start=1):
            blocks += user_check_blocks(number, check)
    bad = sum(check.mark is Mark.BAD for check in diagnosis.checks)
    summary = f"{bad} problem(s) found" if bad else "nothing wrong on the provider's side"
    return {"text": f"Doctor for private endpoint #{e.id}: {summary}", "blocks": blocks}
