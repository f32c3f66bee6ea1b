"""`clusters add` and `clusters import` per cloud: GCP clusters in GCP regions without a load
balancer, AWS clusters in AWS regions with one; and the wizard then lists the GCP cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.domain import rules
from bot.domain.states import Cloud
from bot.storage import orm
from tests.test_cli import NLB, cluster_add, ok, run, snapshot


@pytest.fixture
def url(clean_database: str) -> str:
    """The test database with project payments in it."""
    ok(clean_database, "projects", "add", "payments", "--channel", "C0PAYMENTS")
    return clean_database


def test_a_gcp_cluster_in_a_gcp_region_needs_no_load_balancer(url: str, db_engine: Engine) -> None:
    out = ok(url, *cluster_add(name="analytics", cloud="gcp", region="us-central1", nlb_arn=None))
    assert "analytics.us-central1.privatelink.example.com:4000" in out
    listing = ok(url, "clusters", "list").splitlines()
    assert listing[1].split()[:5] == ["payments", "analytics", "dedicated", "gcp", "us-central1"]
    with Session(db_engine) as session:
        cluster = session.scalars(select(orm.Cluster)).one()
        assert cluster.nlb_arn is None
        choice = rules.choose_cluster([cluster.to_domain()])
    assert choice.eligible == () and choice.excluded[0][1].startswith("Not applicable")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cloud": "aws", "region": "us-central1"}, "'us-central1' is not an AWS region code"),
        ({"cloud": "gcp", "region": "us-central1"}, "has no AWS Network Load Balancer"),
        ({"cloud": "gcp", "region": "moon-central1", "nlb_arn": None}, "not a GCP region code"),
    ],
)
def test_each_cloud_keeps_its_own_regions_and_load_balancers(
    url: str, db_engine: Engine, changes: dict[str, str | None], message: str
) -> None:
    before = snapshot(db_engine)
    result = run(url, *cluster_add(name="x", **changes))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert message in line
    assert snapshot(db_engine) == before


def test_import_takes_gcp_regions(url: str, tmp_path: Path, db_engine: Engine) -> None:
    path = tmp_path / "clusters.yml"
    path.write_text(
        f"- {{project: payments, name: orders, tier: dedicated, cloud: aws, region: us-west-2, "
        f"nlb_arn: '{NLB}'}}\n"
        "- {project: payments, name: analytics, tier: dedicated, cloud: gcp, "
        "region: europe-west4}\n",
        encoding="utf-8",
    )
    assert "2 added, 0 updated, 0 unchanged" in ok(url, "clusters", "import", str(path))
    assert "0 added, 0 updated, 2 unchanged" in ok(url, "clusters", "import", str(path))
    with Session(db_engine) as session:
        clouds = {c.name: (c.cloud, c.region) for c in session.scalars(select(orm.Cluster))}
    assert clouds == {"orders": (Cloud.AWS, "us-west-2"), "analytics": (Cloud.GCP, "europe-west4")}
