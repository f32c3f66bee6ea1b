"""What listeners need besides Slack: the database and the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from slack_bolt import Ack
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.storage.db import read_only, run_in_transaction

T = TypeVar("T")
log = logging.getLogger("bot.slack")


@dataclass(frozen=True, slots=True)
class Deps:
    sessions: sessionmaker[Session]
    settings: Settings

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction; a lost race (stale version, duplicate key) reruns it."""
        return run_in_transaction(self.sessions, work)

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work`, which only reads, in one read-only transaction."""
        with self.sessions.begin() as session:
            return work(read_only(session))


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
