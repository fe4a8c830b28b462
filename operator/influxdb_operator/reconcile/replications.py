"""Replication: the body InfluxDB should hold, what differs, and health.

Fields compared for drift are exactly the ones PATCH can change; the local
bucket and org cannot be patched and are immutable in the CRD instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api import v1alpha1
from ..influx import models
from . import conditions

# A queue this full (of its maximum) is about to drop or block writes.
QUEUE_NEARLY_FULL = 0.8
# A backlog that grows between two refreshes means the remote is not keeping
# up; below this size, growth is just the next batch in flight.
BACKLOG_NOISE_BYTES = 1 << 20


@dataclass(frozen=True)
class Resolved:
    """The spec's references turned into InfluxDB IDs."""

    org_id: str
    local_bucket_id: str
    remote_id: str


def desired(spec: v1alpha1.ReplicationSpec, *, name: str, resolved: Resolved) -> models.ReplicationCreate:
    return models.ReplicationCreate(
        orgID=resolved.org_id,
        name=name,
        description=spec.description or "",
        remoteID=resolved.remote_id,
        localBucketID=resolved.local_bucket_id,
        remoteBucketID=spec.remote_bucket.id,
        remoteBucketName=spec.remote_bucket.name,
        maxQueueSizeBytes=spec.max_queue_size_bytes,
        maxAgeSeconds=spec.max_age_seconds,
        dropNonRetryableData=spec.drop_non_retryable_data,
    )


def drift(want: models.ReplicationCreate, have: models.Replication) -> dict[str, tuple[Any, Any]]:
    """Fields that differ, as {field: (observed, desired)}."""
    pairs: dict[str, tuple[Any, Any]] = {
        "name": (have.name, want.name),
        "description": (have.description or "", want.description or ""),
        "remoteID": (have.remoteID, want.remoteID),
        "maxQueueSizeBytes": (have.maxQueueSizeBytes, want.maxQueueSizeBytes),
        "maxAgeSeconds": (have.maxAgeSeconds, want.maxAgeSeconds),
        "dropNonRetryableData": (have.dropNonRetryableData, want.dropNonRetryableData),
    }
    if want.remoteBucketID is not None:
        pairs["remoteBucketID"] = (have.remoteBucketID, want.remoteBucketID)
    else:
        pairs["remoteBucketName"] = (have.remoteBucketName, want.remoteBucketName)
    return {field: pair for field, pair in pairs.items() if pair[0] != pair[1]}


def correction(want: models.ReplicationCreate, differing: dict[str, tuple[Any, Any]]) -> models.ReplicationUpdate:
    """The PATCH body that sets every differing field back to the spec."""
    return models.ReplicationUpdate.model_validate({field: desired for field, (_, desired) in differing.items()})


def observed_status(have: models.Replication) -> dict[str, Any]:
    """The status fields mirrored from InfluxDB."""
    return {
        "id": have.id,
        "localBucketID": have.localBucketID,
        "remoteID": have.remoteID,
        "remoteBucketID": have.remoteBucketID,
        "currentQueueSizeBytes": have.currentQueueSizeBytes,
        "remainingBytesToBeSynced": have.remainingBytesToBeSynced,
        "latestResponseCode": have.latestResponseCode,
        "latestErrorMessage": have.latestErrorMessage or None,
    }


def health(have: models.Replication, *, previous_remaining: int | None) -> conditions.Condition:
    """Healthy/Degraded from the data plane: the remote's answers and the queue."""
    code = have.latestResponseCode
    if code is not None and not 200 <= code < 300:
        detail = f": {have.latestErrorMessage}" if have.latestErrorMessage else ""
        return conditions.Condition(
            conditions.HEALTHY, "False", "RemoteError", f"the remote last answered HTTP {code}{detail}"
        )
    if have.maxQueueSizeBytes and have.currentQueueSizeBytes >= QUEUE_NEARLY_FULL * have.maxQueueSizeBytes:
        used = 100 * have.currentQueueSizeBytes // have.maxQueueSizeBytes
        return conditions.Condition(
            conditions.HEALTHY, "False", "QueueNearlyFull", f"the queue is {used}% of maxQueueSizeBytes"
        )
    remaining = have.remainingBytesToBeSynced
    if previous_remaining is not None and remaining > previous_remaining > 0 and remaining > BACKLOG_NOISE_BYTES:
        return conditions.Condition(
            conditions.HEALTHY,
            "False",
            "BacklogGrowing",
            f"bytes still to sync grew from {previous_remaining} to {have.remainingBytesToBeSynced}",
        )
    if code is None:
        return conditions.Condition(conditions.HEALTHY, "Unknown", "NoWritesYet", "nothing has been replicated yet")
    return conditions.Condition(conditions.HEALTHY, "True", "Replicating", f"the remote last answered HTTP {code}")
