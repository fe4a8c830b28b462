"""Kubernetes-shaped conditions and minimal status patches.

Setting a condition to what it already is changes nothing (not even its
transition time), and `status_patch` keeps only what differs, so a
reconcile that finds nothing new writes nothing to Kubernetes.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..api.v1alpha1 import ConditionType
from .reasons import Reason

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    type: ConditionType
    status: Status
    reason: Reason
    message: str = ""


def now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def apply(
    current: list[dict[str, Any]], updates: list[Condition], *, generation: int | None, at: str | None = None
) -> list[dict[str, Any]]:
    """`current` with `updates` set; untouched conditions keep their order and times."""
    result = [dict(c) for c in current]
    for update in updates:
        existing = next((c for c in result if c.get("type") == update.type), None)
        fresh: dict[str, Any] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message,
            "observedGeneration": generation,
        }
        if existing is None:
            result.append({**fresh, "lastTransitionTime": at or now()})
        elif existing.get("status") != update.status:
            existing.update(fresh, lastTransitionTime=at or now())
        else:
            existing.update(fresh)
    return result


def carry(status: dict[str, Any], kept: Mapping[str, Any] | None) -> dict[str, Any]:
    """`status` with what a background task recorded (`kept`: status fields,
    and whole conditions under "conditions") put back exactly as written, so
    that a reconcile working from a snapshot older than that write neither
    drops it nor gives it a new time."""
    if not kept:
        return status
    result = dict(status) | {k: v for k, v in kept.items() if k != "conditions"}
    mine = {c["type"]: c for c in kept.get("conditions", [])}
    current = [mine.pop(c.get("type"), c) for c in status.get("conditions") or []]
    result["conditions"] = current + list(mine.values())
    return result


def get(conditions: list[dict[str, Any]], type_: ConditionType) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def status_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns status `old` into `new`; empty when they agree."""
    patch: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        if key not in new:
            # Only the fields this operator owns are ever passed in `new`.
            continue
        if _stored(old.get(key)) != _stored(new[key]):
            patch[key] = new[key]
    return patch


def _stored(value: Any) -> Any:
    """`value` as Kubernetes keeps it after a merge patch: a null inside an
    object removes that key rather than being stored, so it equals absence."""
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items() if v is not None}
    return value
