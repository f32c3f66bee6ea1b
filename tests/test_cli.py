"""The admin CLI end to end, as a subprocess, on SQLite and Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.domain.states import ClusterStatus, EndpointStatus, ServiceStatus, Stage
from bot.storage import orm
from bot.storage.orm import Base

NLB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/orders/0123456789abcdef"


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, check=False
    )


def ok(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def url(clean_database: str) -> str:
    ok(
        clean_database,
        "projects",
        "add",
        "payments",
        "--channel",
        "C0PAYMENTS",
        "--owner",
        "U0OWNER1",
        "--owner",
        "U0OWNER2",
    )
    return clean_database


def test_every_command_has_help() -> None:
    for args in (
        ["--help"],
        ["db", "upgrade", "--help"],
        ["projects", "add", "--help"],
        ["projects", "list", "--help"],
        ["clusters", "add", "--help"],
        ["clusters", "import", "--help"],
        ["clusters", "list", "--help"],
        ["clusters", "drop", "--help"],
    ):
        result = run("sqlite://", *args)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_db_upgrade_is_repeatable(clean_database: str) -> None:
    assert "newest revision" in ok(clean_database, "db", "upgrade")
    assert "newest revision" in ok(clean_database, "db", "upgrade")


def test_unmigrated_database_is_reported(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'new.db'}", "projects", "list")
    assert result.returncode == 1
    assert "run `python -m bot db upgrade`" in result.stderr


def test_projects_and_clusters(url: str) -> None:
    assert "payments  C0PAYMENTS  -     U0OWNER1,U0OWNER2" in ok(url, "projects", "list")
    out = ok(url, *cluster_add(name="orders"))
    assert "orders.us-west-2.privatelink.example.com:4000" in out
    ok(
        url,
        *cluster_add(
            name="analytics",
            tier="developer",
            cloud="gcp",
            region="us-east-1",
            nlb_arn=None,
            port="4001",
            status="creating",
        ),
    )
    listing = ok(url, "clusters", "list").splitlines()
    assert listing[0].split() == [
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
    ]
    assert listing[1].split() == [
        "payments",
        "analytics",
        "developer",
        "gcp",
        "us-east-1",
        "creating",
        "analytics.us-east-1.privatelink.example.com:4001",
        "-",
        "-",
        "0",
    ]
    assert listing[2].split()[:2] == ["payments", "orders"]


def test_import_is_idempotent(url: str, tmp_path: Path, db_engine: Engine) -> None:
    path = tmp_path / "clusters.yml"
    path.write_text(
        f"""
- project: payments
  name: orders
  tier: dedicated
  cloud: aws
  region: us-west-2
  nlb_arn: {NLB}
- {{project: payments, name: analytics, tier: dedicated, cloud: gcp, region: us-east-1}}
""",
        encoding="utf-8",
    )
    assert "2 added, 0 updated, 0 unchanged" in ok(url, "clusters", "import", str(path))
    before = snapshot(db_engine)
    assert "0 added, 0 updated, 2 unchanged" in ok(url, "clusters", "import", str(path))
    assert snapshot(db_engine) == before
    path.write_text(
        path.read_text().replace("region: us-east-1}", "region: us-east-1, port: 5000}")
    )
    assert "0 added, 1 updated, 1 unchanged" in ok(url, "clusters", "import", str(path))


def cluster_add(**changes: str | None) -> list[str]:
    """`clusters add` with a valid cluster, except for `changes` (None leaves an option out)."""
    options: dict[str, str | None] = {
        "project": "payments",
        "name": "x",
        "tier": "dedicated",
        "cloud": "aws",
        "region": "us-west-2",
        "nlb-arn": NLB,
    }
    options.update({key.replace("_", "-"): value for key, value in changes.items()})
    args = ["clusters", "add"]
    for key, value in options.items():
        if value is not None:
            args += [f"--{key}", value]
    return args


BAD_INPUTS = [
    (["projects", "add", "payments", "--channel", "C0OTHER"], "already exists"),
    (["projects", "add", "Bad Name", "--channel", "C0OTHER"], "not a valid project name"),
    (["projects", "add", "other", "--channel", "C0PAYMENTS"], "already belongs to project"),
    (["projects", "add", "other", "--channel", "general"], "not a Slack channel ID"),
    (
        ["projects", "add", "other", "--channel", "C0OTHER", "--owner", "steve"],
        "not a Slack user ID",
    ),
    (cluster_add(project="nope"), "no project named nope"),
    (cluster_add(tier="gold"), "tier must be one of"),
    (cluster_add(nlb_arn=None), "nlb_arn is required"),
    (cluster_add(region="eu-west-1"), "load balancer is in"),
    (cluster_add(port="99999"), "not a port number"),
    (cluster_add(name="x;rm"), "not a valid cluster name"),
    (["clusters", "drop", "nope"], "no cluster named nope"),
    (cluster_add(status="deleting"), "use `clusters drop`"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_writes_nothing(
    url: str, db_engine: Engine, args: list[str], message: str
) -> None:
    before = snapshot(db_engine)
    result = run(url, *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert snapshot(db_engine) == before


def test_bad_import_file_writes_nothing(url: str, tmp_path: Path, db_engine: Engine) -> None:
    path = tmp_path / "clusters.yml"
    path.write_text(
        f"- {{project: payments, name: good, tier: dedicated, cloud: aws, region: us-west-2, "
        f"nlb_arn: '{NLB}'}}\n"
        "- {project: payments, name: bad, tier: dedicated, cloud: aws, region: mars-1}\n",
        encoding="utf-8",
    )
    before = snapshot(db_engine)
    result = run(url, "clusters", "import", str(path))
    assert result.returncode == 1 and "cluster 2" in result.stderr and "region" in result.stderr
    for content, message in [("- [unclosed", "not valid YAML"), ("name: x", "list of clusters")]:
        path.write_text(content, encoding="utf-8")
        result = run(url, "clusters", "import", str(path))
        assert result.returncode == 1 and message in result.stderr
    assert snapshot(db_engine) == before


def test_drop_cascades_to_the_service_and_every_endpoint(url: str, db_engine: Engine) -> None:
    ok(url, *cluster_add(name="orders"))
    ok(url, *cluster_add(name="other"))
    with Session(db_engine) as session, session.begin():
        clusters = {c.name: c for c in session.scalars(select(orm.Cluster))}
        for name in ("orders", "other"):
            cluster = clusters[name]
            session.add(
                orm.EndpointService(
                    cluster_id=cluster.id,
                    status=ServiceStatus.ACTIVE,
                    client_token=f"plbot-{cluster.id}",
                )
            )
            for status in (EndpointStatus.ACTIVE, EndpointStatus.FAILED):
                session.add(
                    orm.PrivateEndpoint(
                        project_id=cluster.project_id,
                        cluster_id=cluster.id,
                        stage=Stage.DONE,
                        status=status,
                        created_by="U0OWNER1",
                    )
                )
    out = ok(url, "clusters", "drop", "orders")
    assert "2 private endpoint(s) are deleting" in out
    with Session(db_engine) as session:
        by_cluster = {
            c.name: (
                c.status,
                sorted(
                    e.status
                    for e in session.scalars(
                        select(orm.PrivateEndpoint).where(orm.PrivateEndpoint.cluster_id == c.id)
                    )
                ),
            )
            for c in session.scalars(select(orm.Cluster))
        }
        services = {s.cluster_id: s.status for s in session.scalars(select(orm.EndpointService))}
        events = session.scalars(select(orm.Event).where(orm.Event.action == "cluster_dropped"))
        assert len(events.all()) == 4  # the cluster, its service and its two endpoints
        queued = session.scalars(select(orm.Outbox.payload)).all()
    assert sorted(p["endpoint"]["status"] for p in queued) == ["deleting", "deleting"]
    assert by_cluster["orders"] == (ClusterStatus.DELETING, [EndpointStatus.DELETING] * 2)
    assert by_cluster["other"] == (
        ClusterStatus.ACTIVE,
        [EndpointStatus.ACTIVE, EndpointStatus.FAILED],
    )
    assert sorted(services.values()) == [ServiceStatus.ACTIVE, ServiceStatus.DELETING]
    second = run(url, "clusters", "drop", "orders")
    assert second.returncode == 1 and "already being dropped" in second.stderr


def test_sandbox_aws_serves_the_calls_moto_lacks(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "aws", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    aws = [
        str(Path(sys.executable).parent / "aws"),
        "ec2",
        "describe-vpc-endpoint-connections",
        "--region",
        "us-west-2",
    ]
    try:
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(aws, env=env, capture_output=True, text=True, check=False)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert result.returncode == 0, result.stderr
        assert '"VpcEndpointConnections": []' in result.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def test_long_running_commands_settle_the_garbage_collector() -> None:
    """`serve` and `worker` freeze what they made while starting and collect less often (in a
    child process: freezing is process-wide)."""
    code = (
        "import gc; from bot.cli.processes import GC_THRESHOLDS, settle_garbage_collector;"
        "before = gc.get_freeze_count(); settle_garbage_collector();"
        "print(gc.get_threshold() == GC_THRESHOLDS, gc.get_freeze_count() > before + 10_000)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["True", "True"]


def test_a_channel_id_is_unique_within_a_workspace(url: str, db_engine: Engine) -> None:
    ok(url, "projects", "add", "alpha", "--channel", "C0SAME0001", "--team", "T0AAAAAAA1")
    ok(url, "projects", "add", "beta", "--channel", "C0SAME0001", "--team", "T0BBBBBBB2")
    before = snapshot(db_engine)
    for extra in (["--team", "T0AAAAAAA1"], []):  # the same workspace, or any: a clash
        clash = run(url, "projects", "add", "gamma", "--channel", "C0SAME0001", *extra)
        assert clash.returncode == 1
        assert clash.stderr.strip().splitlines() == [
            "error: Channel C0SAME0001 already belongs to project alpha."
        ]
    assert snapshot(db_engine) == before
    listed = ok(url, "projects", "list")
    assert "T0AAAAAAA1" in listed and "T0BBBBBBB2" in listed


def test_installs_by_oauth_need_the_team_of_a_project(url: str, db_engine: Engine) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "client-secret",
    }
    env.pop("SLACK_BOT_TOKEN", None)
    command = [sys.executable, "-m", "bot", "projects", "add", "alpha", "--channel", "C0ALPHA001"]
    before = snapshot(db_engine)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --team: is required when workspaces install by OAuth (SLACK_CLIENT_ID)"
    )
    assert snapshot(db_engine) == before
    added = subprocess.run(
        [*command, "--team", "T0ALPHA001"], env=env, capture_output=True, text=True, check=False
    )
    assert added.returncode == 0, added.stderr
    assert "workspace T0ALPHA001 has not installed the app" in added.stderr
