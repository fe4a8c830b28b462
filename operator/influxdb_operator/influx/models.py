"""Wire models for the InfluxDB v2 API, shaped by what the server really sends.

Quirks handled here, once: GET answers spell `RemoteBucketName` with a capital
R; an empty list can be `null`; an empty `remoteBucketID` is a 400, so unset
optional fields are omitted rather than sent empty; the remote token is
write-only and a `SecretStr` so it never prints.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator


class Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON body: unset fields omitted, secrets revealed only here."""
        body = self.model_dump(by_alias=True, exclude_none=True)
        for key, value in body.items():
            if isinstance(value, SecretStr):
                body[key] = value.get_secret_value()
        return body


def _none_is_empty(value: object) -> object:
    # InfluxDB omits an empty description; the spec's absent one is "".
    return value or ""


class Replication(Wire):
    id: str
    orgID: str
    name: str
    description: str = ""
    remoteID: str
    localBucketID: str
    remoteBucketID: str | None = None
    remoteBucketName: str | None = Field(
        default=None, validation_alias=AliasChoices("RemoteBucketName", "remoteBucketName")
    )
    maxQueueSizeBytes: int
    maxAgeSeconds: int = 0
    dropNonRetryableData: bool = False
    currentQueueSizeBytes: int = 0
    remainingBytesToBeSynced: int = 0
    latestResponseCode: int | None = None
    latestErrorMessage: str | None = None

    _description = field_validator("description", mode="before")(_none_is_empty)

    @field_validator("remoteBucketID", "remoteBucketName", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


class ReplicationSettings(Wire):
    """What a PATCH can change: the desired state drift is computed over, and
    the PATCH body. Unset (None) fields are neither compared nor sent."""

    name: str | None = None
    description: str | None = None
    remoteID: str | None = None
    remoteBucketID: str | None = None
    remoteBucketName: str | None = None
    maxQueueSizeBytes: int | None = None
    maxAgeSeconds: int | None = None
    dropNonRetryableData: bool | None = None


class ReplicationCreate(ReplicationSettings):
    """The settings plus what only a create can set."""

    orgID: str
    localBucketID: str


class Remote(Wire):
    id: str
    orgID: str
    name: str
    description: str = ""
    remoteURL: str
    remoteOrgID: str | None = None
    allowInsecureTLS: bool = False

    _description = field_validator("description", mode="before")(_none_is_empty)


class RemoteSettings(Wire):
    """What a PATCH can change and a GET shows (the token is write-only)."""

    name: str | None = None
    description: str | None = None
    remoteURL: str | None = None
    remoteOrgID: str | None = None
    allowInsecureTLS: bool | None = None


class RemoteUpdate(RemoteSettings):
    remoteAPIToken: SecretStr | None = None


class RemoteCreate(RemoteSettings):
    orgID: str
    remoteAPIToken: SecretStr


class Resource(Wire):
    type: str
    id: str | None = None
    orgID: str | None = None


class Permission(Wire):
    action: str  # read | write
    resource: Resource


class Authorization(Wire):
    """An API token's record. The token itself is only kept from a create's
    answer (later answers may hash or omit it), as a `SecretStr`."""

    id: str
    orgID: str
    description: str = ""
    status: str = "active"
    permissions: list[Permission] = []
    token: SecretStr | None = None

    _description = field_validator("description", mode="before")(_none_is_empty)


class AuthorizationCreate(Wire):
    orgID: str
    description: str
    permissions: list[Permission]


class AuthorizationUpdate(Wire):
    status: str | None = None
    description: str | None = None


class Label(Wire):
    id: str | None = None
    name: str


class RetentionRule(Wire):
    type: str = "expire"
    everySeconds: int = 0  # 0: forever


class Bucket(Wire):
    id: str
    orgID: str
    name: str
    type: str | None = None  # "system" for _monitoring and _tasks
    labels: list[Label] = Field(default_factory=list)
    retentionRules: list[RetentionRule] = Field(default_factory=list)

    @property
    def retention_seconds(self) -> int:
        """How long points are kept; 0: forever."""
        return next((r.everySeconds for r in self.retentionRules if r.type == "expire"), 0)


class Organization(Wire):
    id: str
    name: str


class Health(Wire):
    status: str
    version: str | None = None
    message: str | None = None


class QueueCounters(BaseModel):
    """One replication's counters from influxd's `/metrics` (since influxd started)."""

    model_config = ConfigDict(frozen=True)

    bytes_queued: float = 0  # replications_queue_total_bytes_queued
    points_queued: float = 0  # replications_queue_total_points_queued
    bytes_sent: float = 0  # replications_queue_remote_write_bytes_sent
    bytes_dropped: float = 0  # replications_queue_remote_write_bytes_dropped: non-retryable, dropped
    bytes_failed_to_queue: float = 0  # replications_queue_bytes_failed_to_queue: the queue was full
    points_failed_to_queue: float = 0  # replications_queue_points_failed_to_queue
    write_errors: float = 0  # replications_queue_remote_write_errors, all codes
