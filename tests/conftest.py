"""Fixtures shared by every suite: the sandbox (started once per session, only
when a test asks for it), kubectl, and per-test namespaces and buckets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox as sandbox_module
from support.kubectl import Kubectl

ROOT = Path(__file__).resolve().parents[1]


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
    """A fresh namespace. (Nothing deletes it for good: there is no namespace
    controller in the sandbox, so the tests clean up what they create.)"""
    name = f"t-{unique}"
    kubectl("create", "namespace", name)
    return name
