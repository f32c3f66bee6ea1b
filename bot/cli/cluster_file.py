"""The file of `clusters import`: read within bounds, as a list of cluster descriptions.

Whatever the file holds, reading it ends quickly with the descriptions or a `CliError` of one
line: the file is at most `MAX_BYTES`, UTF-8, a single YAML document without anchors or
aliases (so what it expands to is never more than what it says) and nested at most
`MAX_DEPTH` collections deep, and every description's field names are text.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

from bot.cli.common import CliError

MAX_BYTES = 1024 * 1024
# A cluster list needs 2: the list, and each cluster's mapping of fields to plain values.
MAX_DEPTH = 4
FORMAT_HINT = "see docs/operating.md, 'The import file'"
# libyaml's parser when PyYAML has it (fast; it also bounds nesting itself), else PyYAML's own.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_clusters(path: Path) -> list[dict[str, object]]:
    """The cluster descriptions listed in the file at `path`, or a one-line `CliError`."""
    text = _text(path)
    _check_structure(path, text)
    try:
        document = yaml.load(text, Loader=LOADER)
    except yaml.YAMLError as error:
        raise CliError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None
    except (ValueError, OverflowError) as error:  # an int of too many digits, a bad date
        raise CliError(f"{path}: not valid YAML: a value cannot be read ({error})") from None
    if not isinstance(document, list) or not all(isinstance(i, dict) for i in document):
        raise CliError(f"{path}: expected a list of clusters ({FORMAT_HINT})")
    for index, item in enumerate(document, start=1):
        for key in item:
            if not isinstance(key, str):
                raise CliError(
                    f"{path}: cluster {index}: field names are text, not {key!r} "
                    f"({type(key).__name__})"
                )
    return document


def _text(path: Path) -> str:
    """The file's text: at most `MAX_BYTES` read, UTF-8."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror}") from None
    if len(data) > MAX_BYTES:
        raise CliError(
            f"{path}: larger than {MAX_BYTES // 1024 // 1024} MiB, the most an import file may be; "
            "split it into several files"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CliError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None


def _check_structure(path: Path, text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the parser's events, before any value
    is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=LOADER):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, AliasEvent) or (
                isinstance(event, NodeEvent) and event.anchor is not None
            ):
                raise CliError(
                    f"{path}: line {line}: YAML anchors and aliases (&name, *name) are not "
                    "allowed in an import file; write each value out"
                )
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CliError(_too_deep(path, line))
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as error:
        if isinstance(error, yaml.MarkedYAMLError) and "nesting depth" in (error.problem or ""):
            # libyaml's own bound (1,000 levels), met while it reads ahead of the events
            mark = error.problem_mark
            raise CliError(_too_deep(path, mark.line + 1 if mark else 0)) from None
        raise CliError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None


def _too_deep(path: Path, line: int) -> str:
    return (
        f"{path}: line {line}: nested more than {MAX_DEPTH} levels deep "
        f"(a list of clusters needs 2; {FORMAT_HINT})"
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's complaint in one line, with where it is."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return where + " ".join(error.problem.split())
    first = str(error).strip().splitlines()
    return first[0] if first else type(error).__name__
