"""The cluster itself does what a kind user relies on: a Deployment of a locally
built image gets a Running Pod, a Service routes to it, `name.namespace.svc`
resolves in pods, and pods reach the apiserver with their ServiceAccount token.

The image is busybox (Debian's static build) and nothing else, made here. With
a Docker engine it goes through `docker import` and the cluster's `load_image`,
the way the suite loads its InfluxDB image. Pushed to the suite's registry
instead, a Pod pulls it, as the operator's Pod pulls a release.
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from e2e.conftest import missing

from sandbox import oci
from sandbox import registry as oci_registry
from support.kubectl import Kubectl

pytestmark = pytest.mark.e2e

PORT = 8086  # what the suite's InfluxDB Services use

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {image}
        imagePullPolicy: Never
        command:
        - /bin/busybox
        - sh
        - -c
        - mkdir /www && echo hello from $HOSTNAME > /www/index.html && exec busybox httpd -f -p {port} -h /www
        readinessProbe: {{httpGet: {{path: /, port: {port}}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{app: web}}
  ports: [{{port: {port}}}]
"""


class Node(Protocol):
    @property
    def kubeconfig(self) -> Path: ...

    def load_image(self, ref: str) -> None: ...

    def trust_registry(self, host: str, *, server: str | None = None) -> None: ...


@dataclass(frozen=True)
class Smoke:
    kubectl: Kubectl
    namespace: str
    image: str
    pull_policy: str = "Never"

    def run(self, name: str, script: str) -> str:
        """Run `script` with busybox sh in a Pod of its own; its output once it succeeded."""
        self.kubectl(
            "run",
            name,
            f"--image={self.image}",
            f"--image-pull-policy={self.pull_policy}",
            "--restart=Never",
            "--command",
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            script,
        )
        deadline = time.monotonic() + 120
        while (phase := self.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}")) not in (
            "Succeeded",
            "Failed",
        ):
            assert time.monotonic() < deadline, f"pod {name} still {phase or 'Pending'} after 120s"
            time.sleep(0.5)
        output = self.kubectl("logs", name)
        assert phase == "Succeeded", f"pod {name} failed:\n{output}"
        return output


def _busybox_rootfs() -> bytes:
    busybox = shutil.which("busybox")
    if busybox is None:
        missing("busybox is not installed (apt-get install busybox-static)")
    assert busybox is not None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as rootfs:
        rootfs.add(busybox, "bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        rootfs.addfile(link)
    return buffer.getvalue()


def _docker_running() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0


def _busybox_archive(workdir: Path, ref: str) -> Path:
    """busybox as an OCI image archive (an image layout in a tar) named `ref`."""
    (workdir / "rootfs").mkdir()
    with tarfile.open(fileobj=io.BytesIO(_busybox_rootfs())) as rootfs:
        rootfs.extractall(workdir / "rootfs", filter="tar")
    files = {"/bin/busybox": workdir / "rootfs/bin/busybox"}
    return oci.write_image(workdir / "busybox.tar", ref=ref, files=files, entrypoint=["/bin/busybox", "sh"])


def _load_busybox(cluster: Node, workdir: Path) -> str:
    """busybox as an image on the node: through Docker and `load_image` where a
    Docker engine runs, else (local node only) as an archive imported directly."""
    ref = f"iro-e2e-busybox:{secrets.token_hex(3)}"
    if _docker_running():
        subprocess.run(["docker", "import", "-", ref], input=_busybox_rootfs(), capture_output=True, check=True)
        try:
            cluster.load_image(ref)
        finally:
            subprocess.run(["docker", "rmi", ref], capture_output=True, check=False)
        return f"docker.io/library/{ref}"
    if not hasattr(cluster, "import_archive"):
        missing("no Docker engine runs here (`docker info` fails), so no image can be loaded")
    # Named in full, as Docker's path names it: the kubelet from 1.37 looks an image up
    # by its normalized name, and containerd 1.6 holds an archive's under the name given.
    ref = f"docker.io/library/{ref}"
    cluster.import_archive(_busybox_archive(workdir, ref))  # type: ignore[attr-defined]
    return ref


@pytest.fixture(scope="module")
def smoke(cluster: Node, tmp_path_factory: pytest.TempPathFactory) -> Smoke:
    image = _load_busybox(cluster, tmp_path_factory.mktemp("busybox"))
    namespace = f"node-{secrets.token_hex(3)}"
    kubectl = Kubectl(cluster.kubeconfig)
    kubectl("create", "namespace", namespace)
    ns = kubectl.in_namespace(namespace)
    ns("apply", "-f", "-", input=WEB.format(namespace=namespace, image=image, port=PORT))
    rollout = ns("rollout", "status", "deployment/web", "--timeout=120s", timeout=130, check=False)
    if "successfully rolled out" not in rollout:
        # Why, from the node's side: the Pod's state and Events, the node's conditions and allocations.
        pods = ns("describe", "pods", "-l", "app=web", check=False)
        node = kubectl("describe", "nodes", check=False)
        pytest.fail(f"deployment/web did not roll out: {rollout}\n{pods}\n{node}", pytrace=False)
    return Smoke(ns, namespace, image)


def test_a_deployment_of_a_loaded_image_gets_a_running_pod(smoke: Smoke) -> None:
    pods = json.loads(smoke.kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    assert pods[0]["status"]["containerStatuses"][0]["ready"] is True
    assert pods[0]["status"]["podIP"]


def test_a_service_routes_by_its_namespaced_name(smoke: Smoke) -> None:
    # `web.<namespace>.svc` resolves through the pod's search path, as
    # http://name.namespace.svc:8086 does for InfluxDB, from another namespace
    # too, and the Service's IP is translated to the pod's.
    output = smoke.run(
        "client",
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 web.{smoke.namespace}.svc {PORT}",
    )
    web_pod = smoke.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
    assert "200 OK" in output
    assert f"hello from {web_pod}" in output


def test_cluster_dns_answers_for_services(smoke: Smoke) -> None:
    service_ip = smoke.kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
    output = smoke.run("lookup", f"busybox nslookup web.{smoke.namespace}.svc.cluster.local")
    assert f"Address: {service_ip}" in output


def test_pods_reach_the_apiserver_with_a_serviceaccount_token(smoke: Smoke) -> None:
    # What the operator's pod needs: a token and CA mounted, and the
    # `kubernetes` Service reaching the apiserver. busybox speaks no TLS, but
    # the apiserver (Go) answers plain HTTP on its TLS port with a telling 400.
    output = smoke.run(
        "apiserver",
        "cd /var/run/secrets/kubernetes.io/serviceaccount && cat namespace && test -s token && "
        "grep -q 'BEGIN CERTIFICATE' ca.crt && "
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 kubernetes.default.svc 443",
    )
    assert output.startswith(smoke.namespace)
    assert "Client sent an HTTP request to an HTTPS server" in output


def _pulled(smoke: Smoke, name: str, image: str) -> str:
    """Run a Pod of `image` with imagePullPolicy Always; the image ID the node pulled."""
    pod = Smoke(smoke.kubectl, smoke.namespace, image, pull_policy="Always")
    assert pod.run(name, "echo pulled") == "pulled\n"
    events = json.loads(smoke.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json"))
    assert any(e["reason"] == "Pulled" and "Successfully pulled" in e["message"] for e in events["items"]), [
        (e["reason"], e["message"]) for e in events["items"]
    ]
    status = json.loads(smoke.kubectl("get", "pod", name, "-o", "json"))["status"]
    return str(status["containerStatuses"][0]["imageID"])


def test_a_pod_pulls_its_image_from_a_plain_http_registry(
    cluster: Node, smoke: Smoke, registry: oci_registry.Registry, tmp_path: Path
) -> None:
    # A name and tag never seen on the node, pushed and not loaded: only a pull can run it.
    tag = secrets.token_hex(3)
    layout = tmp_path / "layout"  # crane pushes an image layout from a directory
    with tarfile.open(_busybox_archive(tmp_path, f"busybox:{tag}")) as archive:
        archive.extractall(layout, filter="data")
    pushed = registry.crane("push", str(layout), f"{registry.host}/e2e/busybox:{tag}")
    digest = pushed.strip().rsplit("@", 1)[1]
    assert _pulled(smoke, "pulled", f"{registry.host}/e2e/busybox:{tag}") == f"{registry.host}/e2e/busybox@{digest}"
    # containerd tries plain HTTP for a loopback registry by itself, so that
    # pull alone does not show that the node reads its registry configuration.
    # A name that resolves nowhere (.invalid) leads to the registry only
    # through the hosts.toml written for it.
    alias = f"registry.invalid:{registry.host.rsplit(':', 1)[1]}"
    cluster.trust_registry(alias, server=registry.host)
    # (The image ID names the image's first reference on the node, the one above.)
    assert _pulled(smoke, "aliased", f"{alias}/e2e/busybox:{tag}").endswith(f"@{digest}")
