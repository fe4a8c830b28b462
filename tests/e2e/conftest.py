"""The end-to-end suite: a release made with `make release` into an OCI registry
of the suite's own, installed from there with its Helm chart on a real cluster
(the local node or kind, see providers.py) whose node pulls the image, InfluxDB
running as Pods from the pinned influxd.

`make e2e` runs it alone; `make test` runs it with the rest. Where a
prerequisite is missing the suite skips, saying which, except with
E2E_REQUIRED=1 (CI), where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import images, providers
from e2e.world import FIGURES, INFLUXDB, Influx, InfluxPod

from sandbox import binaries, emulation
from sandbox import registry as oci_registry
from support.kubectl import Kubectl

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "influxdb-replication-operator"
# Where in the registry the suite releases to: REGISTRY=<host>/iro.
RELEASE_PATH = "iro"
RELEASE_JSON = ROOT / "build/release/release.json"


def missing(reason: str) -> None:
    """Skip for a missing prerequisite, or fail where the suite is required (CI)."""
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 and the end-to-end suite cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.write_sep("-", "end-to-end figures")
        for what, value in FIGURES.items():
            terminalreporter.write_line(f"{what}: {value}")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[providers.Cluster]:
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        try:
            running = stack.enter_context(providers.start(tmp_path_factory.mktemp("cluster")))
        except (providers.Unavailable, FileNotFoundError) as why:
            missing(str(why))
        FIGURES["cluster"] = f"{running.name}, up in {time.monotonic() - started:.0f}s"
        yield running


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[None]:
    """A Docker engine for the session; one started for it is stopped after it
    (E2E_KEEP_DOCKER=1 keeps it), its images kept for the next run."""
    try:
        started = images.ensure_docker()
    except images.Unavailable as why:
        missing(str(why))
    yield
    if started and os.environ.get("E2E_KEEP_DOCKER") != "1":
        images.stop_docker()


@pytest.fixture(scope="session")
def operator_image(docker_engine: None) -> str:
    """The operator's image, built from this tree's Dockerfile."""
    try:
        ref = images.build_operator()
    except images.Unavailable as why:
        missing(str(why))
    FIGURES["operator image"] = f"{ref}, {images.image_size(ref) / 1e6:.0f} MB on {images.python_base()}"
    return ref


@pytest.fixture(scope="session")
def influxdb_image(cluster: providers.Cluster, docker_engine: None) -> str:
    """The InfluxDB test fixture's image, loaded onto the node (it is no part of a release)."""
    try:
        influxdb = images.build_influxdb()
    except images.Unavailable as why:
        missing(str(why))
    FIGURES["influxdb image"] = f"{influxdb}, {images.image_size(influxdb) / 1e6:.0f} MB"
    cluster.load_image(influxdb)
    return influxdb


@pytest.fixture(scope="session")
def registry(cluster: providers.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[oci_registry.Registry]:
    """An OCI registry the node pulls from over plain HTTP, as from a user's private one."""
    try:
        binaries.path("crane")
    except FileNotFoundError as why:
        missing(str(why))
    directory = tmp_path_factory.mktemp("registry")
    with oci_registry.serve(directory, address=cluster.registry_address) as running:
        cluster.trust_registry(running.host)
        yield running


@pytest.fixture(scope="session")
def release(registry: oci_registry.Registry) -> dict[str, Any]:
    """`make release` of this tree's version into the registry, as a maintainer runs
    it: its build/release/release.json, checked against what the registry serves."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    target = f"{registry.host}/{RELEASE_PATH}"
    # PLAIN_HTTP: the suite's registry has no TLS (on kind it is not on a loopback address).
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(binaries.testbin_dir()), os.environ.get("PATH", "")]),
        "PLAIN_HTTP": "1",
    }
    try:
        emulation.ensure("arm64")  # the release's second platform is built, and tried, under QEMU
        base = images.release_base(target)
    except (images.Unavailable, emulation.Unavailable) as why:
        missing(str(why))
    if base != images.PYTHON_BASE:
        env["PYTHON_BASE"] = base  # the stand-ins: the official base cannot be pulled here
    RELEASE_JSON.unlink(missing_ok=True)  # never read a previous run's
    done = subprocess.run(
        ["make", "--no-print-directory", "release", f"VERSION={version}", f"REGISTRY={target}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).splitlines()[-60:]
        pytest.fail("make release failed:\n" + "\n".join(output), pytrace=False)
    record: dict[str, Any] = json.loads(RELEASE_JSON.read_text())
    assert record["version"] == version
    assert record["image"] == f"{target}/{RELEASE}:{version}"
    assert record["chart"]["ref"] == f"oci://{target}/charts/{RELEASE}"
    assert registry.digest(record["image"]) == record["digest"], "the tag names the released index"
    assert set(record["platforms"]) == {"linux/amd64", "linux/arm64"}
    standin = f" (a stand-in for {record['base']['standin']})" if record["base"]["standin"] else ""
    FIGURES["make release"] = f"{record['seconds']}s on {record['base']['ref']}{standin}"
    # As tests/e2e/test_release.py names them, so that a run of the install alone shows them too.
    FIGURES["image"] = f"{record['image']}@{record['digest']}"
    for where, made in record["platforms"].items():
        FIGURES[f"image {where}"] = f"{made['digest']}, {made['size'] / 1e6:.1f} MB compressed"
        FIGURES[f"SBOM {where}"] = f"{made['sbom']['packages']} packages"
    return record


@pytest.fixture(scope="session")
def kubectl(cluster: providers.Cluster) -> Kubectl:
    """kubectl on the e2e cluster (overrides the sandbox's)."""
    return Kubectl(cluster.kubeconfig)


@pytest.fixture(scope="session")
def influx(kubectl: Kubectl, influxdb_image: str) -> Influx:
    """Edge and cloud InfluxDB as Pods behind Services, onboarded, in a `restricted` namespace."""
    namespace = "e2e"
    kubectl("create", "namespace", namespace)
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    tokens = {name: secrets.token_urlsafe(24) for name in ("edge", "cloud")}
    for name, token in tokens.items():
        manifest = INFLUXDB.format(
            name=name,
            namespace=namespace,
            image=influxdb_image,
            token=token,
            password=secrets.token_urlsafe(12),
        )
        kubectl("apply", "-f", "-", input=manifest)
    ns = kubectl.in_namespace(namespace)
    for name in tokens:
        try:
            ns("rollout", "status", f"deploy/{name}", "--timeout=180s", timeout=200)
        except subprocess.TimeoutExpired as timeout:
            raise AssertionError(
                f"InfluxDB {name} did not become Ready: {ns('describe', 'pod', '-l', f'app={name}')}"
            ) from timeout
    return Influx(namespace, InfluxPod(ns, "edge"), InfluxPod(ns, "cloud"), tokens["edge"], tokens["cloud"])
