"""The `status` tree, drawn from the kinds' objects as listed (pure).

instance → its remote connections → the replications that use them;
replications that name a remote by ID hang from the instance, and anything
whose instance or connection is missing is still shown, under a stand-in.
A ReplicationSet's children are folded into one node per set and
connection: only the children that are not healthy are shown under it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..api.v1alpha1 import SET_LABEL, ConditionType
from ..reconcile.dataplane import human_bytes
from ..reconcile.reasons import Reason

Obj = dict[str, Any]
# paint(text, style) with style one of "ok", "bad", "warn", "dim", "bold".
Paint = Callable[[str, str], str]

PAUSED = "influxdb.replication.dev/paused"
# Healthy reasons of a working stream (NoWritesYet: nothing written to it yet;
# QueueUndersized: working, with a hint about the next outage).
_FINE = {Reason.REPLICATING.value, Reason.NO_WRITES_YET.value, Reason.QUEUE_UNDERSIZED.value}


def plain(text: str, style: str) -> str:
    return text


def condition(obj: Obj, type_: ConditionType) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    label: str  # the reason, or "Pending" before the operator has written one
    message: str = ""


def verdict(obj: Obj) -> Verdict:
    """Ready, then (for a Replication) Healthy: the first that is not fine."""
    ready = condition(obj, ConditionType.READY)
    if ready is None:
        return Verdict(False, "Pending", "the operator has not reported on it yet")
    if ready.get("status") != "True":
        return Verdict(False, ready.get("reason") or "NotReady", ready.get("message") or "")
    healthy = condition(obj, ConditionType.HEALTHY)
    if healthy is not None and healthy.get("reason") not in _FINE:
        return Verdict(False, healthy.get("reason") or "Unhealthy", healthy.get("message") or "")
    return Verdict(True, (healthy or {}).get("reason") or ConditionType.READY.value)


def figures(obj: Obj) -> list[str]:
    """A Replication's backlog, fill forecast and lag, where known."""
    status = obj.get("status") or {}
    out = []
    queued, remaining = status.get("currentQueueSizeBytes"), status.get("remainingBytesToBeSynced")
    if queued is not None:
        out.append(f"queue {human_bytes(queued)}")
    if remaining is not None:
        out.append(f"to sync {human_bytes(remaining)}")
    plane = status.get("dataPlane") or {}
    if plane.get("queueFullIn"):
        out.append(f"full in {plane['queueFullIn']}")
    if plane.get("lag"):
        out.append(f"lag {plane['lag']}")
    return out


@dataclass
class Node:
    kind: str
    name: str
    obj: Obj | None  # None: referenced but missing
    detail: str = ""
    children: list[Node] = field(default_factory=list)
    folded: int = 0  # a set's healthy children, not shown


def _key(obj: Obj) -> tuple[str, str]:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def _instance_of(obj: Obj) -> str:
    return str(((obj.get("spec") or {}).get("instanceRef") or {}).get("name", ""))


def _set_of(obj: Obj) -> str | None:
    """The set a Replication is a child of: labelled with it and controlled by it
    (a label alone may be put on any Replication by hand)."""
    meta = obj.get("metadata") or {}
    label = (meta.get("labels") or {}).get(SET_LABEL)
    owners = meta.get("ownerReferences") or []
    controlled = any(
        o.get("kind") == "ReplicationSet" and o.get("controller") and o.get("name") == label for o in owners
    )
    return label if label and controlled else None


def build(
    instances: Iterable[Obj], remotes: Iterable[Obj], replications: Iterable[Obj], sets: Iterable[Obj] = ()
) -> dict[str, list[Node]]:
    """Trees per namespace, sorted by name."""
    set_objs = {_key(obj): obj for obj in sets}
    set_nodes: dict[tuple[str, str, int], Node] = {}
    inst_nodes: dict[tuple[str, str], Node] = {}
    remote_nodes: dict[tuple[str, str], Node] = {}
    for obj in sorted(instances, key=_key):
        inst_nodes[_key(obj)] = Node("InfluxDBInstance", obj["metadata"]["name"], obj, _instance_detail(obj))

    def instance(namespace: str, name: str) -> Node:
        if (namespace, name) not in inst_nodes:
            inst_nodes[(namespace, name)] = Node("InfluxDBInstance", name, None)
        return inst_nodes[(namespace, name)]

    for obj in sorted(remotes, key=_key):
        node = Node("RemoteConnection", obj["metadata"]["name"], obj, str(obj["spec"].get("remoteURL", "")))
        remote_nodes[_key(obj)] = node
        instance(obj["metadata"]["namespace"], _instance_of(obj)).children.append(node)
    for obj in sorted(replications, key=_key):
        namespace, spec = obj["metadata"]["namespace"], obj.get("spec") or {}
        node = Node("Replication", obj["metadata"]["name"], obj, _replication_detail(spec))
        connection = ((spec.get("remote") or {}).get("connectionRef") or {}).get("name")
        parent = instance(namespace, _instance_of(obj))
        if connection:
            if (namespace, connection) not in remote_nodes:
                remote_nodes[(namespace, connection)] = Node("RemoteConnection", connection, None)
                parent.children.append(remote_nodes[(namespace, connection)])
            parent = remote_nodes[(namespace, connection)]
        owner = _set_of(obj)
        if owner:
            parent = _set_node(set_nodes, set_objs, parent, namespace, owner)
            if verdict(obj).healthy:
                parent.folded += 1
                continue
        parent.children.append(node)
    for set_node in set_nodes.values():
        set_node.detail = f"{set_node.folded} of {set_node.folded + len(set_node.children)} children healthy here"
    trees: dict[str, list[Node]] = {}
    for (namespace, _), node in sorted(inst_nodes.items()):
        trees.setdefault(namespace, []).append(node)
    shown = {(namespace, name) for namespace, name, _ in set_nodes}
    for key, obj in sorted(set_objs.items()):
        if key not in shown:  # no child yet
            trees.setdefault(key[0], []).append(Node("ReplicationSet", key[1], obj, "no children"))
    return trees


def _set_node(
    nodes: dict[tuple[str, str, int], Node], objs: dict[tuple[str, str], Obj], parent: Node, namespace: str, name: str
) -> Node:
    """The set's node under `parent` (one per connection its children use)."""
    key = (namespace, name, id(parent))
    if key not in nodes:
        nodes[key] = Node("ReplicationSet", name, objs.get((namespace, name)))
        parent.children.append(nodes[key])
    return nodes[key]


def _instance_detail(obj: Obj) -> str:
    spec = obj.get("spec") or {}
    org = f"org {spec['org']!r}" if spec.get("org") else f"orgID {spec.get('orgID', '')}"
    return f"{spec.get('url', '')} {org}"


def _replication_detail(spec: Obj) -> str:
    local, remote = spec.get("localBucket") or {}, spec.get("remoteBucket") or {}
    via = "" if (spec.get("remote") or {}).get("connectionRef") else f" via remote {spec['remote'].get('id', '?')}"
    return f"{local.get('name') or local.get('id', '?')} → {remote.get('name') or remote.get('id', '?')}{via}"


def render(trees: dict[str, list[Node]], paint: Paint = plain) -> tuple[list[str], int]:
    """The lines to print and how many objects are not healthy."""
    lines: list[str] = []
    unhealthy = 0

    def line(node: Node, prefix: str, branch: str) -> None:
        nonlocal unhealthy
        head = f"{paint(node.kind, 'dim')} {paint(node.name, 'bold')}"
        if node.obj is None:
            unhealthy += 1
            lines.append(f"{prefix}{branch}{head}  {paint('✘ missing', 'bad')}: referenced but does not exist")
            return
        seen = verdict(node.obj)
        parts = [head]
        if seen.healthy:
            parts.append(paint(f"✔ {seen.label}", "ok"))
        else:
            unhealthy += 1
            parts.append(paint(f"✘ {seen.label}", "bad" if seen.label != "Pending" else "warn"))
        if (node.obj["metadata"].get("annotations") or {}).get(PAUSED) == "true":
            parts.append(paint("paused", "warn"))
        if node.detail:
            parts.append(paint(node.detail, "dim"))
        if node.kind == "Replication":
            parts += figures(node.obj)
        text = "  ".join(parts)
        if not seen.healthy and seen.message:
            text += f": {seen.message}"
        lines.append(f"{prefix}{branch}{text}")

    def walk(nodes: list[Node], prefix: str) -> None:
        for i, node in enumerate(nodes):
            last = i == len(nodes) - 1
            line(node, prefix, "└─ " if last else "├─ ")
            walk(node.children, prefix + ("   " if last else "│  "))

    for namespace, roots in trees.items():
        lines.append(paint(f"namespace {namespace}", "bold"))
        for root in roots:
            line(root, "", "")
            walk(root.children, "")
    return lines, unhealthy
