"""What the operator sees of Kubernetes: plain snapshots of the watched
objects, held in indexes that kopf keeps current.

References (instanceRef, connectionRef, Secrets) resolve from here, so no
Kubernetes read happens per object.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

Key = tuple[str, str]  # namespace, name
Obj = dict[str, Any]  # {"metadata": {...}, "spec": {...}, "status": {...}}
# A kopf index: key -> the values of every object that yielded that key.
Index = Mapping[Key, Collection[Any]]

V = TypeVar("V")
M = TypeVar("M", bound=BaseModel)

# Per object UID: the spec dict last validated, and the result.
_parsed: dict[str, tuple[Mapping[str, Any], BaseModel]] = {}


def spec_of(obj: Obj, model: type[M]) -> M:
    """`obj`'s spec as `model`, validated once per snapshot (each watch event
    makes a new one): the refresh reads every dependent's spec every period."""
    uid, source = obj["metadata"]["uid"], obj["spec"]
    hit = _parsed.get(uid)
    if hit is not None and hit[0] is source and isinstance(hit[1], model):
        return hit[1]
    spec = model.model_validate(source)
    _parsed[uid] = (source, spec)
    return spec


def forget_spec(uid: str) -> None:
    _parsed.pop(uid, None)


def one(index: Mapping[Key, Collection[V]], key: Key) -> V | None:
    store = index.get(key)
    return next(iter(store), None) if store is not None else None


def every(index: Mapping[Key, Collection[V]], key: Key) -> list[V]:
    store = index.get(key)
    return list(store) if store is not None else []


@dataclass(frozen=True)
class Refs:
    """The indexes references resolve against."""

    instances: Mapping[Key, Collection[Obj]]
    remotes: Mapping[Key, Collection[Obj]]
    secrets: Mapping[Key, Collection[dict[str, str]]]
    # Replications by the RemoteConnection they use: what a minted token must cover.
    users: Mapping[Key, Collection[Obj]]


@dataclass(frozen=True)
class Dependents:
    """Who uses an instance (a remote connection's users are `Refs.users`)."""

    remotes_by_instance: Mapping[Key, Collection[str]]
    replications_by_instance: Mapping[Key, Collection[Obj]]
    # ReplicationSets by namespace (the key's name is ""): a refresh finds those selecting its instance.
    sets_by_namespace: Mapping[Key, Collection[Obj]] = field(default_factory=dict)
    # Child Replications by (namespace, the set named in their label).
    children_by_set: Mapping[Key, Collection[Obj]] = field(default_factory=dict)

    def of_instance(self, refs: Refs, key: Key) -> tuple[list[Obj], list[Obj]]:
        """(remotes, replications) of the instance `key`, remotes from their one snapshot."""
        remotes = [one(refs.remotes, (key[0], name)) for name in every(self.remotes_by_instance, key)]
        return [r for r in remotes if r is not None], every(self.replications_by_instance, key)
