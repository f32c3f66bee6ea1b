"""What the outbox's sender works with: its pacing and retry policy, the report of a pass, and
one claimed row as it is being sent (`Work`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.notices.base import Notice
from bot.slack.notifier import Notifier

MIN_PAUSE_SECONDS = 0.05
Checkpoint = Callable[[int, str], None]


@dataclass(frozen=True)
class SendPolicy:
    """How the sender paces, leases and retries (seconds; the lease outlasts a Slack call)."""

    spacing: float = 1.0
    lease: float = 120.0
    batch: int = 50
    backoff_base: float = 2.0
    backoff_cap: float = 900.0
    max_attempts: int = 8
    max_permanent_attempts: int = 3
    recheck: float = 900.0  # a held channel is tried again this often (a missed fix, an event)

    def backoff(self, attempts: int) -> float:
        """The wait before try number `attempts + 1`."""
        return float(min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1)))


DEFAULT_POLICY = SendPolicy()


@dataclass
class SendReport:
    """What one pass did, for metrics and benchmarks."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    dead: int = 0
    deferred: int = 0
    lost: int = 0
    found: int = 0  # posts found made already, after a try whose outcome was unknown
    held: int = 0  # rows held: their channel takes no post until a person acts
    next_due_at: datetime | None = None

    def due(self, at: datetime) -> None:
        """Note that a row this pass left behind is due again at `at`."""
        self.next_due_at = at if self.next_due_at is None else min(self.next_due_at, at)


@dataclass(frozen=True)
class Work:
    id: int
    team_id: str  # "" while the project's workspace is not known (one workspace: any)
    channel_id: str
    notice: Notice
    attempts: int
    parent_ts: str | None  # this row's parent step is done, on this message
    known_parent: str | None  # the endpoint's parent message, from earlier rows
    endpoint_id: int | None
    post_started_at: datetime | None  # a post of the next step may have been made since then
    held_at: datetime | None  # held since then: the owners were told
    notifier: Notifier | None  # Slack as the workspace's bot; None: the app is not installed

    @property
    def slack(self) -> Notifier:
        """The workspace's notifier (rows of a workspace without the app are held first)."""
        assert self.notifier is not None
        return self.notifier
