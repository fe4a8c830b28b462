"""A real OCI registry on this machine, for a release to be pushed to and pulled from.

It is go-containerregistry's registry, run as `crane registry serve` (the
testbin's crane): its `cmd/registry` serves the same handler but only on
localhost and in memory. Blobs are stored on disk under the given directory;
manifests and tags live in the process, so a registry lasts as long as the
session that pushed to it. It speaks plain HTTP: clients reach it as a
private registry without TLS (`helm --plain-http`, containerd's hosts.toml).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import binaries, processes


@dataclass(frozen=True)
class Registry:
    """A running registry: `host` is how image references and clients name it."""

    host: str  # "ADDRESS:PORT"
    storage: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def crane(self, *argv: str) -> str:
        """crane of the testbin; it reaches loopback and private addresses over plain HTTP by itself."""
        done = subprocess.run([binaries.path("crane"), *argv], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"crane {' '.join(argv)}: {done.stderr.strip()}")
        return done.stdout

    def manifest(self, ref: str) -> dict[str, Any]:
        """The manifest (or index) `ref` names in this registry."""
        return dict(json.loads(self.crane("manifest", ref)))

    def digest(self, ref: str) -> str:
        return self.crane("digest", ref).strip()


def hosts_toml(host: str, *, server: str | None = None) -> str:
    """containerd's hosts.toml for images named `host` ("ADDRESS:PORT"): pulls (and
    tag resolution) go over plain HTTP to `server` ("ADDRESS:PORT", by default
    `host` itself); nothing is pushed from a node."""
    url = f"http://{server or host}"
    return f'server = "{url}"\n\n[host."{url}"]\n  capabilities = ["pull", "resolve"]\n'


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    # The distribution API's version check: 200 once the handler serves.
    with urllib.request.urlopen(f"{url}/v2/", timeout=2) as response:
        return int(response.status) == 200


@contextlib.contextmanager
def serve(directory: Path, *, address: str = "127.0.0.1") -> Iterator[Registry]:
    """The registry on a free port of `address` (loopback unless a cluster
    node must reach it from elsewhere), its blobs under `directory`."""
    storage = directory / "blobs"
    storage.mkdir(parents=True, exist_ok=True)
    host = f"{address}:{_free_port(address)}"
    log = directory / "registry.log"
    argv = [binaries.path("crane"), "registry", "serve", f"--address={host}", f"--disk={storage}"]
    with processes.running("registry", argv, log=log) as proc:
        registry = Registry(host, storage)
        processes.wait_until(lambda: _answers(registry.url), what="the registry", timeout=30, proc=proc, log=log)
        yield registry
