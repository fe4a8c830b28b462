"""What the runtime asks of a ReplicationSet's child Replications in
Kubernetes (the handlers hold the one that writes them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from .world import Obj

# What a ChildStore's create did.
Made = Literal["created", "existed", "taken"]


class ChildStore(Protocol):
    """A ReplicationSet's child Replications, written in Kubernetes."""

    async def create(self, owner: Obj, name: str, spec: Mapping[str, Any]) -> Made:
        """Create it, labelled with and owned by the set: "created", "existed"
        (this set's, made before), or "taken" (by a Replication not this set's)."""

    async def reset(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Merge-patch its spec."""

    async def delete(self, namespace: str, name: str) -> None:
        """Delete it; already gone is fine."""

    async def release(self, owner: Obj, name: str) -> None:
        """Orphan it: drop the set's label and owner reference; gone is fine."""
