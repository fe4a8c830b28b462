"""The pause annotation: nothing is written to InfluxDB for a paused object
(no drift correction, no recreate, no delete) while its status is still
refreshed; removing the annotation catches up at once."""

from __future__ import annotations

import time
from collections.abc import Callable

import sandbox as sandbox_module
from support import canary, readme
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.scenario import Setup

PERIOD = 2  # the test instances' resyncPeriod, in seconds
WITHIN = 5 * PERIOD  # one period, plus the operator's and the API's latency
PAUSED = "influxdb.replication.dev/paused"


# The README's two commands, for its example Replication "metrics-to-cloud".
PAUSE, UNPAUSE = readme.commands("kubectl annotate replication metrics-to-cloud")


def _as_documented(argv: list[str], kind: str, name: str) -> list[str]:
    assert argv[:4] == ["kubectl", "annotate", "replication", "metrics-to-cloud"], argv
    return ["annotate", kind, name, *argv[4:]]


def pause(kubectl: Kubectl, kind: str, name: str) -> None:
    assert PAUSE[4] == f"{PAUSED}=true"
    kubectl(*_as_documented(PAUSE, kind, name))


def unpause(kubectl: Kubectl, kind: str, name: str) -> None:
    assert UNPAUSE[4] == f"{PAUSED}-"
    kubectl(*_as_documented(UNPAUSE, kind, name))


def synced(kubectl: Kubectl, kind: str, name: str, *, reason: str, says: str) -> dict[str, object]:
    """The Synced condition once it has `reason` and its message contains `says`."""
    return dict(
        eventually(
            lambda: (
                (c := condition(kubectl.get(kind, name), "Synced")).get("reason") == reason
                and says in c.get("message", "")
                and c
            ),
            timeout=WITHIN,
            what=f"{kind}/{name} Synced {reason} saying {says!r}",
        )
    )


def held(check: Callable[[], object], what: str) -> None:
    """`check()` stays true for three more refresh periods."""
    deadline = time.monotonic() + 3 * PERIOD
    while time.monotonic() < deadline:
        assert check(), what
        time.sleep(0.5)


def test_paused_replication_is_not_corrected_until_unpaused(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    name, edge, kubectl = f"paused-{setup.unique}", sandbox.edge, setup.kubectl
    kubectl.apply(setup.replication(name, description="declared"))
    first_id = setup.ready("replication", name)["status"]["id"]
    pause(kubectl, "replication", name)
    synced(kubectl, "replication", name, reason="Paused", says="InfluxDB matches the spec")

    # An out-of-band PATCH: seen by the refresh (the condition reports it), not corrected.
    assert edge.request("PATCH", f"/api/v2/replications/{first_id}", {"description": "by hand"})[0] == 200
    message = synced(kubectl, "replication", name, reason="Paused", says="'by hand'")["message"]
    assert "description is 'by hand' in InfluxDB, 'declared' in the spec" in str(message)
    assert condition(kubectl.get("replication", name), "Ready")["status"] == "True"
    held(
        lambda: edge.request("GET", f"/api/v2/replications/{first_id}")[1]["description"] == "by hand",
        "a paused replication's drift was corrected",
    )
    unpause(kubectl, "replication", name)
    eventually(
        lambda: edge.request("GET", f"/api/v2/replications/{first_id}")[1]["description"] == "declared",
        timeout=WITHIN,
        what="drift corrected once unpaused",
    )
    assert "DriftCorrected" in [e["reason"] for e in kubectl.events(name)]

    # An out-of-band DELETE: reported, not recreated while paused; recreated once unpaused.
    pause(kubectl, "replication", name)
    synced(kubectl, "replication", name, reason="Paused", says="InfluxDB matches the spec")
    assert edge.request("DELETE", f"/api/v2/replications/{first_id}")[0] == 204
    blocked = kubectl.wait_reason("replication", name, "Paused", timeout=WITHIN)
    assert "created once unpaused" in blocked["message"]
    held(lambda: edge.replications(name=name) == [], "a paused replication was recreated")
    unpause(kubectl, "replication", name)
    recreated = eventually(lambda: edge.replications(name=name), timeout=WITHIN, what="recreated once unpaused")
    assert len(recreated) == 1
    assert recreated[0]["id"] != first_id
    assert recreated[0]["description"] == "declared"
    status = setup.ready("replication", name)["status"]
    assert status["id"] == recreated[0]["id"]
    assert condition(kubectl.get("replication", name), "Synced")["reason"] == "ReconcileSuccess"
    assert "Recreated" in [e["reason"] for e in kubectl.events(name)]
    canary.assert_nowhere([edge.token, sandbox.cloud.token], kubectl, operator)


def test_a_paused_resource_is_not_created(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name, kubectl = f"born-paused-{setup.unique}", setup.kubectl
    manifest = setup.replication(name)
    manifest["metadata"]["annotations"] = {PAUSED: "true"}
    kubectl.apply(manifest)
    assert "nothing is written" in kubectl.wait_reason("replication", name, "Paused", timeout=WITHIN)["message"]
    held(lambda: sandbox.edge.replications(name=name) == [], "a paused replication was created")
    unpause(kubectl, "replication", name)
    assert setup.ready("replication", name, timeout=WITHIN)["status"]["id"]
    assert len(sandbox.edge.replications(name=name)) == 1


def test_paused_deletion_waits_and_says_why(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    name, edge, kubectl = f"kept-{setup.unique}", sandbox.edge, setup.kubectl
    kubectl.apply(setup.replication(name))
    replication_id = setup.ready("replication", name)["status"]["id"]
    pause(kubectl, "replication", name)
    synced(kubectl, "replication", name, reason="Paused", says="matches")
    kubectl("delete", "replication", name, "--wait=false")
    waiting = kubectl.wait_reason("replication", name, "Paused", timeout=WITHIN)
    assert "deletion waits" in waiting["message"]
    assert PAUSED in waiting["message"]
    assert any(e["reason"] == "Paused" and "deletion waits" in e["message"] for e in kubectl.events(name)), (
        "no Event says why the deletion waits"
    )
    held(
        lambda: (
            kubectl.exists("replication", name)
            and edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 200
        ),
        "a paused resource's deletion went on",
    )
    unpause(kubectl, "replication", name)
    eventually(lambda: not kubectl.exists("replication", name), timeout=WITHIN + 10, what="deletion completed")
    assert edge.request("GET", f"/api/v2/replications/{replication_id}")[0] == 404


def test_pausing_an_instance_pauses_its_resources(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    edge, kubectl = sandbox.edge, setup.kubectl
    remote_id = setup.ready("remoteconnection", "cloud")["status"]["id"]
    pause(kubectl, "influxdbinstance", "edge")
    synced(kubectl, "influxdbinstance", "edge", reason="Paused", says="nothing is written")
    synced(kubectl, "remoteconnection", "cloud", reason="Paused", says="InfluxDBInstance edge")
    assert edge.request("PATCH", f"/api/v2/remotes/{remote_id}", {"description": "by hand"})[0] == 200
    synced(kubectl, "remoteconnection", "cloud", reason="Paused", says="'by hand'")
    held(
        lambda: edge.request("GET", f"/api/v2/remotes/{remote_id}")[1].get("description") == "by hand",
        "a remote of a paused instance was corrected",
    )
    unpause(kubectl, "influxdbinstance", "edge")
    eventually(
        lambda: edge.request("GET", f"/api/v2/remotes/{remote_id}")[1].get("description", "") == "",
        timeout=WITHIN,
        what="remote corrected once its instance is unpaused",
    )
    synced(kubectl, "influxdbinstance", "edge", reason="ReconcileSuccess", says="")
    synced(kubectl, "remoteconnection", "cloud", reason="ReconcileSuccess", says="")


def test_a_spec_change_made_while_paused_is_applied_once_unpaused(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    name, edge, kubectl = f"respec-{setup.unique}", sandbox.edge, setup.kubectl
    kubectl.apply(setup.replication(name))
    ready = setup.ready("replication", name)
    replication_id, generation = ready["status"]["id"], ready["metadata"]["generation"]
    pause(kubectl, "replication", name)
    synced(kubectl, "replication", name, reason="Paused", says="matches")
    kubectl("patch", "replication", name, "--type=merge", "-p", '{"spec": {"maxQueueSizeBytes": 50000000}}')
    synced(kubectl, "replication", name, reason="Paused", says="maxQueueSizeBytes is 67108860 in InfluxDB, 50000000")

    def unchanged() -> bool:
        obj = kubectl.get("replication", name) or {}
        have = edge.request("GET", f"/api/v2/replications/{replication_id}")[1]
        return bool(have["maxQueueSizeBytes"] == 67108860 and obj["status"]["observedGeneration"] == generation)

    held(unchanged, "a spec change was applied while paused")
    unpause(kubectl, "replication", name)
    eventually(
        lambda: edge.request("GET", f"/api/v2/replications/{replication_id}")[1]["maxQueueSizeBytes"] == 50000000,
        timeout=WITHIN,
        what="the spec change applied once unpaused",
    )
    assert setup.ready("replication", name)["status"]["observedGeneration"] == generation + 1
    assert "Updated" in [e["reason"] for e in kubectl.events(name)]
