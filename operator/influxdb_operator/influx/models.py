"""Wire models for the InfluxDB v2 API, shaped by what the server really sends.

Quirks handled here, once: GET answers spell `RemoteBucketName` with a capital
R; an empty list can be `null`; an empty `remoteBucketID` is a 400, so unset
optional fields are omitted rather than sent empty; the remote token is
write-only and a `SecretStr` so it never prints.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON body: unset fields omitted, secrets revealed only here."""
        body = self.model_dump(by_alias=True, exclude_none=True)
        for key, value in body.items():
            if isinstance(value, SecretStr):
                body[key] = value.get_secret_value()
        return body


class Replication(_Wire):
    id: str
    orgID: str
    name: str
    description: str | None = None
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

    @field_validator("remoteBucketID", "remoteBucketName", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


class ReplicationCreate(_Wire):
    orgID: str
    name: str
    description: str | None = None
    remoteID: str
    localBucketID: str
    remoteBucketID: str | None = None
    remoteBucketName: str | None = None
    maxQueueSizeBytes: int
    maxAgeSeconds: int
    dropNonRetryableData: bool


class ReplicationUpdate(_Wire):
    name: str | None = None
    description: str | None = None
    remoteID: str | None = None
    remoteBucketID: str | None = None
    remoteBucketName: str | None = None
    maxQueueSizeBytes: int | None = None
    maxAgeSeconds: int | None = None
    dropNonRetryableData: bool | None = None


class Remote(_Wire):
    id: str
    orgID: str
    name: str
    description: str | None = None
    remoteURL: str
    remoteOrgID: str | None = None
    allowInsecureTLS: bool = False


class RemoteCreate(_Wire):
    orgID: str
    name: str
    description: str | None = None
    remoteURL: str
    remoteAPIToken: SecretStr
    remoteOrgID: str | None = None
    allowInsecureTLS: bool


class RemoteUpdate(_Wire):
    name: str | None = None
    description: str | None = None
    remoteURL: str | None = None
    remoteAPIToken: SecretStr | None = None
    remoteOrgID: str | None = None
    allowInsecureTLS: bool | None = None


class Bucket(_Wire):
    id: str
    orgID: str
    name: str


class Organization(_Wire):
    id: str
    name: str


class Health(_Wire):
    status: str
    version: str | None = None
    message: str | None = None
