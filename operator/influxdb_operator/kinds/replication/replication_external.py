"""The Replication's adapter for the driver: its `External` (how its
InfluxDB object is created, compared, corrected and deleted, with the
request bodies it sends) and its `Kind`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from ...api import v1alpha1
from ...driver import resolution
from ...driver.external import Endpoints
from ...influx import errors, models
from ...reconcile import conditions
from ...reconcile.drift import Drift, correction, drift
from ...reconcile.outcome import Blocked
from ...reconcile.reasons import Action, Reason
from ...state.runtime import Runtime
from ...state.world import Obj

KIND = resolution.Kind(
    "Replication",
    "replications",
    v1alpha1.ReplicationSpec,
    v1alpha1.ReplicationStatus,
    "replication (and its queue)",
    lambda res: ReplicationExternal.deleting(res),
)


def create_body(want: models.ReplicationSettings, *, org_id: str, local_bucket_id: str) -> models.ReplicationCreate:
    return models.ReplicationCreate.model_validate(
        want.model_dump() | {"orgID": org_id, "localBucketID": local_bucket_id}
    )


@dataclass(frozen=True)
class ReplicationExternal:
    noun: ClassVar[str] = "replication"
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {}

    res: resolution.Resolved[v1alpha1.ReplicationSpec]
    want: models.ReplicationSettings | None  # None for deletion, which compares nothing
    # Set where a create is proven first (spec.validateBeforeCreate).
    validate_first: Callable[[models.ReplicationCreate], Awaitable[None]] | None = None

    @classmethod
    def deleting(cls, res: resolution.Resolved[v1alpha1.ReplicationSpec]) -> ReplicationExternal:
        return cls(res, None)

    @property
    def _want(self) -> models.ReplicationSettings:
        assert self.want is not None, "built for deletion only"
        return self.want

    @property
    def endpoints(self) -> Endpoints[models.Replication]:
        return Endpoints.of(self.res.client.replications, self.res.org_id)

    async def _local_bucket_id(self) -> str:
        ref, client = self.res.spec.local_bucket, self.res.client
        bucket = await (client.get_bucket(ref.id) if ref.id else client.find_bucket(self.res.org_id, ref.name or ""))
        if bucket is None:
            what = f"ID {ref.id}" if ref.id else f"name {ref.name!r}"
            raise Blocked(Reason.BUCKET_NOT_FOUND, f"no local bucket with {what} in {self.res.where}")
        if bucket.orgID != self.res.org_id:
            # influxd 2.10 refuses it; 2.7-2.9 would replicate another org's data.
            # Refused here alike on every version, before anything is sent.
            raise Blocked(
                Reason.BUCKET_IN_OTHER_ORG,
                f"local bucket {bucket.name!r} (ID {bucket.id}) belongs to the organization with ID {bucket.orgID}, "
                f"not to {self.res.where} (ID {self.res.org_id}): a replication only reads its own org's buckets",
            )
        return bucket.id

    async def _create_body(self) -> models.ReplicationCreate:
        return create_body(self._want, org_id=self.res.org_id, local_bucket_id=await self._local_bucket_id())

    async def check_creatable(self) -> None:
        if self.validate_first is None:
            return
        try:
            await self.validate_first(await self._create_body())
        except errors.APIError as error:
            raise Blocked(
                Reason.REMOTE_VALIDATION_FAILED,
                f"replication {self.res.name!r} was not created: InfluxDB's validation of the stream "
                f"(spec.validateBeforeCreate) failed: {error.message}",
            ) from error

    async def create(self) -> models.Replication:
        return await self.res.client.replications.create(await self._create_body())

    async def check_adoptable(self, have: models.Replication) -> None:
        local_bucket_id = await self._local_bucket_id()
        if have.localBucketID != local_bucket_id:
            wanted = self.res.spec.local_bucket.name
            raise Blocked(
                Reason.NAME_CONFLICT,
                f"replication {have.name!r} (ID {have.id}) replicates the local bucket with ID {have.localBucketID}, "
                f"not {f'bucket {wanted!r}' if wanted else 'the bucket'} (ID {local_bucket_id}); "
                "the local bucket cannot be changed in place",
            )

    def drift(self, have: models.Replication, *, adopted: bool) -> Drift:
        return drift(self._want, have)

    async def update(self, have: models.Replication, differing: Drift) -> models.Replication:
        return await self.res.client.replications.update(have.id, correction(self._want, differing))

    async def delete(self, influx_id: str) -> bool:
        return await self.res.client.replications.delete(influx_id)


def validator(
    rt: Runtime, res: resolution.Resolved[v1alpha1.ReplicationSpec]
) -> Callable[[models.ReplicationCreate], Awaitable[None]]:
    """`?validate=true` within the operator's bounds: a slot among the few
    validates at once, and --validate-timeout."""

    async def validate(body: models.ReplicationCreate) -> None:
        await show_validating(rt, res.obj)
        async with rt.validations.slots:
            await res.client.validate_new_replication(body, timeout=rt.settings.validate_timeout)

    return validate


async def show_validating(rt: Runtime, obj: Obj) -> None:
    """Ready=Unknown/Validating while a first create waits on its validate
    (minutes, against a remote that does not answer). Retries keep showing
    the last refusal instead, so that each does not announce it again."""
    meta, status = obj["metadata"], obj["status"]
    if conditions.get(status.get("conditions") or [], v1alpha1.ConditionType.READY) is not None:
        return
    waiting = conditions.Condition(
        v1alpha1.ConditionType.READY,
        "Unknown",
        Reason.VALIDATING,
        "InfluxDB is validating the stream before it is created",
    )
    listed = conditions.apply(status.get("conditions") or [], [waiting], generation=meta["generation"])
    await rt.write_status(KIND.plural, meta["namespace"], meta["name"], {"conditions": listed})
    status["conditions"] = listed
