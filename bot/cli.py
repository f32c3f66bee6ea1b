"""The command line: `python -m bot <command>`; each command has --help."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import cli_slack, logs
from bot.config import ConfigError, Settings, load_settings
from bot.domain.errors import DomainError, InvalidInput
from bot.services import clusters, projects
from bot.storage import cluster_queries, endpoint_queries, migrate, project_queries, service_queries
from bot.storage.db import make_engine, make_sessionmaker, transaction

Handler = Callable[[argparse.Namespace, Settings], int]


class CliError(Exception):
    """Bad input or state: printed as one line, exit status 1."""


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.DATABASE_URL.get_secret_value())


def _migrated_engine(settings: Settings) -> Engine:
    engine = _engine(settings)
    if not migrate.is_current(engine):
        raise CliError("the database is not up to date; run `python -m bot db upgrade` first")
    return engine


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database to the newest revision."""
    migrate.upgrade(_engine(settings))
    print("database is at the newest revision")
    return 0


def cmd_projects_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register a project bound to a channel; warn if the bot cannot post there."""
    if settings.oauth and not args.team:
        raise CliError("--team: is required when workspaces install by OAuth (SLACK_CLIENT_ID)")
    engine = _migrated_engine(settings)
    sessions = make_sessionmaker(engine)
    warn = cli_slack.warn_after(settings, args.channel, team=args.team, engine=engine)
    with warn, transaction(sessions) as session:
        project = projects.add(
            session=session,
            name=args.name,
            channel_id=args.channel,
            owners=args.owner,
            team_id=args.team,
        )
        print(f"added project {project.name} (channel {project.channel_id})")
    return 0


def cmd_projects_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every project with its channel and owners."""
    with transaction(make_sessionmaker(_migrated_engine(settings))) as session:
        rows = [
            (p.name, p.channel_id, p.team_id or "-", ",".join(sorted(p.owners())) or "-")
            for p in project_queries.list_projects(session=session)
        ]
    _table(("PROJECT", "CHANNEL", "TEAM", "OWNERS"), rows)
    return 0


def cmd_clusters_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register one cluster."""
    raw = {
        "project": args.project,
        "name": args.name,
        "tier": args.tier,
        "cloud": args.cloud,
        "region": args.region,
        "nlb_arn": args.nlb_arn,
        "port": args.port,
        "status": args.status,
        "private_dns_host": args.private_dns_host,
    }
    spec = clusters.parse_spec(raw, dns_zone=settings.BOT_PRIVATE_DNS_ZONE)
    with transaction(make_sessionmaker(_migrated_engine(settings))) as session:
        cluster = clusters.add(session=session, spec=spec)
        print(f"added cluster {cluster.name} ({cluster.private_dns_host}:{cluster.port})")
    return 0


def cmd_clusters_import(args: argparse.Namespace, settings: Settings) -> int:
    """Add or update the clusters listed in a YAML file; all or nothing."""
    path = Path(args.file)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CliError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(document, list) or not all(isinstance(i, dict) for i in document):
        raise CliError(f"{path}: expected a list of clusters (see README, 'clusters import')")
    specs = []
    for index, item in enumerate(document, start=1):
        try:
            specs.append(clusters.parse_spec(item, dns_zone=settings.BOT_PRIVATE_DNS_ZONE))
        except InvalidInput as error:
            raise CliError(f"{path}: cluster {index}: {error}") from None
    with transaction(make_sessionmaker(_migrated_engine(settings))) as session:
        result = clusters.import_specs(session=session, specs=specs)
    print(
        f"imported {path}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    return 0


def cmd_clusters_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every cluster with its endpoint service, its private DNS state and endpoint count."""
    with transaction(make_sessionmaker(_migrated_engine(settings))) as session:
        all_projects = {p.id: p.name for p in project_queries.list_projects(session=session)}
        rows_in = cluster_queries.list_clusters(session=session)
        ids = [c.id for c in rows_in]
        services = service_queries.map_services_by_cluster(session=session, cluster_ids=ids)
        counts = endpoint_queries.count_endpoints_by_cluster(session=session, cluster_ids=ids)
        rows = []
        for c in rows_in:
            service = services.get(c.id)
            rows.append(
                (
                    all_projects[c.project_id],
                    c.name,
                    c.tier,
                    c.cloud,
                    c.region,
                    c.status,
                    f"{c.private_dns_host}:{c.port}",
                    service.status if service else "-",
                    service.dns_state if service and service.dns_state else "-",
                    str(counts.get(c.id, 0)),
                )
            )
    _table(
        (
            "PROJECT",
            "CLUSTER",
            "TIER",
            "CLOUD",
            "REGION",
            "STATUS",
            "HOST",
            "SERVICE",
            "DNS",
            "ENDPOINTS",
        ),
        rows,
    )
    return 0


def cmd_clusters_drop(args: argparse.Namespace, settings: Settings) -> int:
    """Drop a cluster with its endpoint service and private endpoints."""
    with transaction(make_sessionmaker(_migrated_engine(settings))) as session:
        result = clusters.drop(session=session, name=args.name, project=args.project)
    if result.removed_now:
        print(f"dropped cluster {result.cluster}: nothing on AWS, removed")
    else:
        print(
            f"dropping cluster {result.cluster}: its endpoint service and {result.endpoints} "
            "private endpoint(s) are deleting; the worker removes them from AWS"
        )
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(v)) for v in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve Slack over HTTP (or Socket Mode when SLACK_APP_TOKEN is set), with the worker."""
    from bot import server
    from bot.web import StatusApp
    from bot.worker.runner import start_worker

    processes = server.serving_processes(args.processes, settings)
    settings.require_slack()
    _migrated_engine(settings).dispose()
    if processes > 1:  # on one socket, under gunicorn
        from bot import prefork

        prefork.serve(settings, args, processes, settle=_settle_garbage_collector)
        return 0
    _log_setup(settings)
    bot = server.assemble(settings)
    worker = None if args.no_worker else start_worker(settings=settings, sessions=bot.deps.sessions)
    bot.web.worker = worker.heartbeat if worker is not None else None
    _settle_garbage_collector()
    try:
        if settings.SLACK_APP_TOKEN is not None:  # /healthz and /metrics still on the port
            status = StatusApp(engine=bot.engine, metrics=bot.web.metrics)
            status.worker = bot.web.worker
            with server.status_in_background(status, host=args.host, port=args.port):
                server.serve_socket_mode(bot, app_token=settings.SLACK_APP_TOKEN.get_secret_value())
        else:
            server.serve_http(bot, host=args.host, port=args.port)
    finally:
        if worker is not None:
            worker.stop()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the reconcile loop and the outbox sender alone, until SIGINT or SIGTERM."""
    from bot import metrics, server
    from bot.web import StatusApp
    from bot.worker.runner import run_until_signalled, start_worker, stop_on_signals

    settings.require_slack_access()
    engine = _migrated_engine(settings)
    _log_setup(settings)
    sessions = make_sessionmaker(engine)
    stop = stop_on_signals()  # before anything starts: a SIGTERM is never missed
    worker = start_worker(settings=settings, sessions=sessions)
    status = StatusApp(engine=engine, metrics=lambda: metrics.render(sessions))
    status.worker = worker.heartbeat
    _settle_garbage_collector()
    with server.status_in_background(status, host=args.host, port=args.port):
        run_until_signalled(worker, stop)
    return 0


# Collect young objects in batches of this many allocations rather than Python's 700, and the
# older generations a twentieth as often as that (Python: a tenth).
GC_THRESHOLDS = (20_000, 20, 20)
WORKER_PORT = 3001


def _settle_garbage_collector() -> None:
    """What the process made while starting (modules, the app, its clients) lives as long as
    it does: move it out of the cyclic collector's sight, and collect the rest less often.
    Under load a full collection walked all of it, a 77 ms pause with every thread stopped, four
    times in ten seconds of the ack benchmark; frozen, the pauses stay under 10 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _log_setup(settings: Settings) -> None:
    logs.setup(settings.BOT_LOG_FORMAT)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The whole flow offline: SQLite, the local AWS and Slack stand-in, the real bot."""
    from bot.sandbox.demo import main as demo

    return demo()


def cmd_sandbox_aws(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local AWS (moto plus the PrivateLink extension) until interrupted."""
    from bot.sandbox.aws import serve

    serve(
        host=args.host,
        port=args.port,
        service_delay=args.service_delay,
        dns_verified=args.dns_verified,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve Slack requests (HTTP, or Socket Mode)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="serve requests only; run `worker` processes separately",
    )
    serve.add_argument(
        "--processes", type=int, help="serving processes (default: one per core on Postgres)"
    )
    serve.set_defaults(handler=cmd_serve)
    worker = commands.add_parser(
        "worker", help="the reconcile loop and the outbox sender alone (several may run)"
    )
    worker.add_argument("--host", default="0.0.0.0", help="address of /healthz and /metrics")
    worker.add_argument(
        "--port",
        type=int,
        default=WORKER_PORT,
        help=f"port of GET /healthz and GET /metrics (default {WORKER_PORT})",
    )
    worker.set_defaults(handler=cmd_worker)

    commands.add_parser(
        "demo", help="walk /private-endpoint create to an Active endpoint, offline"
    ).set_defaults(handler=cmd_demo)
    sandbox = commands.add_parser("sandbox", help="local stand-ins for development and tests")
    sb = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="WHAT")
    aws = sb.add_parser("aws", help="the local AWS: moto plus PrivateLink behaviours, over HTTP")
    aws.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    aws.add_argument("--port", type=int, default=5055, help="default 5055")
    aws.add_argument(
        "--service-delay",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long a new endpoint service stays Pending (default 5)",
    )
    aws.add_argument(
        "--dns-verified",
        action="store_true",
        help="treat every private DNS name as already verified",
    )
    aws.set_defaults(handler=cmd_sandbox_aws)

    db = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="migrate to the newest revision").set_defaults(
        handler=cmd_db_upgrade
    )

    proj = commands.add_parser("projects", help="register and list projects").add_subparsers(
        dest="projects_command", required=True, metavar="ACTION"
    )
    add = proj.add_parser("add", help="register a project bound to a Slack channel")
    add.add_argument("name", help="project name (lowercase letters, digits, hyphens)")
    add.add_argument("--channel", required=True, help="Slack channel id (C…) for the project")
    add.add_argument(
        "--owner",
        action="append",
        default=[],
        metavar="USER",
        help="Slack user id (U…) of an owner; repeat for several",
    )
    add.add_argument(
        "--team",
        help="Slack team id (T…) of the channel's workspace; required with installs by "
        "OAuth, else learned from the first request",
    )
    add.set_defaults(handler=cmd_projects_add)
    proj.add_parser("list", help="list projects").set_defaults(handler=cmd_projects_list)

    clus = commands.add_parser("clusters", help="register, import, list, drop clusters")
    cl = clus.add_subparsers(dest="clusters_command", required=True, metavar="ACTION")
    cadd = cl.add_parser("add", help="register one cluster")
    cadd.add_argument("--project", required=True)
    cadd.add_argument("--name", required=True)
    cadd.add_argument("--tier", required=True, help="dedicated | developer")
    cadd.add_argument("--cloud", required=True, help="aws | gcp")
    cadd.add_argument("--region", required=True, help="aws: e.g. us-west-2; gcp: e.g. us-central1")
    cadd.add_argument("--nlb-arn", help="the cluster's NLB, in its region (aws only, required)")
    cadd.add_argument("--port", default="4000", help="the cluster's port (default 4000)")
    cadd.add_argument("--status", default="active", help="creating | active (default active)")
    cadd.add_argument("--private-dns-host", help="default <name>.<region>.$BOT_PRIVATE_DNS_ZONE")
    cadd.set_defaults(handler=cmd_clusters_add)
    cimp = cl.add_parser("import", help="add or update the clusters listed in a YAML file")
    cimp.add_argument("file", help="YAML list of clusters (format in README)")
    cimp.set_defaults(handler=cmd_clusters_import)
    cl.add_parser("list", help="list clusters").set_defaults(handler=cmd_clusters_list)
    cdrop = cl.add_parser("drop", help="drop a cluster, its endpoint service and endpoints")
    cdrop.add_argument("name")
    cdrop.add_argument("--project", help="needed when several projects use the name")
    cdrop.set_defaults(handler=cmd_clusters_drop)
    cli_slack.register(commands, engine=_migrated_engine, table=_table)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line on stderr and give a non-zero status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, load_settings())
    except (ConfigError, CliError, DomainError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OperationalError as error:
        first = str(error.orig).strip().splitlines()[0] if error.orig else "no answer"
        print(f"error: DATABASE_URL: cannot use the database ({first})", file=sys.stderr)
        return 1
    except IntegrityError as error:
        print(f"error: conflicting change, nothing written ({error.orig})", file=sys.stderr)
        return 1
