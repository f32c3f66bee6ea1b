"""Opening and answering with modals, shared by the listeners."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services import wizard
from bot.slack.client import without_retries
from bot.slack.deps import Deps, log
from bot.slack.ids import CallbackId
from bot.slack.metadata import WizardMetadata
from bot.slack.views.alerts import escape_keeping_mentions
from bot.slack.views.blocks import modal, section
from bot.slack.views.wizard import TITLE


def message_view(text: str) -> dict[str, Any]:
    """A modal that only says why the wizard cannot go on."""
    return modal(
        title=TITLE,
        blocks=[section(f":no_entry: {escape_keeping_mentions(text)}")],
        callback_id=CallbackId.MESSAGE,
        private_metadata="",
        close="Close",
    )


def endpoint_of(view: dict[str, Any]) -> int | None:
    """The private endpoint a wizard view shows, if any."""
    try:
        return WizardMetadata.model_validate_json(view.get("private_metadata") or "").endpoint_id
    except ValidationError:
        return None


def open_modal(deps: Deps, client: WebClient, trigger_id: str, view: dict[str, Any]) -> bool:
    """Open `view`; a wizard view's id is kept so the worker can update it in place. Tried once:
    a trigger opens one view, and a repeat after a lost answer would only fail."""
    try:
        opened = without_retries(client).views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        return False
    except (SlackClientError, OSError) as error:
        log.warning("views.open failed: %s", type(error).__name__)
        return False
    endpoint_id, view_id = endpoint_of(view), (opened.get("view") or {}).get("id")
    if endpoint_id is not None and view_id:
        deps.run(
            lambda session: wizard.remember_view(
                session=session, endpoint_id=endpoint_id, view_id=view_id
            )
        )
    return True
