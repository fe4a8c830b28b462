"""Replication: the body InfluxDB should hold, what differs, and health.

The desired settings are exactly what PATCH can change (drift is computed
over them); the local bucket and org cannot be patched, are set only by a
create, and are immutable in the CRD instead.
"""

from __future__ import annotations

from ..api import v1alpha1
from ..influx import models
from . import conditions
from .reasons import Reason

# A queue this full (of its maximum) is about to drop or block writes.
QUEUE_NEARLY_FULL = 0.8
# A backlog that grows between two refreshes means the remote is not keeping
# up; below this size, growth is just the next batch in flight.
BACKLOG_NOISE_BYTES = 1 << 20


def desired(spec: v1alpha1.ReplicationSpec, *, name: str, remote_id: str) -> models.ReplicationSettings:
    return models.ReplicationSettings(
        name=name,
        description=spec.description or "",
        remoteID=remote_id,
        remoteBucketID=spec.remote_bucket.id,
        remoteBucketName=spec.remote_bucket.name,
        maxQueueSizeBytes=spec.max_queue_size_bytes,
        maxAgeSeconds=spec.max_age_seconds,
        dropNonRetryableData=spec.drop_non_retryable_data,
    )


def create_body(want: models.ReplicationSettings, *, org_id: str, local_bucket_id: str) -> models.ReplicationCreate:
    return models.ReplicationCreate.model_validate(
        want.model_dump() | {"orgID": org_id, "localBucketID": local_bucket_id}
    )


def observed(have: models.Replication) -> v1alpha1.ReplicationStatus:
    """The status fields mirrored from InfluxDB."""
    return v1alpha1.ReplicationStatus(
        id=have.id,
        localBucketID=have.localBucketID,
        remoteID=have.remoteID,
        remoteBucketID=have.remoteBucketID,
        current_queue_size_bytes=have.currentQueueSizeBytes,
        remaining_bytes_to_be_synced=have.remainingBytesToBeSynced,
        latest_response_code=have.latestResponseCode,
        latest_error_message=have.latestErrorMessage or None,
    )


def health(have: models.Replication, *, previous_remaining: int | None) -> conditions.Condition:
    """Healthy/Degraded from the data plane: the remote's answers and the queue."""
    code = have.latestResponseCode
    if code is not None and not 200 <= code < 300:
        detail = f": {have.latestErrorMessage}" if have.latestErrorMessage else ""
        return conditions.Condition(
            conditions.HEALTHY, "False", Reason.REMOTE_ERROR, f"the remote last answered HTTP {code}{detail}"
        )
    if have.maxQueueSizeBytes and have.currentQueueSizeBytes >= QUEUE_NEARLY_FULL * have.maxQueueSizeBytes:
        used = 100 * have.currentQueueSizeBytes // have.maxQueueSizeBytes
        return conditions.Condition(
            conditions.HEALTHY, "False", Reason.QUEUE_NEARLY_FULL, f"the queue is {used}% of maxQueueSizeBytes"
        )
    remaining = have.remainingBytesToBeSynced
    if previous_remaining is not None and remaining > previous_remaining > 0 and remaining > BACKLOG_NOISE_BYTES:
        return conditions.Condition(
            conditions.HEALTHY,
            "False",
            Reason.BACKLOG_GROWING,
            f"bytes still to sync grew from {previous_remaining} to {have.remainingBytesToBeSynced}",
        )
    if code is None:
        return conditions.Condition(
            conditions.HEALTHY, "Unknown", Reason.NO_WRITES_YET, "nothing has been replicated yet"
        )
    return conditions.Condition(conditions.HEALTHY, "True", Reason.REPLICATING, f"the remote last answered HTTP {code}")
