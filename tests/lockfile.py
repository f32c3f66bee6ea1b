"""requirements.lock read as pins, and checked against pyproject.toml's runtime dependencies
(tests/test_deploy.py); the packaging test borrows the dev venv's packages as the locked ones."""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Pin:
    version: str
    marker: Marker | None
    hashes: int


def read_lock(text: str) -> dict[str, Pin]:
    """`name==version [; marker]` with its `--hash` lines, by canonical name."""
    pins: dict[str, Pin] = {}
    for entry in re.split(r"\n(?=\S)", text):
        first = entry.split("\\", 1)[0].strip()
        if not first or first.startswith("#"):
            continue
        requirement = Requirement(first)
        [spec] = requirement.specifier
        assert spec.operator == "==", first
        pins[canonicalize_name(requirement.name)] = Pin(
            spec.version, requirement.marker, entry.count("--hash=sha256:")
        )
    return pins


def applies(marker: Marker | None, extras: frozenset[str] = frozenset()) -> bool:
    """Whether a requirement applies to the image (CPython 3.11 on Linux)."""
    if marker is None:
        return True
    image = {
        "python_version": "3.11",
        "python_full_version": "3.11.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    return any(marker.evaluate({**image, "extra": extra}) for extra in extras or {""})


def disagreements(dependencies: list[str], lock: dict[str, Pin]) -> list[str]:
    """What a lock lacks for these runtime dependencies: each one, and what its extras and every
    locked package require (read from the installed distributions, which match the lock), pinned
    with hashes within the range asked for."""
    wanted = [(Requirement(d), "pyproject.toml") for d in dependencies]
    for requirement, _ in list(wanted):
        for extra_requirement in importlib.metadata.requires(requirement.name) or []:
            if requirement.extras and applies(
                Requirement(extra_requirement).marker, frozenset(requirement.extras)
            ):
                wanted.append((Requirement(extra_requirement), requirement.name))
    for name, pin in lock.items():
        if not applies(pin.marker):
            continue
        for need in importlib.metadata.requires(name) or []:
            wanted.append((Requirement(need), name))
    problems = []
    for requirement, by in wanted:
        if not applies(requirement.marker):
            continue
        name = canonicalize_name(requirement.name)
        pin = lock.get(name)
        if pin is None:
            problems.append(f"{requirement} (for {by}) is not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{name}=={pin.version} is outside {requirement} ({by})")
        elif pin.hashes == 0:
            problems.append(f"{name}=={pin.version} has no hash")
    return sorted(set(problems))
