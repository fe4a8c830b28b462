"""Minted remote tokens: minted on the remote (an InfluxDBInstance), kept in
a Secret owned by the RemoteConnection, rotated make-before-break, revoked.

The Secret is the truth: it holds the token in use and its authorization's
ID. A new token is made in this order, so a crash at any step leaves a
working token and no authorization that is not found again:

1. status `tokenRotationStarted` is set (durable: after a crash, the next
   sync searches the remote for strays even if nothing else changed);
2. the authorization is created (its token exists only in this answer);
3. the Secret is replaced at once (token and authorization ID together);
4. the remote gets the token (the caller, through the remote's `External`);
5. `confirm`: an empty write with the new token to every bucket it covers;
6. `token_revocation.settle_strays`: every authorization of ours (by description) but the
   Secret's is deleted; then the status records the new one.

Until 6 the old authorization stays valid, so whatever token the edge's
remote holds at any moment works. A rotation stopped by an error after step 3
is finished with the token it minted (this process remembers it); after a
restart, the trigger (annotation, period, buckets) still stands, so a new one
is minted and the unfinished one deleted as a stray.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pydantic import SecretStr

from ...api import v1alpha1
from ...influx import errors, models
from ...influx.client import InfluxClient
from ...reconcile import conditions, tokens
from ...reconcile.outcome import Blocked, Event, from_influx
from ...reconcile.reasons import Action, Reason
from ...state import clients
from ...state.runtime import Minted, Runtime, SecretRefused
from ...state.world import Obj, Refs, one

KIND = "RemoteConnection"
PLURAL = "remoteconnections"


@dataclass(frozen=True)
class Cloud:
    """The remote, as an InfluxDBInstance the operator can reach."""

    inst: clients.Instance
    client: InfluxClient
    org_id: str

    @property
    def where(self) -> str:
        return f"InfluxDBInstance {self.inst.name}"


async def cloud(rt: Runtime, refs: Refs, namespace: str, name: str, *, deleting: bool = False) -> Cloud:
    inst = clients.instance(refs, namespace, name, need_org=not deleting)
    client = await rt.clients.get(refs, inst, deleting=deleting)
    return Cloud(inst, client, inst.org_id or "")


@dataclass(frozen=True)
class Plan:
    """The token the remote should hold, and what is left to do once it does."""

    token: Minted
    minted: v1alpha1.MintedTokenStatus
    search: bool  # look for strays on the remote (a new token, a restart, an unfinished rotation)
    missing: list[str]  # bucket references the Replications name that the remote does not have
    events: list[Event]


def _memory_or_secret(rt: Runtime, refs: Refs, obj: Obj) -> Minted | None:
    """The token in use: this process's memory, else the Secret (via the index)."""
    meta = obj["metadata"]
    if meta["uid"] in rt.minted:
        return rt.minted[meta["uid"]]
    data = one(refs.secrets, (meta["namespace"], tokens.secret_name(meta["name"])))
    if not data or tokens.SECRET_KEY not in data or tokens.ID_KEY not in data:
        return None
    try:
        token, auth_id = (base64.b64decode(data[k], validate=True).decode() for k in (tokens.SECRET_KEY, tokens.ID_KEY))
    except (binascii.Error, UnicodeDecodeError):
        return None  # not chained anywhere: treated as no Secret, a new token replaces it
    return Minted(auth_id, SecretStr(token)) if token and auth_id else None


async def _resolve(
    cl: Cloud, wanted: set[tokens.BucketRef], known: list[v1alpha1.MintedBucket]
) -> tuple[list[v1alpha1.MintedBucket], list[str]]:
    """(the buckets found on the remote, the references not found). Buckets
    in `known` are taken as they are: only new references cost a call."""
    found: dict[str, v1alpha1.MintedBucket] = {}
    missing: list[str] = []
    for kind, value in sorted(wanted):
        same = [b for b in known if (b.id if kind == "id" else b.name) == value]
        if same:
            found.setdefault(same[0].id, same[0])
            continue
        bucket = await (cl.client.get_bucket(value) if kind == "id" else cl.client.find_bucket(cl.org_id, value))
        if bucket is None or bucket.orgID != cl.org_id:
            missing.append(f"{kind} {value}")
        elif bucket.id not in found or found[bucket.id].name is None:
            found[bucket.id] = v1alpha1.MintedBucket(id=bucket.id, name=bucket.name)
    return sorted(found.values(), key=lambda b: b.id), missing


async def plan(rt: Runtime, refs: Refs, obj: Obj, cl: Cloud, users: list[Obj], *, full: bool) -> Plan:
    """The token the remote should hold, minting a new one (steps 1-3) when due.
    `full`: a handler's run (create, spec change, restart), which always
    searches for strays; the refresh calls the remote only when something changed."""
    meta, status = obj["metadata"], obj["status"]
    spec = v1alpha1.RemoteConnectionSpec.model_validate(obj["spec"])
    recorded = status.get("mintedToken")
    minted = v1alpha1.MintedTokenStatus.model_validate(recorded) if recorded else None
    have = _memory_or_secret(rt, refs, obj)
    unfinished = bool(status.get("tokenRotationStarted"))
    if have is not None and have.record is not None and have.record != minted:
        # This process finished a rotation the watched status does not show yet.
        minted, unfinished = have.record, False
    elif have is not None and have.pending is not None and unfinished:
        # This process minted it, and a later step failed: finish that rotation, not mint again.
        minted = have.pending
    request = (meta.get("annotations") or {}).get(tokens.ROTATE_ANNOTATION)
    period = spec.token_rotation.period if spec.token_rotation else None
    reason = tokens.why_new(
        minted if have is not None else None,
        request=request,
        period=v1alpha1.parse_duration(period) if period else None,
        now=datetime.now(UTC),
    )
    wanted = tokens.targets(users)
    buckets = minted.buckets if minted else []
    missing: list[str] = []
    if reason is not None or (minted is not None and tokens.buckets_changed(minted, wanted)):
        try:
            # A rotation asked for looks every bucket up again (one may have been recreated).
            resolved, missing = await _resolve(cl, wanted, buckets if reason is None else [])
        except errors.InfluxError as error:
            raise from_influx(error, doing=f"finding the buckets to write to on {cl.where}") from error
        if reason is None and {b.id for b in resolved} != {b.id for b in buckets}:
            reason = "the buckets its Replications write to changed"
        buckets = resolved if reason is not None else buckets
    if reason is None:
        assert have is not None
        assert minted is not None
        return Plan(have, minted, search=full or unfinished, missing=missing, events=[])
    fresh = await _mint(rt, obj, cl, buckets)
    names = ", ".join(b.name or b.id for b in buckets) or "no bucket yet"
    event = Event(
        "Normal",
        Action.TOKEN_MINTED,
        f"minted authorization {fresh.authorization_id} on {cl.where} to write to {names}: {reason}",
    )
    record = v1alpha1.MintedTokenStatus.model_validate(
        {
            "authorizationID": fresh.authorization_id,
            "instance": cl.inst.name,
            "secretName": tokens.secret_name(meta["name"]),
            "buckets": buckets,
            "issuedAt": conditions.now(),
            "rotationRequest": request,
        }
    )
    fresh = rt.minted[meta["uid"]] = replace(fresh, pending=record)
    return Plan(fresh, record, search=True, missing=missing, events=[event])


async def _mint(rt: Runtime, obj: Obj, cl: Cloud, buckets: list[v1alpha1.MintedBucket]) -> Minted:
    """Steps 1-3: the marker, the authorization, the Secret."""
    meta = obj["metadata"]
    started: dict[str, object] = {"tokenRotationStarted": conditions.now()}
    await rt.write_status(PLURAL, meta["namespace"], meta["name"], started)
    obj["status"].update(started)
    body = models.AuthorizationCreate(
        orgID=cl.org_id,
        description=tokens.description(meta["namespace"], meta["name"], meta["uid"]),
        permissions=tokens.permissions(cl.org_id, (b.id for b in buckets)),
    )
    try:
        made = await cl.client.authorizations.create(body)
    except errors.InfluxError as error:
        raise from_influx(error, doing=f"minting a token on {cl.where}") from error
    if made.token is None:
        raise Blocked(Reason.INFLUXDB_ERROR, f"{cl.where} created authorization {made.id} but sent no token")
    fresh = Minted(made.id, made.token)
    try:
        await _store(rt, obj, fresh)
    except SecretRefused as refused:
        # Surely not stored, so never to be used: revoked now, not left for the next search.
        # (A write that may have landed, a timeout, is left to that search.)
        with contextlib.suppress(errors.InfluxError):
            await cl.client.authorizations.delete(made.id)
        raise Blocked(Reason.SECRET_NOT_WRITTEN, f"{refused}; the token minted for it was revoked") from None
    return fresh


async def _store(rt: Runtime, obj: Obj, token: Minted) -> None:
    """Step 3: the Secret, owned by the RemoteConnection (deleted with it)."""
    assert rt.secrets is not None, "a Runtime that mints needs a SecretStore"
    data = {tokens.SECRET_KEY: token.token.get_secret_value(), tokens.ID_KEY: token.authorization_id}
    await rt.secrets.put(obj, KIND, tokens.secret_name(obj["metadata"]["name"]), data)
    rt.minted[obj["metadata"]["uid"]] = token


async def confirm(refs: Refs, cl: Cloud, token: Minted, buckets: list[v1alpha1.MintedBucket]) -> None:
    """Step 5: the new token writes (nothing) to every bucket it is for, or Blocked."""
    async with clients.with_token(refs, cl.inst, token.token) as probe:
        for bucket in buckets:
            try:
                await probe.write(cl.org_id, bucket.id, "")
            except errors.InfluxError as error:
                doing = f"confirming the new token writes to bucket {bucket.name or bucket.id} on {cl.where}"
                raise from_influx(error, doing=doing) from error
