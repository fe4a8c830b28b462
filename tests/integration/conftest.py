"""Fixtures for tests that run the operator: CRDs installed once, one shared
operator process, and a ready-made edge -> cloud setup per test."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sandbox as sandbox_module
from influxdb_operator.api import v1alpha1
from sandbox import influx, processes
from support import health
from support.kubectl import OBSERVERS, Kubectl
from support.operator_process import OperatorProcess, running
from support.scenario import ScratchInfluxd, Setup

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def crds(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")


@pytest.fixture(scope="session")
def health_states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Every state the suite saw an object of ours in, with Argo CD's and
    kstatus' answers: written to health-states.json in pytest's base temp
    directory at the end, to see which reasons the suite reached."""
    states: dict[str, dict[str, Any]] = {}
    yield states
    path = tmp_path_factory.getbasetemp() / "health-states.json"
    path.write_text(json.dumps(sorted(states.values(), key=lambda s: str(s["state"])), indent=1))


@pytest.fixture(autouse=True)
def health_judged(health_states: dict[str, dict[str, Any]]) -> Iterator[None]:
    """After each test, every object of ours it read with `Kubectl.get` (one
    per distinct state: conditions, paused, deleting, generation observed)
    is run through Argo CD's health script and kstatus, and each answer must
    be the policy's (support.health): the checks hold on what the real
    operator writes, not only on fixtures."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}

    def observe(obj: dict[str, Any]) -> None:
        if str(obj.get("apiVersion", "")).startswith(f"{v1alpha1.GROUP}/"):
            seen.setdefault(health.state(obj), obj)

    OBSERVERS.append(observe)
    try:
        yield
    finally:
        OBSERVERS.remove(observe)
    problems = []
    for state, obj in seen.items():
        problems += health.judge(obj)
        answers = {"argocd": health.argocd(obj)["status"], "kstatus": health.kstatus(obj)["status"]}
        health_states.setdefault(str(state), {"state": list(state), **answers})
    if problems:
        pytest.fail("health checks disagree with the policy:\n" + "\n".join(problems))


@pytest.fixture(scope="session")
def operator(
    sandbox: sandbox_module.Sandbox, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    port = processes.free_port()
    # Watches only the t-* namespaces: fault tests run operators of their own elsewhere.
    with running(sandbox.kube.kubeconfig, log, "--namespace=t-*", f"--metrics-port={port}") as process:
        process.metrics_url = f"http://127.0.0.1:{port}/metrics"
        yield process


@pytest.fixture
def setup(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> Setup:
    return Setup.create(sandbox, kubectl.in_namespace(namespace), unique)


@pytest.fixture
def fault_namespace(kubectl: Kubectl, crds: None) -> str:
    """A namespace the shared operator does not watch (not `t-*`), for `own_operator`."""
    name = f"f-{secrets.token_hex(3)}"
    kubectl("create", "namespace", name)
    return name


@pytest.fixture
def own_operator(
    sandbox: sandbox_module.Sandbox, fault_namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """An operator of the test's own, watching only `fault_namespace`: it may be
    killed. It serves metrics; a module's OWN_OPERATOR_ARGS are added to its flags."""
    port = processes.free_port()
    extra = getattr(request.module, "OWN_OPERATOR_ARGS", ())
    process = OperatorProcess(
        sandbox.kube.kubeconfig,
        tmp_path / "operator.log",
        f"--namespace={fault_namespace}",
        f"--metrics-port={port}",
        *extra,
    )
    process.metrics_url = f"http://127.0.0.1:{port}/metrics"
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def scratch_influxd(tmp_path: Path) -> Iterator[ScratchInfluxd]:
    """`start(name, tls=False)`: an influxd of the test's own (to stop, restart
    or serve TLS), onboarded with org `<name>-org` and bucket `metrics`; every
    one started is stopped after the test."""
    started: list[influx.Server] = []

    def start(name: str, *, tls: bool = False) -> tuple[influx.Server, influx.Influx]:
        server = influx.Server(tmp_path / name, name, tls=tls)
        started.append(server)
        server.start()
        return server, server.onboard(org=f"{name}-org", bucket="metrics")

    yield start
    for server in started:
        server.stop()
