"""A ready-made edge -> cloud setup that most operator tests start from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl

# The `scratch_influxd` fixture: start(name, tls=False) -> (server, onboarded).
ScratchInfluxd = Callable[..., tuple[influx.Server, influx.Influx]]


def apply_edge_and_cloud(
    kubectl: Kubectl, sandbox: sandbox_module.Sandbox, namespace: str, unique: str, *, edge_url: str
) -> None:
    """The token Secrets, an InfluxDBInstance "edge" at `edge_url` and a RemoteConnection
    "cloud" (InfluxDB name cloud-<unique>), applied without waiting for anything."""
    edge, cloud = sandbox.edge, sandbox.cloud
    kubectl.apply(
        manifests.secret("edge-token", namespace, edge.token),
        manifests.secret("cloud-token", namespace, cloud.token),
        manifests.instance("edge", namespace, url=edge_url, org=edge.org, secret="edge-token"),
        cloud_remote(cloud, namespace, "cloud", unique),
    )


def cloud_remote(cloud: influx.Influx, namespace: str, name: str, unique: str) -> dict[str, Any]:
    """A RemoteConnection `name` from the InfluxDBInstance "edge" to `cloud`, with
    the "cloud-token" Secret (InfluxDB name <name>-<unique>)."""
    return manifests.remote(
        name,
        namespace,
        instance="edge",
        url=cloud.url,
        org_id=cloud.orgID,
        secret="cloud-token",
        name=f"{name}-{unique}",
    )


@dataclass
class Setup:
    """An edge InfluxDBInstance, a RemoteConnection to the cloud and fresh buckets."""

    kubectl: Kubectl  # bound to the test's namespace
    namespace: str
    unique: str
    edge_bucket: str
    edge_bucket_id: str
    cloud_bucket: str

    @classmethod
    def create(
        cls, sandbox: sandbox_module.Sandbox, kubectl: Kubectl, unique: str, *, edge_url: str | None = None
    ) -> Setup:
        """Fresh buckets on both servers, the token Secrets, an InfluxDBInstance
        "edge" (at `edge_url`, e.g. a proxy, else the edge server) and a
        RemoteConnection "cloud", in `kubectl`'s namespace; Ready."""
        namespace = kubectl.namespace
        assert namespace is not None
        edge, cloud = sandbox.edge, sandbox.cloud
        edge_bucket, cloud_bucket = f"edge-{unique}", f"cloud-{unique}"
        edge_bucket_id = edge.create_bucket(edge_bucket)
        cloud.create_bucket(cloud_bucket)
        apply_edge_and_cloud(kubectl, sandbox, namespace, unique, edge_url=edge_url or edge.url)
        setup = cls(kubectl, namespace, unique, edge_bucket, edge_bucket_id, cloud_bucket)
        setup.ready("influxdbinstance", "edge")
        setup.ready("remoteconnection", "cloud")
        return setup

    def ready(self, kind: str, name: str, timeout: float = 60) -> dict[str, Any]:
        return self.kubectl.wait_ready(kind, name, timeout=timeout)

    def replication(self, name: str, /, **spec: Any) -> dict[str, Any]:
        return manifests.replication(
            name,
            self.namespace,
            instance="edge",
            local_bucket=self.edge_bucket,
            connection="cloud",
            remote_bucket=self.cloud_bucket,
            **spec,
        )
