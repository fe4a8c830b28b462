"""Fixtures for tests that run the operator: CRDs installed once, one shared
operator process, and a ready-made edge -> cloud setup per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox as sandbox_module
from sandbox import influx, processes
from support.kubectl import Kubectl
from support.operator_process import OperatorProcess, running
from support.scenario import ScratchInfluxd, Setup

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def crds(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")


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
