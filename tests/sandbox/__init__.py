"""The local sandbox: a real control plane and two real InfluxDB servers.

`start()` brings up etcd + kube-apiserver and an "edge" and a "cloud" influxd,
writes `sandbox.json` (mode 0600) describing them, and on exit, however it
comes, stops every process and removes every file it made. Tests use it
through pytest fixtures; people through `make sandbox` (`python -m sandbox`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import influx, kube

EDGE_ORG, CLOUD_ORG, BUCKET = "edge-org", "cloud-org", "metrics"


@dataclass(frozen=True)
class Sandbox:
    kube: kube.Kube
    edge: influx.Influx
    cloud: influx.Influx
    workdir: Path
    description: Path
    # The processes, to freeze or stop one (`make demo DEMO_ARGS=--stall`). Tests
    # share the sandbox: they use servers of their own for that (scratch_influxd).
    edge_server: influx.Server = field(repr=False, compare=False)
    cloud_server: influx.Server = field(repr=False, compare=False)

    def as_json(self) -> dict[str, object]:
        return {
            "kubeconfig": str(self.kube.kubeconfig.resolve()),
            "edge": self.edge.as_json(),
            "cloud": self.cloud.as_json(),
        }


def sandbox_dir() -> Path:
    return Path(os.environ.get("SANDBOX_DIR") or Path.cwd() / ".sandbox")


@contextlib.contextmanager
def start(*, directory: Path | None = None) -> Iterator[Sandbox]:
    directory = (directory or sandbox_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="sandbox-", dir=directory))
    description = directory / "sandbox.json"
    try:
        with contextlib.ExitStack() as stack:
            control_plane = stack.enter_context(kube.control_plane(workdir / "kube"))
            edge_server, edge = stack.enter_context(
                influx.server(workdir / "edge", "edge", org=EDGE_ORG, bucket=BUCKET)
            )
            cloud_server, cloud = stack.enter_context(
                influx.server(workdir / "cloud", "cloud", org=CLOUD_ORG, bucket=BUCKET)
            )
            sandbox = Sandbox(control_plane, edge, cloud, workdir, description, edge_server, cloud_server)
            fd = os.open(description, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(sandbox.as_json(), out, indent=2)
            os.chmod(description, 0o600)
            try:
                yield sandbox
            finally:
                description.unlink(missing_ok=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            directory.rmdir()  # only if we left it empty
