"""The time of one worker pass: a fixed start (tests pass one), advancing with the monotonic
clock, so that a pass's deadlines hold even when the wall clock jumps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from bot.storage.types import utcnow


class Clock:
    """The pass's time: `start` (or now), advancing with the monotonic clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or utcnow()
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)
