"""RemoteConnection: its token, its `External`, and its sync."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import SecretStr

from ..api import v1alpha1
from ..influx import errors, models
from ..reconcile import remotes
from ..reconcile.drift import Drift, correction, drift
from ..reconcile.outcome import Blocked, Result, from_influx
from ..reconcile.reasons import Action, Reason
from . import clients, resource
from .external import Endpoints
from .listing import Listing
from .runtime import Runtime
from .world import Dependents, Obj, Refs, every

TOKEN = "remoteAPIToken"  # noqa: S105 - the name of a field


KIND = resource.Kind(
    "RemoteConnection",
    "remoteconnections",
    v1alpha1.RemoteConnectionSpec,
    v1alpha1.RemoteConnectionStatus,
    "remote",
    lambda client: client.remotes,
)


@dataclass(frozen=True)
class RemoteExternal:
    noun: ClassVar[str] = "remote"
    # InfluxDB never shows the token: a changed fingerprint stands for its drift.
    write_only: ClassVar[Mapping[str, tuple[Action, str]]] = {
        TOKEN: (Action.TOKEN_ROTATED, "sent the new token from the Secret")
    }

    res: resource.Resolved[v1alpha1.RemoteConnectionSpec]
    want: models.RemoteSettings
    token: SecretStr | None  # None where nothing may be written (paused, Observe)
    token_changed: bool

    @property
    def endpoints(self) -> Endpoints[models.Remote]:
        return Endpoints.of(self.res.client.remotes, self.res.org_id)

    async def check_creatable(self) -> None:
        return None  # a plain create never contacts the remote

    async def create(self) -> models.Remote:
        assert self.token is not None  # the driver creates only where it may write
        body = remotes.create_body(self.want, org_id=self.res.org_id, token=self.token)
        return await self.res.client.remotes.create(body)

    async def check_adoptable(self, have: models.Remote) -> None:
        return None  # any remote can be pointed where the spec says

    def drift(self, have: models.Remote, *, adopted: bool) -> Drift:
        differing = drift(self.want, have)
        if self.token_changed or adopted:  # an adopted remote's token is unknown
            differing[TOKEN] = (None, "(from the Secret)")
        return differing

    async def update(self, have: models.Remote, differing: Drift) -> models.Remote:
        observable = {name: pair for name, pair in differing.items() if name != TOKEN}
        body = remotes.update_body(correction(self.want, observable), token=self.token if TOKEN in differing else None)
        return await self.res.client.remotes.update(have.id, body)


async def sync(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> Result:
    """Make InfluxDB hold the remote `obj` declares, with the Secret's current token."""
    res = await resource.resolve(rt, refs, obj, KIND)
    token, known = None, {}
    if res.writes:  # a paused or observed remote's token is never sent: its Secret is not read
        token = clients.secret_value(refs, res.namespace, res.spec.remote_token_secret_ref, purpose="remote token")
        known = {"token_fingerprint": remotes.fingerprint(token, salt=obj["metadata"]["uid"])}
    changed = token is not None and obj["status"].get("tokenFingerprint") != known["token_fingerprint"]
    ext = RemoteExternal(res, remotes.desired(res.spec, name=res.name), token, changed)
    synced = await resource.run(rt, KIND, res, ext, listing.remotes if listing else None)
    conds, events, fields = resource.report(res, synced, "remote")
    status = v1alpha1.RemoteConnectionStatus(id=synced.have.id).model_copy(update=fields | known)
    applied = res.paused is None
    return Result(status=status, conditions=conds, events=events, synced=bool(synced.events), applied=applied)


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Waits while Replications use the remote: InfluxDB would refuse anyway."""
    meta = obj["metadata"]
    name = obj["spec"].get("name") or meta["name"]
    users = sorted(every(deps.replications_by_connection, (meta["namespace"], meta["name"])))
    if users:
        raise Blocked(
            Reason.IN_USE, f"still used by Replications {', '.join(users)}; deletion waits until they are gone"
        )
    try:
        await resource.delete(rt, refs, obj, KIND)
    except errors.ServerError as error:
        # InfluxDB refuses (500) to delete a remote that replications use.
        raise Blocked(
            Reason.IN_USE,
            f"InfluxDB refused to delete remote {name!r}; replications not managed here may use it ({error.message})",
        ) from error
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"deleting remote {name!r}") from error
