"""`status -o json|yaml`: the tree as data, for scripts and dashboards.

The shape is documented in the README (Day 2) and is stable within an API
version: keys are only ever added. One flat list, in the tree's order, each
item naming its parents, is easier to filter (`jq`) than the tree itself.
"""

from __future__ import annotations

from typing import Any

from ..api import v1alpha1
from . import tree

# Bumped only if a key changes meaning or goes away.
SHAPE_VERSION = 1
# A Replication's figures, as its status names them.
_FIGURES = ("currentQueueSizeBytes", "remainingBytesToBeSynced", "latestResponseCode")


def build(trees: dict[str, list[tree.Node]]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []

    def walk(node: tree.Node, namespace: str, parents: dict[str, str]) -> None:
        items.append(_item(node, namespace, parents))
        below = parents | {node.kind: node.name}
        for child in node.children:
            walk(child, namespace, below)

    for namespace, roots in trees.items():
        for root in roots:
            walk(root, namespace, {})
    return {"shapeVersion": SHAPE_VERSION, "healthy": all(i["healthy"] for i in items), "items": items}


def _item(node: tree.Node, namespace: str, parents: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": node.kind,
        "namespace": namespace,
        "name": node.name,
        "instance": parents.get("InfluxDBInstance"),
        "remoteConnection": parents.get("RemoteConnection"),
        "replicationSet": parents.get("ReplicationSet"),
    }
    if node.obj is None:
        missing = {"reason": "Missing", "message": "referenced but does not exist"}
        return item | {"exists": False, "healthy": False, **missing}
    seen = tree.verdict(node.obj)
    status = node.obj.get("status") or {}
    item |= {
        "exists": True,
        "healthy": seen.healthy,
        "reason": seen.label,
        "message": seen.message,
        "paused": v1alpha1.paused(node.obj["metadata"].get("annotations")),
        "id": status.get("id"),
        "detail": node.detail,
    }
    if node.kind == "ReplicationSet":
        item["foldedHealthyChildren"] = node.folded  # listed only where not healthy, as in the tree
    if node.kind == "Replication":
        plane = status.get("dataPlane") or {}
        item |= {key: status.get(key) for key in _FIGURES}
        item |= {"queueFullIn": plane.get("queueFullIn"), "lag": plane.get("lag")}
    return item
