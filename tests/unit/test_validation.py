"""When a validate annotation counts as answered, and what starts one."""

from __future__ import annotations

from typing import Any

from influxdb_operator.config import Settings
from influxdb_operator.kinds.replication import validate_on_demand as validation
from influxdb_operator.state.runtime import Runtime
from influxdb_operator.state.world import Refs


async def _never(*_: Any) -> None:
    raise AssertionError("not expected to write")


def _runtime() -> Runtime:
    return Runtime(Settings(max_backoff=60), write_status=_never, post_events=lambda *_: None)


def _shown(requested: str, result: str) -> dict[str, Any]:
    return {"validation": {"requested": requested, "result": result, "time": "T"}}


def test_a_value_is_answered_once_it_has_a_result() -> None:
    rt = _runtime()
    assert validation.answered(rt, "u", _shown("v1", "Succeeded"), "v1")
    assert validation.answered(rt, "u", _shown("v1", "Failed"), "v1")
    assert not validation.answered(rt, "u", _shown("v1", "Succeeded"), "v2")  # a new value
    assert not validation.answered(rt, "u", {}, "v1")
    # Validating in status: cut short (e.g. by a restart), so it is asked again.
    assert not validation.answered(rt, "u", _shown("v1", "Validating"), "v1")


def test_what_this_process_recorded_wins_over_an_older_snapshot() -> None:
    rt = _runtime()
    rt.validations.kept["u"] = _shown("v2", "Failed") | {"conditions": []}
    assert validation.answered(rt, "u", _shown("v1", "Succeeded"), "v2")
    assert not validation.answered(rt, "u", _shown("v1", "Succeeded"), "v1")


def test_nothing_starts_before_the_replication_exists_or_once_answered() -> None:
    rt = _runtime()
    refs = Refs({}, {}, {}, {})
    fresh: dict[str, Any] = {"metadata": {"uid": "u", "name": "r", "namespace": "n"}, "spec": {}, "status": {}}
    validation.request(rt, refs, fresh, "v1")  # no ID yet: its creation brings another event
    done = fresh | {"status": {"id": "0" * 16} | _shown("v1", "Succeeded")}
    validation.request(rt, refs, done, "v1")
    deleting = fresh | {"metadata": fresh["metadata"] | {"deletionTimestamp": "T"}, "status": {"id": "0" * 16}}
    validation.request(rt, refs, deleting, "v1")
    assert rt.validations.running == {}
