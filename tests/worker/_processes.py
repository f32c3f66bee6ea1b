"""The world of `test_worker_processes` (no tests here): `python -m bot worker` processes against
one database, the local AWS served over HTTP by the test process, the Slack stand-in, projects
with a cluster each, consumer accounts with their VPCs, and the wizard's steps as owners take
them, so that the workers have AWS mutations and channel posts to make."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, Stage, Tier
from bot.services import clusters, projects, wizard
from bot.slack.notifier import METADATA_EVENT_TYPE
from bot.storage import orm
from bot.storage.db import run_in_transaction, transaction
from sandbox.aws import (
    ConsumerNetwork,
    credentials_for_account,
    provider_credentials,
    seed_consumer_network,
    seed_provider_network,
    zone_ids,
)
from sandbox.slack_api import DEFAULT_TOKEN, SlackStandIn
from tests.aws_fixtures import REGION, ec2_client

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

OWNER = "U0OWNER001"
REPO_ROOT = Path(__file__).resolve().parents[2]
MUTATIONS = (
    "CreateVpcEndpointServiceConfiguration",
    "ModifyVpcEndpointServicePermissions",
    "AcceptVpcEndpointConnections",
    "RejectVpcEndpointConnections",
    "DeleteVpcEndpointServiceConfigurations",
    "StartVpcEndpointServicePrivateDnsVerification",
)
TRANSITION = re.compile(r"transition subject=private_endpoint .* worker=")
POLL_SECONDS = 0.1


# --- worker processes ---------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """One `python -m bot worker`, its output going to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stopped: bool = False  # by the test (SIGTERM or SIGKILL), not on its own

    def logs(self) -> str:
        """What the worker has logged so far."""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def terminate(self, *, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit; its return code."""
        self.stopped = True
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL (no clean-up at all), and reap it."""
        self.stopped = True
        self.process.kill()
        self.process.wait(timeout=10)

    def transitions(self) -> int:
        """Private endpoint transitions this worker saved, by its log."""
        return len(TRANSITION.findall(self.logs()))

    def errors(self) -> list[str]:
        """Log lines of errors and tracebacks (a failed pass is logged, then retried)."""
        lines = self.logs().splitlines()
        return [line for line in lines if " ERROR " in line or line.startswith("Traceback")]


@dataclass
class Fleet:
    """Worker processes sharing one environment; every one of them is killed on exit."""

    env: dict[str, str]
    log_dir: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(self, name: str) -> WorkerProcess:
        """Start another worker process."""
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--port", "0"],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(name, process, log_path)
        self.workers.append(worker)
        return worker

    def check(self) -> None:
        """Fail, with its log, if a worker that was not stopped by the test has exited."""
        for worker in self.workers:
            if not worker.stopped and not worker.alive():
                raise AssertionError(
                    f"worker {worker.name} exited ({worker.process.returncode}):\n"
                    f"{worker.logs()[-3000:]}"
                )

    def kill_all(self) -> None:
        """Kill whatever still runs (the clean-up of a failed test)."""
        for worker in self.workers:
            if worker.alive():
                worker.kill()


@contextmanager
def fleet(env: Mapping[str, str], log_dir: Path) -> Iterator[Fleet]:
    """A fleet whose processes are all gone when the block ends, however it ends."""
    running = Fleet(env=dict(env), log_dir=log_dir)
    try:
        yield running
    finally:
        running.kill_all()


def worker_env(
    *,
    database_url: str,
    slack_api_url: str,
    aws_url: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a worker: the database, the stand-in, the local AWS as the provider."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "BOT_"))}
    env |= {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_API_URL": slack_api_url,
        "BOT_RECONCILE_INTERVAL": "0.5",
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **provider_credentials().env(),
        **(extra or {}),
    }
    return env


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: Callable[[], str],
    check: Callable[[], None],
    poll: float = POLL_SECONDS,
) -> float:
    """Poll `condition` until it holds (failing early if `check` fails); the seconds it took."""
    started = time.monotonic()
    while not condition():
        check()
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not reached in {timeout:.0f}s: {what()}")
        time.sleep(poll)
    return time.monotonic() - started


# --- the estate: projects, clusters, endpoints, consumers ----------------------------------


@dataclass(frozen=True)
class Consumer:
    """A user's AWS account and VPC, for one private endpoint."""

    account_id: str
    ec2: EC2Client
    network: ConsumerNetwork


@dataclass(frozen=True)
class Site:
    """A project (its own channel) with one dedicated cluster and its private endpoints."""

    channel_id: str
    cluster_id: int
    endpoint_ids: tuple[int, ...]


@dataclass
class Estate:
    """Every project, endpoint and consumer of the test, and the owners' wizard steps."""

    sessions: sessionmaker[Session]
    sites: list[Site]
    consumers: dict[int, Consumer]  # by private endpoint id
    vpces: dict[int, str] = field(default_factory=dict)  # by private endpoint id

    @property
    def endpoint_ids(self) -> list[int]:
        """Every private endpoint, in id order."""
        return sorted(self.consumers)

    def submit_interfaces(self) -> None:
        """Every owner gives their account, VPC and subnets (one transaction)."""

        def submit(session: Session) -> None:
            for endpoint_id, consumer in self.consumers.items():
                wizard.submit_interface(
                    session=session,
                    endpoint_id=endpoint_id,
                    user_id=OWNER,
                    account_id=consumer.account_id,
                    vpc_id=consumer.network.vpc_id,
                    subnet_ids=" ".join(consumer.network.subnet_ids),
                )

        run_in_transaction(self.sessions, submit)

    def create_vpces(self) -> None:
        """Every consumer runs `aws ec2 create-vpc-endpoint` with its service's name."""
        names = self.service_names()
        for site in self.sites:
            for endpoint_id in site.endpoint_ids:
                consumer = self.consumers[endpoint_id]
                answer = consumer.ec2.create_vpc_endpoint(
                    VpcId=consumer.network.vpc_id,
                    ServiceName=names[site.cluster_id],
                    VpcEndpointType="Interface",
                    SubnetIds=list(consumer.network.subnet_ids),
                )
                self.vpces[endpoint_id] = answer["VpcEndpoint"]["VpcEndpointId"]

    def suggested(self) -> bool:
        """Whether the worker offers every waiting endpoint a vpce its account created (each
        one to one endpoint of its site; which to which, the owners confirm)."""
        with self.sessions() as session:
            query = select(orm.PrivateEndpoint.id, orm.PrivateEndpoint.suggested_vpce_id)
            offered = {row.id: row.suggested_vpce_id for row in session.execute(query)}
        return set(offered) == set(self.vpces) and set(offered.values()) == set(self.vpces.values())

    def submit_vpces(self) -> None:
        """Every owner submits their vpce id (one transaction: each service's accepts are
        then one batched call)."""

        def submit(session: Session) -> None:
            for endpoint_id, vpce_id in self.vpces.items():
                wizard.submit_vpce(
                    session=session, endpoint_id=endpoint_id, user_id=OWNER, vpce_id=vpce_id
                )

        run_in_transaction(self.sessions, submit)

    def submit_creates(self) -> None:
        """Every owner finishes the wizard with Create (one transaction)."""

        def submit(session: Session) -> None:
            for endpoint_id in self.consumers:
                wizard.submit_create(session=session, endpoint_id=endpoint_id, user_id=OWNER)

        run_in_transaction(self.sessions, submit)

    # --- reading the database -------------------------------------------------------------

    def service_names(self) -> dict[int, str]:
        """The AWS service name of each cluster's endpoint service (all must be known)."""
        with self.sessions() as session:
            rows = session.execute(
                select(orm.EndpointService.cluster_id, orm.EndpointService.service_name)
            ).all()
        return {cluster_id: name or "" for cluster_id, name in rows}

    def services(self) -> Counter[str]:
        """Endpoint services by status."""
        with self.sessions() as session:
            query = select(orm.EndpointService.status, func.count()).group_by(
                orm.EndpointService.status
            )
            return Counter({str(status): n for status, n in session.execute(query)})

    def granted(self) -> int:
        """Accounts the worker recorded as allowed, over all services."""
        with self.sessions() as session:
            rows = session.scalars(select(orm.EndpointService.allowed_accounts)).all()
        return sum(len(accounts) for accounts in rows)

    def endpoints(self) -> Counter[tuple[str, str]]:
        """Private endpoints by (status, stage)."""
        with self.sessions() as session:
            query = select(
                orm.PrivateEndpoint.status, orm.PrivateEndpoint.stage, func.count()
            ).group_by(orm.PrivateEndpoint.status, orm.PrivateEndpoint.stage)
            return Counter({(str(s), str(t)): n for s, t, n in session.execute(query)})

    def all_at(self, status: EndpointStatus, stage: Stage) -> bool:
        """Whether every private endpoint is at `status` and `stage`."""
        return self.endpoints() == Counter({(str(status), str(stage)): len(self.consumers)})

    def outbox(self) -> Counter[str]:
        """Outbox rows: `sent`, `dead` or `waiting`."""
        with self.sessions() as session:
            rows = session.execute(select(orm.Outbox.sent_at, orm.Outbox.dead_at)).all()
        return Counter("dead" if dead else "sent" if sent else "waiting" for sent, dead in rows)

    def drained(self) -> bool:
        """Whether every outbox row is sent."""
        outbox = self.outbox()
        return outbox["waiting"] == 0 and outbox["dead"] == 0

    def accepted_events(self) -> Counter[int]:
        """`connection_accepted` audit events by private endpoint."""
        with self.sessions() as session:
            query = select(orm.Event.subject_id).where(
                orm.Event.subject == "private_endpoint", orm.Event.action == "connection_accepted"
            )
            return Counter(session.scalars(query))

    def outbox_rows(self) -> list[orm.Outbox]:
        """Every outbox row, oldest first."""
        with self.sessions() as session:
            return list(session.scalars(select(orm.Outbox).order_by(orm.Outbox.id)))

    def held_by(self, pid: int) -> tuple[int, int]:
        """(services, unsent outbox rows) whose claim names the worker process `pid`."""
        holder = f"%:{pid}:%"
        with self.sessions() as session:
            services = session.scalar(
                select(func.count()).where(orm.EndpointService.claimed_by.like(holder))
            )
            rows = session.scalar(
                select(func.count()).where(
                    orm.Outbox.claimed_by.like(holder), orm.Outbox.sent_at.is_(None)
                )
            )
        return services or 0, rows or 0

    def endpoint_rows(self) -> list[orm.PrivateEndpoint]:
        """Every private endpoint row, in id order."""
        with self.sessions() as session:
            query = select(orm.PrivateEndpoint).order_by(orm.PrivateEndpoint.id)
            return list(session.scalars(query))


def seed_estate(
    *, sessions: sessionmaker[Session], aws_url: str, sites: int, endpoints_per_site: int
) -> Estate:
    """`sites` projects, each with its channel, a dedicated cluster whose NLB is on the local
    AWS and `endpoints_per_site` private endpoints started in the wizard (so the cluster's
    endpoint service is queued); one consumer account per site, one VPC per endpoint: two
    wizards of one account wait on each service, so the bot offers their requests and takes
    none on its own (the manual path: each owner pastes their own vpce id)."""
    provider = provider_credentials()
    ec2 = ec2_client(provider, aws_url)
    elbv2 = provider.elbv2(region=REGION, endpoint_url=aws_url)
    covered = tuple(zone_ids(ec2)[:2])
    made: list[Site] = []
    for index in range(sites):
        name, channel = f"team-{index:02d}", f"C0PROC{index:04d}"
        nlb_arn = seed_provider_network(
            ec2=ec2, elbv2=elbv2, cluster_name=f"db-{index:02d}"
        ).nlb_arn
        with transaction(sessions) as session:
            project = projects.add(session=session, name=name, channel_id=channel, owners=[OWNER])
            spec = clusters.parse_spec(
                {
                    "project": name,
                    "name": f"db-{index:02d}",
                    "tier": Tier.DEDICATED,
                    "cloud": Cloud.AWS,
                    "region": REGION,
                    "status": ClusterStatus.ACTIVE,
                    "nlb_arn": nlb_arn,
                },
                dns_zone="privatelink.example.com",
            )
            cluster_id = clusters.add(session=session, spec=spec).id
            endpoint_ids = []
            for _ in range(endpoints_per_site):
                state = wizard.submit_region(
                    session=session,
                    project=project,
                    user_id=OWNER,
                    channel_id=channel,
                    cluster_id=cluster_id,
                    region=REGION,
                    creation_key=uuid.uuid4().hex,
                )
                assert state.endpoint is not None
                endpoint_ids.append(state.endpoint.id)
        made.append(Site(channel, cluster_id, tuple(endpoint_ids)))
    consumers = {}
    for number, site in enumerate(made):
        account_id = f"2{number:011d}"
        credentials = credentials_for_account(
            account_id=account_id, endpoint_url=aws_url, region=REGION
        )
        consumer_ec2 = ec2_client(credentials, aws_url)
        for vpc_number, endpoint_id in enumerate(site.endpoint_ids):
            network = seed_consumer_network(
                ec2=consumer_ec2, covered_az_ids=covered, cidr_prefix=f"10.{vpc_number + 1}"
            )
            consumers[endpoint_id] = Consumer(account_id, consumer_ec2, network)
    return Estate(sessions=sessions, sites=made, consumers=consumers)


# --- who held the claims -------------------------------------------------------------------


@dataclass
class ClaimShare:
    """How often each worker process was seen holding claims, by pid."""

    services: Counter[int] = field(default_factory=Counter)
    outbox: Counter[int] = field(default_factory=Counter)

    def sample(self, sessions: sessionmaker[Session]) -> None:
        """Note who holds claims now."""
        with sessions() as session:
            services = session.scalars(
                select(orm.EndpointService.claimed_by).where(
                    orm.EndpointService.claimed_by.is_not(None)
                )
            ).all()
            rows = session.scalars(
                select(orm.Outbox.claimed_by).where(
                    orm.Outbox.claimed_by.is_not(None), orm.Outbox.sent_at.is_(None)
                )
            ).all()
        self.services.update({_pid(holder) for holder in services if holder})
        self.outbox.update({_pid(holder) for holder in rows if holder})


def _pid(holder: str) -> int:
    """The process id in a worker id (`host:pid:thread`)."""
    return int(holder.rsplit(":", 2)[-2])


@contextmanager
def watch_claims(sessions: sessionmaker[Session], *, every: float = 0.02) -> Iterator[ClaimShare]:
    """Sample the claim holders on a thread while the block runs."""
    share, stop = ClaimShare(), threading.Event()
    failures: list[BaseException] = []

    def sample() -> None:
        try:
            while not stop.wait(every):
                share.sample(sessions)
        except BaseException as error:  # re-raised when the block ends
            failures.append(error)

    thread = threading.Thread(target=sample, name="claim-watch", daemon=True)
    thread.start()
    try:
        yield share
    finally:
        stop.set()
        thread.join(timeout=10)
    if failures:
        raise failures[0]


# --- what Slack received --------------------------------------------------------------------


@dataclass(frozen=True)
class Posts:
    """The bot's successful `chat.postMessage` calls, by the outbox step they carry."""

    by_step: Counter[tuple[int, str]]  # (outbox id, "parent" | "reply") → posts
    unmarked: int  # posts without the outbox's metadata
    updates: int  # successful chat.update calls

    @property
    def duplicates(self) -> dict[tuple[int, str], int]:
        """Steps posted more than once, and how often."""
        return {step: n for step, n in self.by_step.items() if n > 1}

    def steps(self, step: str) -> set[int]:
        """The outbox rows with a post of `step`."""
        return {row for row, kind in self.by_step if kind == step}


def thread_rows(standin: SlackStandIn, endpoint: orm.PrivateEndpoint) -> list[int]:
    """The outbox rows whose replies the endpoint's thread shows, in order."""
    assert endpoint.channel_id is not None and endpoint.alert_ts is not None
    replies = standin.replies(endpoint.channel_id, endpoint.alert_ts)
    return [int(m["metadata"]["event_payload"]["outbox_id"]) for m in replies]


def posts(standin: SlackStandIn) -> Posts:
    """Tally what the stand-in recorded."""
    by_step: Counter[tuple[int, str]] = Counter()
    unmarked = 0
    for call in standin.calls("chat.postMessage"):
        if not call.ok:
            continue
        metadata = call.args.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
            unmarked += 1
            continue
        payload = metadata["event_payload"]
        by_step[(int(payload["outbox_id"]), str(payload["step"]))] += 1
    updates = sum(call.ok for call in standin.calls("chat.update"))
    return Posts(by_step=by_step, unmarked=unmarked, updates=updates)
