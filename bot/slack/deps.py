"""What listeners need besides Slack: the database and the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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
