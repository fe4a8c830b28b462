"""Which operator Pod leads, from the election's Leases: a line per operator
whose watched namespaces cover the ones shown."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Any

from ..api import v1alpha1

Obj = dict[str, Any]


def covers(lease: Obj, namespace: str | None) -> bool:
    """Whether the Lease's operator watches `namespace` (None: any namespace shown)."""
    watches = ((lease.get("metadata") or {}).get("annotations") or {}).get(v1alpha1.LEASE_WATCHES, "*")
    return namespace is None or any(fnmatch.fnmatchcase(namespace, p) for p in watches.split(",") if p)


def pod_of(holder: str) -> str:
    """The Pod in a holder identity (`<pod>_<random>`; Pod names hold no "_")."""
    return holder.rpartition("_")[0] or holder


def lines(leases: list[Obj], namespace: str | None, now: datetime) -> list[str]:
    found = []
    for lease in sorted(leases, key=lambda obj: (obj["metadata"]["namespace"], obj["metadata"]["name"])):
        if not covers(lease, namespace):
            continue
        meta, spec = lease["metadata"], lease.get("spec") or {}
        where = f"Lease {meta['namespace']}/{meta['name']}"
        holder = spec.get("holderIdentity") or ""
        if not holder:
            found.append(f"operator: no leader ({where} released)")
            continue
        renewed = _age(spec.get("renewTime"), now)
        expired = renewed is not None and renewed > float(spec.get("leaseDurationSeconds") or 0)
        state = f"renewed {renewed:.0f}s ago" if renewed is not None else "never renewed"
        found.append(f"operator: leader {pod_of(holder)} ({where}, {state}{', expired' if expired else ''})")
    return found


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return None
