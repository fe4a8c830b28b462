"""Validate on demand: the `influxdb.replication.dev/validate` annotation set
to a new value has InfluxDB write an empty batch through the stream
(`POST /api/v2/replications/{id}/validate`), once, and the `Validated`
condition answers it.

Such a validate can wait two minutes on a remote that does not answer, so
this one never runs in a handler or the refresh: a task per replication does it, a
few at once (`Validations.slots`), each within `--validate-timeout`, and
writes the condition itself (Unknown/Validating first). What it wrote is
kept in memory for every other status write to carry along. A value counts
as answered once `status.validation` shows its result: after a restart in
the middle, the annotation is still unanswered and the validate runs again.
"""

from __future__ import annotations

import asyncio
import logging

from ...api import v1alpha1
from ...driver import resolution
from ...influx import errors
from ...reconcile import conditions
from ...reconcile.outcome import Blocked, Event, from_influx
from ...reconcile.reasons import Action, Reason
from ...state.runtime import Runtime, Validation
from ...state.world import Obj, Refs
from .replication_external import KIND

logger = logging.getLogger(__name__)

ANNOTATION = f"{v1alpha1.GROUP}/validate"
VALIDATED = v1alpha1.ConditionType.VALIDATED
Result = v1alpha1.ValidationResult


def answered(rt: Runtime, uid: str, status: dict[str, object], value: str) -> bool:
    """Whether `value` has a result, as this process recorded it (fresher
    than any snapshot) or else as status shows it."""
    kept = rt.validations.kept.get(uid, {}).get("validation")
    shown = kept if kept is not None else status.get("validation")
    return isinstance(shown, dict) and shown.get("requested") == value and shown.get("result") != Result.VALIDATING


def request(rt: Runtime, refs: Refs, obj: Obj, value: str) -> None:
    """For each watch event of a Replication with the annotation: start (or
    redirect) its validate unless `value` is answered. One not created yet
    waits: the status write that records its ID brings another event."""
    meta = obj["metadata"]
    if meta.get("deletionTimestamp") or not rt.recorded_id(obj) or answered(rt, meta["uid"], obj["status"], value):
        return
    running = rt.validations.running.get(meta["uid"])
    if running is not None:
        running.wanted, running.obj = value, obj
        return
    job = rt.validations.running[meta["uid"]] = Validation(value, obj)
    job.task = asyncio.create_task(_work(rt, refs, job), name=f"validate {meta['namespace']}/{meta['name']}")


async def _work(rt: Runtime, refs: Refs, job: Validation) -> None:
    uid = job.obj["metadata"]["uid"]
    try:
        while True:
            value = job.wanted
            await _answer(rt, refs, job, value)
            if job.wanted == value:
                return
    except Exception:
        # Its status could not be written (e.g. deleted meanwhile): the next
        # event of the object, or a restart, asks again.
        meta = job.obj["metadata"]
        logger.exception("validate of Replication %s/%s failed", meta["namespace"], meta["name"])
    finally:
        if rt.validations.running.get(uid) is job:
            del rt.validations.running[uid]


async def _answer(rt: Runtime, refs: Refs, job: Validation, value: str) -> None:
    waiting = f"validate {value!r}: waiting for InfluxDB to write an empty batch to the remote"
    await _record(rt, job, value, conditions.Condition(VALIDATED, "Unknown", Reason.VALIDATING, waiting))
    async with rt.validations.slots:
        answer = await _validate(rt, refs, job.obj, value)
    meta = job.obj["metadata"]
    logger.info("Replication %s/%s: %s", meta["namespace"], meta["name"], answer.message)
    await _record(rt, job, value, answer)


async def _validate(rt: Runtime, refs: Refs, obj: Obj, value: str) -> conditions.Condition:
    """InfluxDB's answer as the condition (its messages hold no token)."""
    try:
        res = await resolution.resolve(rt, refs, obj, KIND)
        replication_id = rt.recorded_id(obj)
        assert replication_id is not None  # request() waits for it
        await res.client.validate_replication(replication_id, timeout=rt.settings.validate_timeout)
    except Blocked as blocked:
        return conditions.Condition(VALIDATED, "False", blocked.reason, f"validate {value!r}: {blocked.message}")
    except errors.APIError as error:
        message = f"validate {value!r}: the stream does not work: {error.message}"
        return conditions.Condition(VALIDATED, "False", Reason.REMOTE_VALIDATION_FAILED, message)
    except errors.InfluxError as error:
        failed = from_influx(error, doing=f"validate {value!r}")
        return conditions.Condition(VALIDATED, "False", failed.reason, failed.message)
    works = f"validate {value!r}: InfluxDB wrote an empty batch to the remote bucket: the stream works"
    return conditions.Condition(VALIDATED, "True", Reason.STREAM_WORKS, works)


def _result(condition: conditions.Condition) -> Result:
    if condition.status == "Unknown":
        return Result.VALIDATING
    return Result.SUCCEEDED if condition.status == "True" else Result.FAILED


async def _record(rt: Runtime, job: Validation, value: str, condition: conditions.Condition) -> None:
    """Write the condition and `status.validation` now, under the object's
    lock (so no reconcile of it writes at the same time), and keep both for
    later writes to carry; an answer gets an Event."""
    obj = job.obj
    meta, uid = obj["metadata"], obj["metadata"]["uid"]
    at = conditions.now()
    validation = v1alpha1.ValidationStatus(requested=value, result=_result(condition), time=at)
    async with rt.lock(obj):
        current = conditions.carry(obj["status"], rt.validations.kept.get(uid))
        listed = conditions.apply(current.get("conditions") or [], [condition], generation=meta["generation"], at=at)
        kept = {
            "validation": validation.model_dump(by_alias=True),
            "conditions": [conditions.get(listed, VALIDATED)],
        }
        patch = v1alpha1.ReplicationStatus.model_validate({"conditions": listed, **kept}).model_dump(
            by_alias=True, exclude_unset=True
        )
        await rt.write_status(KIND.plural, meta["namespace"], meta["name"], patch)
        obj["status"].update(patch)
        rt.validations.kept[uid] = kept
    if condition.status == "True":
        rt.post_events(obj, KIND.kind, [Event("Normal", Action.VALIDATED, condition.message)])
    elif condition.status == "False":
        rt.post_events(obj, KIND.kind, [Event("Warning", condition.reason, condition.message)])
