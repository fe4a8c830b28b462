"""The chart's two replicas on a real cluster: the leader's Pod force-deleted in
the middle of a burst of creates, and voluntary disruptions through the
Eviction API (what `kubectl drain` uses) against the PodDisruptionBudget.

A release of its own (the released image, this checkout's chart), watching a
namespace of its own, beside whatever test_helm.py installed."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e import providers
from e2e.world import FIGURES, Influx

from sandbox import binaries
from support import manifests
from support.kubectl import Kubectl, condition, eventually

pytestmark = pytest.mark.e2e

RELEASE = "ha"
NAMESPACE = "ha-operator"
WATCHED = "ha-demo"
CHART = "deploy/chart/influxdb-replication-operator"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
BURST = 50
LEASE_DURATION, RETRY_PERIOD = 15, 2  # the chart's defaults


def pods(kubectl: Kubectl) -> dict[str, dict[str, Any]]:
    """The release's Pods not being deleted, by name."""
    found = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", SELECTOR, "-o", "json"))["items"]
    return {p["metadata"]["name"]: p for p in found if not p["metadata"].get("deletionTimestamp")}


def ready(pod: dict[str, Any]) -> bool:
    return condition(pod, "Ready").get("status") == "True"


def leader(kubectl: Kubectl) -> str | None:
    """The Pod the Lease names (`<pod>_<suffix>`)."""
    lease = kubectl.in_namespace(NAMESPACE).get("lease", RELEASE)  # the Lease is named after the release
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    return holder.rpartition("_")[0] or None


def both_ready_one_leading(kubectl: Kubectl) -> str | None:
    alive = pods(kubectl)
    name = leader(kubectl)
    return name if len(alive) == 2 and all(map(ready, alive.values())) and name in alive else None


def evict(kubectl: Kubectl, pod: str) -> subprocess.CompletedProcess[str]:
    """A policy/v1 Eviction, as `kubectl drain` posts it."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NAMESPACE}}
    return subprocess.run(
        [
            binaries.path("kubectl"),
            f"--kubeconfig={kubectl.kubeconfig}",
            "create",
            "--raw",
            f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction",
            "-f",
            "-",
        ],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def ha(release: dict[str, Any], cluster: providers.Cluster, kubectl: Kubectl, influx: Influx) -> Iterator[Kubectl]:
    """The release installed and rolled out, an instance and a remote in WATCHED; kubectl in WATCHED.
    Afterwards the cluster is as it was: its resources deleted while its operator
    still runs their finalizers, the release uninstalled and its image removed from the node, and the CRDs, if this
    module applied them, deleted (test_helm.py installs them with its release)."""
    applied_crds = kubectl.get("crd", "replications.influxdb.replication.dev") is None
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "crds/")
    for namespace in (NAMESPACE, WATCHED):
        if kubectl.get("namespace", namespace) is None:
            kubectl("create", "namespace", namespace)
    kubectl("label", "--overwrite", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted")
    repository, _, _ = release["image"].rpartition(":")
    helm = [
        binaries.path("helm"),
        f"--kubeconfig={kubectl.kubeconfig}",
        "upgrade",
        "--install",
        RELEASE,
        CHART,
        f"--namespace={NAMESPACE}",
        "--set=crds.enabled=false",
        f"--set=image.repository={repository}",
        f"--set=image.digest={release['digest']}",
        f"--set=watchNamespaces={{{WATCHED}}}",
        f"--set=fullnameOverride={RELEASE}",
    ]
    done = subprocess.run(helm, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    eventually(lambda: both_ready_one_leading(kubectl), timeout=180, interval=1, what="two Ready replicas, one leading")
    cloud_org = json.loads(influx.cloud.api("GET", "/api/v2/orgs?org=cloud-org"))["orgs"][0]["id"]
    watched = kubectl.in_namespace(WATCHED)
    watched.apply(
        manifests.secret("edge-token", WATCHED, influx.edge_token),
        manifests.secret("cloud-token", WATCHED, influx.cloud_token),
        manifests.instance(
            "edge", WATCHED, url=f"http://edge.{influx.namespace}.svc:8086", org="edge-org", secret="edge-token"
        ),
        manifests.remote(
            "cloud",
            WATCHED,
            instance="edge",
            url=f"http://cloud.{influx.namespace}.svc:8086",
            org_id=cloud_org,
            secret="cloud-token",
            name="ha-cloud",
        ),
    )
    watched.wait_ready("remoteconnection", "cloud", timeout=120)
    yield watched
    for kind in ("replicationsets", "replications", "remoteconnections", "influxdbinstances"):
        watched("delete", kind, "--all", "--wait=true", "--timeout=120s", check=False, timeout=180)
    subprocess.run(
        [
            binaries.path("helm"),
            f"--kubeconfig={kubectl.kubeconfig}",
            "uninstall",
            "--wait",
            RELEASE,
            f"-n={NAMESPACE}",
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    # test_helm.py proves that its install pulls the release from the registry.
    cluster.remove_image(f"{repository}@{release['digest']}")
    if applied_crds:
        kubectl("delete", "-f", "crds/", "--wait=true", "--timeout=120s", check=False, timeout=180)


def edge_replication_names(influx: Influx) -> list[str]:
    org = json.loads(influx.edge.api("GET", "/api/v2/orgs?org=edge-org"))["orgs"][0]["id"]
    listed = json.loads(influx.edge.api("GET", f"/api/v2/replications?orgID={org}"))["replications"] or []
    return [str(r["name"]) for r in listed]


def test_leader_pod_force_deleted_mid_burst_fails_over_within_the_lease(
    ha: Kubectl, kubectl: Kubectl, influx: Influx
) -> None:
    old = eventually(lambda: both_ready_one_leading(kubectl), timeout=120, what="one leader")
    names = [f"ha-burst-{i:02}" for i in range(BURST)]
    docs = [
        manifests.replication(
            name, WATCHED, instance="edge", local_bucket="metrics", connection="cloud", remote_bucket="metrics"
        )
        for name in names
    ]
    killed_at = 0.0
    for i, doc in enumerate(docs):
        ha("create", "-f", "-", input=json.dumps(doc))
        if i == BURST // 2:
            kubectl("-n", NAMESPACE, "delete", "pod", old, "--grace-period=0", "--force")
            killed_at = time.monotonic()
    eventually(
        lambda: leader(kubectl) not in (None, old), timeout=LEASE_DURATION + 30, interval=0.2, what="another leader"
    )
    failover = time.monotonic() - killed_at
    FIGURES["leader force-deleted to another leader"] = f"{failover:.1f}s (lease {LEASE_DURATION}s)"
    # The standby waits the lease out from when it last saw it renewed, plus a jittered retry.
    assert failover <= LEASE_DURATION + 1.2 * RETRY_PERIOD + 5

    for name in names:
        ha.wait_ready("replication", name, timeout=180)
    ours = [name for name in edge_replication_names(influx) if name in names]
    assert sorted(ours) == sorted(names), "every Replication once in InfluxDB, none twice"


def test_the_pdb_lets_a_drain_evict_the_leader_but_never_the_last_ready_replica(ha: Kubectl, kubectl: Kubectl) -> None:
    first = eventually(lambda: both_ready_one_leading(kubectl), timeout=180, interval=1, what="two Ready replicas")
    eventually(
        lambda: (
            (kubectl.in_namespace(NAMESPACE).get("pdb", RELEASE) or {}).get("status", {}).get("disruptionsAllowed") == 1
        ),
        timeout=60,
        what="the PDB allowing one disruption",
    )
    evicted = evict(kubectl, first)
    assert evicted.returncode == 0, evicted.stderr
    started = time.monotonic()
    # A clean stop: the evicted leader hands the Lease over, the standby takes it.
    eventually(lambda: leader(kubectl) not in (None, first), timeout=LEASE_DURATION, interval=0.2, what="handover")
    FIGURES["leader evicted to another leader"] = f"{time.monotonic() - started:.1f}s"
    eventually(lambda: both_ready_one_leading(kubectl), timeout=180, interval=1, what="two Ready replicas again")

    # One replica left: it is the last Ready one, and an eviction is refused.
    kubectl("-n", NAMESPACE, "scale", f"deployment/{RELEASE}", "--replicas=1")
    eventually(lambda: len(pods(kubectl)) == 1, timeout=120, what="one replica")
    eventually(
        lambda: (
            (kubectl.in_namespace(NAMESPACE).get("pdb", RELEASE) or {}).get("status", {}).get("disruptionsAllowed") == 0
        ),
        timeout=60,
        what="the PDB allowing no disruption",
    )
    (last,) = pods(kubectl)
    refused = evict(kubectl, last)
    assert refused.returncode != 0
    assert "disruption budget" in refused.stderr, refused.stderr
    assert last in pods(kubectl)
    kubectl("-n", NAMESPACE, "scale", f"deployment/{RELEASE}", "--replicas=2")
    eventually(lambda: both_ready_one_leading(kubectl), timeout=180, interval=1, what="two replicas again")


def test_helm_upgrade_keeps_a_leader_and_serves_a_replication_made_meanwhile(
    ha: Kubectl, kubectl: Kubectl, influx: Influx
) -> None:
    """A changed value rolls both Pods; each leader hands the Lease back as it
    stops, and a Replication created as the rollout starts is Ready before it ends."""
    eventually(lambda: both_ready_one_leading(kubectl), timeout=180, interval=1, what="two Ready replicas")
    before = {p["metadata"]["uid"] for p in pods(kubectl).values()}
    helm = [binaries.path("helm"), f"--kubeconfig={kubectl.kubeconfig}", "upgrade", RELEASE, CHART]
    helm += [f"--namespace={NAMESPACE}", "--reuse-values", "--set=verbose=true"]
    done = subprocess.run(helm, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    started = time.monotonic()
    name = "ha-during-upgrade"
    ha.apply(
        manifests.replication(
            name, WATCHED, instance="edge", local_bucket="metrics", connection="cloud", remote_bucket="metrics"
        )
    )
    ready_at = rolled_at = None
    released_since: float | None = None
    longest_released = 0.0
    holders: set[str] = set()
    new_leader = False  # a replaced Pod may go on leading while it stops, after the rollout is done
    while rolled_at is None or ready_at is None or not new_leader:
        assert time.monotonic() - started < 300, "the rollout or the Replication took over 5 minutes"
        holder = leader(kubectl)
        now = time.monotonic()
        if holder is None:
            released_since = released_since or now
        else:
            holders.add(holder)
            if released_since is not None:
                longest_released = max(longest_released, now - released_since)
                released_since = None
        if ready_at is None and condition(ha.get("replication", name), "Ready").get("status") == "True":
            ready_at = now - started
        if rolled_at is None:
            rollout = ["-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=1s"]
            if kubectl(*rollout, check=False).strip().endswith("successfully rolled out"):
                rolled_at = now - started
        elif holder is not None:
            alive = pods(kubectl)
            new_leader = holder in alive and alive[holder]["metadata"]["uid"] not in before
    FIGURES["ha upgrade: Replication Ready / rollout done / a new Pod leads"] = (
        f"{ready_at:.1f}s / {rolled_at:.1f}s / {time.monotonic() - started:.1f}s"
    )
    FIGURES["ha upgrade: longest time with the Lease released"] = f"{longest_released:.1f}s"
    assert ready_at < rolled_at, "the Replication waited for the rollout"
    assert longest_released < 1.2 * RETRY_PERIOD + 3
    alive = pods(kubectl)
    assert not before & {p["metadata"]["uid"] for p in alive.values()}, "both Pods replaced"
    assert len(holders) >= 2, "the leader changed during the rollout"
    eventually(lambda: both_ready_one_leading(kubectl), timeout=60, what="two Ready replicas, one leading")
    assert [r for r in edge_replication_names(influx) if r == name] == [name]
