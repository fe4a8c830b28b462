"""RemoteConnection: kopf handlers and the sync they share with the refresh."""

from __future__ import annotations

from typing import Any

import kopf

from ..api import v1alpha1
from ..influx import errors
from ..reconcile import conditions, plan, remotes
from . import clients, deletion, indexes, kube, outcomes
from .blocked import Blocked, from_influx
from .snapshot import Snapshot, observe

KIND, PLURAL = "RemoteConnection", "remoteconnections"


async def sync(world: indexes.World, obj: dict[str, Any], *, snapshot: Snapshot | None) -> outcomes.Result:
    """Make InfluxDB hold the remote `obj` declares, with the Secret's current token."""
    meta, status = obj["metadata"], obj["status"]
    namespace, uid = meta["namespace"], meta["uid"]
    spec = v1alpha1.RemoteConnectionSpec.model_validate(obj["spec"])
    name = spec.name or meta["name"]
    inst = clients.instance(world, namespace, spec.instance_ref.name)
    client = await clients.client(world, inst)
    org_id = inst.org_id
    assert org_id is not None
    token = clients.secret_value(world, namespace, spec.remote_token_secret_ref, purpose="remote token")
    fingerprint = remotes.fingerprint(token, salt=uid)
    want = remotes.desired(spec, name=name, org_id=org_id, token=token)
    recorded = outcomes.recorded_id(uid, status)
    events: list[outcomes.Event] = []
    try:
        by_id, by_name = await observe(
            recorded=recorded,
            name=name,
            seen=snapshot.remotes if snapshot else None,
            get=client.get_remote,
            find=lambda n: client.list_remotes(org_id, name=n),
        )
        token_changed = status.get("tokenFingerprint") != fingerprint
        decision = plan.plan(
            recorded_id=recorded,
            by_id=by_id,
            by_name=by_name,
            create_pending=bool(status.get("createPending")),
            adopt_existing=spec.adopt_existing,
            up_to_date=by_id is not None and not remotes.drift(want, by_id) and not token_changed,
        )
        if decision.verb is plan.Verb.CONFLICT:
            assert by_name is not None
            raise Blocked(
                "NameConflict",
                f"a remote named {name!r} (ID {by_name.id}) already exists in InfluxDB and is not known to be "
                "this resource's; set spec.adoptExisting: true to take it over, or set spec.name to another name",
            )
        if decision.verb is plan.Verb.CREATE:
            await kube.patch_status(PLURAL, namespace, meta["name"], {"createPending": name})
            status["createPending"] = name
            have = await client.create_remote(want)
            outcomes.known_ids[uid] = have.id
            verb = "Recreated" if decision.recreate else "Created"
            events.append(("Normal", verb, f"{verb.lower()} remote {name!r} with ID {have.id}"))
        else:
            assert decision.existing is not None
            have = decision.existing
            if decision.verb is plan.Verb.ADOPT:
                outcomes.known_ids[uid] = have.id
                events.append(("Normal", "Adopted", f"adopted existing remote {name!r} with ID {have.id}"))
                # The adopted remote's token is unknown: always send ours.
                token_changed = True
            differing = remotes.drift(want, have)
            if differing or token_changed:
                have = await client.update_remote(
                    have.id, remotes.correction(differing, token=token if token_changed else None)
                )
                if differing:
                    generation_changed = meta.get("generation") != status.get("observedGeneration")
                    reason = "Updated" if generation_changed else "DriftCorrected"
                    events.append(("Normal", reason, f"set {', '.join(sorted(differing))} of remote {have.id}"))
                if token_changed and decision.verb is not plan.Verb.ADOPT and status.get("tokenFingerprint"):
                    events.append(("Normal", "TokenRotated", f"sent the new token from the Secret to remote {have.id}"))
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"remote {name!r} on {inst.spec.url}") from None
    return outcomes.Result(
        fields={"id": have.id, "createPending": None, "tokenFingerprint": fingerprint},
        conditions=[
            conditions.Condition(conditions.READY, "True", "Available", f"remote {have.id} matches the spec"),
            conditions.Condition(conditions.SYNCED, "True", "ReconcileSuccess", ""),
        ],
        events=events,
        synced=bool(events),
    )


@kopf.on.resume(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
@kopf.on.create(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
@kopf.on.update(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL, field="spec")
async def reconcile(body: kopf.Body, patch: kopf.Patch, retry: int, reason: str, **kwargs: Any) -> None:
    world = indexes.World.of(kwargs)
    await outcomes.run_handler(KIND, body, patch, retry, lambda obj: sync(world, obj, snapshot=None), reason=reason)


@kopf.on.delete(v1alpha1.GROUP, v1alpha1.VERSION, PLURAL)
async def delete(body: kopf.Body, patch: kopf.Patch, retry: int, **kwargs: Any) -> None:
    world = indexes.World.of(kwargs)

    async def _delete(obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        spec = v1alpha1.RemoteConnectionSpec.model_validate(obj["spec"])
        name = spec.name or meta["name"]
        users = sorted(world.all(world.replications_by_connection, (meta["namespace"], meta["name"])))
        if users:
            raise Blocked("InUse", f"still used by Replications {', '.join(users)}; deletion waits until they are gone")
        try:
            await deletion.delete_external(
                world,
                obj,
                kind=KIND,
                noun="remote",
                instance_name=spec.instance_ref.name,
                name=name,
                policy=spec.deletion_policy,
                find=lambda client, org_id, n: client.list_remotes(org_id, name=n),
                remove=lambda client, remote_id: client.delete_remote(remote_id),
            )
        except errors.ServerError as error:
            # InfluxDB refuses (500) to delete a remote that replications use.
            raise Blocked(
                "InUse",
                f"InfluxDB refused to delete remote {name!r}; replications not managed here may use it "
                f"({error.message})",
            ) from None
        except errors.InfluxError as error:
            raise from_influx(error, doing=f"deleting remote {name!r}") from None

    await outcomes.run_deletion(KIND, body, patch, retry, _delete)
    outcomes.forget(body.metadata.uid or "")
