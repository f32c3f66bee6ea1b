"""The local AWS in a process of its own, seeded for the reconcile benchmarks, driven over stdin.

`python -m tests.benchmarks._reconcile_aws` serves the local AWS (moto plus the extension) on a
free port and prints one JSON line with its URL. Then every JSON line on its standard input is
a command, answered by one JSON line on its standard output:

- `seed`: endpoint services through the AWS API (a provider VPC and NLB each, tagged as the
  bot tags them, private DNS names verified, the consumer's account allowed), then their
  connections straight into moto's state with `seed_connections`, which works only in the
  process that runs the server;
- `calls`: the EC2 calls the server received, by action; `reset_calls` zeroes them;
- `reset`: forget every AWS resource; `quit`.

A process of its own keeps the server's CPU and memory out of the figures of the bot it serves
(the reconcile pass measured in the test process, or `python -m bot serve`).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.benchmarks._procs import REPO_ROOT

ANSWER_SECONDS = 600.0
CONSUMER_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


# --- the parent's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSeed:
    """One endpoint service to create, and its connections to seed by AWS state."""

    key: str
    region: str
    cluster_id: int
    cluster_name: str
    private_dns_name: str
    client_token: str
    account: str
    connections: Mapping[str, int]


@dataclass(frozen=True)
class SeededService:
    """What the local AWS made of a `ServiceSeed`: ids to store, vpce ids by state."""

    key: str
    service_id: str
    service_name: str
    az_ids: tuple[str, ...]
    nlb_arn: str
    dns_state: str | None
    dns_txt_name: str | None
    dns_txt_value: str | None
    vpces: Mapping[str, tuple[str, ...]]


class LocalAwsProcess:
    """A running `_reconcile_aws` child: its URL and its commands."""

    def __init__(self, popen: subprocess.Popen[str], log_path: Path) -> None:
        self.popen = popen
        self.log_path = log_path
        self.url = str(self._read()["url"])

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.popen.pid

    def ask(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """Send one command; its answer (an `error` answer raises)."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"local AWS: {answer['error']}")
        return answer

    def seed(self, services: Sequence[ServiceSeed]) -> list[SeededService]:
        """Create the services and their connections; what was made, in the same order."""
        answer = self.ask(
            {
                "op": "seed",
                "services": [
                    {
                        "key": s.key,
                        "region": s.region,
                        "cluster_id": s.cluster_id,
                        "cluster_name": s.cluster_name,
                        "private_dns_name": s.private_dns_name,
                        "client_token": s.client_token,
                        "account": s.account,
                        "connections": dict(s.connections),
                    }
                    for s in services
                ],
            }
        )
        return [
            SeededService(
                key=item["key"],
                service_id=item["service_id"],
                service_name=item["service_name"],
                az_ids=tuple(item["az_ids"]),
                nlb_arn=item["nlb_arn"],
                dns_state=item["dns_state"],
                dns_txt_name=item["dns_txt_name"],
                dns_txt_value=item["dns_txt_value"],
                vpces={state: tuple(ids) for state, ids in item["vpces"].items()},
            )
            for item in answer["services"]
        ]

    def calls(self) -> Counter[str]:
        """EC2 calls received since the last `reset_calls`, by action."""
        return Counter({k: int(v) for k, v in self.ask({"op": "calls"})["calls"].items()})

    def reset_calls(self) -> None:
        """Start counting calls from zero."""
        self.ask({"op": "reset_calls"})

    def reset(self) -> None:
        """Forget every AWS resource (and the call counts)."""
        self.ask({"op": "reset"})

    def stop(self) -> None:
        """Ask it to quit; terminate, then kill, if it does not."""
        if self.popen.poll() is None and self.popen.stdin is not None:
            try:
                self.popen.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.popen.stdin.close()
            except OSError:
                pass
        for action in (None, self.popen.terminate, self.popen.kill):
            if action is not None and self.popen.poll() is None:
                action()
            try:
                self.popen.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue

    def _read(self) -> dict[str, Any]:
        stdout = self.popen.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], ANSWER_SECONDS)
        line = stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the local AWS did not answer:\n{self._log_tail()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""


@contextmanager
def local_aws_process(log_dir: Path) -> Iterator[LocalAwsProcess]:
    """The local AWS in a child process, stopped on exit even after a failure."""
    env = {**os.environ, **CONSUMER_KEYS, "PYTHONUNBUFFERED": "1"}
    env["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    log_path = log_dir / "local-aws.log"
    with log_path.open("w") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks._reconcile_aws"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        process = LocalAwsProcess(popen, log_path)
    except BaseException:
        popen.kill()
        popen.wait()
        raise
    try:
        yield process
    finally:
        process.stop()


# --- the child's side --------------------------------------------------------------------------


def _seed(url: str, services: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from bot.aws.privatelink import CLUSTER_NAME_TAG, CLUSTER_TAG, PrivateLinkGateway
    from sandbox.aws import provider_credentials, seed_connections, seed_provider_network

    provider = provider_credentials()
    made = []
    for index, spec in enumerate(services):
        region = str(spec["region"])
        cluster_id, name = str(spec["cluster_id"]), str(spec["cluster_name"])
        ec2 = provider.ec2(region=region, endpoint_url=url)
        network = seed_provider_network(
            ec2=ec2,
            elbv2=provider.elbv2(region=region, endpoint_url=url),
            cluster_name=name,
            cidr_prefix=f"10.{index % 250}",
        )
        created = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[network.nlb_arn],
            AcceptanceRequired=True,
            PrivateDnsName=str(spec["private_dns_name"]),
            ClientToken=str(spec["client_token"]),
            TagSpecifications=[
                {
                    "ResourceType": "vpc-endpoint-service",
                    "Tags": [
                        {"Key": CLUSTER_TAG, "Value": cluster_id},
                        {"Key": CLUSTER_NAME_TAG, "Value": name},
                    ],
                }
            ],
        )
        service_id = created["ServiceConfiguration"]["ServiceId"]
        gateway = PrivateLinkGateway(ec2)
        gateway.allow_account(service_id=service_id, account_id=str(spec["account"]))
        info = gateway.list_services(service_ids=[service_id])[0]
        vpces = {
            state: seed_connections(
                region=region,
                service_id=service_id,
                count=int(count),
                consumer_account_id=str(spec["account"]),
                state=state,
            )
            for state, count in dict(spec["connections"]).items()
            if int(count) > 0
        }
        made.append(
            {
                "key": spec["key"],
                "service_id": service_id,
                "service_name": info.service_name,
                "az_ids": list(info.az_ids),
                "nlb_arn": network.nlb_arn,
                "dns_state": info.dns_state,
                "dns_txt_name": info.dns_txt_name,
                "dns_txt_value": info.dns_txt_value,
                "vpces": vpces,
            }
        )
    return made


def _answer(out: IO[str], answer: Mapping[str, Any]) -> None:
    out.write(json.dumps(answer) + "\n")
    out.flush()


def main() -> None:
    """Serve the local AWS and answer commands on stdin until `quit` or end of input."""
    from sandbox.aws import reset_backends, start_in_background
    from sandbox.aws.settings import LOCK, SETTINGS

    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol's channel
    with start_in_background(service_delay=0.0, dns_verified=True) as server:
        _answer(out, {"url": server.url, "pid": os.getpid()})
        for line in sys.stdin:
            command = json.loads(line)
            op = command.get("op")
            try:
                if op == "quit":
                    _answer(out, {"ok": True})
                    break
                if op == "seed":
                    _answer(out, {"services": _seed(server.url, command["services"])})
                elif op == "calls":
                    with LOCK:
                        _answer(out, {"calls": dict(SETTINGS.calls)})
                elif op == "reset_calls":
                    with LOCK:
                        SETTINGS.calls.clear()
                    _answer(out, {"ok": True})
                elif op == "reset":
                    reset_backends()
                    with LOCK:
                        SETTINGS.calls.clear()
                    _answer(out, {"ok": True})
                else:
                    _answer(out, {"error": f"unknown command {op!r}"})
            except Exception as error:  # answered to the parent, which raises it
                _answer(out, {"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
