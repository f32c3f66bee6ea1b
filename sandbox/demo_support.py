"""What the demo needs to tell its story: a transcript, waiting, and running `aws` commands."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
WAIT_SECONDS = 30.0


@dataclass
class Transcript:
    """What the demo prints, and which expected steps happened."""

    write: Callable[[str], None]
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def step(self, title: str) -> None:
        """A heading for the next thing the person does."""
        self.write(f"\n=== {title} " + "=" * max(0, 92 - len(title)))

    def show(self, text: str) -> None:
        """Print what the person sees."""
        self.write(text)

    def expect(self, label: str, ok: bool) -> bool:
        """Record an expected outcome and say whether it happened."""
        self.checks.append((label, ok))
        self.write(f"  {'✔' if ok else '✘'} {label}")
        return ok

    @property
    def failed(self) -> list[str]:
        """The expected steps that did not happen."""
        return [label for label, ok in self.checks if not ok]


def wait_until(condition: Callable[[], T | None], *, timeout: float = WAIT_SECONDS) -> T | None:
    """Poll `condition` until it gives something truthy; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(0.2)


def text_of(shown: dict[str, Any]) -> str:
    """Everything in a view or message, as one searchable string."""
    return json.dumps(shown, ensure_ascii=False)


def commands_in(shown: dict[str, Any]) -> list[str]:
    """The `aws …` command lines shown in a view's or message's code blocks."""
    found: list[str] = []
    for block in shown.get("blocks", []):
        text = str(block.get("text", {}).get("text", ""))
        for piece in text.split("```")[1::2]:
            plain = piece.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            found += [line for line in plain.splitlines() if line.startswith("aws ")]
    return found


def scripts_in(shown: dict[str, Any]) -> list[str]:
    """The code blocks of a view's or message's sections and its preformatted rich text, as a
    person copies them out."""
    found: list[str] = []
    for block in shown.get("blocks", []):
        found += preformatted_in(block)
        text = str(block.get("text", {}).get("text", ""))
        for piece in text.split("```")[1::2]:
            found.append(piece.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return found


def preformatted_in(block: dict[str, Any]) -> list[str]:
    """The text of each preformatted piece of a rich text block (none for other blocks)."""
    if block.get("type") != "rich_text":
        return []
    return [
        "".join(str(part.get("text", "")) for part in element.get("elements", []))
        for element in block.get("elements", [])
        if element.get("type") == "rich_text_preformatted"
    ]


class AwsCommandFailed(Exception):
    """The `aws` CLI exited non-zero; the message is its error output."""


def run_aws(command: str, *, env: dict[str, str]) -> dict[str, Any]:
    """Run an `aws` command line as a person pastes it into a shell; its JSON output."""
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).parent / "aws")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AwsCommandFailed(result.stderr.strip())
    parsed = json.loads(result.stdout or "{}")
    assert isinstance(parsed, dict)
    return parsed


def paste(block: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A block pasted into a shell (bash) with this Python's `aws` CLI first on the PATH; what
    it printed and how it ended."""
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", block],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def run_script(script: str, *, env: dict[str, str]) -> list[dict[str, Any]]:
    """Run lines as a person pastes them into one shell (bash, stopping at the first failure),
    with this Python's `aws` CLI first on the PATH; the JSON documents they printed."""
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AwsCommandFailed(result.stderr.strip())
    documents, decoder, text = [], json.JSONDecoder(), result.stdout.strip()
    while text:
        document, end = decoder.raw_decode(text)
        documents.append(document)
        text = text[end:].strip()
    return documents
