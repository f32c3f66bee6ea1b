"""`python -m sandbox demo`: the whole flow offline, printed as a person would read it.

One owner walks `/private-endpoint create` to an Active endpoint, running the very `aws`
commands the bot shows against the local AWS as their own account; then a member lists,
connects, asks for billing and runs the doctor (and the first two checks it gives for the
user's side); the cluster's instances stop (the channel is told once, and the doctor marks the
targets) and run again (told once); the owner terminates the endpoint; an operator drops the
cluster.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import clusters
from bot.storage import orm
from bot.storage.db import make_engine, make_sessionmaker, transaction
from sandbox import render
from sandbox.aws import provider_credentials
from sandbox.demo_env import CONSUMER_ACCOUNT, REGION, World, world
from sandbox.demo_support import (
    Transcript,
    paste,
    run_aws,
    run_script,
    scripts_in,
    text_of,
    wait_until,
)


def _show_modal(w: World, t: Transcript) -> dict[str, Any]:
    view = w.owner.view()
    t.show(render.view(view))
    return view


def _modal_with(w: World, needle: str) -> dict[str, Any] | None:
    standin = w.owner.slack.standin
    return wait_until(
        lambda: _if_contains(standin.view(w.owner.view_id or "", team=w.owner.team_id), needle)
    )


def _if_contains(shown: dict[str, Any] | None, needle: str) -> dict[str, Any] | None:
    return shown if shown is not None and needle in text_of(shown) else None


def _channel(w: World, t: Transcript) -> None:
    standin = w.owner.slack.standin
    for message in _parents(w):
        t.show(render.message(message, prefix="  │ "))
        for reply in standin.replies(w.owner.channel_id, message["ts"], team=w.owner.team_id):
            also = " (also sent to the channel)" if _broadcasted(reply) else ""
            t.show(f"  │   ↳ in thread{also}:")
            t.show(render.message(reply, prefix="  │     "))


def _broadcast(w: World, word: str) -> dict[str, Any] | None:
    return next(iter(_broadcasts(w, word)), None)


def _broadcasted(message: dict[str, Any]) -> bool:
    return message.get("subtype") == "thread_broadcast"


def _parents(w: World) -> list[dict[str, Any]]:
    return [
        m
        for m in w.owner.slack.standin.messages(w.owner.channel_id, team=w.owner.team_id)
        if m.get("thread_ts") in (None, m.get("ts"))
    ]


PASTE_MARK = "bash <<'PRIVATELINK'"
ACTIVE_MARK = "is *active*"


def wizard(w: World, t: Transcript) -> bool:
    """The wizard to Active: two values typed, one block pasted (run for real, as the user's
    account), no click after it; True when the modal moved on by itself."""
    t.step("The owner types /private-endpoint create in #payments")
    view = w.owner.open_wizard("create")
    t.show(render.view(view))
    t.expect(
        "Choose Cluster offers orders and says why the others are left out",
        "orders (us-west-2)" in text_of(view) and "Not applicable" in text_of(view),
    )

    t.step("Next → Service Endpoint: the cluster's region, preselected")
    w.owner.submit()
    t.expect("Service Endpoint proposes us-west-2", "us-west-2" in text_of(_show_modal(w, t)))

    t.step("Next → Interface Endpoint, while AWS creates the endpoint service")
    w.owner.submit()
    t.expect(
        "the modal says the service is being created",
        "Creating the endpoint service" in text_of(_show_modal(w, t)),
    )

    t.step("Seconds later the worker updates the open modal in place")
    view = _modal_with(w, "Service name") or w.owner.view()
    t.show(render.view(view))
    if not t.expect("the modal shows the service name and AZ ids", "Service name" in text_of(view)):
        return False

    t.step("The owner types two values, their AWS account and VPC, and presses Next")
    w.owner.submit({"account_id": CONSUMER_ACCOUNT, "vpc": w.vpc_id})
    _show_modal(w, t)

    t.step("Seconds later the bot has allowed the account, and the modal shows one block")
    view = _modal_with(w, PASTE_MARK) or w.owner.view()
    t.show(render.view(view))
    block = next((s for s in scripts_in(view) if s.startswith(PASTE_MARK)), "")
    if not t.expect("the block carries the real account, VPC and service", w.vpc_id in block):
        return False
    if not verify_dns(w, t):
        return False

    t.step("The owner pastes the block into a shell logged in to their account, then waits")
    pasted = time.monotonic()
    done = paste(block, env=w.consumer_env)
    for line in (done.stdout + done.stderr).splitlines():
        t.show(f"  > {line}")
    t.expect(
        f"the block ended well, with private DNS on, {time.monotonic() - pasted:.0f}s after "
        "the paste",
        done.returncode == 0 and "with private DNS" in done.stdout,
    )
    view = _modal_with(w, ACTIVE_MARK) or w.owner.view()
    t.show(render.view(view))
    if not t.expect(
        "the modal moved on by itself to Active: no click after the paste",
        ACTIVE_MARK in text_of(view),
    ):
        return False
    return what_the_block_made(w, t, block)


def what_the_block_made(w: World, t: Transcript, block: str) -> bool:
    """The user's side as their account sees it; then the same block pasted again."""
    t.step("What the block made, as the owner's AWS account sees it")
    made = _users_side(w)
    for line in made.lines:
        t.show(f"  {line}")
    t.expect(
        "one endpoint, private DNS on, one subnet in each supported AZ ID and none elsewhere",
        made.endpoints == 1 and made.private_dns and sorted(made.subnets) == sorted(w.subnet_ids),
    )
    t.expect("its security group admits TCP 4000 from the VPC", made.admits_port)
    # the Active alert goes out through the outbox, after the modal moved on: wait for it
    alerts = len(wait_until(lambda: _broadcasts(w, "mysql")) or [])
    t.step("The owner pastes the same block again")
    again = paste(block, env=w.consumer_env)
    for line in (again.stdout + again.stderr).splitlines():
        t.show(f"  > {line}")
    twice = _users_side(w)
    return t.expect(
        "run again: exit 0, no second endpoint, group or Active alert",
        again.returncode == 0
        and (twice.endpoints, twice.groups) == (made.endpoints, made.groups)
        and len(_broadcasts(w, "mysql")) == alerts == 1,
    )


@dataclass(frozen=True)
class UsersSide:
    """The user's interface endpoints and the bot-named groups, as their account lists them."""

    endpoints: int
    private_dns: bool
    subnets: list[str]
    groups: int
    admits_port: bool
    lines: list[str]


def _users_side(w: World) -> UsersSide:
    env = w.consumer_env
    found = run_aws(f"aws ec2 describe-vpc-endpoints --region {REGION}", env=env)["VpcEndpoints"]
    groups = run_aws(
        f"aws ec2 describe-security-groups --region {REGION} "
        "--filters Name=group-name,Values=privatelink-orders-*",
        env=env,
    )["SecurityGroups"]
    ports = {(p.get("FromPort"), p.get("ToPort")) for g in groups for p in g["IpPermissions"]}
    first = found[0] if found else {}
    return UsersSide(
        endpoints=len(found),
        private_dns=bool(first.get("PrivateDnsEnabled")),
        subnets=list(first.get("SubnetIds", [])),
        groups=len(groups),
        admits_port=(4000, 4000) in ports,
        lines=[
            f"{e['VpcEndpointId']} {e['State']}, private DNS "
            f"{'on' if e.get('PrivateDnsEnabled') else 'off'}, subnets {' '.join(e['SubnetIds'])}"
            for e in found
        ]
        + [f"{g['GroupName']} ({g['GroupId']}): inbound {sorted(ports)}" for g in groups],
    )


def _broadcasts(w: World, word: str) -> list[dict[str, Any]]:
    return [
        m
        for m in w.owner.slack.standin.messages(w.owner.channel_id, team=w.owner.team_id)
        if _broadcasted(m) and word in text_of(m)
    ]


def verify_dns(w: World, t: Transcript) -> bool:
    """The owner verifies the private DNS name from the owners' message in the channel."""
    t.step("#payments: the project's owners were asked to verify the private DNS name")
    message = wait_until(lambda: _parent_with(w, "needs verification"))
    if not t.expect("the owners' message gives the TXT record", message is not None):
        return False
    assert message is not None
    t.show(render.message(message, prefix="  │ "))

    t.step("The owner publishes that TXT record, then presses Verify now")
    responses = len(w.owner.slack.standin.calls("response_url"))
    w.owner.click_in_message(message, "verify_dns")
    answer = w.owner.slack.standin.wait_for("response_url", count=responses + 1)[-1]
    t.show(render.message(answer.args, prefix="  (only you) "))
    verified = wait_until(lambda: _reply_with(w, message["ts"], "Verified"))
    for reply in w.owner.slack.standin.replies(
        w.owner.channel_id, message["ts"], team=w.owner.team_id
    ):
        t.show(render.message(reply, prefix="  │   ↳ "))
    return t.expect("AWS verified the name; its thread says so", verified is not None)


def _parent_with(w: World, needle: str) -> dict[str, Any] | None:
    return next((m for m in _parents(w) if needle in text_of(m)), None)


def _reply_with(w: World, ts: str, needle: str) -> dict[str, Any] | None:
    replies = w.owner.slack.standin.replies(w.owner.channel_id, ts, team=w.owner.team_id)
    return next((r for r in replies if needle in text_of(r)), None)


def channel_and_commands(w: World, t: Transcript) -> str:
    """The Active alert in the channel, then list, connect and billing as a member."""
    active = wait_until(lambda: _broadcast(w, "mysql"))
    t.step("#payments: one message per endpoint, updated in place; its history in the thread")
    _channel(w, t)
    t.expect("the Active alert went to the channel with connection strings", active is not None)
    endpoint_messages = [m for m in _parents(w) if "Private endpoint #" in text_of(m)]
    t.expect("exactly one channel message for the endpoint", len(endpoint_messages) == 1)
    mysql = next(
        (
            line.strip()
            for line in render.message(active or {}).splitlines()
            if line.strip().startswith("mysql ")
        ),
        "",
    )
    for text in ("list", "connect orders", "billing"):
        t.step(f"A member types /private-endpoint {text}")
        reply = w.member.command(text).json()
        t.show(render.message(reply, prefix="  "))
        if text.startswith("connect"):
            t.expect("connect gives the private host", "orders.us-west-2." in text_of(reply))
    return mysql


def doctor(w: World, t: Transcript) -> None:
    """The member asks the doctor about the endpoint, then runs the first two checks it gives
    for the user's side (private DNS and groups; the groups' rule for the port) as the user."""
    answer = ask_doctor(w, t)
    t.expect(
        "the doctor sees nothing wrong on the provider's side",
        "nothing wrong on the provider's side" in str(answer.get("text")),
    )
    checks = [s for s in scripts_in(answer) if s.startswith("aws ec2 describe-")]
    t.step("The user runs the doctor's first two checks with their own account")
    documents = run_script("\n".join(checks[:2]), env=w.consumer_env) if len(checks) >= 2 else []
    for document in documents:
        t.show(f"  {document}")
    endpoint = documents[0] if documents and isinstance(documents[0], dict) else {}
    t.expect("the user's endpoint has private DNS on", endpoint.get("PrivateDns") is True)
    t.expect(
        "its security group admits the cluster's port", len(documents) == 2 and bool(documents[1])
    )


def _endpoint_id(w: World) -> int:
    engine = make_engine(w.settings.DATABASE_URL.get_secret_value())
    with make_sessionmaker(engine)() as session:
        endpoint_id = session.scalars(select(orm.PrivateEndpoint.id)).one()
    engine.dispose()
    return endpoint_id


def ask_doctor(w: World, t: Transcript) -> dict[str, Any]:
    """A member runs `/private-endpoint doctor <id>`; the checklist answered to them only."""
    endpoint_id = _endpoint_id(w)
    t.step(f"A member types /private-endpoint doctor {endpoint_id}")
    answered = len(w.member.slack.standin.calls("response_url"))
    t.show(render.message(w.member.command(f"doctor {endpoint_id}").json(), prefix="  "))
    answer: dict[str, Any] = w.member.slack.standin.wait_for("response_url", count=answered + 1)[
        -1
    ].args
    t.show(render.message(answer, prefix="  (only you) "))
    return answer


def targets_down_and_back(w: World, t: Transcript) -> None:
    """The instances behind orders' load balancer stop, then run again."""
    ec2 = provider_credentials().ec2(region=REGION)
    t.step("The provider's instances behind orders' load balancer stop")
    ec2.stop_instances(InstanceIds=list(w.instance_ids))
    down = wait_until(lambda: _broadcast(w, "cannot reach orders"))
    t.expect("its thread and the channel were told clients cannot reach orders", down is not None)
    t.show(render.message(down or {}, prefix="  │   ↳ "))
    shown = wait_until(lambda: _parent_with(w, "clients cannot reach orders"))
    t.expect("the endpoint's message says so", shown is not None)
    answer = ask_doctor(w, t)
    t.expect(
        "the doctor marks the targets: 0 of 2 healthy, with AWS's reason",
        "0 of 2" in str(answer) and "stopped state" in str(answer),
    )

    t.step("They run again")
    ec2.start_instances(InstanceIds=list(w.instance_ids))
    back = wait_until(lambda: _broadcast(w, "can reach orders again"))
    t.expect("one reply says clients can reach orders again", back is not None)
    t.show(render.message(back or {}, prefix="  │   ↳ "))
    told = len(_broadcasts(w, "cannot reach orders")), len(_broadcasts(w, "reach orders again"))
    t.expect("told once each way, not at every pass", told == (1, 1))


def terminate_and_drop(w: World, t: Transcript) -> None:
    """Terminate the endpoint from Slack; drop the cluster as an operator."""
    engine = make_engine(w.settings.DATABASE_URL.get_secret_value())
    sessions = make_sessionmaker(engine)
    endpoint_id = _endpoint_id(w)
    t.step(f"The owner types /private-endpoint terminate {endpoint_id} and confirms")
    prompt = w.owner.command(f"terminate {endpoint_id}").json()
    t.show(render.message(prompt, prefix="  "))
    message = {"ts": "1700000000.000100", "text": prompt["text"], "blocks": prompt["blocks"]}
    w.owner.click_in_message(message, "terminate_confirmed")
    gone = wait_until(lambda: _no_rows(sessions, orm.PrivateEndpoint))
    t.expect("the connection was rejected and the endpoint left the list", bool(gone))

    t.step("An operator drops the cluster: python -m bot clusters drop orders")
    with transaction(sessions) as session:
        result = clusters.drop(session=session, name="orders")
    t.show(f"  dropping {result.cluster}: its endpoint service is deleting")
    dropped = wait_until(lambda: _no_rows(sessions, orm.EndpointService))
    t.expect("the endpoint service was deleted on AWS and the cluster removed", bool(dropped))
    drained = wait_until(lambda: _outbox_drained(sessions))
    t.expect("every channel update was delivered", bool(drained))
    engine.dispose()
    _channel(w, t)


def _outbox_drained(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        query = select(orm.Outbox.id).where(
            orm.Outbox.sent_at.is_(None), orm.Outbox.dead_at.is_(None)
        )
        return session.scalars(query).first() is None


def _no_rows(sessions: sessionmaker[Session], model: type[orm.Base]) -> bool:
    with sessions() as session:
        return session.scalars(select(model)).first() is None


def main(write: Callable[[str], None] = print) -> int:
    """Run the demo; 0 when every expected step happened."""
    t = Transcript(write)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as workdir, world(Path(workdir)) as w:
        mysql = ""
        if wizard(w, t):
            mysql = channel_and_commands(w, t)
            doctor(w, t)
            targets_down_and_back(w, t)
            terminate_and_drop(w, t)
    t.step("Summary")
    t.show(
        f"  {len(t.checks) - len(t.failed)} of {len(t.checks)} expected steps happened "
        f"in {time.monotonic() - started:.1f}s; nothing is left running."
    )
    for label in t.failed:
        t.show(f"  ✘ missing: {label}")
    if mysql:
        t.show(f"  The Active alert's connection string: {mysql}")
    return 1 if t.failed else 0
