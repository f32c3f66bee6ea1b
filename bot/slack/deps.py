"""What listeners need besides Slack: the database, the settings, the project cache and AWS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.gateways import Gateways, gateway_factory
from bot.config import Settings
from bot.storage.db import read_only, run_in_transaction
from bot.storage.project_cache import ProjectCache

T = TypeVar("T")
log = logging.getLogger("bot.slack")


@dataclass(frozen=True, slots=True)
class Deps:
    sessions: sessionmaker[Session]
    settings: Settings
    projects: ProjectCache = field(default_factory=ProjectCache)
    """The channels' projects this process has read, checked against the database on each use."""
    gateways: Gateways = field(default_factory=gateway_factory)
    """AWS in each region, from boto3's environment, for answers that read it (after the ack)."""

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction; a lost race (stale version, duplicate key) reruns it.
        On SQLite it takes the write lock at its first write, if it writes (`OPTIMISTIC`)."""
        return run_in_transaction(self.sessions, work, optimistic=True)

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work`, which only reads, in one read-only transaction."""
        with self.sessions.begin() as session:
            return work(read_only(session))
