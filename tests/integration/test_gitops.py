"""What the tools a platform team deploys with see of the operator's
resources, on the real API server with the real operator: `kubectl wait`,
Events in `kubectl describe`, and the chart's Argo CD health checks merged
into an argocd-cm as docs/gitops.md shows. (Argo CD's and kstatus' answers on
every object the suite reads are checked by conftest's `health_judged`.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
from pathlib import Path

import yaml

import sandbox as sandbox_module
from influxdb_operator.api import crds, v1alpha1
from influxdb_operator.handlers.lifecycle import EVENT_COMPONENT
from sandbox import binaries
from support import health
from support.chart import RELEASE_NAMESPACE, render
from support.kubectl import Kubectl, eventually
from support.scenario import Setup, cloud_remote

PAGE = health.ROOT / "docs" / "gitops.md"


def _readme_console(marker: str) -> tuple[str, list[str]]:
    """The command and the output lines of the console block after `marker`."""
    block = re.search(rf"<!-- {marker} -->\n```console\n\$ (.*?)\n(.*?)```", PAGE.read_text(), re.S)
    assert block is not None, f"docs/gitops.md has no {marker} sample"
    return block.group(1), block.group(2).splitlines()


def _as_user(command: str, kubectl: Kubectl) -> subprocess.CompletedProcess[str]:
    """`command` run by bash, as a user would, with the sandbox's kubectl first on PATH."""
    env = os.environ | {
        "KUBECONFIG": str(kubectl.kubeconfig),
        "PATH": f"{Path(binaries.path('kubectl')).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=180, env=env, check=False)


def test_kubectl_wait_as_the_readme_shows_and_stalled_is_failed(setup: Setup) -> None:
    command, output = _readme_console("kubectl-wait")
    name = shlex.split(command)[3].split("/")[1]
    setup.kubectl.apply(setup.replication(name), setup.replication("typo", localBucket={"name": "no-such-bucket"}))
    done = _as_user(command.replace("-n demo", f"-n {setup.namespace}"), setup.kubectl)
    assert (done.returncode, done.stdout.splitlines()) == (0, output), done.stderr
    assert health.kstatus(setup.kubectl.get("replication", name) or {})["status"] == "Current"

    setup.kubectl.wait_reason("replication", "typo", "BucketNotFound")
    stalled = setup.kubectl("wait", "--for=condition=Stalled", "replication/typo", "--timeout=30s")
    assert "condition met" in stalled
    typo = setup.kubectl.get("replication", "typo") or {}
    assert (health.kstatus(typo)["status"], health.argocd(typo)["status"]) == ("Failed", "Degraded")
    late = setup.kubectl("wait", "--for=condition=Ready", "replication/typo", "--timeout=2s", check=False)
    assert "timed out waiting for the condition" in late, late


def test_an_edit_that_needs_a_person_reads_failed_and_its_fix_applies_it(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    """Flux waits on kstatus, which checks the generation first: an edit that ends
    stuck reads Failed (its generation observed, Stalled), not InProgress until
    Flux's timeout. Observed is not applied: once the cause is fixed the edit is
    applied as the change it is (Updated, not DriftCorrected)."""
    setup.kubectl.apply(setup.replication("moved"))
    setup.ready("replication", "moved")
    edited = setup.replication("moved")
    edited["spec"]["remote"] = {"connectionRef": {"name": "cloud2"}}
    setup.kubectl.apply(edited)
    setup.kubectl.wait_reason("replication", "moved", "RemoteConnectionNotFound")
    stuck = eventually(
        lambda: (r := setup.kubectl.get("replication", "moved")) and r["status"]["observedGeneration"] == 2 and r,
        timeout=30,
        what="the stuck edit observed",
    )
    assert (health.kstatus(stuck)["status"], health.argocd(stuck)["status"]) == ("Failed", "Degraded")

    setup.kubectl.apply(cloud_remote(sandbox.cloud, setup.namespace, "cloud2", setup.unique))
    remote_id = setup.ready("remoteconnection", "cloud2")["status"]["id"]
    moved = eventually(
        lambda: (r := setup.kubectl.get("replication", "moved")) and r["status"].get("remoteID") == remote_id and r,
        timeout=60,
        what="the edit applied",
    )
    assert health.kstatus(moved)["status"] == "Current"
    status, body = sandbox.edge.request("GET", f"/api/v2/replications/{moved['status']['id']}")
    assert (status, body["remoteID"]) == (200, remote_id), body
    reasons = eventually(
        lambda: "Updated" in (r := [e["reason"] for e in setup.kubectl.events("moved")]) and r,
        timeout=30,
        what="the Updated Event",
    )
    assert "DriftCorrected" not in reasons, reasons


def test_events_come_from_the_operator_and_its_pod(setup: Setup) -> None:
    setup.kubectl.apply(setup.replication("typo", localBucket={"name": "no-such-bucket"}))
    setup.kubectl.wait_reason("replication", "typo", "BucketNotFound")

    def events() -> list[dict[str, object]]:
        listed = json.loads(setup.kubectl("get", "events", "--field-selector=involvedObject.name=typo", "-o", "json"))
        return [e for e in listed["items"] if e["reason"] == "BucketNotFound"]

    event = eventually(lambda: next(iter(events()), None), timeout=30, what="the BucketNotFound Event")
    assert event["reportingComponent"] == EVENT_COMPONENT
    assert event["source"] == {"component": EVENT_COMPONENT}
    # The operator under test runs on this machine: its hostname is its pod's name in a cluster.
    assert event["reportingInstance"] == socket.gethostname()
    described = setup.kubectl("describe", "replication", "typo")
    assert re.search(rf"^\s+Warning\s+BucketNotFound\s+\S+\s+{EVENT_COMPONENT}\s+", described, re.M), described


def test_the_charts_argocd_health_checks_merge_into_argocd_cm_as_the_readme_shows(kubectl: Kubectl) -> None:
    for namespace in ("argocd", RELEASE_NAMESPACE):
        if kubectl.get("namespace", namespace) is None:
            kubectl("create", "namespace", namespace)
    # Argo CD's own argocd-cm, with a setting of its own that must stay.
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": "argocd"},
            "data": {"url": "https://argocd.example.com"},
        }
    )
    assert not [d for d in render() if d["metadata"]["name"].endswith("-argocd-health")], "opt-in"
    fragment = [
        d for d in render("argocd.healthChecks.enabled=true") if d["metadata"]["name"].endswith("-argocd-health")
    ]
    assert len(fragment) == 1
    kubectl("apply", "-f", "-", input=yaml.safe_dump(fragment[0]))
    command, _ = _readme_console("argocd-cm-merge")
    done = _as_user(command, kubectl)
    assert done.returncode == 0, done.stderr
    data = (kubectl.in_namespace("argocd").get("configmap", "argocd-cm") or {})["data"]
    keys = {f"resource.customizations.health.{v1alpha1.GROUP}_{kind.kind}" for kind in crds.KINDS}
    assert set(data) == keys | {"url"}
    for kind in crds.KINDS:
        script = data[f"resource.customizations.health.{v1alpha1.GROUP}_{kind.kind}"]
        assert script == health.script(kind.kind).read_text().rstrip("\n"), kind.kind
