"""The custom resources' spec and status, as pydantic models.

These models are the single source of the CRD schemas: `crds.py` renders
them (with the CEL rules declared here) into `crds/*.yaml`, and a test fails
if the files and the models disagree. Handlers parse specs with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "influxdb.replication.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# On the leader election's Lease: the label `kubectl influxdb status` finds it by,
# and the namespaces its operator watches (comma-separated patterns, "*": all).
LEASE_LABEL = f"{GROUP}/leader-election"
LEASE_WATCHES = f"{GROUP}/watched-namespaces"
CATEGORY = "influxdb"

# `"true"` on any kind: nothing is written to InfluxDB for it (on an
# InfluxDBInstance: for everything of that instance) until removed.
PAUSED_ANNOTATION = f"{GROUP}/paused"
# The annotations handlers read; kept in the operator's snapshots of objects.
ANNOTATIONS = (PAUSED_ANNOTATION,)


def paused(annotations: Mapping[str, str] | None) -> bool:
    return (annotations or {}).get(PAUSED_ANNOTATION) == "true"


# InfluxDB's own bounds (replication.go): the queue may not be smaller than
# 32 MiB; the age limit is 0 (never purge) or one minute to two months.
MIN_QUEUE_BYTES = 33554430
DEFAULT_QUEUE_BYTES = 67108860
DEFAULT_MAX_AGE_SECONDS = 604800
MIN_MAX_AGE_SECONDS, MAX_MAX_AGE_SECONDS = 60, 5184000

_HTTP_URL_RULE = {
    "rule": "self.startsWith('http://') || self.startsWith('https://')",
    "message": "must be an http:// or https:// URL",
}
_ID_PATTERN = "^[0-9a-f]{16}$"
_NAME_LEN = 253


def _cel(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


def _immutable_once(field: str, *, exists: tuple[str, ...], what: str, optional: bool = False) -> dict[str, str]:
    """A rule on the object's root: `spec.<field>` may change while none of the
    `status` keys in `exists` is set (nothing made in InfluxDB yet, so a typo
    is fixed in place), and is immutable after. Evaluated on the root because
    only there does `oldSelf` see the stored status beside the spec."""
    new, old = f"self.spec.{field}", f"oldSelf.spec.{field}"
    same = f"{new} == {old}"
    if optional:
        same = f"(has({new}) == has({old}) && (!has({new}) || {same}))"
    made = " || ".join(f"has(oldSelf.status.{key})" for key in exists)
    return {
        "rule": f"!has(oldSelf.status) || !({made}) || {same}",
        "message": f"{field} is immutable once {what}",
        "fieldPath": f".spec.{field}",
    }


def _exactly_one(a: str, b: str) -> dict[str, str]:
    return {"rule": f"has(self.{a}) != has(self.{b})", "message": f"exactly one of {a} or {b} must be set"}


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


InfluxID = Annotated[str, Field(pattern=_ID_PATTERN, description="An InfluxDB ID: 16 lowercase hex digits.")]
HTTPURL = Annotated[str, Field(min_length=8, max_length=2048, json_schema_extra=_cel(_HTTP_URL_RULE))]


class DeletionPolicy(StrEnum):
    DELETE = "Delete"
    ORPHAN = "Orphan"


class ManagementPolicy(StrEnum):
    MANAGE = "Manage"
    OBSERVE = "Observe"


class LocalObjectReference(_Model):
    """A reference to an object of the expected kind in the same namespace."""

    name: str = Field(min_length=1, max_length=_NAME_LEN)


class SecretKeySelector(_Model):
    """A key of a Secret in the same namespace."""

    name: str = Field(min_length=1, max_length=_NAME_LEN, description="Name of the Secret.")
    key: str = Field(default="token", min_length=1, max_length=_NAME_LEN, description="Key within the Secret.")


class TLSConfig(_Model):
    insecure_skip_verify: bool = Field(
        default=False, description="Skip verification of the server's certificate. For tests only."
    )
    ca_secret_ref: SecretKeySelector | None = Field(
        default=None, description="A PEM CA bundle to verify the server with, instead of the system roots."
    )


_DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
Duration = Annotated[str, Field(pattern=_DURATION_PATTERN, description="A Go duration, e.g. 90s, 5m, 1h30m.")]


class InfluxDBInstanceSpec(_Model):
    """An InfluxDB OSS v2 server and one organization on it."""

    model_config = ConfigDict(json_schema_extra=_cel(_exactly_one("org", "orgID")))
    ROOT_RULES: ClassVar[tuple[dict[str, str], ...]] = tuple(
        _immutable_once(f, exists=("orgID",), what="the organization is resolved (status.orgID)", optional=True)
        for f in ("org", "orgID")
    )

    url: HTTPURL = Field(description="Base URL of the InfluxDB server, e.g. http://influxdb.edge:8086.")
    org: str | None = Field(
        default=None,
        min_length=1,
        max_length=_NAME_LEN,
        description="Organization name; resolved to an ID. Immutable once resolved (status.orgID).",
    )
    org_id: InfluxID | None = Field(
        default=None, alias="orgID", description="Organization ID. Immutable once resolved (status.orgID)."
    )
    token_secret_ref: SecretKeySelector = Field(
        description="Token with read/write on replications and remotes and read on buckets."
    )
    tls: TLSConfig | None = None
    resync_period: str = Field(
        default="30s",
        pattern=_DURATION_PATTERN,
        description="How often the server is listed to refresh status and correct drift (Go duration, >= 1s).",
    )


# A subclass that sets model_config of its own must repeat this rule: pydantic
# replaces json_schema_extra rather than merging it.
_OBSERVE_ID_RULE = {
    "rule": "!has(self.id) || self.managementPolicy == 'Observe'",
    "message": "id is only for managementPolicy: Observe (Manage finds its object by name)",
}


class ManagedSpec(_Model):
    """What every kind backed by an InfluxDB object of an instance has."""

    model_config = ConfigDict(json_schema_extra=_cel(_OBSERVE_ID_RULE))
    # Set once the object exists in InfluxDB. Not `createPending`: it is also set
    # before a create that then fails (a missing bucket); a change made after a
    # create whose ID was lost is caught when the object is adopted (NameConflict).
    EXISTS: ClassVar[tuple[str, ...]] = ("id",)
    ROOT_RULES: ClassVar[tuple[dict[str, str], ...]] = (
        _immutable_once("instanceRef", exists=EXISTS, what="the object exists in InfluxDB (status.id)"),
    )

    instance_ref: LocalObjectReference = Field(
        description="The InfluxDBInstance that holds the object. Immutable once it exists in InfluxDB (status.id)."
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=_NAME_LEN, description="Name in InfluxDB; defaults to metadata.name."
    )
    description: str | None = Field(default=None, max_length=1024)
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE, description="Delete the InfluxDB object with this resource, or Orphan it."
    )
    adopt_existing: bool = Field(
        default=False,
        description="Take over an existing InfluxDB object of the same name instead of reporting NameConflict.",
    )
    management_policy: ManagementPolicy = Field(
        default=ManagementPolicy.MANAGE,
        description="Manage: create, correct and delete the InfluxDB object. Observe: attach to an existing "
        "one (by id, else by name), mirror its status and report differences; never write to it or delete it.",
    )
    id: InfluxID | None = Field(
        default=None, description="With managementPolicy Observe: the InfluxDB ID of the object to observe."
    )


class TokenRotation(_Model):
    period: Duration | None = Field(
        default=None, description="Mint a new token this long after the last one (e.g. 720h); off when absent."
    )


class RemoteConnectionSpec(ManagedSpec):
    """A remote InfluxDB that this instance replicates to (`/api/v2/remotes`).

    Its token is either a user's Secret (`remoteTokenSecretRef`) or minted by
    the operator on the remote, named as an InfluxDBInstance (`remoteInstanceRef`)."""

    model_config = ConfigDict(
        json_schema_extra=_cel(
            _OBSERVE_ID_RULE,
            _exactly_one("remoteTokenSecretRef", "remoteInstanceRef"),
            {
                "rule": "has(self.remoteInstanceRef) || has(self.remoteURL)",
                "message": "remoteURL is required with remoteTokenSecretRef",
            },
            {
                "rule": "!has(self.remoteInstanceRef) || !has(self.remoteOrgID)",
                "message": "remoteOrgID is the org of remoteInstanceRef; it cannot be set with it",
            },
            {
                "rule": "has(self.remoteInstanceRef) || !has(self.tokenRotation)",
                "message": "tokenRotation needs remoteInstanceRef: only minted tokens are rotated",
            },
        )
    )

    remote_url: HTTPURL | None = Field(
        default=None,
        alias="remoteURL",
        description="Base URL of the remote InfluxDB as this instance reaches it; "
        "defaults to the url of remoteInstanceRef (set it where the edge reaches the remote by another address).",
    )
    remote_org_id: InfluxID | None = Field(
        default=None, alias="remoteOrgID", description="Organization ID on the remote (with remoteTokenSecretRef)."
    )
    remote_token_secret_ref: SecretKeySelector | None = Field(
        default=None, description="Token with write access to the remote buckets."
    )
    remote_instance_ref: LocalObjectReference | None = Field(
        default=None,
        description="The remote as an InfluxDBInstance whose token may manage authorizations: the operator "
        "then mints a token that may only write to the buckets the Replications using this remote target.",
    )
    token_rotation: TokenRotation | None = Field(default=None, description="Rotation of the minted token.")
    allow_insecure_tls: bool = Field(
        default=False, alias="allowInsecureTLS", description="Skip TLS verification of the remote."
    )


class BucketReference(_Model):
    model_config = ConfigDict(json_schema_extra=_cel(_exactly_one("name", "id")))

    name: str | None = Field(default=None, min_length=1, max_length=_NAME_LEN, description="Bucket name.")
    id: InfluxID | None = Field(default=None, description="Bucket ID.")


class RemoteReference(_Model):
    model_config = ConfigDict(json_schema_extra=_cel(_exactly_one("connectionRef", "id")))

    connection_ref: LocalObjectReference | None = Field(default=None, description="A RemoteConnection to use.")
    id: InfluxID | None = Field(default=None, description="The ID of a remote not managed here.")


class HealthSpec(_Model):
    """When the data plane counts as unhealthy."""

    stalled_after: Duration | None = Field(
        default=None,
        description="Stalled when a backlog has not shrunk for this long while data arrives "
        "(default: three resync periods of the instance).",
    )
    queue_full_warning: Duration | None = Field(
        default=None,
        description="QueueFillingUp when the queue is forecast to be full sooner than this "
        "(default: the operator's --queue-full-warning, 1h).",
    )


class HeartbeatSpec(_Model):
    """A tiny point written into the local bucket every interval: it wakes
    influxd's queue (a quiet edge otherwise waits out influxd's backoff, up
    to 15 minutes, after the remote comes back) and, read at the remote,
    gives the end-to-end lag."""

    interval: Duration = Field(default="30s", description="How often a heartbeat is written.")
    measurement: str = Field(
        default="replication_heartbeat",
        min_length=1,
        max_length=_NAME_LEN,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Measurement of the heartbeat points (tagged replication=<name in InfluxDB>).",
    )
    remote_read_token_secret_ref: SecretKeySelector | None = Field(
        default=None,
        description="A token that may read the remote bucket: with it, status.dataPlane.lag shows how old "
        "the newest heartbeat at the remote is.",
    )


class ReplicationSpec(ManagedSpec):
    """A replication stream from a local bucket to a remote bucket (`/api/v2/replications`)."""

    # influxd 2.9 validates a new replication against remoteBucketID only
    # (by name, even an existing bucket is "not found"): refused here, clearly.
    model_config = ConfigDict(
        json_schema_extra=_cel(
            _OBSERVE_ID_RULE,
            {
                "rule": "!has(self.validateBeforeCreate) || !self.validateBeforeCreate || has(self.remoteBucket.id)",
                "message": "validateBeforeCreate needs remoteBucket.id: InfluxDB validates a new replication "
                "against the remote bucket's ID only",
            },
        )
    )
    ROOT_RULES: ClassVar[tuple[dict[str, str], ...]] = (
        *ManagedSpec.ROOT_RULES,
        _immutable_once("localBucket", exists=ManagedSpec.EXISTS, what="the object exists in InfluxDB (status.id)"),
    )

    local_bucket: BucketReference = Field(
        description="The bucket to replicate. Immutable once the replication exists in InfluxDB (status.id): "
        "InfluxDB cannot move a queue to another bucket; until then a typo is fixed in place."
    )
    remote: RemoteReference
    remote_bucket: BucketReference = Field(description="The bucket on the remote to write to.")
    max_queue_size_bytes: int = Field(
        default=DEFAULT_QUEUE_BYTES, ge=MIN_QUEUE_BYTES, description="Size limit of the on-disk queue."
    )
    max_age_seconds: int = Field(
        default=DEFAULT_MAX_AGE_SECONDS,
        ge=0,
        le=MAX_MAX_AGE_SECONDS,
        description="Queued data older than this is dropped; 0 means InfluxDB's default, a week.",
        json_schema_extra=_cel(
            {
                "rule": f"self == 0 || self >= {MIN_MAX_AGE_SECONDS}",
                "message": f"maxAgeSeconds must be 0 or between {MIN_MAX_AGE_SECONDS} and {MAX_MAX_AGE_SECONDS}",
            }
        ),
    )
    drop_non_retryable_data: bool = Field(
        default=False, description="Drop data the remote rejects as unwritable instead of retrying it."
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="Delete the InfluxDB replication (and its queue) with this resource, or Orphan it.",
    )
    health: HealthSpec | None = None
    heartbeat: HeartbeatSpec | None = Field(default=None, description="Opt-in heartbeats; off when absent.")
    validate_before_create: bool = Field(
        default=False,
        description="Create with ?validate=true first: InfluxDB writes an empty batch to the remote, and a stream "
        "that cannot work is refused (RemoteValidationFailed) with nothing created. Only the first create; needs "
        "remoteBucket.id.",
    )


# --- ReplicationSet ------------------------------------------------------------

# The label every child Replication of a set carries: the set's name.
SET_LABEL = f"{GROUP}/replication-set"
# InfluxDB's own buckets: never replicated by a set, whatever it selects.
SYSTEM_BUCKETS = frozenset({"_monitoring", "_tasks"})
# The placeholders of a set's name templates.
BUCKET_PLACEHOLDER, INSTANCE_PLACEHOLDER = "{bucket}", "{instance}"

# Kubernetes' CEL has no "is a regular expression": matching one makes an
# invalid pattern an evaluation error, which refuses the object. (Kubernetes
# uses RE2; the operator Python's re: a pattern valid in one only is reported
# in the set's status, InvalidSpec.)
_REGEX_RULE = {"rule": "''.matches(self) == ''.matches(self)", "message": "must be a regular expression"}


class LabelSelectorRequirement(_Model):
    key: str = Field(min_length=1, max_length=317)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelector(_Model):
    """Kubernetes' label selector (every term must hold; empty selects all)."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class BucketSelector(_Model):
    """Which of an instance's buckets a set replicates: every criterion given
    must hold; none given selects all. `_monitoring` and `_tasks` never match."""

    names: list[Annotated[str, Field(min_length=1, max_length=_NAME_LEN)]] = Field(
        default_factory=list, max_length=1000, description="Bucket names."
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="A regular expression a bucket's name must match (searched, so anchor it: ^sensor-).",
        json_schema_extra=_cel(_REGEX_RULE),
    )
    labels: list[Annotated[str, Field(min_length=1, max_length=_NAME_LEN)]] = Field(
        default_factory=list, max_length=100, description="InfluxDB label names a bucket must all carry."
    )


class ReplicationTemplate(_Model):
    """The fields every child Replication gets (see Replication's spec)."""

    max_queue_size_bytes: int = Field(default=DEFAULT_QUEUE_BYTES, ge=MIN_QUEUE_BYTES)
    max_age_seconds: int = Field(
        default=DEFAULT_MAX_AGE_SECONDS,
        ge=0,
        le=MAX_MAX_AGE_SECONDS,
        json_schema_extra=_cel(
            {
                "rule": f"self == 0 || self >= {MIN_MAX_AGE_SECONDS}",
                "message": f"maxAgeSeconds must be 0 or between {MIN_MAX_AGE_SECONDS} and {MAX_MAX_AGE_SECONDS}",
            }
        ),
    )
    drop_non_retryable_data: bool = False
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="The children's: delete the InfluxDB replication with the child Replication, or Orphan it.",
    )
    health: HealthSpec | None = None
    heartbeat: HeartbeatSpec | None = None


class SetConnectionReference(_Model):
    name: str = Field(
        min_length=1,
        max_length=_NAME_LEN,
        description="The RemoteConnection's name; {instance} stands for the selected instance's name (a remote "
        "connection belongs to one instance, so a fleet names one per edge, e.g. cloud-{instance}).",
    )


class SetRemote(_Model):
    connection_ref: SetConnectionReference


class ReplicationSetSpec(_Model):
    """Replicates every selected bucket of one InfluxDBInstance (or of every
    instance a label selector picks): one child Replication per bucket, kept
    in step as buckets appear and go."""

    model_config = ConfigDict(json_schema_extra=_cel(_exactly_one("instanceRef", "instanceSelector")))

    instance_ref: LocalObjectReference | None = Field(default=None, description="The one InfluxDBInstance.")
    instance_selector: LabelSelector | None = Field(
        default=None, description="The InfluxDBInstances of this namespace whose labels match."
    )
    remote: SetRemote
    buckets: BucketSelector = Field(default_factory=BucketSelector, description="Which buckets to replicate.")
    remote_bucket_name: str = Field(
        default=BUCKET_PLACEHOLDER,
        min_length=1,
        max_length=_NAME_LEN,
        description="The remote bucket's name; {bucket} and {instance} are replaced (default: the same name).",
    )
    template: ReplicationTemplate = Field(default_factory=ReplicationTemplate)
    provision_remote_buckets: bool = Field(
        default=False,
        description="Create a missing remote bucket, with the local bucket's retention; an existing one is never "
        "changed or deleted. Needs a RemoteConnection with remoteInstanceRef (the operator's token for the remote).",
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="Delete a child Replication whose bucket no longer matches (and all of them with the set), "
        "or Orphan it: it is left, without the set's owner reference and label.",
    )


# --- status ------------------------------------------------------------------


class ConditionType(StrEnum):
    """The conditions the operator sets: one spelling for the operator, the
    CRDs' printer columns and the kubectl plugin."""

    READY = "Ready"  # the InfluxDB object matches the spec (or, read-only, was found)
    SYNCED = "Synced"  # the last reconcile went through, and wrote what it had to
    HEALTHY = "Healthy"  # Replication: its data plane, from the refresh's samples
    VALIDATED = "Validated"  # Replication: the answer to the last validate on demand
    # True while Ready is False for a reason retrying alone cannot fix (kstatus
    # reads it as Failed: Flux's `wait` and `kubectl`-side tools stop waiting).
    STALLED = "Stalled"


class ValidationResult(StrEnum):
    VALIDATING = "Validating"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Condition(_Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class Status(_Model):
    """What every kind's status holds. Unknown keys are refused: status is
    written only through these models, so nothing the CRD lacks is sent."""

    model_config = ConfigDict(extra="forbid")

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    # 0 (the API server's default, on every read) until the first reconcile:
    # kstatus then reads a new object as InProgress, not as Current for
    # having no conditions yet, so `kubectl wait`-style tools (Flux's `wait`)
    # do not pass it before the operator has looked.
    observed_generation: int | None = Field(
        default=None,
        json_schema_extra={"default": 0},
        description="The generation the operator last acted on; 0 until its first reconcile.",
    )
    id: str | None = Field(default=None, description="The InfluxDB ID of the object.")
    last_sync_time: str | None = Field(default=None, description="When InfluxDB was last seen to match the spec.")
    create_pending: str | None = Field(
        default=None,
        description="Set (to the name) before a create is sent, cleared once its ID is recorded: "
        "an object of that name found while set is this resource's own.",
    )
    observing: bool | None = Field(
        default=None,
        description="The ID is of an object only observed (managementPolicy Observe): switching to Manage "
        "takes it over only under the adopt rules (adoptExisting).",
    )
    kopf: dict[str, Any] | None = Field(
        default=None,
        description="The kopf framework's own bookkeeping (handler progress, the spec last handled), "
        "kept in status so that a handled change costs one write; not for users.",
    )


class InfluxDBInstanceStatus(Status):
    version: str | None = None
    org_id: str | None = Field(default=None, alias="orgID")


class MintedBucket(_Model):
    name: str | None = None
    id: str


class MintedTokenStatus(_Model):
    """The token the operator minted on the remote (never the token itself)."""

    authorization_id: str = Field(alias="authorizationID", description="The authorization's ID on the remote.")
    instance: str = Field(description="The InfluxDBInstance it was minted on (to revoke it from).")
    secret_name: str = Field(description="The Secret holding the token, owned by this RemoteConnection.")
    buckets: list[MintedBucket] = Field(default_factory=list, description="The buckets it may write to.")
    issued_at: str = Field(description="When it was minted.")
    rotation_request: str | None = Field(
        default=None, description="The value of the rotate-token annotation last answered."
    )


class RemoteConnectionStatus(Status):
    token_fingerprint: str | None = Field(
        default=None, description="A salted hash of the token last sent, to tell when the Secret changed."
    )
    minted_token: MintedTokenStatus | None = None
    token_rotation_started: str | None = Field(
        default=None,
        description="Set before a token is minted, cleared when the old one is revoked: while set, a restarted "
        "operator looks for authorizations of its own it does not track and revokes them.",
    )


class DataPlaneStatus(_Model):
    """The stream's trend over the stall window, rounded so a steady trend is not rewritten."""

    fill_rate: str | None = Field(default=None, description="Bytes per second arriving in the queue.")
    drain_rate: str | None = Field(default=None, description="Bytes per second sent to the remote.")
    queue_full_in: str | None = Field(
        default=None, description="When the queue is full at the current rate ('never' when not filling)."
    )
    backlog_drained_in: str | None = Field(
        default=None, description="When the backlog is sent at the current rate ('never' when not shrinking)."
    )
    lag: str | None = Field(default=None, description="Age of the newest heartbeat that reached the remote.")
    dropped_bytes: int = Field(default=0, description="Bytes lost (queue full or non-retryable) since watched.")
    dropped_points: int = Field(default=0, description="Points refused by a full queue since watched.")


class ValidationStatus(_Model):
    """The last validate requested with the influxdb.replication.dev/validate annotation."""

    requested: str = Field(description="The annotation's value this answers.")
    # Its members as a Literal: the CRD schema shows them as it always has.
    result: Literal[ValidationResult.VALIDATING, ValidationResult.SUCCEEDED, ValidationResult.FAILED] = Field(
        description="Validating until InfluxDB answers (or the operator's --validate-timeout passes)."
    )
    time: str = Field(description="When the result was recorded (while Validating: when it began).")


class ReplicationStatus(Status):
    local_bucket_id: str | None = Field(default=None, alias="localBucketID")
    remote_id: str | None = Field(default=None, alias="remoteID")
    remote_bucket_id: str | None = Field(default=None, alias="remoteBucketID")
    current_queue_size_bytes: int | None = None
    remaining_bytes_to_be_synced: int | None = None
    latest_response_code: int | None = None
    latest_error_message: str | None = None
    data_plane: DataPlaneStatus | None = None
    validation: ValidationStatus | None = None


class ChildProblem(_Model):
    name: str = Field(description="The child Replication.")
    reason: str = Field(description="Its Ready condition's reason (Pending: no condition yet).")
    message: str = ""


class ReplicationSetStatus(Status):
    matched: int | None = Field(default=None, description="Buckets selected, over every selected instance.")
    ready: int | None = Field(default=None, description="Child Replications that are Ready.")
    not_ready: list[ChildProblem] | None = Field(
        default=None, max_length=20, description="Children not Ready, and why (the first 20 by name)."
    )


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration such as "30s" or "1m30s"."""
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))
