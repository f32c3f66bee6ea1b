"""Packaged like a service: the wheel, built as the Dockerfile builds it and installed alone in a
fresh venv, migrates SQLite and Postgres and serves `/healthz` from outside the checkout; the
Dockerfile and compose.yaml say the same steps."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot.storage.db import make_engine
from sandbox.slack_api import DEFAULT_TOKEN, SlackStandIn, start
from tests.conftest import POSTGRES_URL
from tests.lockfile import applies, read_lock

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
REVISIONS = ROOT / "migrations" / "versions"
LOCK_NAME = "requirements.lock"
SLACK_ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")


# --- The Dockerfile, read as its instructions ---------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    name: str  # upper case: FROM, COPY, RUN, ...
    args: str


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, stage by stage, continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in lines:
        name, _, args = line.partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(name.upper(), args.strip()))
    return stages


def only(stage: list[Instruction], name: str) -> str:
    [args] = [i.args for i in stage if i.name == name]
    return args


def test_dockerfile_builds_the_wheel_then_installs_only_it_and_runs_as_a_service() -> None:
    build, final = dockerfile_stages()
    assert build[0].args == "python:3.11-slim AS build"
    assert "pip wheel" in only(build, "RUN") and "--no-deps" in only(build, "RUN")

    assert final[0].args == "python:3.11-slim"
    copies = [i.args for i in final if i.name == "COPY"]
    # The lock and the wheel, nothing of the source tree.
    assert copies == [f"{LOCK_NAME} /tmp/{LOCK_NAME}", "--from=build /wheels /wheels"]
    [install] = [i.args for i in final if i.name == "RUN" and "pip install" in i.args]
    steps = [shlex.split(step) for step in install.split("&&")]
    assert steps[0][:2] == ["pip", "install"] and "--require-hashes" in steps[0]
    assert steps[0][steps[0].index("--requirement") + 1] == f"/tmp/{LOCK_NAME}"
    assert steps[1][:2] == ["pip", "install"] and steps[1][-2:] == ["--no-deps", "/wheels/*.whl"]
    assert steps[2] == ["pip", "check"]  # the locked set satisfies the wheel's requirements
    assert len(steps) == 4 and steps[3][:2] == ["rm", "-rf"]
    names = [i.name for i in final]
    last_run = len(names) - 1 - names[::-1].index("RUN")
    assert "USER" in names and names.index("USER") > last_run  # installed as root, run as not
    assert only(final, "USER") not in ("root", "0")
    assert only(final, "USER").split(":")[0].isdigit()  # Kubernetes' runAsNonRoot checks a uid
    assert only(final, "EXPOSE") == "3000"
    healthcheck = only(final, "HEALTHCHECK")
    assert "urllib" in healthcheck and "127.0.0.1:3000/healthz" in healthcheck
    assert json.loads(only(final, "CMD")) == ["python", "-m", "bot", "serve"]


def test_dockerignore_lets_in_exactly_what_the_build_stage_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert patterns[0] == "*"  # everything else, .env and .git among it, stays out
    copied = {src for src, _ in build_stage_copies()} | {LOCK_NAME}  # and the final stage's
    assert allowed == copied


def test_compose_runs_migrate_once_then_serve_and_worker() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "serve", "worker"}
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    commands = {name: services[name]["command"] for name in ("migrate", "serve", "worker")}
    assert commands == {
        "migrate": ["python", "-m", "bot", "db", "upgrade"],
        "serve": ["python", "-m", "bot", "serve", "--no-worker"],
        "worker": ["python", "-m", "bot", "worker"],
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("serve", "worker"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    for name in ("migrate", "serve", "worker"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["image"] == "privatelink-bot"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["serve"]["ports"] == ["3000:3000"]


# --- The wheel, built and installed as the Dockerfile does -------------------------------------


def build_stage_copies() -> list[tuple[str, str]]:
    """(source, destination) of each COPY in the build stage, relative to its WORKDIR."""
    pairs = []
    for args in (i.args for i in dockerfile_stages()[0] if i.name == "COPY"):
        *sources, destination = args.split()
        for source in sources:
            into = destination.endswith("/") or len(sources) > 1
            pairs.append((source, str(Path(destination) / source) if into else destination))
    return pairs


@dataclass(frozen=True)
class Installed:
    python: Path  # the fresh venv's interpreter
    site_packages: Path
    wheel: Path
    workdir: Path  # a working directory outside the checkout


def build_wheel(tmp: Path) -> Path:
    """Copy what the build stage copies, run its `pip wheel` step there; the wheel's path."""
    source = tmp / "src"
    for src, dest in build_stage_copies():
        target = source / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / src).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")  # as .dockerignore says
            shutil.copytree(ROOT / src, target, ignore=ignore)
        else:
            shutil.copy2(ROOT / src, target)
    [run] = [i.args for i in dockerfile_stages()[0] if i.name == "RUN"]
    argv = [str(tmp / "wheels") if arg == "/wheels" else arg for arg in shlex.split(run)]
    assert argv[:2] == ["pip", "wheel"]
    result = subprocess.run(
        [sys.executable, "-m", *argv], cwd=source, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = (tmp / "wheels").glob("privatelink_bot-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel installed, not editable, in a new venv that borrows only the dependencies."""
    tmp = tmp_path_factory.mktemp("packaging")
    wheel = build_wheel(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site_packages = Path(purelib)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-compile", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert_this_venv_has_the_locked_versions()
    # The dependencies come from this venv's site-packages, appended after the new venv's own
    # (a .pth line goes to the end of sys.path, and the .pth files there are not run, so the
    # editable checkout's import hook stays out): the wheel's `bot` and `migrations` win.
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    workdir = tmp / "work"
    workdir.mkdir()
    return Installed(python=python, site_packages=site_packages, wheel=wheel, workdir=workdir)


def assert_this_venv_has_the_locked_versions() -> None:
    """The dependencies the new venv borrows are the image's: each package of the lock is
    installed here at the lock's version (`make install` constrains them to it), so borrowing
    them installs the wheel with the locked versions, offline."""
    lock = read_lock((ROOT / LOCK_NAME).read_text(encoding="utf-8"))
    here = {
        name: importlib.metadata.version(name) for name, pin in lock.items() if applies(pin.marker)
    }
    locked = {name: pin.version for name, pin in lock.items() if applies(pin.marker)}
    assert here == locked, "run `make install`: this venv's versions differ from the lock"


def bot(installed: Installed, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` with the installed wheel, from a directory outside the checkout."""
    return subprocess.run(
        [str(installed.python), "-m", "bot", *args],
        cwd=installed.workdir,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def clean_env(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *SLACK_ENV)}
    return {**base, **env}


def head_revision() -> str:
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_the_wheel_carries_every_revision_and_loads_outside_the_checkout(
    installed: Installed,
) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("migrations/versions/")}
    assert shipped - {"__init__.py"} == {p.name for p in REVISIONS.glob("*.py")} - {"__init__.py"}
    assert {"migrations/env.py", "migrations/script.py.mako"} <= set(names)
    assert not any(n.startswith(("tests/", "bot/__pycache__")) for n in names)
    assert not any(n.startswith(("sandbox/", "bot/sandbox/")) for n in names)  # beside, not in

    where = subprocess.run(
        [
            installed.python,
            "-c",
            "import bot, migrations; print(bot.__file__, migrations.__file__)",
        ],
        cwd=installed.workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [Path(p).parent.parent for p in where] == [installed.site_packages] * 2


PRODUCTION_COMMANDS = ["serve", "worker", "db", "projects", "clusters", "outbox"]


def test_the_installed_cli_lists_only_production_commands_and_needs_no_extra(
    installed: Installed,
) -> None:
    """No demo, no local AWS: those start from the sandbox, which the wheel does not carry; and
    nothing the bot needs at run time is an extra."""
    result = bot(installed, "--help")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("COMMAND\n", 2)[-1].split("options:")[0]
    indent = {line: len(line) - len(line.lstrip()) for line in listed.splitlines()}
    commands = [line.split()[0] for line, depth in indent.items() if depth == 4]
    assert commands == PRODUCTION_COMMANDS
    assert "demo" not in result.stdout and "sandbox" not in result.stdout

    gone = subprocess.run(
        [installed.python, "-c", "import sandbox"],
        cwd=installed.workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert gone.returncode == 1 and "No module named 'sandbox'" in gone.stderr

    with zipfile.ZipFile(installed.wheel) as wheel:
        [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    runtime = [r for r in requires if "extra ==" not in r]
    assert runtime and not any(r.lower().startswith(("moto", "awscli")) for r in runtime)


def test_installed_db_upgrade_migrates_a_new_sqlite_file_and_serve_is_healthy(
    installed: Installed,
) -> None:
    url = f"sqlite:///{installed.workdir / 'bot.db'}"
    result = bot(installed, "db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "database is at the newest revision" in result.stdout
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert_healthcheck_passes(installed, url)


def assert_healthcheck_passes(installed: Installed, url: str) -> None:
    """`serve` from the wheel, probed by the Dockerfile's own HEALTHCHECK command."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    _, slack = start(SlackStandIn())  # serve asks Slack who it is (auth.test) as it starts
    env = clean_env(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET="packaging-test-secret",
        SLACK_API_URL=slack.api_url,
    )
    serve = subprocess.Popen(
        [installed.python, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
        + ["--no-worker"],
        cwd=installed.workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    final = dockerfile_stages()[-1]
    words = only(final, "HEALTHCHECK").split(" CMD ", 1)[1]
    argv = [
        str(installed.python) if word == "python" else word.replace(":3000/", f":{port}/")
        for word in json.loads(words)
    ]
    try:
        deadline = time.monotonic() + 30
        while (check := subprocess.run(argv, capture_output=True, check=False)).returncode != 0:
            assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
            assert time.monotonic() < deadline, check.stderr
            time.sleep(0.2)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.communicate()
        slack.stop()


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """A new database beside TEST_DATABASE_URL's, dropped afterwards; that one is untouched."""
    if not POSTGRES_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"test_packaging_{os.getpid()}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_installed_db_upgrade_migrates_postgres(
    installed: Installed, scratch_postgres: str
) -> None:
    result = bot(installed, "db", "upgrade", DATABASE_URL=scratch_postgres)
    assert result.returncode == 0, result.stderr
    engine = make_engine(scratch_postgres)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_installed_commands_start(installed: Installed, command: str) -> None:
    result = bot(installed, command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m bot {command}")


def test_the_installed_worker_and_server_import_from_the_wheel(installed: Installed) -> None:
    """`--help` loads neither (the CLI imports them when a command runs): import them."""
    code = (
        "import bot.server, bot.worker.runner, bot.reconcile.passes, bot.slack.app;"
        "print(bot.worker.runner.__file__)"
    )
    result = subprocess.run(
        [str(installed.python), "-c", code],
        cwd=installed.workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(installed.site_packages))
