"""Each serving process on one core.

A process's threads take turns on one interpreter lock. Spread over several cores, each hand-over
wakes a thread on another core, which takes the lock while the one that let it go (for a
database call or a socket write) comes back and waits: the process spends more CPU the more
requests are in flight (docs/benchmarks.md, "Concurrency"). On one core the hand-overs are
plain switches between threads, and a request costs as much at 32 in flight as alone.

So `serve` runs each serving process's threads on one of the cores it may use
(`BOT_PIN_TO_CORE`), the processes of one `serve` on different cores while there are enough,
starting from a core that the host's name chooses, so that the pods of one node start apart.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("bot.cores")
TASKS = Path("/proc/self/task")  # one entry per thread of this process (Linux)


def allowed() -> list[int]:
    """The cores this process may run on, in order; none where the system cannot tell."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def choose(cores: list[int], taken: Iterable[int | None], *, salt: str) -> int | None:
    """The core for a new serving process: of `cores`, the one the fewest of its siblings hold
    (`taken`), the first such counted from a place that `salt` chooses; None when there is no
    choice to make (one core or none)."""
    if len(cores) < 2:
        return None
    held = Counter(core for core in taken if core is not None)
    start = zlib.crc32(salt.encode()) % len(cores)
    turn = cores[start:] + cores[:start]
    return min(turn, key=lambda core: held[core])


def host_salt() -> str:
    """What spreads the pods of one node over its cores: each has its own host name."""
    return socket.gethostname()


def pin(core: int | None) -> None:
    """Run every thread of this process on `core`, and every thread it starts later (they
    inherit it); nothing for None, or where the system does not let it."""
    if core is None or not hasattr(os, "sched_setaffinity"):
        return
    try:
        threads = [int(task.name) for task in TASKS.iterdir()]
    except OSError:
        threads = [0]  # this thread: those it starts follow
    for thread in threads:
        try:
            os.sched_setaffinity(thread, {core})
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
        except OSError as error:
            log.warning("cannot run process %s on core %s: %s", os.getpid(), core, error)
            return
    log.info("process %s runs on core %s", os.getpid(), core)
