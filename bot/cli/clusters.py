"""`clusters add | import | list | drop`: the provider's clusters, one at a time or from a
YAML file, with their endpoint services."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.cluster_file import read_clusters
from bot.cli.common import CliError, Commands, migrated_engine, table
from bot.config import Settings
from bot.domain.errors import InvalidInput
from bot.services import clusters
from bot.storage import cluster_queries, endpoint_queries, project_queries, service_queries
from bot.storage.db import make_sessionmaker, transaction


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
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
    with transaction(make_sessionmaker(migrated_engine(settings))) as session:
        cluster = clusters.add(session=session, spec=spec)
        print(f"added cluster {cluster.name} ({cluster.private_dns_host}:{cluster.port})")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Add or update the clusters listed in a YAML file; all or nothing."""
    path = Path(args.file)
    document = read_clusters(path)
    specs = []
    for index, item in enumerate(document, start=1):
        try:
            specs.append(clusters.parse_spec(item, dns_zone=settings.BOT_PRIVATE_DNS_ZONE))
        except InvalidInput as error:
            raise CliError(f"{path}: cluster {index}: {error}") from None
    with transaction(make_sessionmaker(migrated_engine(settings))) as session:
        result = clusters.import_specs(session=session, specs=specs)
    print(
        f"imported {path}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every cluster with its endpoint service, its private DNS state and endpoint count."""
    with transaction(make_sessionmaker(migrated_engine(settings))) as session:
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
    table(
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


def cmd_drop(args: argparse.Namespace, settings: Settings) -> int:
    """Drop a cluster with its endpoint service and private endpoints."""
    with transaction(make_sessionmaker(migrated_engine(settings))) as session:
        result = clusters.drop(session=session, name=args.name, project=args.project)
    if result.removed_now:
        print(f"dropped cluster {result.cluster}: nothing on AWS, removed")
    else:
        print(
            f"dropping cluster {result.cluster}: its endpoint service and {result.endpoints} "
            "private endpoint(s) are deleting; the worker removes them from AWS"
        )
    return 0


def register(commands: Commands) -> None:
    """Add `clusters add`, `import`, `list` and `drop`."""
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
    cadd.set_defaults(handler=cmd_add)
    cimp = cl.add_parser("import", help="add or update the clusters listed in a YAML file")
    cimp.add_argument("file", help="YAML list of clusters (format in docs/operating.md)")
    cimp.set_defaults(handler=cmd_import)
    cl.add_parser("list", help="list clusters").set_defaults(handler=cmd_list)
    cdrop = cl.add_parser("drop", help="drop a cluster, its endpoint service and endpoints")
    cdrop.add_argument("name")
    cdrop.add_argument("--project", help="needed when several projects use the name")
    cdrop.set_defaults(handler=cmd_drop)
