"""Fixtures for tests that run the operator: CRDs installed once, one shared
operator process, and a ready-made edge -> cloud setup per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox as sandbox_module
from support.kubectl import Kubectl
from support.operator_process import OperatorProcess, running
from support.scenario import Setup

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
    # Watches only the t-* namespaces: fault tests run operators of their own elsewhere.
    with running(sandbox.kube.kubeconfig, log, "--namespace=t-*") as process:
        yield process


@pytest.fixture
def setup(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> Setup:
    return Setup.create(sandbox, kubectl.in_namespace(namespace), unique)
