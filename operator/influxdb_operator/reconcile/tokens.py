"""Minted remote tokens: what the operator's authorization on the remote
should allow, what it is called, and when a new one is due.

An authorization's permissions cannot be changed in InfluxDB, so any change
(another target bucket, a period run out, a request by annotation) is met
the same way: a new authorization replaces the old one, make-before-break.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..api import v1alpha1
from ..influx import models

PREFIX = "influxdb-replication-operator: "
ROTATE_ANNOTATION = f"{v1alpha1.GROUP}/rotate-token"
SECRET_KEY = "token"  # noqa: S105 - the name of a key
ID_KEY = "authorizationID"  # beside the token in the Secret: which authorization it is
_SECRET_SUFFIX = "-minted-token"  # noqa: S105 - a name
_NAME_LEN = 253

# A bucket reference as a spec gives it: ("name", "metrics") or ("id", "0123...").
BucketRef = tuple[str, str]


def description(namespace: str, name: str, uid: str) -> str:
    """Who made the authorization and for which resource: strays are found by it."""
    return f"{PREFIX}{namespace}/{name} RemoteConnection uid {uid}"


def secret_name(name: str) -> str:
    """The Secret that holds the token: `<name>-minted-token`, shortened with a hash if too long."""
    full = name + _SECRET_SUFFIX
    if len(full) <= _NAME_LEN:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _NAME_LEN - len(_SECRET_SUFFIX) - 11]}-{digest}{_SECRET_SUFFIX}"


def permissions(org_id: str, bucket_ids: Iterable[str]) -> list[models.Permission]:
    """Write on exactly these buckets. InfluxDB refuses an authorization
    without permissions, so one with no bucket yet may only read its org."""
    ids = sorted(set(bucket_ids))
    if not ids:
        return [models.Permission(action="read", resource=models.Resource(type="orgs", id=org_id))]
    return [
        models.Permission(action="write", resource=models.Resource(type="buckets", id=bucket_id, orgID=org_id))
        for bucket_id in ids
    ]


def targets(users: Iterable[Mapping[str, Any]]) -> set[BucketRef]:
    """The remote buckets the Replications using a remote write to: each one's
    spec, and those InfluxDB still holds for it (`held`) until a change is
    applied, so a replication changing bucket never loses its permission."""
    found: set[BucketRef] = set()
    for user in users:
        for ref in [(user.get("spec") or {}).get("remoteBucket") or {}, *(user.get("held") or [])]:
            if ref.get("id"):
                found.add(("id", ref["id"]))
            elif ref.get("name"):
                found.add(("name", ref["name"]))
    return found


def covered(minted: v1alpha1.MintedTokenStatus, ref: BucketRef) -> bool:
    kind, value = ref
    return any((b.id if kind == "id" else b.name) == value for b in minted.buckets)


def _known(minted: v1alpha1.MintedTokenStatus) -> set[BucketRef]:
    """Every reference (by ID, by name) the token's buckets answer to."""
    return {("id", b.id) for b in minted.buckets} | {("name", b.name) for b in minted.buckets if b.name}


def buckets_changed(minted: v1alpha1.MintedTokenStatus, wanted: set[BucketRef]) -> bool:
    """Whether `wanted` may differ from what the token covers; only then are
    the references resolved on the remote (so a quiet period costs no call)."""
    known = _known(minted)
    still_used = all(("id", b.id) in wanted or ("name", b.name) in wanted for b in minted.buckets)
    return not wanted <= known or not still_used


def why_new(
    minted: v1alpha1.MintedTokenStatus | None, *, request: str | None, period: float | None, now: datetime
) -> str | None:
    """Why a new token is due whatever its buckets (for the Event), or None."""
    if minted is None:
        return "no token was minted yet"
    if request is not None and request != minted.rotation_request:
        return f"rotation requested ({ROTATE_ANNOTATION}={request!r})"
    if period is not None and (now - datetime.fromisoformat(minted.issued_at)).total_seconds() >= period:
        return "its rotation period has passed"
    return None
