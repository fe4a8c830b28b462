"""Revoking minted tokens: the strays a rotation leaves (its last step), and
every token of a RemoteConnection when it stops using minted ones or is
deleted. Authorizations are found by their description, which names it."""

from __future__ import annotations

from ...influx import errors
from ...reconcile import tokens
from ...reconcile.outcome import Blocked, Event, from_influx
from ...reconcile.reasons import Action, Reason
from ...state.runtime import Runtime
from ...state.world import Obj, Refs
from .minted_tokens import Cloud, cloud


async def settle_strays(cl: Cloud, obj: Obj, *, keep: str | None) -> list[str]:
    """Step 6 (and revocation, with keep=None): delete every authorization of
    this RemoteConnection's (by description) but `keep`; the IDs deleted."""
    meta = obj["metadata"]
    description = tokens.description(meta["namespace"], meta["name"], meta["uid"])
    try:
        ours = [a.id for a in await cl.client.authorizations.list(cl.org_id) if a.description == description]
        if keep is not None and keep not in ours:
            # InfluxDB leaves out of a listing what the token may not read: strays would go unseen.
            raise Blocked(
                Reason.UNAUTHORIZED,
                f"the token of {cl.where} cannot see authorization {keep} it made, so it cannot find old ones "
                "to revoke: it needs read on authorizations and on its own user",
            )
        return [a for a in ours if a != keep and await cl.client.authorizations.delete(a)]
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"revoking old tokens on {cl.where}") from error


def revoked(cl: Cloud, ids: list[str]) -> list[Event]:
    if not ids:
        return []
    return [Event("Normal", Action.TOKEN_REVOKED, f"revoked authorization {', '.join(ids)} on {cl.where}")]


async def revoke(rt: Runtime, refs: Refs, obj: Obj, instance: str) -> list[Event]:
    """Revocation: every authorization minted for `obj`, and its Secret.
    Without the instance there is nothing to reach the remote with: said, not waited for."""
    meta = obj["metadata"]
    try:
        cl = await cloud(rt, refs, meta["namespace"], instance, deleting=True)
    except Blocked as blocked:
        if blocked.reason is not Reason.INSTANCE_NOT_FOUND:
            raise
        return [Event("Warning", Action.ORPHANED, f"{blocked.message}; minted tokens on it were not revoked")]
    if cl.inst.org_id is None:
        raise Blocked(Reason.INSTANCE_NOT_READY, f"InfluxDBInstance {instance} has not resolved its org yet")
    cl = Cloud(cl.inst, cl.client, cl.inst.org_id)
    events = revoked(cl, await settle_strays(cl, obj, keep=None))
    assert rt.secrets is not None
    await rt.secrets.delete(meta["namespace"], tokens.secret_name(meta["name"]))
    rt.minted.pop(meta["uid"], None)
    return events
