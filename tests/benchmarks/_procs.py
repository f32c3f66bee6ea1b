"""The benchmarks' child processes: free ports, readiness checks, logs on disk, sure stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_SECONDS = 10.0
# Variables of the parent that would change what a child does (Socket Mode instead of HTTP).
DROPPED_ENV = ("SLACK_APP_TOKEN",)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Proc:
    """A child process whose output goes to a log file (a pipe nobody reads would fill up)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of its output, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT (a clean KeyboardInterrupt), then SIGTERM, then SIGKILL; always reaped."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if not self.alive():
                break
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                continue
        self.popen.wait()


def python_module(
    name: str,
    module: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    log_dir: Path,
) -> Proc:
    """Start `python -m module args…` from the repository root with `env` on top of ours."""
    child_env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV} | dict(env)
    child_env["PYTHONUNBUFFERED"] = "1"
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Proc(name=name, popen=popen, log_path=log_path)


def wait_until_ready(proc: Proc, url: str, *, timeout: float = 30.0) -> None:
    """Poll `url` (GET) until it answers below 500; fail with the child's log if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{proc.name} did not answer {url} in {timeout:.0f}s:\n{proc.log_tail()}")


@contextmanager
def serving(
    name: str,
    module: str,
    args: Sequence[str],
    *,
    ready_url: str,
    env: Mapping[str, str],
    log_dir: Path,
) -> Iterator[Proc]:
    """A child server, ready when `ready_url` answers; stopped on exit, even after a failure."""
    proc = python_module(name, module, args, env=env, log_dir=log_dir)
    try:
        wait_until_ready(proc, ready_url)
        yield proc
    finally:
        proc.stop()
