"""The worker: the reconcile loop and the outbox sender, each on its own thread."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.reconcile.policy import ReconcilePolicy
from bot.slack import oauth
from bot.slack.workspaces import InstalledWorkspaces, OneWorkspace, Workspaces, metered_client
from bot.worker import outbox, reconciler
from bot.worker.health import Heartbeat
from bot.worker.outbox import SendPolicy

log = logging.getLogger(__name__)
OUTBOX_INTERVAL_SECONDS = 1.0
SLACK_TIMEOUT_SECONDS = 10  # a Slack call outlasting this counts as failed (and is retried)
HOT_INTERVAL_SECONDS = 2.0
"""How often a service whose wizard waits on AWS is looked at (the rest: the interval)."""
STALE_PASSES = 4  # /healthz fails once a loop's last good pass is this many intervals old,
STALE_AFTER_MIN = 60.0  # and never sooner than this (seconds): one slow pass is not an outage


def policies(
    interval: float, *, stuck_after: float = ReconcilePolicy.stuck_after
) -> tuple[ReconcilePolicy, SendPolicy]:
    """Leases that follow BOT_RECONCILE_INTERVAL: a crashed worker's claims pass to another
    after about 20 intervals (300 s and 120 s at the default 15 s interval, at least 10 s and
    15 s), always longer than a pass and than a Slack call; reminders after `stuck_after`
    seconds (BOT_STUCK_AFTER)."""
    lease = min(300.0, max(10.0, 20 * interval))
    reconcile = ReconcilePolicy(
        lease=lease,
        lease_margin=lease / 4,
        interval=interval,
        hot_interval=min(interval, HOT_INTERVAL_SECONDS),
        stuck_after=stuck_after,
    )
    send = SendPolicy(lease=min(120.0, max(1.5 * SLACK_TIMEOUT_SECONDS, 20 * interval)))
    return reconcile, send


@dataclass
class Worker:
    """Running worker threads; `stop()` ends them after their current step. `heartbeat` says
    whether they are doing their work (`/healthz`)."""

    stop_event: threading.Event
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self, *, timeout: float = 30.0) -> None:
        """Ask the loops to stop and wait for them."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=timeout)

    def alive(self) -> bool:
        """Whether every loop is still running."""
        return all(thread.is_alive() for thread in self.threads)


def slack_workspaces(settings: Settings, sessions: sessionmaker[Session]) -> Workspaces:
    """Who the worker posts and updates as: the one bot token, or each workspace's install."""
    make_client = metered_client(base_url=settings.SLACK_API_URL, timeout=SLACK_TIMEOUT_SECONDS)
    if not settings.oauth:
        return OneWorkspace(make_client(settings.require_bot_token()))
    engine = sessions.kw["bind"]
    store = oauth.installation_store(settings, engine, installed=lambda team: None)
    return InstalledWorkspaces(bot_token=store.bot_token, make_client=make_client)


def start_worker(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    slack: WebClient | Workspaces | None = None,
) -> Worker:
    """Start the reconcile loop (every BOT_RECONCILE_INTERVAL seconds) and the outbox sender."""
    client = slack or slack_workspaces(settings, sessions)
    reconcile_policy, send_policy = policies(
        settings.BOT_RECONCILE_INTERVAL, stuck_after=settings.BOT_STUCK_AFTER
    )
    worker = Worker(stop_event=threading.Event())
    loops = {
        "reconcile": lambda: reconciler.run_forever(
            stop=worker.stop_event,
            interval=settings.BOT_RECONCILE_INTERVAL,
            sessions=sessions,
            gateways=reconciler.gateway_factory(),
            slack=client,
            policy=reconcile_policy,
            heartbeat=worker.heartbeat,
        ),
        "outbox": lambda: outbox.run_forever(
            sessions=sessions,
            client=client,
            stop_event=worker.stop_event,
            interval=OUTBOX_INTERVAL_SECONDS,
            policy=send_policy,
            heartbeat=worker.heartbeat,
        ),
    }
    stale_after = {
        "reconcile": max(STALE_AFTER_MIN, STALE_PASSES * settings.BOT_RECONCILE_INTERVAL),
        "outbox": max(STALE_AFTER_MIN, send_policy.lease),
    }
    for name, loop in loops.items():
        thread = threading.Thread(target=loop, name=f"worker-{name}", daemon=True)
        worker.heartbeat.watch(name, stale_after=stale_after[name])
        worker.heartbeat.alive_while(name, thread.is_alive)
        thread.start()
        worker.threads.append(thread)
    log.info("worker started: reconcile every %ss, outbox sender", settings.BOT_RECONCILE_INTERVAL)
    return worker


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM from now on (install it before starting anything)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return stop


def run_until_signalled(worker: Worker, stop: threading.Event | None = None) -> None:
    """Block until `stop` (by default: SIGINT or SIGTERM from now on), then stop the worker."""
    stop = stop or stop_on_signals()
    while not stop.wait(1.0):
        if not worker.alive():
            log.error("a worker loop ended unexpectedly; stopping")
            break
    worker.stop()
