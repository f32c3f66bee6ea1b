"""`clusters import` against hostile files: each is one line on stderr and exit status 1, at
once, writing nothing; files within the bounds still import. Run as a subprocess, on SQLite
and Postgres."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.cli.cluster_file import MAX_BYTES, MAX_DEPTH, read_clusters
from bot.cli.common import CliError
from bot.storage import orm
from tests.test_cli import NLB, ok, run, snapshot

CLUSTER = (
    "- project: payments\n  name: {name}\n  tier: dedicated\n  cloud: aws\n"
    f"  region: us-west-2\n  nlb_arn: '{NLB}'\n"
)
# The subprocess starts Python and the bot (about a second here) before it reads the file;
# the bugs took 25 s (an alias bomb) or ended in a traceback.
SUBPROCESS_SECONDS = 10.0


def billion_laughs() -> str:
    """A cluster whose nlb_arn expands to 9**9 strings through aliases."""
    text = CLUSTER.format(name="bomb").replace(f"  nlb_arn: '{NLB}'\n", "  nlb_arn:\n")
    text += '    - &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for anchor in "bcdefghi":
        text += f"    - &{anchor} [{', '.join([f'*{previous}'] * 9)}]\n"
        previous = anchor
    return text


HOSTILE: dict[str, tuple[bytes, str]] = {
    "alias bomb": (billion_laughs().encode(), "anchors and aliases"),
    "a harmless alias": (
        (CLUSTER.format(name="a") + "  private_dns_host: &h a.example.com\n").encode(),
        "anchors and aliases",
    ),
    "an integer key": (
        (CLUSTER.format(name="a") + "  1: one\n").encode(),
        "cluster 1: field names are text, not 1",
    ),
    "a null key": ((CLUSTER.format(name="a") + "  ~: x\n").encode(), "field names are text"),
    "a boolean key": (b"- {project: payments, yes: 1}\n", "field names are text, not True"),
    "a list as key": (b"- {? [a, b] : 1}\n", "not valid YAML"),
    "Latin-1": ("- {project: paiements, name: café}\n".encode("latin-1"), "not UTF-8 text"),
    "UTF-16": (CLUSTER.format(name="a").encode("utf-16"), "not UTF-8 text"),
    "20,000 brackets": (b"[" * 20_000 + b"]" * 20_000, "nested more than"),
    "20,000 nested block lists": (b"- " * 20_000 + b"x\n", "nested more than"),
    "nested mappings": (b"- {a: {b: {c: {d: {e: 1}}}}}\n", "nested more than"),
    "over the size bound": (b"#" * (MAX_BYTES + 1), "larger than 1 MiB"),
    "an integer of 5,000 digits": (b"- {project: payments, port: " + b"9" * 5000 + b"}\n", "value"),
    "an impossible date": (b"- {project: payments, name: 2001-13-45}\n", "cannot be read"),
    "a Python object": (b"- !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    "two documents": (b"- {project: payments}\n---\n- {project: payments}\n", "not valid YAML"),
    "a NUL byte": (b"- {project: pay\x00ments}\n", "not valid YAML"),
}


@pytest.fixture
def url(clean_database: str) -> str:
    """The test database with project payments in it."""
    ok(clean_database, "projects", "add", "payments", "--channel", "C0PAYMENTS")
    return clean_database


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_is_one_line_at_once_and_writes_nothing(
    url: str, tmp_path: Path, db_engine: Engine, case: str
) -> None:
    content, message = HOSTILE[case]
    path = tmp_path / "clusters.yml"
    path.write_bytes(content)
    before = snapshot(db_engine)
    started = time.monotonic()
    result = run(url, "clusters", "import", str(path))
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: ") and message in line, line
    assert result.stdout == ""
    assert elapsed < SUBPROCESS_SECONDS
    assert snapshot(db_engine) == before


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_reading_a_hostile_file_takes_well_under_a_second(tmp_path: Path, case: str) -> None:
    path = tmp_path / "clusters.yml"
    path.write_bytes(HOSTILE[case][0])
    started = time.monotonic()
    with pytest.raises(CliError):
        read_clusters(path)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("path", "message"),
    [("/dev/zero", "larger than 1 MiB"), ("/", "cannot read"), ("/nonexistent.yml", "cannot read")],
)
def test_what_is_not_a_file_is_refused(url: str, path: str, message: str) -> None:
    result = run(url, "clusters", "import", path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert message in line


def test_a_file_at_the_bounds_imports(url: str, tmp_path: Path, db_engine: Engine) -> None:
    """Exactly MAX_BYTES, with a byte-order mark, comments and the deepest nesting allowed in
    a comment-free spot (flow mappings inside the list) still imports."""
    body = "\ufeff" + CLUSTER.format(name="orders") + "- {project: payments, name: analytics, "
    body += "tier: dedicated, cloud: gcp, region: us-central1}\n"
    data = body.encode()
    data += b"#" * (MAX_BYTES - len(data) - 1) + b"\n"
    assert len(data) == MAX_BYTES
    path = tmp_path / "clusters.yml"
    path.write_bytes(data)
    assert "2 added, 0 updated, 0 unchanged" in ok(url, "clusters", "import", str(path))
    with Session(db_engine) as session:
        names = sorted(c.name for c in session.scalars(select(orm.Cluster)))
    assert names == ["analytics", "orders"]


def test_nesting_up_to_the_bound_reaches_the_field_checks(tmp_path: Path) -> None:
    """A value nested to MAX_DEPTH is read, and refused only as a bad field value."""
    value = "[" * (MAX_DEPTH - 2) + "x" + "]" * (MAX_DEPTH - 2)
    path = tmp_path / "clusters.yml"
    path.write_text(f"- {{project: payments, name: {value}}}\n", encoding="utf-8")
    [item] = read_clusters(path)
    nested: object = item["name"]
    for _ in range(MAX_DEPTH - 2):
        assert isinstance(nested, list)
        [nested] = nested
    assert nested == "x"
