"""The shape of `bot/`: layers import only downwards, no import cycle, small modules that say
what they are for, and every notice kind has a Slack renderer; the `sandbox` beside it is held
to the same size and docstrings, and the bot never imports it."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.notices.registry import KINDS
from bot.slack.renderers import RENDERERS

ROOT = Path(__file__).resolve().parent.parent / "bot"
SANDBOX = ROOT.parent / "sandbox"
BELOW_SLACK = ("domain", "storage", "aws", "notices", "services", "reconcile")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The `bot` modules a file imports (a `from bot.x import y` counts `bot.x.y` when y is a
    module, else `bot.x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("bot")}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: a relative import the graph would not see"
            if node.module and node.module.startswith("bot"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in MODULES else node.module)
    return found


FILES = sorted(ROOT.rglob("*.py"))
MODULES = {module_name(path) for path in FILES}
GRAPH = {module_name(path): imports_of(path) & MODULES for path in FILES}


def test_nothing_below_slack_imports_it() -> None:
    offenders = {
        module: sorted(i for i in imported if i == "bot.slack" or i.startswith("bot.slack."))
        for module, imported in GRAPH.items()
        if module.split(".")[1:2] and module.split(".")[1] in BELOW_SLACK
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_the_import_graph_has_no_cycle() -> None:
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError(
                "import cycle: " + " -> ".join([*path[path.index(module) :], module])
            )
        if module in done:
            return
        path.append(module)
        for imported in sorted(GRAPH.get(module, ())):
            if imported != module and not module.startswith(imported + "."):
                visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)


def test_the_bot_never_imports_the_sandbox() -> None:
    """The stand-ins and the demo stay beside the product: nothing in `bot` imports them, at the
    top or inside a function."""
    offenders = []
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "sandbox"]
    assert offenders == []
    assert not (ROOT / "sandbox").exists()


def test_modules_are_small_and_say_what_they_are_for() -> None:
    for path in [*FILES, *sorted(SANDBOX.rglob("*.py"))]:
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_LINES, f"{path} is over {MAX_LINES} lines"
        assert text.startswith('"""'), f"{path} does not open with a docstring"
        assert "noqa: E402" not in text, f"{path} imports below the top"


def test_every_notice_kind_has_a_renderer() -> None:
    assert set(KINDS.values()) == set(RENDERERS)
