"""The Home tab: the "Private Endpoint" page of the user's projects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.entities import Project
from bot.services.endpoints import EndpointRow, Listing
from bot.slack.ids import COMMAND, ActionId, BlockId
from bot.slack.metadata import EndpointRef
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    escape,
    header,
    section,
)
from bot.slack.views.messages import row_line, terminate_confirmation

VIEW_BLOCKS_MAX = 100


def _buttons(row: EndpointRow) -> Block | None:
    value = EndpointRef(endpoint_id=row.endpoint.id).dump()
    elements: list[Block] = []
    if row.can_edit:
        elements.append(button("Edit", action_id=ActionId.EDIT, value=value))
    if row.can_terminate:
        elements.append(
            button(
                "Terminate",
                action_id=ActionId.TERMINATE,
                value=value,
                style="danger",
                confirm=confirm_dialog(
                    title="Terminate private endpoint?",
                    text=terminate_confirmation(row),
                    confirm="Terminate",
                ),
            )
        )
    if not elements:
        return None
    return actions(elements, block_id=f"{BlockId.ENDPOINT_ACTIONS}_{row.endpoint.id}")


def rows_that_fit(projects: int) -> int:
    """The most endpoints of one project the Home tab can show beside `projects` projects."""
    return max(0, VIEW_BLOCKS_MAX - 1 - 3 * projects)  # each project: divider, header, footer


def home_view(
    *, user_id: str, projects: list[Project], listings: dict[int, Listing], now: datetime
) -> dict[str, Any]:
    """The Home tab for `user_id`: each project's endpoints, with the buttons the rules allow."""
    blocks: list[Block] = [header("Private Endpoint")]
    if not projects:
        blocks.append(
            section(
                "You are in no project yet. Run `" + COMMAND + " help` in a project's channel; "
                "projects appear here once you have used the bot there."
            )
        )
    budget = rows_that_fit(len(projects))
    for project in projects:
        listing = listings.get(project.id, Listing(rows=[], total=0))
        is_owner = user_id in project.owners
        role = "owner" if is_owner else "member"
        blocks += [
            divider(),
            section(
                f"*{escape(project.name)}* · <#{project.channel_id}> · "
                f"you are {role} · {listing.total} endpoint(s)"
            ),
        ]
        shown = 0
        for row in listing.rows:
            row_blocks = [section(row_line(row, now))]
            controls = _buttons(row) if is_owner else None
            if controls is not None:
                row_blocks.append(controls)
            if len(row_blocks) > budget:
                break
            blocks += row_blocks
            budget -= len(row_blocks)
            shown += 1
        if shown < listing.total:
            blocks.append(
                context(
                    f"{listing.total - shown} more not shown: run `{COMMAND} "
                    f"list` in <#{project.channel_id}>."
                )
            )
        elif not listing.total:
            blocks.append(
                context(f"No private endpoints. Run `{COMMAND} create` in <#{project.channel_id}>.")
            )
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}
