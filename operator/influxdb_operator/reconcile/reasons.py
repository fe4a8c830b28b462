"""Every reason the operator writes into a condition or an Event, in one place.

`Reason` is what a condition says (and a Warning Event, when a Ready
condition turns False); `Action` is what a Normal Event says the operator did.
docs/reasons.md's tables are generated from `MEANINGS` (`make docs`), and a test
fails if one is missing or the page is stale.
"""

from __future__ import annotations

from enum import StrEnum

from ..influx import versions


class Reason(StrEnum):
    # Ready / Synced, True
    AVAILABLE = "Available"
    RECONCILE_SUCCESS = "ReconcileSuccess"
    # references and Secrets
    SECRET_NOT_FOUND = "SecretNotFound"
    SECRET_KEY_NOT_FOUND = "SecretKeyNotFound"
    SECRET_KEY_EMPTY = "SecretKeyEmpty"
    SECRET_INVALID = "SecretInvalid"
    SECRET_NOT_WRITTEN = "SecretNotWritten"
    INSTANCE_NOT_FOUND = "InstanceNotFound"
    INSTANCE_NOT_READY = "InstanceNotReady"
    INSTANCE_UNREACHABLE = "InstanceUnreachable"
    INSTANCE_UNAUTHORIZED = "InstanceUnauthorized"
    INSTANCE_FAILING = "InstanceFailing"
    UNSUPPORTED_VERSION = "UnsupportedVersion"
    REMOTE_CONNECTION_NOT_FOUND = "RemoteConnectionNotFound"
    REMOTE_CONNECTION_NOT_READY = "RemoteConnectionNotReady"
    REMOTE_CONNECTION_MISMATCH = "RemoteConnectionMismatch"
    REMOTE_TOKEN_PENDING = "RemoteTokenPending"
    ORG_NOT_FOUND = "OrgNotFound"
    BUCKET_NOT_FOUND = "BucketNotFound"
    BUCKET_IN_OTHER_ORG = "BucketInOtherOrg"
    # InfluxDB's answers
    UNREACHABLE = "Unreachable"
    TIMEOUT = "Timeout"
    UNAUTHORIZED = "Unauthorized"
    REJECTED = "Rejected"
    UNAVAILABLE = "Unavailable"
    INFLUXDB_ERROR = "InfluxDBError"
    NAME_CONFLICT = "NameConflict"
    IN_USE = "InUse"
    RECONCILE_ERROR = "ReconcileError"
    # read-only modes (the paused annotation, managementPolicy Observe)
    PAUSED = "Paused"
    DRIFT_DETECTED = "DriftDetected"
    OBJECT_NOT_FOUND = "ObjectNotFound"
    # Healthy (Replication, from the data plane)
    REPLICATING = "Replicating"
    NO_WRITES_YET = "NoWritesYet"
    REMOTE_ERROR = "RemoteError"
    DATA_LOST = "DataLost"
    STALLED = "Stalled"
    QUEUE_FILLING_UP = "QueueFillingUp"
    QUEUE_NEARLY_FULL = "QueueNearlyFull"
    BACKLOG_GROWING = "BacklogGrowing"
    REMOTE_RETENTION_SHORTER = "RemoteRetentionShorter"
    QUEUE_UNDERSIZED = "QueueUndersized"
    # Validated (Replication, from InfluxDB's validate)
    VALIDATING = "Validating"
    STREAM_WORKS = "StreamWorks"
    REMOTE_VALIDATION_FAILED = "RemoteValidationFailed"
    # ReplicationSet
    CHILDREN_NOT_READY = "ChildrenNotReady"
    CHILDREN_FAILING = "ChildrenFailing"
    BUCKETS_NOT_LISTED = "BucketsNotListed"
    INVALID_PATTERN = "InvalidPattern"
    CHILD_NAME_TAKEN = "ChildNameTaken"
    CANNOT_PROVISION = "CannotProvision"
    REPLICATION_LOOP = "ReplicationLoop"


class Action(StrEnum):
    """Reasons of Normal Events: what the operator did."""

    CREATED = "Created"
    RECREATED = "Recreated"
    ADOPTED = "Adopted"
    UPDATED = "Updated"
    DRIFT_CORRECTED = "DriftCorrected"
    TOKEN_ROTATED = "TokenRotated"
    TOKEN_MINTED = "TokenMinted"
    TOKEN_REVOKED = "TokenRevoked"
    DELETED = "Deleted"
    ORPHANED = "Orphaned"
    RECOVERED = "Recovered"
    HEALTHY_AGAIN = "HealthyAgain"
    VALIDATED = "Validated"
    CHILD_CREATED = "ChildCreated"
    CHILD_REMOVED = "ChildRemoved"
    CHILD_RESET = "ChildReset"
    BUCKET_PROVISIONED = "BucketProvisioned"


MEANINGS: dict[Reason | Action, str] = {
    Reason.AVAILABLE: "the InfluxDB object matches the spec (for an instance: the server is up, the token works)",
    Reason.RECONCILE_SUCCESS: "the last reconcile finished",
    Reason.SECRET_NOT_FOUND: "a referenced Secret does not exist",
    Reason.SECRET_KEY_NOT_FOUND: "the referenced key is not in the Secret",
    Reason.SECRET_KEY_EMPTY: "the referenced key of the Secret is empty",
    Reason.SECRET_INVALID: "the Secret's value is not text, or not a PEM CA bundle",
    Reason.SECRET_NOT_WRITTEN: "the Secret for a minted token could not be written (one of that name is not "
    "this resource's, or RBAC forbids it); the token was revoked at once",
    Reason.INSTANCE_NOT_FOUND: "the InfluxDBInstance in `instanceRef` does not exist",
    Reason.INSTANCE_NOT_READY: "the InfluxDBInstance has not resolved its org yet (it is starting; no Event)",
    Reason.INSTANCE_UNREACHABLE: "the InfluxDBInstance's server cannot be reached",
    Reason.INSTANCE_UNAUTHORIZED: "the InfluxDBInstance's token is rejected",
    Reason.INSTANCE_FAILING: "the InfluxDBInstance is not Ready for another reason; its own condition says which",
    Reason.UNSUPPORTED_VERSION: "the InfluxDBInstance's server reports an influxd older than the oldest supported "
    f"({versions.OLDEST}); nothing is done with it, its dependents wait (`InstanceFailing`)",
    Reason.REMOTE_CONNECTION_NOT_FOUND: "the RemoteConnection in `remote.connectionRef` does not exist",
    Reason.REMOTE_CONNECTION_NOT_READY: "the RemoteConnection has no InfluxDB ID yet (it is starting; no Event)",
    Reason.REMOTE_CONNECTION_MISMATCH: "the RemoteConnection belongs to another InfluxDBInstance",
    Reason.REMOTE_TOKEN_PENDING: "the RemoteConnection's minted token does not cover the remote bucket yet "
    "(a new one is being minted; no Event)",
    Reason.ORG_NOT_FOUND: "the instance's `org` or `orgID` does not exist on the server",
    Reason.BUCKET_NOT_FOUND: "the local bucket does not exist",
    Reason.BUCKET_IN_OTHER_ORG: "the local bucket (given by `id`) belongs to another org than the instance's; "
    "refused on every influxd version before anything is created (2.10 refuses it, earlier ones would replicate "
    "the other org's data)",
    Reason.UNREACHABLE: "InfluxDB could not be reached (refused, DNS, TLS)",
    Reason.TIMEOUT: "InfluxDB accepted the connection but did not answer in time",
    Reason.UNAUTHORIZED: "InfluxDB rejected the token, or it lacks a permission",
    Reason.REJECTED: "InfluxDB refused the request as invalid (400/422)",
    Reason.UNAVAILABLE: "InfluxDB answered 503: it is still starting (influxd 2.10 says so to every call while it "
    "starts) or not serving; temporary, retried with backoff",
    Reason.INFLUXDB_ERROR: "InfluxDB answered with another error",
    Reason.NAME_CONFLICT: "an InfluxDB object of the same name exists and is not provably this resource's",
    Reason.IN_USE: "deletion waits: other resources (or InfluxDB objects) still use this one",
    Reason.RECONCILE_ERROR: "an unexpected error in the operator; retried with backoff",
    Reason.PAUSED: "the `influxdb.replication.dev/paused` annotation (here or on the instance) stops every write "
    "to InfluxDB: status is still refreshed, drift is only reported, deletion waits",
    Reason.DRIFT_DETECTED: "`managementPolicy: Observe`: the InfluxDB object differs from the spec; reported "
    "(with one Warning Event per difference seen), never corrected",
    Reason.OBJECT_NOT_FOUND: "`managementPolicy: Observe` and no InfluxDB object with the spec's `id` (or, without "
    "one, its name): nothing is created",
    Reason.REPLICATING: "the remote's last answer was a success",
    Reason.NO_WRITES_YET: "nothing has been replicated yet",
    Reason.REMOTE_ERROR: "the remote's last answer was an error",
    Reason.DATA_LOST: "data was dropped (a full queue, or non-retryable data) within the stall window",
    Reason.STALLED: "a backlog has not shrunk for the stall window while data arrives, whatever the last code says",
    Reason.QUEUE_FILLING_UP: "at the current rate the queue is full sooner than `health.queueFullWarning`",
    Reason.QUEUE_NEARLY_FULL: "the queue is at 80% or more of `maxQueueSizeBytes`",
    Reason.BACKLOG_GROWING: "bytes still to sync grew by more than 1 MiB between two refreshes",
    Reason.REMOTE_RETENTION_SHORTER: "the remote bucket (read through a `remoteInstanceRef` connection) keeps "
    "points for less time than the local bucket: older points are never replicated",
    Reason.QUEUE_UNDERSIZED: "healthy, but at the current inflow `maxQueueSizeBytes` holds less than "
    "`health.queueFullWarning` of a remote outage; the message says what size would hold an hour",
    Reason.VALIDATING: "a validate is queued or waiting for InfluxDB's answer (`Validated`, or before a first create "
    "`Ready`, is Unknown)",
    Reason.STREAM_WORKS: "InfluxDB wrote an empty batch through the stream: remote URL, org, bucket and token work",
    Reason.REMOTE_VALIDATION_FAILED: "InfluxDB's validate found the stream cannot work; its message says why (before a "
    "create with `validateBeforeCreate`: nothing was created)",
    Reason.CHILDREN_NOT_READY: "ReplicationSet: some child Replications are not Ready; `status.notReady` says "
    "which and why (no Event: each child has its own)",
    Reason.CHILDREN_FAILING: "ReplicationSet: a child Replication is stuck on a reason that needs a person (its own "
    "Ready says which); `status.notReady` lists such children first (no Event: each child has its own)",
    Reason.BUCKETS_NOT_LISTED: "ReplicationSet: a selected instance's buckets have not been listed yet (its "
    "refresh lists them; no Event)",
    Reason.INVALID_PATTERN: "ReplicationSet: `buckets.pattern` is not a regular expression Python reads",
    Reason.CHILD_NAME_TAKEN: "ReplicationSet: a Replication named as a child exists and is not this set's; "
    "it is left alone (a Warning Event when the names held change)",
    Reason.REPLICATION_LOOP: "the remote instance (one this operator knows) already replicates the remote bucket "
    "back into the local bucket: the replication would loop forever and is not created",
    Reason.CANNOT_PROVISION: "ReplicationSet: `provisionRemoteBuckets` needs each RemoteConnection to have "
    "`remoteInstanceRef`, a Ready InfluxDBInstance for the remote",
    Action.CREATED: "the InfluxDB object was created",
    Action.RECREATED: "the InfluxDB object had been deleted outside Kubernetes and was created again",
    Action.ADOPTED: "an existing InfluxDB object of the declared name was taken over",
    Action.UPDATED: "InfluxDB was changed to match a new spec",
    Action.DRIFT_CORRECTED: "a change made outside Kubernetes was set back to the spec",
    Action.TOKEN_ROTATED: "the Secret's new (or newly minted) remote token was sent to InfluxDB",
    Action.TOKEN_MINTED: "a token was minted on the remote instance (first, rotation, or other buckets)",
    Action.TOKEN_REVOKED: "minted tokens no longer in use were deleted on the remote instance",
    Action.DELETED: "the InfluxDB object was deleted with the resource",
    Action.ORPHANED: "the InfluxDB object was left in place (`deletionPolicy: Orphan`, or no instance to reach)",
    Action.RECOVERED: "the resource is Ready again after a problem",
    Action.HEALTHY_AGAIN: "the data plane is healthy again after DataLost, Stalled or QueueFillingUp",
    Action.VALIDATED: "a validate requested with the `validate` annotation found the stream working",
    Action.CHILD_CREATED: "ReplicationSet: a child Replication was created for a bucket that matches",
    Action.CHILD_REMOVED: "ReplicationSet: a child whose bucket no longer matches was deleted (or orphaned, by "
    "`deletionPolicy`)",
    Action.BUCKET_PROVISIONED: "ReplicationSet: a missing remote bucket was created (retention at least the "
    "local bucket's)",
    Action.CHILD_RESET: "ReplicationSet: a child edited by hand was set back to the set's template",
}

# Reasons that only mean "a dependency applied together with me is still
# starting": shown in the condition, not worth a Warning (nor a Recovered).
WAITING = frozenset(
    {
        Reason.INSTANCE_NOT_READY,
        Reason.REMOTE_CONNECTION_NOT_READY,
        Reason.REMOTE_TOKEN_PENDING,
        Reason.CHILDREN_NOT_READY,
        Reason.BUCKETS_NOT_LISTED,
    }
)

# Ready=False reasons that only a change made by someone (a Secret, a bucket,
# a token's permissions, the spec) can clear: the operator keeps retrying, but
# retrying alone cannot help. They also set `Stalled=True` (what kstatus reads
# as Failed) and are Degraded in Argo CD.
NEEDS_HUMAN = frozenset(
    {
        Reason.SECRET_NOT_FOUND,
        Reason.SECRET_KEY_NOT_FOUND,
        Reason.SECRET_KEY_EMPTY,
        Reason.SECRET_INVALID,
        Reason.SECRET_NOT_WRITTEN,
        Reason.INSTANCE_NOT_FOUND,
        Reason.INSTANCE_UNAUTHORIZED,
        Reason.INSTANCE_FAILING,
        Reason.UNSUPPORTED_VERSION,
        Reason.REMOTE_CONNECTION_NOT_FOUND,
        Reason.REMOTE_CONNECTION_MISMATCH,
        Reason.ORG_NOT_FOUND,
        Reason.BUCKET_NOT_FOUND,
        Reason.UNAUTHORIZED,
        Reason.REJECTED,
        Reason.NAME_CONFLICT,
        Reason.OBJECT_NOT_FOUND,
        Reason.REMOTE_VALIDATION_FAILED,
        Reason.BUCKET_IN_OTHER_ORG,
        Reason.REPLICATION_LOOP,
        Reason.INVALID_PATTERN,
        Reason.CHILD_NAME_TAKEN,
        Reason.CHILDREN_FAILING,
    }
)

# Ready=False (or Unknown) reasons of a resource that is still being created
# or waits on something starting: Progressing in Argo CD. The other transient
# ones (unreachable, timed out, 5xx, an operator error) are retried too, but
# are Degraded there: a person looking at a sync should see them.
STARTING = WAITING | {Reason.VALIDATING, Reason.UNAVAILABLE, Reason.IN_USE}

# Healthy reasons announced with a Warning Event when they begin (and a
# Normal one when they end); the others only show in the condition.
ALERTING = frozenset({Reason.DATA_LOST, Reason.STALLED, Reason.QUEUE_FILLING_UP, Reason.REMOTE_RETENTION_SHORTER})

# How a dependent names its instance's problem.
_FOR_DEPENDENTS = {
    Reason.UNREACHABLE: Reason.INSTANCE_UNREACHABLE,
    Reason.TIMEOUT: Reason.INSTANCE_UNREACHABLE,
    Reason.UNAVAILABLE: Reason.INSTANCE_UNREACHABLE,
    Reason.UNAUTHORIZED: Reason.INSTANCE_UNAUTHORIZED,
}


def of_instance(reason: Reason) -> Reason:
    """The reason a dependent shows while its instance is blocked by `reason`."""
    return _FOR_DEPENDENTS.get(reason, Reason.INSTANCE_FAILING)


# Ready=False reasons retried until they clear by themselves (a server back
# up): kstatus InProgress, but Degraded in Argo CD, where a person looks.
RETRIED = frozenset(
    {
        Reason.UNREACHABLE,
        Reason.TIMEOUT,
        Reason.INFLUXDB_ERROR,
        Reason.RECONCILE_ERROR,
        Reason.INSTANCE_UNREACHABLE,
    }
)


def _while_not_ready(reason: Reason) -> str:
    """What Argo CD and kstatus make of a resource not Ready for `reason`."""
    if reason in NEEDS_HUMAN:
        return "needs a person: `Stalled`; Degraded, Failed"
    if reason in STARTING:
        return "starting: Progressing, InProgress"
    if reason in RETRIED:
        return "retried: Degraded, InProgress"
    if reason is Reason.PAUSED:
        return "Suspended, InProgress"
    return ""


def table() -> str:
    """The Markdown tables of docs/reasons.md."""
    lines = ["| condition reason | meaning | Ready not True: Argo CD, kstatus |", "|---|---|---|"]
    lines += [f"| `{r}` | {MEANINGS[r]} | {_while_not_ready(r)} |" for r in Reason]
    lines += ["", "| event reason (Normal) | meaning |", "|---|---|"]
    lines += [f"| `{a}` | {MEANINGS[a]} |" for a in Action]
    return "\n".join(lines) + "\n"
