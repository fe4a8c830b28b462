"""etcd + kube-apiserver, envtest-style: a real control plane with no nodes.

There is no controller-manager, so nothing garbage-collects, namespaces never
finish terminating and no token controller runs; ServiceAccount tokens come
from the TokenRequest API, which the apiserver serves by itself.

Given a `NodeAccess`, the same control plane is ready for a node
(`sandbox.cluster`): it listens on an address pod network namespaces reach,
authorizes kubelets (Node,RBAC), admits ServiceAccounts, and has tokens for
the node's components.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import binaries, pki, processes

ADMIN_USER = "sandbox-admin"
UNPRIVILEGED_USER = "sandbox-viewer"
SERVICE_CIDR = "10.0.0.0/24"
# Who each node component is to RBAC: the users and groups Kubernetes'
# bootstrap roles are bound to, so no RBAC objects need to be made.
COMPONENT_IDENTITIES = {
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-proxy": ("system:kube-proxy", ""),
}


@dataclass(frozen=True)
class NodeAccess:
    """What a node needs of the control plane."""

    address: str  # the apiserver binds and advertises it; pods reach it through the `kubernetes` Service
    node_name: str  # the kubelet's identity is system:node:<node_name> (the Node authorizer)
    service_ip: str = "10.0.0.1"  # the `kubernetes` Service, in the serving certificate


@dataclass(frozen=True)
class Kube:
    url: str
    kubeconfig: Path
    ca_file: Path
    admin_token: str = field(repr=False)  # tokens never in test output
    unprivileged_token: str = field(repr=False)
    # For a node (see NodeAccess): a token per component ("kubelet", "kube-proxy", ...)
    # and the directory with the CA, its key and the ServiceAccount signing key.
    component_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    pki_dir: Path | None = None

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

    def watch(self, path: str, version: str, *, seconds: int) -> Iterator[dict[str, Any]]:
        """The watch events of `path` from `version`, for up to `seconds` (as admin)."""
        request = urllib.request.Request(
            f"{self.url}{path}?watch=1&resourceVersion={version}&timeoutSeconds={seconds}",
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(request, context=context, timeout=seconds + 60) as stream:
            for line in stream:
                yield json.loads(line)


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
def control_plane(workdir: Path, *, node: NodeAccess | None = None) -> Iterator[Kube]:
    """etcd and kube-apiserver on free loopback ports (the apiserver on
    `node.address` if given), ready when yielded."""
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
        address = node.address if node else "127.0.0.1"
        names = _node_names(node) if node else []
        ca, crt, key, sa_key, sa_pub = pki.write(cert_dir, names=names)
        admin_token, unprivileged_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        identities = {
            ADMIN_USER: (admin_token, "system:masters"),
            UNPRIVILEGED_USER: (unprivileged_token, "sandbox:users"),
        }
        component_tokens: dict[str, str] = {}
        if node:
            node_identities = {**COMPONENT_IDENTITIES, "kubelet": (f"system:node:{node.node_name}", "system:nodes")}
            for component, (user, group) in node_identities.items():
                component_tokens[component] = secrets.token_urlsafe(32)
                identities[user] = (component_tokens[component], group)
        tokens = cert_dir / "tokens.csv"
        tokens.write_text(
            "".join(f'{token},{user},uid-{user},"{group}"\n' for user, (token, group) in identities.items())
        )
        tokens.chmod(0o600)
        port = processes.free_port()
        apiserver_argv = [
            binaries.path("kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--secure-port={port}",
            f"--bind-address={address}",
            f"--advertise-address={address}",
            f"--cert-dir={cert_dir}",
            f"--tls-cert-file={crt}",
            f"--tls-private-key-file={key}",
            f"--client-ca-file={ca}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa_pub}",
            f"--service-account-signing-key-file={sa_key}",
            f"--token-auth-file={tokens}",
            "--allow-privileged=true",
            # API Priority and Fairness stays on (the admin is exempt, so nothing is
            # throttled): its per-FlowSchema counters tell which identity wrote
            # (tests/support/request_counters.py).
        ]
        if node:
            # A kubelet may touch only its own Node and its pods' objects; pods
            # get ServiceAccount tokens; `kubectl logs/exec` reach the kubelet.
            kubelet_crt, kubelet_key = pki.client_cert(
                cert_dir, "apiserver-kubelet-client", user="kube-apiserver-kubelet-client", groups=["system:masters"]
            )
            apiserver_argv += [
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--kubelet-client-certificate={kubelet_crt}",
                f"--kubelet-client-key={kubelet_key}",
                # The node's address, never its name: no lookup leaves the machine.
                "--kubelet-preferred-address-types=InternalIP",
            ]
        else:
            # No controller-manager makes `default` ServiceAccounts: without this,
            # every pod would be refused for lacking one.
            apiserver_argv += ["--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount"]
            # No pod reaches the `kubernetes` Service here, and from 1.37 its
            # endpoint reconciler refuses a loopback address (kube-apiserver exits).
            apiserver_argv += ["--endpoint-reconciler-type=none"]
        with processes.running("kube-apiserver", apiserver_argv, log=logs / "kube-apiserver.log") as apiserver:
            kubeconfig = workdir / "kubeconfig"
            kube = Kube(
                f"https://{address}:{port}",
                kubeconfig,
                ca,
                admin_token,
                unprivileged_token,
                component_tokens=component_tokens,
                pki_dir=cert_dir,
            )
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


def _node_names(node: NodeAccess) -> list[str]:
    """The names pods and the node use for the apiserver: its address, the
    `kubernetes` Service's IP and every DNS name of that Service."""
    service = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
    return [node.address, node.service_ip, *service]
