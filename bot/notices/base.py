"""The base of every outbox notice: a frozen payload that names its thread."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Notice(BaseModel):
    """One change to tell a channel about, in the thread it belongs to."""

    model_config = ConfigDict(frozen=True)

    KIND: ClassVar[str]
    """The outbox kind this notice is stored under."""

    broadcast: bool = False  # the reply is also shown in the channel

    @property
    @abstractmethod
    def thread_key(self) -> str:
        """The thread: one parent message per key (`endpoint:7`, `dns:3`, …)."""
