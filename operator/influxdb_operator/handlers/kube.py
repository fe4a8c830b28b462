"""Writes to Kubernetes that cannot wait for kopf's end-of-handler patch.

Two cases: the create-pending marker, which must be stored before the
InfluxDB POST is sent, and status written by the per-instance refresh for
objects other than the one its daemon serves. The official client is
synchronous, so calls run in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes

from ..api import v1alpha1

_api: kubernetes.client.CustomObjectsApi | None = None


def configure() -> None:
    global _api
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    _api = kubernetes.client.CustomObjectsApi()


async def patch_status(plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
    """Merge-patch `status` into the object's status subresource."""
    if _api is None:
        configure()
    assert _api is not None
    await asyncio.to_thread(
        _api.patch_namespaced_custom_object_status,
        v1alpha1.GROUP,
        v1alpha1.VERSION,
        namespace,
        plural,
        name,
        {"status": status},
        _content_type="application/merge-patch+json",
    )
