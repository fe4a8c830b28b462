"""The operator image run the way the chart runs it (a UID with no passwd entry,
read-only root filesystem, no capabilities), without a cluster: it once crashed
at start asking the passwd database who it was."""

from __future__ import annotations

import secrets
import shutil
import socket
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import images

import sandbox as sandbox_module
from support import manifests
from support.kubectl import Kubectl, condition, eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# The hash-pinned locks the Dockerfile installs from.
LOCKS = ("requirements.lock", "requirements-build.lock")
# How the chart runs the container, in docker's words.
LOCKED_DOWN = ("--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_pip_or_setuptools_and_any_uid_has_an_identity(operator_image: str) -> None:
    probe = (
        "import importlib.util as u; from kopf._core.engines import peering; "
        "print([m for m in ('pip', 'setuptools', 'wheel') if u.find_spec(m)]); "
        "print(peering.detect_own_id(manual=False))"
    )
    done = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--user=12345:12345",
            *LOCKED_DOWN,
            "--network=none",
            "--entrypoint=python3",
            operator_image,
            "-c",
            probe,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found, identity = done.stdout.splitlines()
    assert found == "[]"
    assert identity.startswith("influxdb-replication-operator@")


@pytest.fixture
def container(operator_image: str, sandbox: sandbox_module.Sandbox, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The image's operator as UID 65532 against the sandbox's kube-apiserver (host network: it is on loopback)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(sandbox.kube.kubeconfig.read_bytes())
    kubeconfig.chmod(0o644)  # readable by UID 65532; the directory is ours and removed after
    name = f"iro-image-test-{secrets.token_hex(3)}"
    liveness = _free_port()
    subprocess.run(
        [
            "docker",
            "run",
            "--detach",
            f"--name={name}",
            "--user=65532:65532",
            *LOCKED_DOWN,
            "--network=host",
            # As the chart's emptyDir: the Kubernetes client writes a kubeconfig's CA to a temporary file.
            "--tmpfs=/tmp:size=16m",
            f"--volume={kubeconfig}:/kubeconfig:ro",
            "--env=KUBECONFIG=/kubeconfig",
            operator_image,
            "--standalone",
            f"--liveness=http://127.0.0.1:{liveness}/healthz",
            f"--metrics-port={_free_port()}",
            "--namespace=image-*",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield name, liveness
    finally:
        subprocess.run(["docker", "rm", "--force", name], check=False, capture_output=True)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(response.status) == 200
    except OSError:
        return False


def test_image_reconciles_as_uid_65532_on_a_read_only_root(
    container: tuple[str, int], sandbox: sandbox_module.Sandbox
) -> None:
    name, liveness = container
    kubectl = Kubectl(sandbox.kube.kubeconfig)
    kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    namespace = f"image-{secrets.token_hex(3)}"
    kubectl("create", "namespace", namespace)
    edge = sandbox.edge
    kubectl.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.instance("edge", namespace, url=edge.url, org=edge.org, secret="edge-token"),
    )
    instance = kubectl.in_namespace(namespace)
    try:
        eventually(lambda: _healthy(liveness), timeout=60, what="/healthz of the container")
        eventually(
            lambda: condition(instance.get("influxdbinstance", "edge"), "Ready").get("status") == "True",
            timeout=60,
            what="the InfluxDBInstance Ready",
        )
    except AssertionError as failed:
        raise AssertionError(f"{failed}\ncontainer log:\n{_logs(name)}") from None
    state = subprocess.run(
        ["docker", "inspect", "--format={{.State.Running}} {{.RestartCount}}", name],
        capture_output=True,
        text=True,
        check=True,
    )
    assert state.stdout.split() == ["true", "0"]
    assert "Traceback" not in _logs(name)


def _logs(container: str) -> str:
    logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
    return logs.stdout + logs.stderr


def test_behind_a_tls_proxy_the_build_trusts_build_ca_pem_only_in_its_build_stage(
    docker_engine: None, tmp_path: Path
) -> None:
    """No wheels from the host: pip in the build fetches from PyPI (here through the
    machine's TLS-intercepting proxy) trusting the host's bundle put at build/ca.pem,
    which never reaches the image."""
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "LICENSE", *LOCKS):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(ROOT / "operator", context / "operator", ignore=shutil.ignore_patterns("__pycache__"))
    (context / "build").mkdir()
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    shutil.copy(bundle if bundle.exists() else ssl.get_default_verify_paths().openssl_cafile, context / "build/ca.pem")
    ref = f"influxdb-replication-operator-e2e/ca-build:{secrets.token_hex(4)}"
    base = images.python_base()
    build = ["docker", "build", "--no-cache", "--network=host", "--build-arg", f"PYTHON={base}", "-t", ref]
    built = subprocess.run([*build, str(context)], check=False, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    try:
        probe = "import os, influxdb_operator; print(os.path.exists('/wheels'))"
        shown = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "python3", ref, "-c", probe],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert shown.strip() == "False"  # the operator is installed; the CA stayed in the build stage
    finally:
        subprocess.run(["docker", "image", "rm", ref], check=False, capture_output=True)
