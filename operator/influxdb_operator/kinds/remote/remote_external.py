"""The RemoteConnection's adapter for the driver: its `External` (how its
InfluxDB remote is created, compared, corrected and deleted, with the
request bodies it sends) and its `Kind`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import SecretStr

from ...api import v1alpha1
from ...driver import resolution
from ...driver.external import Endpoints
from ...influx import errors, models
from ...reconcile.drift import Drift, correction, drift
from ...reconcile.outcome import Blocked
from ...reconcile.reasons import Action, Reason

TOKEN = "remoteAPIToken"  # noqa: S105 - the name of a field


KIND = resolution.Kind(
    "RemoteConnection",
    "remoteconnections",
    v1alpha1.RemoteConnectionSpec,
    v1alpha1.RemoteConnectionStatus,
    "remote",
    lambda res: RemoteExternal.deleting(res),
)


def create_body(want: models.RemoteSettings, *, org_id: str, token: SecretStr) -> models.RemoteCreate:
    return models.RemoteCreate.model_validate(want.model_dump() | {"orgID": org_id, "remoteAPIToken": token})


def update_body(correction: models.RemoteSettings, *, token: SecretStr | None) -> models.RemoteUpdate:
    """The PATCH body: the corrected fields, plus the token when it changed."""
    return models.RemoteUpdate.model_validate(
        correction.model_dump(exclude_none=True) | ({"remoteAPIToken": token} if token is not None else {})
    )


@dataclass(frozen=True)
class RemoteExternal:
    noun: ClassVar[str] = "remote"
    # InfluxDB never shows the token: a changed fingerprint stands for its drift.
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {
        TOKEN: (Action.TOKEN_ROTATED, "sent the new token from the Secret")
    }

    res: resolution.Resolved[v1alpha1.RemoteConnectionSpec]
    want: models.RemoteSettings | None  # None for deletion, which compares nothing
    token: SecretStr | None  # None where nothing may be written (paused, Observe)
    token_changed: bool

    @classmethod
    def deleting(cls, res: resolution.Resolved[v1alpha1.RemoteConnectionSpec]) -> RemoteExternal:
        return cls(res, None, None, token_changed=False)

    @property
    def _want(self) -> models.RemoteSettings:
        assert self.want is not None, "built for deletion only"
        return self.want

    @property
    def endpoints(self) -> Endpoints[models.Remote]:
        return Endpoints.of(self.res.client.remotes, self.res.org_id)

    async def check_creatable(self) -> None:
        return None  # a plain create never contacts the remote

    async def create(self) -> models.Remote:
        assert self.token is not None  # the driver creates only where it may write
        body = create_body(self._want, org_id=self.res.org_id, token=self.token)
        return await self.res.client.remotes.create(body)

    async def check_adoptable(self, have: models.Remote) -> None:
        return None  # any remote can be pointed where the spec says

    def drift(self, have: models.Remote, *, adopted: bool) -> Drift:
        differing = drift(self._want, have)
        if self.token_changed or adopted:  # an adopted remote's token is unknown
            differing[TOKEN] = (None, "(from the Secret)")
        return differing

    async def update(self, have: models.Remote, differing: Drift) -> models.Remote:
        observable = {name: pair for name, pair in differing.items() if name != TOKEN}
        body = update_body(correction(self._want, observable), token=self.token if TOKEN in differing else None)
        return await self.res.client.remotes.update(have.id, body)

    async def delete(self, influx_id: str) -> bool:
        try:
            return await self.res.client.remotes.delete(influx_id)
        except errors.ServerError as error:
            # InfluxDB refuses (500) to delete a remote that replications use.
            raise Blocked(
                Reason.IN_USE,
                f"InfluxDB refused to delete remote {self.res.name!r}; replications not managed here may use it "
                f"({error.message})",
            ) from error
