"""Fixtures of the benchmarks: the Slack stand-in in its own process, on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.slack_api import StandInRemote
from tests.benchmarks._procs import Proc, free_port, serving


@dataclass(frozen=True)
class StandIn:
    """The stand-in process: its Web API base URL, its root, and its control API."""

    proc: Proc
    root_url: str
    remote: StandInRemote

    @property
    def api_url(self) -> str:
        return f"{self.root_url}api/"

    @property
    def hooks_url(self) -> str:
        return f"{self.root_url}hooks/"


@pytest.fixture
def standin_process(tmp_path: Path) -> Iterator[StandIn]:
    """`python -m sandbox.slack` on a free port, trigger ids that never expire."""
    port = free_port()
    root = f"http://127.0.0.1:{port}/"
    args = ["--port", str(port), "--trigger-ttl", "0"]
    with serving(
        "slack-standin",
        "sandbox.slack",
        args,
        ready_url=f"{root}_standin/calls?method=auth.test",
        env={},
        log_dir=tmp_path,
    ) as proc:
        yield StandIn(proc=proc, root_url=root, remote=StandInRemote(root))
