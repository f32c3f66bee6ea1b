"""The README tells the truth: the IAM policy, the settings, the commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.cli import build_parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_iam_policy_names_exactly_the_ec2_actions_the_gateway_calls() -> None:
    [policy_text] = re.findall(r"```json\n(\{.*?\})\n```", README, re.S)
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
    assert "TagSpecifications" in source
    assert actions == called | {"ec2:CreateTags"}


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`{name}`" in README


def test_every_command_is_documented() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"`{name}" in README, name
    assert "make demo" in README and "make test" in README
