"""In-memory indexes of the watched objects, kept current by kopf.

References (instanceRef, connectionRef, Secrets) are resolved from here, and
the per-instance refresh finds its dependents here: no Kubernetes reads per
object. kopf fills every index before the first handler runs, and hands each
to the handlers that name it as a parameter (the function names below).
They are coroutines: kopf runs a plain function in a thread, a hop (and an
allocation arena of that thread's) for every watch event of every object.
"""

from __future__ import annotations

from typing import Any

import kopf

from .. import sharing
from ..api import v1alpha1
from ..reconcile import tokens
from ..state.world import Dependents, Key, Obj, Refs
from . import lifecycle

# The annotations the kinds and the refresh read (not kopf's own, which are large).
_KEPT_ANNOTATIONS = frozenset({*v1alpha1.ANNOTATIONS, tokens.ROTATE_ANNOTATION})


def snapshot(body: kopf.Body, *, labels: bool = False) -> Obj:
    """A plain, private copy of what handlers and the refresh read (the labels
    only where a selector reads them: instances, for ReplicationSets)."""
    obj: Obj = {
        "metadata": {
            "name": body.metadata.name,
            "namespace": body.metadata.namespace,
            "uid": body.metadata.uid,
            "generation": body.metadata.get("generation"),
            "deletionTimestamp": body.metadata.get("deletionTimestamp"),
            "annotations": {k: v for k, v in body.metadata.annotations.items() if k in _KEPT_ANNOTATIONS},
        },
        "spec": {k: sharing.copy(v) for k, v in body.spec.items()},
        "status": {k: sharing.copy(v) for k, v in body.status.items() if k != "kopf"},  # not kopf's bookkeeping
    }
    if labels:
        obj["metadata"]["labels"] = dict(body.metadata.labels)
    return obj


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "influxdbinstances")
async def instances(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Key, Obj]:
    return {(namespace or "", name): snapshot(body, labels=True)}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "replicationsets")
async def sets_by_namespace(body: kopf.Body, namespace: str | None, **_: Any) -> dict[Key, Obj]:
    return {(namespace or "", ""): snapshot(body)}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "replications", labels={v1alpha1.SET_LABEL: kopf.PRESENT})
async def children_by_set(body: kopf.Body, namespace: str | None, labels: kopf.Labels, **_: Any) -> dict[Key, Obj]:
    obj = snapshot(body)
    # The set that made it: a label alone can be put on any Replication by hand.
    obj["metadata"]["controller"] = next(
        (o.get("uid") for o in body.metadata.get("ownerReferences") or [] if o.get("controller")), None
    )
    return {(namespace or "", labels[v1alpha1.SET_LABEL]): obj}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "remoteconnections")
async def remotes(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Key, Obj]:
    return {(namespace or "", name): snapshot(body)}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "remoteconnections")
async def remotes_by_instance(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Key, str]:
    # Names only: the one snapshot per remote lives in `remotes`, so a status
    # the refresh records there is what replications resolve against.
    return {(namespace or "", spec.get("instanceRef", {}).get("name", "")): name}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "replications")
async def replications_by_instance(body: kopf.Body, namespace: str | None, spec: kopf.Spec, **_: Any) -> dict[Key, Obj]:
    return {(namespace or "", spec.get("instanceRef", {}).get("name", "")): snapshot(body)}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "replications")
async def replications_by_connection(
    namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, body: kopf.Body, **_: Any
) -> dict[Key, Obj] | None:
    """Only what a remote needs of its users: their names and remote buckets,
    the spec's and those InfluxDB still holds (a bucket or remote being left
    keeps its token until the change is applied: make-before-break)."""
    # What kopf last handled (its diff-base): what InfluxDB holds until a spec change is applied.
    try:
        handled = (lifecycle.DIFFBASE.fetch(body=body) or {}).get("spec") or {}
    except ValueError:
        handled = {}
    held = [handled.get("remoteBucket") or {}, {"id": status.get("remoteBucketID")}]
    user = {
        "metadata": {"name": name},
        "spec": {
            "instanceRef": dict(spec.get("instanceRef") or {}),
            "remoteBucket": dict(spec.get("remoteBucket") or {}),
        },
        "held": [ref for ref in held if ref.get("id") or ref.get("name")],
    }
    connections = {
        ref["name"]
        for ref in ((spec.get("remote") or {}).get("connectionRef"), (handled.get("remote") or {}).get("connectionRef"))
        if ref and ref.get("name")
    }
    return {(namespace or "", connection): user for connection in connections} or None


# Secret types that never hold an InfluxDB token or CA: not kept in memory.
_UNRELATED_SECRET_TYPES = frozenset(
    {
        "helm.sh/release.v1",
        "kubernetes.io/service-account-token",
        "kubernetes.io/dockerconfigjson",
        "kubernetes.io/dockercfg",
        "bootstrap.kubernetes.io/token",
    }
)


@kopf.index("", "v1", "secrets")
async def secrets(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Key, dict[str, str]] | None:
    if body.get("type") in _UNRELATED_SECRET_TYPES:
        return None
    return {(namespace or "", name): dict(body.get("data") or {})}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "influxdbinstances")
async def instances_by_secret(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Key, str]:
    refs = [spec.get("tokenSecretRef"), (spec.get("tls") or {}).get("caSecretRef")]
    return {(namespace or "", ref["name"]): name for ref in refs if ref}


@kopf.index(v1alpha1.GROUP, v1alpha1.VERSION, "remoteconnections")
async def remotes_by_secret(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Key, str]:
    ref = spec.get("remoteTokenSecretRef")
    return {(namespace or "", ref["name"]): name} if ref else {}


# kopf passes each index to every handler as a keyword argument named after
# its function above; these pick out the ones the kinds and the refresh read.


def refs(kwargs: dict[str, Any]) -> Refs:
    return Refs(kwargs["instances"], kwargs["remotes"], kwargs["secrets"], kwargs["replications_by_connection"])


def dependents(kwargs: dict[str, Any]) -> Dependents:
    return Dependents(
        kwargs["remotes_by_instance"],
        kwargs["replications_by_instance"],
        kwargs["sets_by_namespace"],
        kwargs["children_by_set"],
    )
