"""Nothing is written to Kubernetes when nothing changed: not by the periodic
refresh, and not by an operator restart."""

from __future__ import annotations

import threading
import time
from typing import Any

import sandbox as sandbox_module
from support.operator_process import OperatorProcess
from support.scenario import Setup

PERIOD = 2.0  # the test instances' resyncPeriod
GROUP = "influxdb.replication.dev"


def _versions(setup: Setup, name: str) -> dict[str, str]:
    objects = {"influxdbinstance": "edge", "remoteconnection": "cloud", "replication": name}
    return {kind: setup.kubectl.get(kind, obj)["metadata"]["resourceVersion"] for kind, obj in objects.items()}  # type: ignore[index]


def _to_legacy_diffbase(setup: Setup, name: str) -> None:
    """Moves the Replication's diff-base from `status.kopf` to where earlier
    builds kept it: an annotation of the group's prefix, with kopf's marker."""
    obj = setup.kubectl.get("replication", name)
    assert obj is not None
    handled = obj["status"]["kopf"]["last-handled-configuration"]
    setup.kubectl(
        "annotate",
        f"replication/{name}",
        f"{GROUP}/last-handled-configuration={handled}",
        f"{GROUP}/kopf-managed=yes",
    )
    setup.kubectl(
        "patch", f"replication/{name}", "--subresource=status", "--type=merge", "-p", '{"status":{"kopf":null}}'
    )
    moved = setup.kubectl.get("replication", name)
    assert moved is not None
    assert "kopf" not in moved["status"]


def test_idle_resources_are_not_written_across_refreshes_and_restarts(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    name = f"quiet-{setup.unique}"
    setup.kubectl.apply(setup.replication(name))
    replication_id = setup.ready("replication", name)["status"]["id"]
    # Let the first refreshes settle the figures: the data-plane trend shows
    # once its window (three periods) is covered.
    time.sleep(5 * PERIOD)
    before = _versions(setup, name)

    skipped = operator.metric("influxdb_operator_reconciles_total", kind="Replication", outcome="unchanged") or 0
    time.sleep(4 * PERIOD)
    assert _versions(setup, name) == before, "a refresh wrote although nothing changed"
    # ...nor reconciled it: an idle stream whose inputs are unchanged is skipped.
    after = operator.metric("influxdb_operator_reconciles_total", kind="Replication", outcome="unchanged") or 0
    assert after >= skipped + 3, f"idle replications were reconciled every period ({skipped} -> {after} skipped)"

    operator.stop()
    operator.start()
    time.sleep(5 * PERIOD)
    assert _versions(setup, name) == before, "a restart rewrote settled resources"

    # An upgrade from a build that kept kopf's diff-base in annotations: the
    # object counts as handled (no create cause, no write), not as new.
    operator.stop()
    _to_legacy_diffbase(setup, name)
    before = _versions(setup, name)
    operator.start()
    time.sleep(5 * PERIOD)
    assert _versions(setup, name) == before, "an upgrade rewrote settled resources"
    # ...and the restarted operator still does its job.
    assert sandbox.edge.request("PATCH", f"/api/v2/replications/{replication_id}", {"description": "by hand"})[0] == 200
    deadline = time.monotonic() + 10 * PERIOD
    while sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")[1].get("description"):
        assert time.monotonic() < deadline, "drift not corrected after the restart"
        time.sleep(0.5)


def _modifications(sandbox: sandbox_module.Sandbox, setup: Setup, name: str, version: str, seconds: int) -> list[Any]:
    """The Replication's versions written from `version` on, for `seconds` (in a thread)."""
    path = f"/apis/{GROUP}/v1alpha1/namespaces/{setup.namespace}/replications"
    seen: list[Any] = []

    def follow() -> None:
        for event in sandbox.kube.watch(path, version, seconds=seconds):
            if event["type"] == "MODIFIED" and event["object"]["metadata"]["name"] == name:
                seen.append(event["object"])

    threading.Thread(target=follow, daemon=True).start()
    return seen


def test_a_change_made_while_the_operator_was_down_costs_one_write(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    """On a restart the refresh leaves the change to its handler, which reads
    the object from the refresh's listing: one PATCH to InfluxDB, and its
    status goes out in kopf's own patch with the diff-base (all handlers of
    a cause in one cycle): one write, where there were two to four."""
    name = f"backlog-{setup.unique}"
    setup.kubectl.apply(setup.replication(name, maxAgeSeconds=3600))
    replication_id = setup.ready("replication", name)["status"]["id"]
    time.sleep(5 * PERIOD)  # the figures' window is covered: nothing more to write
    operator.stop()
    setup.kubectl.apply(setup.replication(name, maxAgeSeconds=7200))
    changed = setup.kubectl.get("replication", name)
    assert changed is not None
    assert changed["metadata"]["generation"] == 2
    writes = _modifications(sandbox, setup, name, changed["metadata"]["resourceVersion"], seconds=int(8 * PERIOD))
    operator.start()
    time.sleep(8 * PERIOD + 2)

    assert sandbox.edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["maxAgeSeconds"] == 7200
    assert [w["status"]["observedGeneration"] for w in writes] == [2], [w["status"] for w in writes]
    assert writes[0]["status"]["kopf"] == {
        "last-handled-configuration": writes[0]["status"]["kopf"]["last-handled-configuration"]
    }, "kopf's progress was written, to be purged by another write"
