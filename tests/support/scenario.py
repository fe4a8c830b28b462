"""A ready-made edge -> cloud setup that most operator tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from support import manifests
from support.kubectl import Kubectl, condition, eventually


@dataclass
class Setup:
    """An edge InfluxDBInstance, a RemoteConnection to the cloud and fresh buckets."""

    kubectl: Kubectl  # bound to the test's namespace
    namespace: str
    unique: str
    edge_bucket: str
    edge_bucket_id: str
    cloud_bucket: str

    def ready(self, kind: str, name: str, timeout: float = 60) -> dict[str, Any]:
        return dict(
            eventually(
                lambda: (
                    (obj := self.kubectl.get(kind, name)) and condition(obj, "Ready").get("status") == "True" and obj
                ),
                timeout=timeout,
                what=f"{kind}/{name} Ready",
            )
        )

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
