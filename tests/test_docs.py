"""The README and the documents in docs/ tell the truth about the code: a short README with
the two commands and a link to each reader's document; the IAM policy, every setting (with its
default) and every command (with its options) in operating.md; every slash subcommand and status
in using.md; every module in architecture.md's map; every benchmark in benchmarks.md; and every
relative link, anchor and path they name."""

from __future__ import annotations

import argparse
import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

from bot.cli import build_parser
from bot.cli.cluster_file import MAX_BYTES, MAX_DEPTH
from bot.config import MAX_INTERVAL, MIN_INTERVAL, Settings
from bot.domain.slash import Verb
from bot.domain.states import LIVE_ENDPOINT_STATUSES, ServiceStatus
from sandbox.__main__ import build_parser as build_sandbox_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
READERS = ("operating.md", "using.md", "architecture.md", "benchmarks.md")
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPERATING = (DOCS / "operating.md").read_text(encoding="utf-8")
USING = (DOCS / "using.md").read_text(encoding="utf-8")
ARCHITECTURE = (DOCS / "architecture.md").read_text(encoding="utf-8")
BENCHMARKS = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
README_MAX_LINES = 150


def all_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def section(text: str, title: str) -> str:
    """The text under a `## title` (or deeper) heading, up to the next heading of its level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n(.*?)(?=^\1 |\Z)", text, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(2)


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row (escaped pipes stay in their cell)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def leaf_commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command, as its words (`projects add`) and its parser."""
    for name, sub in subcommands(parser).items():
        path = f"{prefix} {name}".strip()
        if subcommands(sub):
            yield from leaf_commands(sub, path)
        else:
            yield path, sub


def long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
        if option.startswith("--")
    ]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", without_code_blocks(path.read_text()), re.M):
        base = anchor = slug(heading)
        count = 0
        while anchor in found:
            count += 1
            anchor = f"{base}-{count}"
        found.add(anchor)
    return found


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_the_readme_is_short_and_gets_a_newcomer_running() -> None:
    assert len(README.splitlines()) <= README_MAX_LINES
    assert "make demo" in README and "make test" in README
    for name in READERS:
        assert f"](docs/{name})" in README, name


def test_make_demo_runs_the_sandbox_demo_the_readme_names() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n\t(.+)$", makefile, re.M)
    assert recipe and recipe.group(1).endswith("-m sandbox demo")
    assert "python -m sandbox demo" in README


def test_every_sandbox_command_and_option_is_in_the_readme() -> None:
    commands = subcommands(build_sandbox_parser())
    assert set(commands) == {"demo", "aws"}
    for name, parser in commands.items():
        assert f"python -m sandbox {name}" in README, name
        for option in long_options(parser):
            assert option in README, (name, option)
    assert "python -m sandbox.slack" in README


def test_iam_policy_names_exactly_the_aws_actions_the_gateway_calls() -> None:
    [policy_text] = re.findall(r"```json\n(\{.*?\})\n```", OPERATING, re.S)
    policy = json.loads(policy_text)
    actions: set[str] = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "aws").glob("*.py"))
    called = {
        f"ec2:{camel(m)}"
        for m in re.findall(
            r"\b((?:create|describe|accept|reject|delete|modify|start)_vpc_endpoint\w*)", source
        )
    }
    called |= {
        f"elasticloadbalancing:{camel(m)}"
        for m in re.findall(r"\bclient\.(describe_target_\w+)\(", source)
    }
    assert "TagSpecifications" in source
    assert {"elasticloadbalancing:DescribeTargetHealth"} < called
    assert actions == called | {"ec2:CreateTags"}


def test_every_setting_is_documented_with_its_default() -> None:
    rows = table_rows(section(OPERATING, "Environment"))
    for name, field in Settings.model_fields.items():
        [row] = [row for row in rows if f"`{name}`" in row[0]]
        default = field.default
        if default is None:
            continue
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        if isinstance(default, bool):
            default = str(default).lower()  # as it is written in the environment
        assert f"`{default}`" in row[1], (name, row[1])


def test_every_command_and_its_options_are_documented() -> None:
    rows = table_rows(section(OPERATING, "Command line"))
    commands = dict(leaf_commands(build_parser()))
    assert {path.split()[0] for path in commands} == {
        "serve",
        "worker",
        "db",
        "projects",
        "clusters",
        "outbox",
    }
    for path, parser in commands.items():
        cells = [row[0] for row in rows if re.match(rf"`{re.escape(path)}[ `]", row[0])]
        assert len(cells) == 1, path
        for option in long_options(parser):
            assert option in cells[0], (path, option)


def test_every_slash_subcommand_is_documented_for_users() -> None:
    rows = table_rows(section(USING, "The command"))
    for verb in Verb:
        assert any(row[0].startswith(f"`/private-endpoint {verb.value}") for row in rows), verb


def test_every_status_is_explained_to_users() -> None:
    rows = table_rows(section(USING, "Statuses"))
    assert {row[0] for row in rows[1:]} == {f"`{s.value}`" for s in LIVE_ENDPOINT_STATUSES}
    for status in set(ServiceStatus) - {ServiceStatus.DELETED}:
        assert f"`{status.value}`" in section(USING, "Statuses"), status


def is_only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return len(body) == 1 and isinstance(body[0], ast.Expr)


def test_the_map_of_the_code_names_every_module() -> None:
    sections = {
        match.group(1): match.group(2)
        for match in re.finditer(
            r"^### `([\w/]+/)`.*?\n(.*?)(?=^##+ |\Z)", ARCHITECTURE, re.S | re.M
        )
    }
    for top in ("bot", "sandbox"):
        for folder in sorted({p.parent for p in (ROOT / top).rglob("*.py")}):
            if "egg-info" in str(folder):
                continue
            key = f"{folder.relative_to(ROOT)}/"
            assert key in sections, f"architecture.md maps no {key}"
            for module in sorted(folder.glob("*.py")):
                if module.name == "__init__.py" and is_only_a_docstring(module):
                    continue
                assert f"`{module.name}`" in sections[key], f"{key}{module.name}"


def test_every_benchmark_is_described() -> None:
    for path in sorted((ROOT / "tests" / "benchmarks").glob("test_*.py")):
        assert f"`{path.name}`" in BENCHMARKS, path.name
    assert "tests.benchmarks.cpu_per_kind" in BENCHMARKS
    assert "tests.benchmarks.cpu_in_process" in BENCHMARKS
    assert "make bench" in BENCHMARKS


def test_every_path_the_documents_name_exists() -> None:
    for doc in all_docs():
        text = doc.read_text(encoding="utf-8")
        named = r"`((?:bot|sandbox|tests|migrations|docs|deploy)/[^`\s<>*]*)`"
        for name in re.findall(named, text):
            assert (ROOT / name).exists(), f"{doc.name}: {name}"


def test_every_relative_link_and_anchor_resolves() -> None:
    for doc in all_docs():
        for target in re.findall(r"\]\(([^)\s]+)\)", without_code_blocks(doc.read_text())):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path) if path else doc
            assert linked.exists(), f"{doc.name}: {target}"
            if anchor:
                assert linked.suffix == ".md", f"{doc.name}: {target}"
                assert anchor in anchors(linked), f"{doc.name}: {target}"


def test_the_import_file_bounds_are_the_ones_the_code_keeps() -> None:
    text = " ".join(section(OPERATING, "The import file").split())
    assert f"at most {MAX_BYTES // 1024 // 1024} MiB" in text
    assert f"nested at most {MAX_DEPTH} levels deep" in text
    assert "no YAML anchors or aliases" in text


def test_the_reconcile_interval_bounds_are_the_ones_the_code_keeps() -> None:
    [row] = [r for r in table_rows(section(OPERATING, "Environment")) if "RECONCILE" in r[0]]
    assert f"from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}" in row[2]
