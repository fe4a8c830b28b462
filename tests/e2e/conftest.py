"""The kind suite: a real cluster in Docker, the operator's image installed
with its Helm chart, InfluxDB running as pods. Hosts without Docker and kind
skip it with the reason; the same scenarios run on the local sandbox."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _why_not() -> str | None:
    if shutil.which("kind") is None:
        return "kind is not installed (needs Docker and kind; the sandbox suite covers the same scenarios)"
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "no Docker engine is running (`docker info` failed); the sandbox suite covers the same scenarios"
    return None


@pytest.fixture(scope="session")
def kind_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    reason = _why_not()
    if reason is not None:
        pytest.skip(reason)
    name = os.environ.get("KIND_CLUSTER") or f"iro-e2e-{secrets.token_hex(3)}"
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    subprocess.run(
        ["kind", "create", "cluster", "--name", name, "--kubeconfig", str(kubeconfig), "--wait", "120s"], check=True
    )
    try:
        image = f"influxdb-replication-operator:e2e-{secrets.token_hex(3)}"
        subprocess.run(["docker", "build", "-t", image, str(ROOT)], check=True)
        subprocess.run(["kind", "load", "docker-image", image, "--name", name], check=True)
        os.environ["E2E_IMAGE"] = image
        yield kubeconfig
    finally:
        if not os.environ.get("KIND_KEEP"):
            subprocess.run(["kind", "delete", "cluster", "--name", name], check=False)
