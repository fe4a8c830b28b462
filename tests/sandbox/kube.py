"""etcd + kube-apiserver, envtest-style: a real control plane with no nodes.

There is no controller-manager, so nothing garbage-collects, namespaces never
finish terminating and no token controller runs; ServiceAccount tokens come
from the TokenRequest API, which the apiserver serves by itself.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import binaries, pki, processes

ADMIN_USER = "sandbox-admin"
UNPRIVILEGED_USER = "sandbox-viewer"


@dataclass(frozen=True)
class Kube:
    url: str
    kubeconfig: Path
    ca_file: Path
    admin_token: str = field(repr=False)  # tokens never in test output
    unprivileged_token: str = field(repr=False)

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        """A kubeconfig that authenticates with `token` (e.g. a ServiceAccount's)."""
        path.write_text(yaml.safe_dump(_kubeconfig(self.url, self.ca_file, token)))
        path.chmod(0o600)
        return path

    def get(self, path: str, *, token: str | None = None) -> tuple[int, Any]:
        """A raw GET: the status and the body (decoded JSON, else text)."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {token or self.admin_token}"}
        )
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                status, payload = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, payload = int(error.code), error.read()
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, payload.decode(errors="replace")


def _kubeconfig(url: str, ca_file: Path, token: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "sandbox",
                "cluster": {
                    "server": url,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "sandbox", "user": {"token": token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox", "namespace": "default"}}],
        "current-context": "sandbox",
    }


@contextlib.contextmanager
def control_plane(workdir: Path) -> Iterator[Kube]:
    """etcd and kube-apiserver on free loopback ports, ready when yielded."""
    etcd_dir, cert_dir, logs = workdir / "etcd", workdir / "pki", workdir / "logs"
    for d in (etcd_dir, cert_dir, logs):
        d.mkdir(parents=True, exist_ok=True)
    client_port, peer_port = processes.free_port(), processes.free_port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    etcd_argv = [
        binaries.path("etcd"),
        "--name=sandbox",
        f"--data-dir={etcd_dir}",
        f"--listen-client-urls={etcd_url}",
        f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=sandbox={peer_url}",
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]
    with processes.running("etcd", etcd_argv, log=logs / "etcd.log") as etcd:
        processes.wait_until(
            lambda: json.load(urllib.request.urlopen(f"{etcd_url}/health", timeout=2)).get("health") == "true",
            what="etcd",
            timeout=60,
            proc=etcd,
            log=logs / "etcd.log",
        )
        ca, crt, key, sa_key, sa_pub = pki.write(cert_dir)
        admin_token, unprivileged_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        tokens = cert_dir / "tokens.csv"
        tokens.write_text(
            f'{admin_token},{ADMIN_USER},uid-admin,"system:masters"\n{unprivileged_token},{UNPRIVILEGED_USER},uid-viewer,"sandbox:users"\n'
        )
        tokens.chmod(0o600)
        port = processes.free_port()
        apiserver_argv = [
            binaries.path("kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--secure-port={port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--cert-dir={cert_dir}",
            f"--tls-cert-file={crt}",
            f"--tls-private-key-file={key}",
            f"--client-ca-file={ca}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_pub}",
            f"--service-account-signing-key-file={sa_key}",
            f"--token-auth-file={tokens}",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--enable-priority-and-fairness=false",
        ]
        with processes.running("kube-apiserver", apiserver_argv, log=logs / "kube-apiserver.log") as apiserver:
            kubeconfig = workdir / "kubeconfig"
            kube = Kube(f"https://127.0.0.1:{port}", kubeconfig, ca, admin_token, unprivileged_token)
            kube.kubeconfig_for_token(admin_token, kubeconfig)
            processes.wait_until(
                lambda: kube.get("/readyz")[0] == 200,
                what="kube-apiserver",
                timeout=120,
                proc=apiserver,
                log=logs / "kube-apiserver.log",
            )
            # RBAC's bootstrap roles (cluster-admin, view, ...) are written by a
            # post-start hook; /readyz waits for it, but be explicit about it.
            processes.wait_until(
                lambda: kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/view")[0] == 200,
                what="RBAC bootstrap roles",
                timeout=60,
                proc=apiserver,
            )
            yield kube
