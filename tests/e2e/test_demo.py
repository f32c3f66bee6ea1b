"""`make demo`'s flow, as a test: `python -m sandbox demo` ends well and says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_walks_to_an_active_endpoint_and_back(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    for seen in (
        "=== The owner types /private-endpoint create in #payments",
        "Step 3 of 5 · *Interface Endpoint*",
        "=== The owner types two values, their AWS account and VPC, and presses Next",
        "    bash <<'PRIVATELINK'",
        "  > Done: vpce-",
        "✔ the modal moved on by itself to Active: no click after the paste",
        "↳ in thread (also sent to the channel):",
        "=== A member types /private-endpoint doctor 1",
        ":white_check_mark: *Load balancer targets:* 2 of 2 targets are healthy.",
        "✔ its security group admits the cluster's port",
        "✔ its thread and the channel were told clients cannot reach orders",
        "✔ told once each way, not at every pass",
        "✔ the doctor marks the targets: 0 of 2 healthy, with AWS's reason",
        "The bot removed it from AWS: deleting → deleted",
    ):
        assert seen in out, seen
    summary = out[out.index("=== Summary") :]
    assert "✘" not in summary
    assert (
        "The Active alert's connection string: mysql --connect-timeout 15 -h "
        "orders.us-west-2.privatelink.example.com -P 4000 -u root -D test -p"
    ) in summary
    assert list(tmp_path.iterdir()) == []  # it leaves nothing behind
