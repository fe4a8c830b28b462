"""RemoteConnection: its token (the Secret's, or one minted on the remote
instance), its adapter run by the driver, its deletion."""

from __future__ import annotations

from dataclasses import replace

from pydantic import SecretStr

from ...api import v1alpha1
from ...driver import external, resolution, resource
from ...influx import models
from ...reconcile import remotes
from ...reconcile.outcome import Blocked, Result
from ...reconcile.reasons import Reason
from ...state import clients
from ...state.listing import Listing
from ...state.runtime import Runtime
from ...state.world import Dependents, Obj, Refs, every
from . import minted_tokens, token_revocation
from .remote_external import KIND, RemoteExternal


async def _run(
    rt: Runtime,
    res: resolution.Resolved[v1alpha1.RemoteConnectionSpec],
    listing: Listing | None,
    token: SecretStr,
    *,
    url: str,
    org_id: str | None,
) -> tuple[external.Synced[models.Remote], str]:
    """The driver for the remote, holding `token`: (what it synced, the token's fingerprint)."""
    fingerprint = remotes.fingerprint(token, salt=res.obj["metadata"]["uid"])
    changed = res.obj["status"].get("tokenFingerprint") != fingerprint
    want = remotes.desired(res.spec, name=res.name, url=url, org_id=org_id)
    ext = RemoteExternal(res, want, token, changed)
    return await resource.run(rt, KIND, res, ext, listing.remotes if listing else None), fingerprint


async def sync(rt: Runtime, refs: Refs, obj: Obj, listing: Listing | None) -> Result:
    """Make InfluxDB hold the remote `obj` declares, with the Secret's current
    token, or a minted one when the remote is named as an instance."""
    res = await resolution.resolve(rt, refs, obj, KIND)
    if not res.writes:
        return await _look(rt, refs, res, listing)
    if res.spec.remote_instance_ref is not None:
        return await _sync_minted(rt, refs, res, res.spec.remote_instance_ref.name, listing)
    # The CRD's rules: a token Secret, else an instance, and a URL with the Secret.
    assert res.spec.remote_token_secret_ref is not None
    assert res.spec.remote_url is not None
    token = clients.secret_value(refs, res.namespace, res.spec.remote_token_secret_ref, purpose="remote token")
    synced, fingerprint = await _run(rt, res, listing, token, url=res.spec.remote_url, org_id=res.spec.remote_org_id)
    conds, events, fields = resource.report(res, synced, "remote")
    status = v1alpha1.RemoteConnectionStatus(id=synced.have.id, token_fingerprint=fingerprint).model_copy(update=fields)
    minted = obj["status"].get("mintedToken")
    if minted:
        # Switched back to a user's Secret: now that the remote holds it, revoke what was minted.
        events += await token_revocation.revoke(rt, refs, obj, str(minted["instance"]))
        status = status.model_copy(update={"minted_token": None, "token_rotation_started": None})
    return Result(status=status, conditions=conds, events=events, synced=bool(events))


async def _look(
    rt: Runtime, refs: Refs, res: resolution.Resolved[v1alpha1.RemoteConnectionSpec], listing: Listing | None
) -> Result:
    """Paused or observed: looked up and compared, never written; no token is read, minted or sent."""
    url, org_id = res.spec.remote_url, res.spec.remote_org_id
    if res.spec.remote_instance_ref is not None:
        cloud = clients.instance(refs, res.namespace, res.spec.remote_instance_ref.name)
        url, org_id = url or cloud.spec.url, cloud.org_id
    want = remotes.desired(res.spec, name=res.name, url=url or "", org_id=org_id)
    synced = await resource.run(
        rt, KIND, res, RemoteExternal(res, want, None, False), listing.remotes if listing else None
    )
    conds, events, fields = resource.report(res, synced, "remote")
    status = v1alpha1.RemoteConnectionStatus(id=synced.have.id).model_copy(update=fields)
    return Result(status=status, conditions=conds, events=events, synced=bool(events), applied=res.paused is None)


async def _sync_minted(
    rt: Runtime,
    refs: Refs,
    res: resolution.Resolved[v1alpha1.RemoteConnectionSpec],
    instance: str,
    listing: Listing | None,
) -> Result:
    """The remote with a token minted on `instance` (see `minted_tokens` for the order of steps)."""
    obj = res.obj
    cl = await minted_tokens.cloud(rt, refs, res.namespace, instance)
    # Replications of another instance cannot use this remote (they wait with a mismatch).
    users = [
        u
        for u in every(refs.users, (res.namespace, obj["metadata"]["name"]))
        if u["spec"]["instanceRef"].get("name") == res.inst.name
    ]
    plan = await minted_tokens.plan(rt, refs, obj, cl, users, full=listing is None)
    url = res.spec.remote_url or cl.inst.spec.url
    synced, fingerprint = await _run(rt, res, listing, plan.token.token, url=url, org_id=cl.org_id)
    events = plan.events + synced.events
    if plan.search:
        await minted_tokens.confirm(refs, cl, plan.token, plan.minted.buckets)
        events += token_revocation.revoked(
            cl, await token_revocation.settle_strays(cl, obj, keep=plan.token.authorization_id)
        )
    rt.minted[obj["metadata"]["uid"]] = replace(plan.token, record=plan.minted, pending=None)
    covers = ", ".join(b.name or b.id for b in plan.minted.buckets) or "no bucket yet"
    if plan.missing:
        covers += f" (not on the remote, so not covered: bucket {', '.join(plan.missing)})"
    conds, _, fields = resource.report(res, synced, "remote", detail=f"its minted token writes to {covers}")
    status = v1alpha1.RemoteConnectionStatus.model_validate(
        {
            "id": synced.have.id,
            "tokenFingerprint": fingerprint,
            "mintedToken": plan.minted.model_dump(by_alias=True),
            "tokenRotationStarted": None,
        }
    ).model_copy(update=fields)
    return Result(status=status, conditions=conds, events=events, synced=bool(events))


async def delete(rt: Runtime, refs: Refs, deps: Dependents, obj: Obj) -> None:
    """Waits while Replications use the remote: InfluxDB would refuse anyway.
    With policy Delete, minted tokens are revoked once the remote is gone;
    Orphan leaves them, as the orphaned remote still writes with one."""
    meta = obj["metadata"]
    users = sorted(u["metadata"]["name"] for u in every(refs.users, (meta["namespace"], meta["name"])))
    if users:
        raise Blocked(
            Reason.IN_USE, f"still used by Replications {', '.join(users)}; deletion waits until they are gone"
        )
    await resource.delete(rt, refs, obj, KIND)
    minted = obj["status"].get("mintedToken")
    spec = v1alpha1.RemoteConnectionSpec.model_validate(obj["spec"])
    instance = spec.remote_instance_ref.name if spec.remote_instance_ref else (minted or {}).get("instance")
    if instance and spec.deletion_policy is v1alpha1.DeletionPolicy.DELETE:
        # The remote is gone from the edge: nothing uses the minted token any more.
        rt.post_events(obj, KIND.kind, await token_revocation.revoke(rt, refs, obj, str(instance)))
