"""Live modal updates: an open wizard shows, in place, what the worker has just learned.

Called after the pass's transactions have committed, never inside one. A modal the user has
closed (`not_found`) is forgotten, and one another update got to first (`hash_conflict`) is
left alone; neither is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.services import reconcile
from bot.slack.views.wizard import wizard_view
from bot.storage.db import transaction
from bot.worker.reconcile_save import ModalTarget

log = logging.getLogger(__name__)

CLOSED = "not_found"
OVERTAKEN = "hash_conflict"


@dataclass
class ModalReport:
    """How many modals were updated, found closed, or could not be updated."""

    updated: int = 0
    closed: int = 0
    failed: int = 0


def push(
    *, sessions: sessionmaker[Session], client: WebClient, targets: Sequence[ModalTarget]
) -> ModalReport:
    """Show each target's wizard in its open modal (the latest state per endpoint)."""
    report = ModalReport()
    latest = {target.endpoint_id: target for target in targets}
    closed: list[tuple[int, str]] = []
    for target in latest.values():
        try:
            client.views_update(view_id=target.view_id, view=wizard_view(target.state))
        except SlackApiError as error:
            code = error.response.get("error")
            if code == CLOSED:
                closed.append((target.endpoint_id, target.view_id))
                report.closed += 1
            elif code != OVERTAKEN:
                report.failed += 1
                log.warning(
                    "modal_update_failed endpoint=%s view=%s error=%s",
                    target.endpoint_id,
                    target.view_id,
                    code,
                )
            continue
        except (SlackClientError, OSError) as error:
            report.failed += 1
            log.warning(
                "modal_update_failed endpoint=%s view=%s: %s",
                target.endpoint_id,
                target.view_id,
                error,
            )
            continue
        report.updated += 1
    if closed:
        with transaction(sessions) as session:
            reconcile.forget_views(session=session, views=closed)
    return report
