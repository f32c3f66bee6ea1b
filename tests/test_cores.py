"""Each serving process on one core (bot.cores): which core, every thread on it, and `serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cores import choose
from bot.storage.db import make_sessionmaker
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn
from sandbox.slack_client import SlackRequestClient
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import CHANNEL, OWNER, SECRET, seed
from tests.slack.test_serve import first_health, free_port

CORES = sorted(os.sched_getaffinity(0))
standin = slack_fixtures.standin  # the Slack stand-in on a free port, shared with tests/slack
needs_two_cores = pytest.mark.skipif(len(CORES) < 2, reason="one core: nothing to choose")


def thread_cores(pid: int) -> dict[int, frozenset[int]]:
    """Each thread of process `pid`: the cores it may run on, read from /proc ("0-2,5")."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        [line] = [line for line in status.splitlines() if line.startswith("Cpus_allowed_list:")]
        cores: set[int] = set()
        for part in line.split(":", 1)[1].strip().split(","):
            first, _, last = part.partition("-")
            cores |= set(range(int(first), int(last or first) + 1))
        found[int(task.name)] = frozenset(cores)
    return found


def test_no_choice_with_one_core_or_none() -> None:
    assert choose([], [], salt="host") is None
    assert choose([3], [3, 3], salt="host") is None


def test_siblings_take_distinct_cores_while_there_are_enough() -> None:
    taken: list[int | None] = []
    for _ in range(4):
        core = choose([0, 1, 2, 3], taken, salt="pod-a")
        assert core not in taken
        taken.append(core)
    assert sorted(c for c in taken if c is not None) == [0, 1, 2, 3]
    fifth = choose([0, 1, 2, 3], taken, salt="pod-a")  # more processes than cores: doubled up
    assert fifth in (0, 1, 2, 3)
    assert choose([0, 1, 2, 3], [*taken, fifth], salt="pod-a") != fifth


def test_a_replaced_process_takes_the_core_its_predecessor_left() -> None:
    assert choose([0, 1, 2, 3], [0, 1, 3, None], salt="pod-a") == 2


def test_the_host_name_chooses_where_the_turn_starts() -> None:
    starts = {choose(list(range(8)), [], salt=f"pod-{n}") for n in range(40)}
    assert len(starts) >= 4  # pods of one node do not all start on the same core
    assert choose(list(range(8)), [], salt="pod-1") == choose(list(range(8)), [], salt="pod-1")


@needs_two_cores
def test_pin_moves_every_thread_and_those_started_after() -> None:
    script = textwrap.dedent(
        f"""
        import os, threading, time
        from bot.cores import pin
        before = threading.Thread(target=time.sleep, args=(3,), daemon=True)
        before.start()
        pin({CORES[-1]})
        after = threading.Thread(target=time.sleep, args=(3,), daemon=True)
        after.start()
        print(os.getpid(), flush=True)
        time.sleep(3)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        pid = int(process.stdout.readline())
        found = thread_cores(pid)
        assert len(found) == 3
        assert set(found.values()) == {frozenset([CORES[-1]])}
    finally:
        process.kill()
        process.wait()


def serve_env(database_url: str, standin: RunningStandIn, pin: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
        "BOT_PIN_TO_CORE": pin,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return env


@needs_two_cores
@pytest.mark.parametrize("pin", ["true", "false"])
def test_serve_runs_on_one_core_unless_told_not_to(
    pin: str,
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
) -> None:
    seed(make_sessionmaker(db_engine))
    port = free_port()
    argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--processes", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv],  # with its worker: a thread started before
        env=serve_env(clean_database, standin, pin),
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert first_health(process, base) == (200, "ok\n")
        client = SlackRequestClient(base, signing_secret=SECRET)
        reply = client.slash_command("/private-endpoint", "list", user_id=OWNER, channel_id=CHANNEL)
        assert reply.status == 200  # threads started for a request follow too
        found = thread_cores(process.pid)
        assert len(found) > 4  # waitress's loop and threads, the worker's, Bolt's
        if pin == "true":
            [one] = set(found.values())
            assert len(one) == 1 and one <= set(CORES)
        else:
            assert set(found.values()) == {frozenset(CORES)}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
