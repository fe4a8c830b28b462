"""`kubectl influxdb`, run as a user runs it: the real kubectl finds the
plugin on PATH, against the real API server, with the operator running."""

from __future__ import annotations

import json
import os
import pty
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox as sandbox_module
from sandbox import binaries, influx
from support import manifests
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.scenario import Setup

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # where pip put kubectl-influxdb


@dataclass
class Fleet:
    setup: Setup
    kubeconfig: Path
    tokens: tuple[str, ...]  # that must never be printed


@dataclass
class Run:
    code: int
    out: str
    err: str


def plugin(kubeconfig: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """`kubectl influxdb ARGS`, output piped."""
    done = subprocess.run(
        [binaries.path("kubectl"), "influxdb", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(kubeconfig) | (env or {}),
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _env(kubeconfig: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return env | {"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "KUBECONFIG": str(kubeconfig)}


def on_tty(kubeconfig: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`kubectl influxdb ARGS` with a terminal as its stdout."""
    main, child = pty.openpty()
    with subprocess.Popen(
        [binaries.path("kubectl"), "influxdb", *args],
        stdout=child,
        stderr=subprocess.DEVNULL,
        env=_env(kubeconfig) | {"TERM": "xterm"} | (env or {}),
    ) as proc:
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode()


@pytest.fixture(scope="module")
def fleet(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    operator: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    """One namespace: a healthy stream, one whose local bucket is missing and
    one whose cloud influxd is stopped."""
    unique = secrets.token_hex(3)
    namespace = f"t-{unique}"
    kubectl("create", "namespace", namespace)
    setup = Setup.create(sandbox, kubectl.in_namespace(namespace), unique)
    server = influx.Server(tmp_path_factory.mktemp("down"), "down")
    server.start()
    try:
        down = server.onboard(org="down-org", bucket="metrics")
        setup.kubectl.apply(
            manifests.secret("down-token", namespace, down.token),
            manifests.remote("down", namespace, instance="edge", url=down.url, org_id=down.orgID, secret="down-token"),
            setup.replication("healthy"),
            setup.replication("typo", localBucket={"name": f"metrcs-{unique}"}),
            manifests.replication(
                "to-down",
                namespace,
                instance="edge",
                local_bucket=setup.edge_bucket,
                connection="down",
                remote_bucket="metrics",
            ),
        )
        setup.ready("replication", "to-down")
        server.stop()
        sandbox.edge.write(setup.edge_bucket, "plugin,test=1 value=1i")

        def healthy_is(name: str, reason: str) -> bool:
            return condition(setup.kubectl.get("replication", name), "Healthy").get("reason") == reason

        eventually(lambda: healthy_is("healthy", "Replicating"), timeout=60, what="healthy stream Replicating")
        eventually(lambda: healthy_is("to-down", "RemoteError"), timeout=60, what="stream to a stopped cloud failing")
        setup.kubectl.wait_reason("replication", "typo", "BucketNotFound")
        yield Fleet(setup, sandbox.kube.kubeconfig, (sandbox.edge.token, sandbox.cloud.token, down.token))
    finally:
        server.stop()


# One line per object: tree prefix, kind, name, verdict; then what follows.
# The forecast appears once the stall window is covered (and lag with heartbeats);
# a figure never holds the ":" that starts the message after it.
FIGURES = r"(  full in [^\s:]+)?(  lag [^\s:]+)?"
EXPECTED = [
    r"namespace {ns}",
    r"InfluxDBInstance edge  ✔ Ready  http://\S+ org '{org}'",
    r"├─ RemoteConnection cloud  ✔ Ready  http://\S+",
    r"│  ├─ Replication healthy  ✔ Replicating  {bucket} → {cloud_bucket}  queue \S+ \S+  to sync 0 B{figures}",
    r"│  └─ Replication typo  ✘ BucketNotFound  {typo} → {cloud_bucket}: "
    r"no local bucket with name '{typo}' in InfluxDBInstance edge \(org '{org}'\)",
    r"└─ RemoteConnection down  ✔ Ready  http://\S+",
    r"   └─ Replication to-down  ✘ RemoteError  {bucket} → metrics  queue \S+ \S+  to sync \S+ \S+{figures}: "
    r"RemoteConnection 'down' did not answer.*",
]


def test_status_draws_the_tree_with_reasons(fleet: Fleet, sandbox: sandbox_module.Sandbox) -> None:
    setup = fleet.setup
    run = plugin(fleet.kubeconfig, "status", "-n", setup.namespace)
    assert run.code == 1, "something is unhealthy: exit status 1"
    assert run.err == ""
    assert "\033[" not in run.out, "plain when piped"
    values = {
        "ns": setup.namespace,
        "org": sandbox.edge.org,
        "bucket": setup.edge_bucket,
        "cloud_bucket": setup.cloud_bucket,
        "typo": f"metrcs-{setup.unique}",
    }
    values = {k: re.escape(v) for k, v in values.items()} | {"figures": FIGURES}
    lines = run.out.splitlines()
    assert len(lines) == len(EXPECTED), run.out
    for line, pattern in zip(lines, EXPECTED, strict=True):
        wanted = pattern.format(**values)
        assert re.fullmatch(wanted, line), f"{line!r} does not match {wanted!r}"
    assert not any(token in run.out for token in fleet.tokens)


def test_the_docs_sample_has_the_shape_of_real_output() -> None:
    """The plugin page's sample (docs/plugin.md): the same lines, each the same
    form, as the real output checked above (only names and figures may differ)."""
    text = (ROOT / "docs" / "plugin.md").read_text()
    sample = re.search(
        r"<!-- plugin-sample: begin.*?```console\n\$ kubectl influxdb status -n (\S+)\n(.*?)```", text, re.S
    )
    assert sample is not None, "docs/plugin.md has no plugin sample"
    lines = sample.group(2).splitlines()
    assert len(lines) == len(EXPECTED), lines
    anything = {
        "org": r"\S+",
        "bucket": r"\S+",
        "cloud_bucket": r"\S+",
        "typo": r"\S+",
        "ns": re.escape(sample.group(1)),
        "figures": FIGURES,
    }
    for line, pattern in zip(lines, EXPECTED, strict=True):
        assert re.fullmatch(pattern.format(**anything), line), f"docs/plugin.md: {line!r} does not match {pattern!r}"


def test_status_is_coloured_on_a_terminal_unless_no_color(fleet: Fleet) -> None:
    ns = fleet.setup.namespace
    coloured = on_tty(fleet.kubeconfig, "status", "-n", ns)
    assert "\033[31m✘ BucketNotFound\033[0m" in coloured, coloured
    assert "\033[32m✔ Replicating\033[0m" in coloured, coloured
    assert "\033[" not in on_tty(fleet.kubeconfig, "status", "-n", ns, env={"NO_COLOR": "1"})


def test_status_all_namespaces_and_an_empty_one(fleet: Fleet, kubectl: Kubectl) -> None:
    everywhere = plugin(fleet.kubeconfig, "status", "-A")
    assert f"namespace {fleet.setup.namespace}\n" in everywhere.out
    as_module = subprocess.run(
        [sys.executable, "-m", "influxdb_operator.kubectl", "status", "-n", fleet.setup.namespace],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(fleet.kubeconfig),
    )
    # Compared on this namespace (others change meanwhile), without the forecast (it moves).
    by_kubectl = plugin(fleet.kubeconfig, "status", "-n", fleet.setup.namespace).out
    assert re.sub(FIGURES, "", as_module.stdout) == re.sub(FIGURES, "", by_kubectl)
    empty = f"t-empty-{secrets.token_hex(3)}"
    kubectl("create", "namespace", empty)
    run = plugin(fleet.kubeconfig, "status", "-n", empty)
    assert (run.code, run.out) == (0, f"no InfluxDBInstance, RemoteConnection or Replication in namespace {empty}\n")


def test_help_says_what_the_exit_status_means(fleet: Fleet) -> None:
    run = plugin(fleet.kubeconfig, "status", "--help")
    assert run.code == 0
    assert "exit status: 0 all healthy, 1 something is not Ready or not Healthy, 2 error." in run.out


def _documented_role() -> dict[str, object]:
    block = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "plugin.md").read_text(), re.S)
    assert block is not None, "docs/plugin.md has no RBAC yaml"
    role = yaml.safe_load(block.group(1))
    assert role["kind"] == "Role"
    return dict(role)


def test_every_command_works_with_the_documented_rbac_and_fails_clearly_without(
    fleet: Fleet, kubectl: Kubectl, sandbox: sandbox_module.Sandbox, tmp_path: Path
) -> None:
    ns, admin = fleet.setup.namespace, fleet.setup.kubectl
    ns_flag = f"--namespace={ns}"

    def user(name: str, role: dict[str, object] | None) -> tuple[Path, str]:
        kubectl("create", "serviceaccount", name, ns_flag)
        if role is not None:
            kubectl.apply(role | {"metadata": {"name": "influxdb-plugin", "namespace": ns}})
            kubectl("create", "rolebinding", name, "--role=influxdb-plugin", f"--serviceaccount={ns}:{name}", ns_flag)
        token = kubectl("create", "token", name, ns_flag, "--duration=1h").strip()
        return sandbox.kube.kubeconfig_for_token(token, tmp_path / f"{name}.kubeconfig"), token

    allowed, allowed_token = user("viewer", _documented_role())
    denied, denied_token = user("nobody", None)
    eventually(lambda: plugin(allowed, "status", "-n", ns).code == 1, timeout=30, what="the documented Role in effect")
    tokens = (*fleet.tokens, allowed_token, denied_token)

    def annotations(kind: str, name: str) -> dict[str, str]:
        return dict((admin.get(kind, name) or {})["metadata"].get("annotations") or {})

    runs = {"status": plugin(allowed, "status", "-n", ns)}
    runs["validate"] = plugin(allowed, "validate", "healthy", "-n", ns)
    validate = annotations("replication", "healthy").get("influxdb.replication.dev/validate", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", validate), validate
    assert (
        runs["validate"].out
        == f"replication/healthy validation requested (influxdb.replication.dev/validate={validate})\n"
    )

    runs["rotate"] = plugin(allowed, "rotate-token", "cloud", "-n", ns)
    assert re.fullmatch(r"\d{4}-.*Z", annotations("remoteconnection", "cloud")["influxdb.replication.dev/rotate-token"])

    runs["pause"] = plugin(allowed, "pause", "irep/to-down", "-n", ns)
    assert annotations("replication", "to-down")["influxdb.replication.dev/paused"] == "true"
    assert re.search(r"Replication to-down  ✘ RemoteError  paused ", plugin(allowed, "status", "-n", ns).out)
    runs["resume"] = plugin(allowed, "-n", ns, "resume", "replication/to-down")  # -n first works too
    assert "influxdb.replication.dev/paused" not in annotations("replication", "to-down")
    assert runs["resume"].out == "replication/to-down resumed (influxdb.replication.dev/paused removed)\n"
    for command, run in runs.items():
        assert run.err == "", (command, run.err)
        assert run.code == (1 if command == "status" else 0), (command, run)

    # The plugin changed annotations only: the spec is what was applied.
    assert admin.get("replication", "to-down")["metadata"]["generation"] == 1  # type: ignore[index]

    refused = {
        "status": (plugin(denied, "status", "-n", ns), "cannot list influxdbinstances in namespace"),
        "validate": (plugin(denied, "validate", "healthy", "-n", ns), "cannot patch replication 'healthy'"),
        "rotate": (plugin(denied, "rotate-token", "cloud", "-n", ns), "cannot patch remoteconnection 'cloud'"),
        "pause": (plugin(denied, "pause", "idbi/edge", "-n", ns), "cannot patch influxdbinstance 'edge'"),
        "resume": (plugin(denied, "resume", "repl/to-down", "-n", ns), "cannot patch replication 'to-down'"),
    }
    for command, (run, doing) in refused.items():
        assert run.code == 2, (command, run)
        assert run.err.startswith(f"error: {doing} {ns}: forbidden: ") or run.err.startswith(
            f"error: {doing} in namespace {ns}: forbidden: "
        ), (command, run.err)
        assert "the RBAC the plugin needs is in docs/plugin.md" in run.err
        assert "Traceback" not in run.err
        runs[f"refused {command}"] = run
    assert "influxdb.replication.dev/paused" not in annotations("influxdbinstance", "edge")
    leaked = [name for name, run in runs.items() if any(t in run.out + run.err for t in tokens)]
    assert leaked == [], "a token was printed"


def test_a_missing_object_or_kind_is_a_clear_error(fleet: Fleet) -> None:
    ns = fleet.setup.namespace
    missing = plugin(fleet.kubeconfig, "pause", "replication/nope", "-n", ns)
    assert (missing.code, missing.err) == (
        2,
        f"error: cannot patch replication 'nope' in namespace {ns}: replications.influxdb.replication.dev \"nope\" "
        "not found\n",
    )
    unknown = plugin(fleet.kubeconfig, "pause", "bucket/x", "-n", ns)
    assert unknown.code == 2
    assert unknown.err.startswith("error: unknown kind 'bucket'")


def test_readme_kubectl_get_sample_has_the_real_columns(fleet: Fleet) -> None:
    """The REASON column is shown by default, so `kubectl get` alone says why."""
    text = (ROOT / "README.md").read_text()
    sample = re.search(r"```console\n\$ kubectl get influxdb -n \S+\n(.*?)```", text, re.S)
    assert sample is not None
    readme = [line.split() for line in sample.group(1).splitlines() if line.startswith("NAME ")]
    out = fleet.setup.kubectl("get", "influxdb")
    real = [line.split() for line in out.splitlines() if line.startswith("NAME ")]
    assert readme == real, out
    typo = fleet.setup.kubectl("get", "replication", "typo").splitlines()
    assert typo[0].split()[-2:] == ["REASON", "AGE"]
    assert typo[1].split()[-2] == "BucketNotFound", typo


def test_validate_pause_and_resume_act_through_the_operator(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess
) -> None:
    """The commands against the features behind their annotations: validate
    --wait prints the operator's answer, pause and resume flip Synced."""
    unique = secrets.token_hex(3)
    namespace = f"t-{unique}"
    kubectl("create", "namespace", namespace)
    setup = Setup.create(sandbox, kubectl.in_namespace(namespace), unique)
    setup.kubectl.apply(setup.replication("stream"))
    setup.ready("replication", "stream")
    admin = sandbox.kube.kubeconfig

    done = plugin(admin, "-n", namespace, "validate", "stream", "--wait", "--timeout=90")
    assert done.code == 0, done.err
    requested, answer = done.out.splitlines()
    assert requested.startswith("replication/stream validation requested"), done.out
    assert answer.startswith("Validated=True StreamWorks: validate "), done.out

    def synced() -> dict[str, object]:
        return condition(setup.kubectl.get("replication", "stream"), "Synced")

    assert plugin(admin, "-n", namespace, "pause", "replication/stream").code == 0
    eventually(lambda: synced().get("reason") == "Paused", timeout=30, what="Synced=Paused")
    assert plugin(admin, "-n", namespace, "resume", "irep/stream").code == 0
    eventually(lambda: synced().get("status") == "True", timeout=30, what="Synced=True after resume")


ORDER = [
    ("InfluxDBInstance", "edge"),
    ("RemoteConnection", "cloud"),
    ("Replication", "healthy"),
    ("Replication", "typo"),
    ("RemoteConnection", "down"),
    ("Replication", "to-down"),
]


def _readme_status_sample() -> dict[str, Any]:
    text = (ROOT / "docs" / "plugin.md").read_text()
    sample = re.search(r"<!-- plugin-json-sample -->\n```json\n(.*?)```", text, re.S)
    assert sample is not None, "docs/plugin.md has no `status -o json` sample"
    return dict(json.loads(sample.group(1)))


def test_status_as_json_and_yaml_has_the_documented_shape(fleet: Fleet) -> None:
    ns = fleet.setup.namespace
    run = plugin(fleet.kubeconfig, "status", "-n", ns, "-o", "json")
    assert (run.code, run.err) == (1, ""), "the exit status is the tree's: something is unhealthy"
    data = json.loads(run.out)
    assert (data["shapeVersion"], data["healthy"]) == (1, False)
    items = {(i["kind"], i["name"]): i for i in data["items"]}
    assert [(i["kind"], i["name"]) for i in data["items"]] == ORDER
    typo, healthy = items["Replication", "typo"], items["Replication", "healthy"]
    assert (typo["healthy"], typo["reason"], typo["instance"], typo["remoteConnection"]) == (
        False,
        "BucketNotFound",
        "edge",
        "cloud",
    )
    assert f"metrcs-{fleet.setup.unique}" in typo["message"]
    assert (healthy["healthy"], healthy["reason"], healthy["paused"]) == (True, "Replicating", False)
    assert re.fullmatch("[0-9a-f]{16}", healthy["id"])
    assert isinstance(healthy["currentQueueSizeBytes"], int)
    assert items["RemoteConnection", "down"]["instance"] == "edge"
    assert items["Replication", "to-down"]["reason"] == "RemoteError"
    assert not any(token in run.out for token in fleet.tokens)
    # docs/plugin.md documents every key, per kind, as the real output has them.
    sample = _readme_status_sample()
    assert sample.keys() == data.keys()
    for kind in ("InfluxDBInstance", "RemoteConnection", "Replication"):
        documented = next(i for i in sample["items"] if i["kind"] == kind)
        real = next(i for i in data["items"] if i["kind"] == kind)
        assert documented.keys() == real.keys(), kind
    as_yaml = plugin(fleet.kubeconfig, "status", "-n", ns, "-o", "yaml")
    assert as_yaml.code == 1
    assert [(i["kind"], i["name"], i["reason"]) for i in yaml.safe_load(as_yaml.out)["items"]] == [
        (i["kind"], i["name"], i["reason"]) for i in data["items"]
    ]
    everywhere = json.loads(plugin(fleet.kubeconfig, "status", "-A", "-o", "json").out)
    assert {(i["namespace"], i["name"]) for i in everywhere["items"]} >= {(ns, name) for _, name in ORDER}


def test_request_timeout_bounds_each_request(fleet: Fleet, tmp_path: Path) -> None:
    """An API server that accepts the connection and never answers: the
    command gives up after --request-timeout, with exit status 2."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        config = yaml.safe_load(fleet.kubeconfig.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = f"https://127.0.0.1:{port}"
        stuck = tmp_path / "stuck.kubeconfig"
        stuck.write_text(yaml.safe_dump(config))
        started = time.monotonic()
        run = plugin(stuck, "status", "-n", fleet.setup.namespace, "--request-timeout=2s")
        took = time.monotonic() - started
    assert run.code == 2, run
    assert "did not answer within --request-timeout" in run.err, run.err
    assert took < 30, f"gave up after {took:.0f}s"
    assert plugin(fleet.kubeconfig, "status", "-n", fleet.setup.namespace, "--request-timeout=30s").code == 1
    bad = plugin(fleet.kubeconfig, "status", "--request-timeout=soon")
    assert bad.code == 2
    assert "invalid duration 'soon'" in bad.err
