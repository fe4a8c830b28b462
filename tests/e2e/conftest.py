"""The end-to-end suite: the operator's image installed with its Helm chart on a
real cluster (the local node or kind, see providers.py), InfluxDB running as
Pods from the pinned influxd.

`make e2e` runs it alone; `make test` runs it with the rest. Where a
prerequisite is missing the suite skips, saying which, except with
E2E_REQUIRED=1 (CI), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest
from e2e import images, providers
from e2e.world import FIGURES, INFLUXDB, Images, Influx, InfluxPod

from support.kubectl import Kubectl


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
def built_images(cluster: providers.Cluster, operator_image: str) -> Images:
    """Both images, loaded onto the node."""
    try:
        influxdb = images.build_influxdb()
    except images.Unavailable as why:
        missing(str(why))
    FIGURES["influxdb image"] = f"{influxdb}, {images.image_size(influxdb) / 1e6:.0f} MB"
    for ref in (operator_image, influxdb):
        cluster.load_image(ref)
    return Images(operator=operator_image, influxdb=influxdb)


@pytest.fixture(scope="session")
def kubectl(cluster: providers.Cluster) -> Kubectl:
    """kubectl on the e2e cluster (overrides the sandbox's)."""
    return Kubectl(cluster.kubeconfig)


@pytest.fixture(scope="session")
def influx(kubectl: Kubectl, built_images: Images) -> Influx:
    """Edge and cloud InfluxDB as Pods behind Services, onboarded, in a `restricted` namespace."""
    namespace = "e2e"
    kubectl("create", "namespace", namespace)
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    tokens = {name: secrets.token_urlsafe(24) for name in ("edge", "cloud")}
    for name, token in tokens.items():
        manifest = INFLUXDB.format(
            name=name,
            namespace=namespace,
            image=built_images.influxdb,
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
