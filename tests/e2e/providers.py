"""Where the end-to-end suite gets its cluster: one interface, two providers.

The scenarios are the same everywhere; only making the cluster, getting a
locally built image onto its node and letting the node pull from a registry on
this machine differ. `E2E_CLUSTER` chooses:

- `local`: a single node on this machine from the pinned sources (`make
  cluster`), provided by `sandbox.cluster.start()`;
- `kind`: `kind create cluster` in a Docker that can pull kind's node image
  (GitHub's runners; `KIND_NODE_IMAGE` chooses it).

Unset, it is `local` where that provider exists and we are root on Linux, else `kind`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from e2e.images import Unavailable

from sandbox import registry

__all__ = ["Cluster", "Unavailable", "choice", "kind", "local", "start"]

# The local provider lives in its own module (it builds a whole node), imported
# only when chosen, so kind users need none of its prerequisites. It offers
# `start(*, directory=None)`, a context manager yielding an object with
# `kubeconfig`, `load_image(ref)`, `remove_image(ref)`, `registry_address` and `trust_registry(host)`
# (the Cluster protocol below), and may offer `missing_prerequisites()`
# (None, or why not) and an `Unavailable` exception.
LOCAL_MODULES = ("sandbox.cluster", "e2e.local_node")


class Cluster(Protocol):
    """A running cluster the suite may use as it likes for the session."""

    @property
    def name(self) -> str:
        """Shown in the test output."""
        ...

    @property
    def kubeconfig(self) -> Path:
        """Cluster-admin credentials."""
        ...

    def load_image(self, ref: str) -> None:
        """Make an image of the local Docker engine runnable on the node under `ref`
        without a registry (for pods with imagePullPolicy IfNotPresent or Never)."""
        ...

    def remove_image(self, ref: str) -> None:
        """Forget a pulled image (NAME@DIGEST) on the node(s), so that the next Pod
        of it pulls it again: a test that proves a pull leaves no image behind."""
        ...

    @property
    def registry_address(self) -> str:
        """An address of this machine the node reaches: a registry for it listens there."""
        ...

    def trust_registry(self, host: str, *, server: str | None = None) -> None:
        """Let the node pull images named `host` ("ADDRESS:PORT") from the plain-HTTP
        registry at `server` (default: `host`), configured as a user configures a
        private registry (containerd's hosts.toml)."""
        ...


# kind's nodes read registry configuration per host from this directory (see
# kind(): the cluster is created with it), so hosts can be added to a running node.
KIND_CERTS_DIR = "/etc/containerd/certs.d"
KIND_CONFIG = f"""kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{KIND_CERTS_DIR}"
"""


@dataclass(frozen=True)
class KindCluster:
    """Only GitHub's runners run this provider (no Docker Hub, so no kind node
    image, here); it is kept type-checked and linted, and reasoned through:

    kind's nodes are containers on Docker's `kind` network: 127.0.0.1 there is
    the node's own loopback, not this machine's. The host is reached at the
    network's gateway, an address of the host's bridge to that network, so a
    registry listening there serves both the host's tools (helm, crane, the
    release's push) and the nodes without listening on every interface. The
    gateway is private (RFC 1918), which crane treats as plain HTTP by itself,
    and helm does with --plain-http.
    """

    name: str
    kubeconfig: Path

    def load_image(self, ref: str) -> None:
        subprocess.run(["kind", "load", "docker-image", ref, "--name", self.name], check=True)

    def remove_image(self, ref: str) -> None:
        for node in self._nodes():
            subprocess.run(["docker", "exec", node, "crictl", "rmi", ref], capture_output=True, check=False)

    def _nodes(self) -> list[str]:
        return subprocess.run(
            ["kind", "get", "nodes", "--name", self.name], capture_output=True, text=True, check=True
        ).stdout.split()

    @property
    def registry_address(self) -> str:
        gateways = subprocess.run(
            ["docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        ipv4 = [g for g in gateways if ipaddress.ip_address(g).version == 4]
        if not ipv4:
            raise Unavailable(f"the kind network has no IPv4 gateway ({gateways})")
        return ipv4[0]

    def trust_registry(self, host: str, *, server: str | None = None) -> None:
        for node in self._nodes():
            # A reused cluster (KIND_CLUSTER) made without KIND_CONFIG would ignore the file.
            config = subprocess.run(
                ["docker", "exec", node, "cat", "/etc/containerd/config.toml"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if KIND_CERTS_DIR not in config:
                raise Unavailable(f"kind node {node} has no registry config_path {KIND_CERTS_DIR}: recreate it")
            directory = f"{KIND_CERTS_DIR}/{host}"
            subprocess.run(
                ["docker", "exec", "-i", node, "sh", "-c", f'mkdir -p "{directory}" && cat >"{directory}/hosts.toml"'],
                input=registry.hosts_toml(host, server=server),
                text=True,
                check=True,
            )


def _local_module() -> str | None:
    return next((m for m in LOCAL_MODULES if importlib.util.find_spec(m) is not None), None)


def choice() -> str:
    """`local` or `kind`, from E2E_CLUSTER or what this machine has."""
    chosen = os.environ.get("E2E_CLUSTER", "")
    if chosen:
        if chosen not in ("local", "kind"):
            raise ValueError(f"E2E_CLUSTER must be local or kind, not {chosen!r}")
        return chosen
    return "local" if _local_module() and sys.platform == "linux" and os.geteuid() == 0 else "kind"


@contextlib.contextmanager
def local(workdir: Path) -> Iterator[Cluster]:
    """The single node on this machine (its own module starts and stops it)."""
    name = _local_module()
    if name is None:
        raise Unavailable(f"no local node provider in this tree (looked for {', '.join(LOCAL_MODULES)})")
    module = importlib.import_module(name)
    if hasattr(module, "missing_prerequisites") and (why := module.missing_prerequisites()):
        raise Unavailable(str(why))
    start = cast(Callable[..., contextlib.AbstractContextManager[Cluster]], module.start)
    theirs: type[Exception] | tuple[()] = getattr(module, "Unavailable", ())
    try:
        running = start(directory=workdir) if "directory" in inspect.signature(start).parameters else start()
        node = running.__enter__()
    except theirs as why:
        raise Unavailable(str(why)) from why
    with contextlib.ExitStack() as stack:
        stack.push(running)
        # Its own object: a Cluster, and more (import_archive, kubectl) for the node's own tests.
        yield node


@contextlib.contextmanager
def kind(workdir: Path) -> Iterator[Cluster]:
    """A new kind cluster, deleted afterwards unless KIND_KEEP is set.

    KIND_CLUSTER names it; an existing cluster of that name is reused (and kept).
    KIND_NODE_IMAGE is the node image a new cluster runs (CI pins the Kubernetes minor
    the testbin builds); unset, kind's default for its release.
    """
    if shutil.which("kind") is None:
        raise Unavailable("kind is not installed")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise Unavailable("kind needs a Docker engine, and `docker info` fails")
    name = os.environ.get("KIND_CLUSTER") or f"iro-e2e-{secrets.token_hex(3)}"
    kubeconfig = workdir / "kubeconfig"
    existing = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=True).stdout.split()
    reuse = name in existing
    if reuse:
        subprocess.run(["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)], check=True)
    else:
        config = workdir / "kind.yaml"
        config.write_text(KIND_CONFIG)
        create = ["kind", "create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(kubeconfig)]
        image = os.environ.get("KIND_NODE_IMAGE")
        subprocess.run([*create, "--wait", "180s", *(["--image", image] if image else [])], check=True)
    try:
        yield KindCluster(name, kubeconfig)
    finally:
        if not reuse and not os.environ.get("KIND_KEEP"):
            subprocess.run(["kind", "delete", "cluster", "--name", name], check=False)


def start(workdir: Path) -> contextlib.AbstractContextManager[Cluster]:
    """The cluster E2E_CLUSTER (or this machine) chooses; raises Unavailable, saying why, if it cannot be had."""
    return local(workdir) if choice() == "local" else kind(workdir)
