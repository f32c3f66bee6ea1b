"""Deployed the way operators deploy: the Kubernetes base in deploy/kubernetes renders, is valid
against the Kubernetes schemas and runs the bot's own commands as the image's unprivileged user;
the Terraform module in deploy/terraform grants exactly the policy docs/operating.md lists;
requirements.lock pins every runtime dependency within pyproject.toml's ranges; and each of them
is clean under its ecosystem's checker (kubernetes-validate, checkov, terraform fmt, hadolint).
A checker that cannot be installed or run skips its test, and only that."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.cli.processes import WORKER_PORT
from bot.config import Settings
from bot.prefork import GUNICORN_LIMITS
from bot.worker.runner import Worker
from tests.lockfile import Pin, disagreements, read_lock

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
TERRAFORM = ROOT / "deploy" / "terraform"
LOCK = ROOT / "requirements.lock"
OPERATING = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SECRET = "privatelink-bot"  # the Secret the operator creates; the base only names it
SERVE_PORT = 3000  # `serve --port`'s default, the image's EXPOSE and HEALTHCHECK
# Settings that are secrets, or carry one: only ever in the Secret, never in the ConfigMap.
SECRET_SETTINGS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_SECRET",
    "DATABASE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}


def tool(name: str) -> str:
    """The path of a checker in this venv or on PATH, or a skip naming it."""
    here = ROOT / ".venv" / "bin" / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (make install)")
    return found


# --- The Kubernetes base ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/kubernetes`, as its documents."""
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(KUBERNETES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pod spec of each Deployment and Job, by its name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }


def container(pod: dict[str, Any]) -> dict[str, Any]:
    [only] = pod["containers"]
    assert not pod.get("initContainers")
    return dict(only)


def image_user() -> int:
    """The uid of the Dockerfile's USER (`uid[:gid]`) in its final stage."""
    users = re.findall(r"^USER (\S+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    return int(users[-1].split(":")[0])


def test_the_base_renders_these_resources_in_one_namespace(rendered: list[dict[str, Any]]) -> None:
    found = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    settings = [name for kind, name in found if kind == "ConfigMap"]
    assert len(settings) == 1 and settings[0].startswith("privatelink-bot-settings-")  # hashed
    assert found - {("ConfigMap", settings[0])} == {
        ("ServiceAccount", "privatelink-bot"),
        ("Service", "privatelink-bot"),
        ("Deployment", "privatelink-bot-serve"),
        ("Deployment", "privatelink-bot-worker"),
        ("Job", "privatelink-bot-migrate"),
        ("PodDisruptionBudget", "privatelink-bot-serve"),
        ("PodDisruptionBudget", "privatelink-bot-worker"),
        ("NetworkPolicy", "privatelink-bot-serve"),
        ("NetworkPolicy", "privatelink-bot-worker"),
        ("NetworkPolicy", "privatelink-bot-migrate"),
    }
    assert {d["metadata"]["namespace"] for d in rendered} == {"privatelink-bot"}
    assert not [d for d in rendered if d["kind"] == "Secret"]  # the operator makes it


def test_the_rendered_manifests_are_valid_against_the_kubernetes_schemas(
    rendered: list[dict[str, Any]],
) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.skip("kubernetes-validate is not installed (make install)")
    version = kubernetes_validate.latest_version()
    assert Version(version) >= Version("1.33")
    for doc in rendered:  # strict: an unknown or misspelt field fails too
        kubernetes_validate.validate(doc, version, strict=True)


def test_serve_and_worker_run_the_bots_commands_with_probes_on_their_own_ports(
    rendered: list[dict[str, Any]],
) -> None:
    pods = workloads(rendered)
    serve = container(pods["privatelink-bot-serve"])
    worker = container(pods["privatelink-bot-worker"])
    migrate = container(pods["privatelink-bot-migrate"])
    assert serve["command"][:5] == ["python", "-m", "bot", "serve", "--no-worker"]
    assert worker["command"] == ["python", "-m", "bot", "worker", "--port", str(WORKER_PORT)]
    assert migrate["command"] == ["python", "-m", "bot", "db", "upgrade"]
    assert serve["ports"] == [{"name": "http", "containerPort": SERVE_PORT}]
    assert worker["ports"] == [{"name": "metrics", "containerPort": WORKER_PORT}]
    for probed, port in ((serve, "http"), (worker, "metrics")):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probed[probe]["httpGet"] == {"path": "/healthz", "port": port}, probe
        # A database outage fails readiness at once, and liveness only after minutes.
        live, ready = probed["livenessProbe"], probed["readinessProbe"]
        assert live["periodSeconds"] * live["failureThreshold"] >= 120
        assert ready["periodSeconds"] * ready["failureThreshold"] <= 30
    assert "startupProbe" not in migrate and "ports" not in migrate


def test_the_migration_job_runs_once_and_the_docs_wait_for_it(
    rendered: list[dict[str, Any]],
) -> None:
    job = one(rendered, "Job", "privatelink-bot-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert 0 < job["spec"]["backoffLimit"] <= 5 and job["spec"]["activeDeadlineSeconds"] > 0
    # Before serve and worker: delete the last image's Job, apply this one alone, wait for it.
    steps = [
        "kubectl -n privatelink-bot delete job privatelink-bot-migrate --ignore-not-found",
        "kubectl apply -k deploy/kubernetes -l 'app.kubernetes.io/component in (shared,migrate)'",
        "kubectl -n privatelink-bot wait --for=condition=complete job/privatelink-bot-migrate",
        "kubectl apply -k deploy/kubernetes\n",
    ]
    where = [OPERATING.find(step) for step in steps]
    assert -1 not in where and where == sorted(where), where
    # What that selector applies is exactly what the Job needs: its settings and identity.
    selected = {
        (d["kind"], d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] == "ConfigMap" else "")
        for d in rendered
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in ("shared", "migrate")
    }
    assert selected == {
        ("ServiceAccount", ""),
        ("ConfigMap", "privatelink-bot-settings"),
        ("Job", ""),
        ("NetworkPolicy", ""),
    }


def test_every_pod_runs_as_the_images_user_read_only_unprivileged_and_bounded(
    rendered: list[dict[str, Any]],
) -> None:
    version = PYPROJECT["project"]["version"]
    pods = workloads(rendered)
    assert len(pods) == 3
    for name, pod in pods.items():
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": image_user(),
            "runAsGroup": image_user(),
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "privatelink-bot"
        box = container(pod)
        assert box["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        assert box["image"].endswith(f"/privatelink-bot:{version}"), box["image"]  # never latest
        for kind in ("requests", "limits"):
            assert set(box["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        assert box["resources"]["requests"]["memory"] == box["resources"]["limits"]["memory"]
        # The only place it may write: /tmp (gunicorn's runtime and multiprocess metrics folder).
        [mount] = box["volumeMounts"]
        [volume] = pod["volumes"]
        assert mount == {"name": volume["name"], "mountPath": "/tmp"}
        assert set(volume) == {"name", "emptyDir"} and volume["emptyDir"]["sizeLimit"]


def test_graceful_stop_fits_within_each_processs_own_drain_time(
    rendered: list[dict[str, Any]],
) -> None:
    pods = workloads(rendered)
    serve_pod, worker_pod = pods["privatelink-bot-serve"], pods["privatelink-bot-worker"]
    serve = container(serve_pod)
    pre_stop = serve["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = int(pre_stop[1]) + GUNICORN_LIMITS["graceful_timeout"]
    assert drain < serve_pod["terminationGracePeriodSeconds"] <= drain + 30
    worker_stop = Worker.stop.__kwdefaults__["timeout"]  # type: ignore[index]
    assert worker_stop < worker_pod["terminationGracePeriodSeconds"] <= worker_stop + 30
    # gunicorn (and its drain) whatever the node: as many processes as the CPU limit.
    processes = serve["command"][serve["command"].index("--processes") + 1]
    assert processes == serve["resources"]["limits"]["cpu"] and int(processes) > 1


def test_settings_come_from_the_configmap_and_the_secret_the_operator_creates(
    rendered: list[dict[str, Any]],
) -> None:
    [config] = [d for d in rendered if d["kind"] == "ConfigMap"]
    for name, pod in workloads(rendered).items():
        assert container(pod)["envFrom"] == [
            {"configMapRef": {"name": config["metadata"]["name"]}},
            {"secretRef": {"name": SECRET}},
        ], name
        assert "env" not in container(pod)
    settings = config["data"]
    assert not set(settings) & SECRET_SETTINGS
    assert set(settings) <= set(Settings.model_fields) | {"AWS_DEFAULT_REGION"}
    Settings(**settings)  # every value is one the bot accepts
    assert f"kubectl -n privatelink-bot create secret generic {SECRET}" in OPERATING


def test_prometheus_scrapes_each_pod_on_a_named_port_and_the_service_selects_serve(
    rendered: list[dict[str, Any]],
) -> None:
    for name in ("privatelink-bot-serve", "privatelink-bot-worker"):
        template = one(rendered, "Deployment", name)["spec"]["template"]
        notes = template["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/path"] == "/metrics"
        [port] = container(template["spec"])["ports"]
        assert notes["prometheus.io/port"] == str(port["containerPort"]) and port["name"]
    serve_labels = one(rendered, "Deployment", "privatelink-bot-serve")["spec"]["template"][
        "metadata"
    ]["labels"]
    service = one(rendered, "Service", "privatelink-bot")["spec"]
    assert service["selector"].items() <= serve_labels.items()
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    budget = one(rendered, "PodDisruptionBudget", "privatelink-bot-serve")["spec"]
    assert budget["selector"]["matchLabels"].items() <= serve_labels.items()
    replicas = one(rendered, "Deployment", "privatelink-bot-serve")["spec"]["replicas"]
    assert 0 < budget["minAvailable"] < replicas


# --- The Terraform module -----------------------------------------------------------------------


def hcl_string(raw: Any) -> Any:
    """A value as python-hcl2 gives it, quotes off (the module's strings have no escapes)."""
    if isinstance(raw, list):
        return [hcl_string(item) for item in raw]
    if isinstance(raw, str) and raw.startswith('"') and raw.endswith('"'):
        return json.loads(raw)
    return raw


def terraform_blocks(kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every `data` or `resource` block of the module, by (type, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open(encoding="utf-8") as file:
            for entry in hcl2.load(file).get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        found[(hcl_string(type_), hcl_string(name))] = body
    return found


def docs_policy() -> dict[str, Any]:
    """The IAM policy of docs/operating.md, as tests/test_docs.py reads it."""
    [policy_text] = re.findall(r"```json\n(\{.*?\})\n```", OPERATING, re.S)
    policy: dict[str, Any] = json.loads(policy_text)
    return policy


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_the_modules_policy_is_exactly_the_one_the_docs_list() -> None:
    document = terraform_blocks("data")[("aws_iam_policy_document", "bot")]
    module = {}
    for statement in document["statement"]:
        conditions = {
            (hcl_string(c["test"]), hcl_string(c["variable"])): sorted(hcl_string(c["values"]))
            for c in statement.get("condition", [])
        }
        module[hcl_string(statement["sid"])] = (
            hcl_string(statement["effect"]),
            sorted(hcl_string(statement["actions"])),
            sorted(hcl_string(statement["resources"])),
            conditions,
        )
    docs = {
        statement["Sid"]: (
            statement["Effect"],
            sorted(as_list(statement["Action"])),
            sorted(as_list(statement["Resource"])),
            {
                (test, variable): sorted(as_list(values))
                for test, keys in statement.get("Condition", {}).items()
                for variable, values in keys.items()
            },
        )
        for statement in docs_policy()["Statement"]
    }
    assert module == docs
    assert module["TagServicesOnCreate"][3] == {
        ("StringEquals", "ec2:CreateAction"): ["CreateVpcEndpointServiceConfiguration"]
    }
    policy = terraform_blocks("resource")[("aws_iam_role_policy", "bot")]
    assert policy["policy"] == "${data.aws_iam_policy_document.bot.json}"


def test_the_role_is_for_irsa_or_ecs_tasks_and_names_the_bases_service_account(
    rendered: list[dict[str, Any]],
) -> None:
    variables: dict[str, dict[str, Any]] = {}
    with (TERRAFORM / "variables.tf").open(encoding="utf-8") as file:
        for entry in hcl2.load(file)["variable"]:
            variables.update({hcl_string(k): v for k, v in entry.items()})
    assert 'contains(["eks", "ecs"], var.runtime)' in str(variables["runtime"]["validation"])
    account = one(rendered, "ServiceAccount", "privatelink-bot")["metadata"]
    assert hcl_string(variables["namespace"]["default"]) == account["namespace"]
    assert hcl_string(variables["service_account"]["default"]) == account["name"]
    data = terraform_blocks("data")
    [eks] = data[("aws_iam_policy_document", "assume_eks")]["statement"]
    [ecs] = data[("aws_iam_policy_document", "assume_ecs")]["statement"]
    assert hcl_string(eks["actions"]) == ["sts:AssumeRoleWithWebIdentity"]
    subjects = {hcl_string(c["variable"]): hcl_string(c["values"]) for c in eks["condition"]}
    assert subjects == {
        "${local.oidc_issuer}:sub": [
            "system:serviceaccount:${var.namespace}:${var.service_account}"
        ],
        "${local.oidc_issuer}:aud": ["sts.amazonaws.com"],
    }
    assert hcl_string(ecs["principals"][0]["identifiers"]) == ["ecs-tasks.amazonaws.com"]
    assert {hcl_string(c["variable"]) for c in ecs["condition"]} == {
        "aws:SourceAccount",
        "aws:SourceArn",
    }


def test_the_terraform_module_is_fmt_clean() -> None:
    result = subprocess.run(
        [tool("terraform"), "fmt", "-check", "-diff", "-recursive", str(TERRAFORM)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- The lock -----------------------------------------------------------------------------------


def test_the_lock_pins_every_runtime_dependency_with_hashes_within_pyprojects_ranges() -> None:
    text = LOCK.read_text(encoding="utf-8")
    assert "#    make lock\n" in text  # refreshed by `make lock`, not by hand
    lock = read_lock(text)
    dependencies = PYPROJECT["project"]["dependencies"]
    assert disagreements(dependencies, lock) == []
    direct = {canonicalize_name(Requirement(d).name) for d in dependencies}
    assert direct < set(lock) and "psycopg-binary" in lock  # psycopg[binary]'s extra, too
    dev = {
        canonicalize_name(Requirement(d).name)
        for d in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    assert not dev & set(lock)  # the image gets no test tool


def test_a_lock_that_disagrees_with_pyproject_is_caught() -> None:
    lock = read_lock(LOCK.read_text(encoding="utf-8"))
    dependencies = PYPROJECT["project"]["dependencies"]
    without = {name: pin for name, pin in lock.items() if name != "waitress"}
    assert any(
        "waitress" in p and "not in the lock" in p for p in disagreements(dependencies, without)
    )
    old = {**lock, "gunicorn": Pin("22.0.0", None, 2)}
    gunicorn = Requirement(next(d for d in dependencies if d.startswith("gunicorn")))
    assert disagreements(dependencies, old) == [
        f"gunicorn==22.0.0 is outside {gunicorn} (pyproject.toml)"
    ]
    narrowed = [*dependencies, "boto3<1.0"]
    assert any(p.startswith("boto3==") for p in disagreements(narrowed, lock))
    unhashed = {**lock, "pyyaml": Pin(lock["pyyaml"].version, None, 0)}
    assert disagreements(dependencies, unhashed) == [
        f"pyyaml=={lock['pyyaml'].version} has no hash"
    ]


def test_make_lock_and_make_install_use_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lock:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe and "uv pip compile pyproject.toml" in recipe.group(1)
    assert "--generate-hashes" in recipe.group(1) and "--output-file $(LOCK)" in recipe.group(1)
    assert re.search(r"^LOCK := requirements\.lock$", makefile, re.M)
    assert re.search(r"pip install .*-c \$\(CONSTRAINTS\) -e '\.\[dev\]'", makefile)


# --- The Dockerfile -----------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# --- checkov, on all three ----------------------------------------------------------------------


def checkov() -> str:
    """checkov from its own venv (`make checkov`: its dependencies conflict with the bot's)."""
    binary = ROOT / ".venv" / "checkov" / "bin" / "checkov"
    if not binary.exists():
        make = shutil.which("make")
        if make is None:
            pytest.skip("make is not installed, so checkov cannot be")
        made = subprocess.run(
            [make, "-s", "checkov"], cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        if made.returncode != 0 or not binary.exists():
            pytest.skip(f"checkov cannot be installed: {made.stderr.strip()[-300:]}")
    return str(binary)


@pytest.fixture(scope="module")
def checkov_reports(
    rendered: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """One checkov run over the rendered manifests, the Terraform module and the Dockerfile."""
    binary = checkov()
    scanned = tmp_path_factory.mktemp("checkov")
    (scanned / "kubernetes").mkdir()
    (scanned / "kubernetes" / "rendered.yaml").write_text(yaml.safe_dump_all(rendered))
    shutil.copytree(TERRAFORM, scanned / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    (scanned / "docker").mkdir()
    shutil.copy2(ROOT / "Dockerfile", scanned / "docker" / "Dockerfile")
    result = subprocess.run(
        [binary, "--directory", str(scanned), "--output", "json", "--skip-download"]
        + [
            "--framework",
            "kubernetes",
            "terraform",
            "dockerfile",
            "--download-external-modules",
            "false",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"checkov did not run: {result.stderr.strip()[-300:]}")
    reports = parsed if isinstance(parsed, list) else [parsed]
    return {report["check_type"]: report for report in reports}


def failed_and_skipped(report: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}" for c in results["failed_checks"]]
    skipped = [
        (c["check_id"], c["check_result"]["suppress_comment"]) for c in results["skipped_checks"]
    ]
    return failed, skipped


@pytest.mark.parametrize(
    ("check_type", "may_skip"),
    [
        ("kubernetes", {"CKV_K8S_43", "CKV_K8S_35"}),
        ("terraform", {"CKV_AWS_356", "CKV_AWS_111", "CKV_AWS_109"}),
        ("dockerfile", set()),
    ],
)
def test_checkov_fails_no_check_and_every_skip_says_why(
    checkov_reports: dict[str, dict[str, Any]], check_type: str, may_skip: set[str]
) -> None:
    report = checkov_reports[check_type]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 10
    failed, skipped = failed_and_skipped(report)
    assert failed == []
    assert {check for check, _ in skipped} == may_skip
    for check, reason in skipped:
        assert len(reason) > 30, (check, reason)  # a reason, not checkov's placeholder


def test_every_artifact_is_one_the_docs_name() -> None:
    for path in ("deploy/kubernetes", "deploy/terraform", "requirements.lock"):
        assert f"`{path}" in OPERATING, path
