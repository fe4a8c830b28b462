"""Fixtures shared by every suite: the sandbox (started once per session, only
when a test asks for it), kubectl, and per-test names and namespaces."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

import sandbox as sandbox_module
from support.kubectl import Kubectl


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sandbox_module.Sandbox]:
    with sandbox_module.start(directory=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture(scope="session")
def kubectl(sandbox: sandbox_module.Sandbox) -> Kubectl:
    return Kubectl(sandbox.kube.kubeconfig)


@pytest.fixture
def unique() -> str:
    """A short random suffix: InfluxDB names are unique per org, and tests share the servers."""
    return secrets.token_hex(3)


@pytest.fixture
def namespace(kubectl: Kubectl, unique: str) -> str:
    """A fresh namespace, watched by the shared operator (`t-*`). It is not
    deleted afterwards: with no namespace controller it would never go away."""
    name = f"t-{unique}"
    kubectl("create", "namespace", name)
    return name
