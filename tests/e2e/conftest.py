"""The kind suite: a real cluster in Docker, the operator's image installed
with its Helm chart, InfluxDB running as pods. Hosts without Docker and kind
skip it with the reason; the same scenarios run on the local sandbox.

`cluster` is the local node (`sandbox.cluster`, as `make cluster` runs it).
Where it cannot run it skips, saying why, except with E2E_REQUIRED=1 (CI),
where that is a failure."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import cluster as local_cluster

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


def missing(reason: str) -> None:
    """Skip for a missing prerequisite, or fail where the suite is required (CI)."""
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 and the end-to-end suite cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_cluster.Cluster]:
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        try:
            running = stack.enter_context(local_cluster.start(directory=tmp_path_factory.mktemp("cluster")))
        except local_cluster.Unavailable as why:
            missing(str(why))
        print(f"local node up in {time.monotonic() - started:.0f}s")
        yield running
