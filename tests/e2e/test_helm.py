"""The install path a user takes, on a real cluster: the README's commands that
install a release (chart and image from the suite's registry, `make release`'s),
the examples with in-cluster URLs, the leader's pod deleted mid-burst, an
upgrade, an uninstall and a reinstall (the chart's two replicas: one leads).
The tests run in file order on one Helm release; each checks InfluxDB itself,
not only what the operator reports.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import string
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from e2e import providers
from e2e.world import FIGURES, Influx
from prometheus_client.parser import text_string_to_metric_families

from sandbox import binaries
from support.kubectl import Kubectl, KubectlError, condition, eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "influxdb-replication-operator"
NAMESPACE = "influxdb-replication-operator"
METRICS_URL = f"http://{RELEASE}-metrics.{NAMESPACE}.svc:9090/metrics"
EXAMPLES = "demo"
BURST = 50
# InfluxDB's live figures of a replication; everything else must stay as it was.
LIVE_FIELDS = {"currentQueueSizeBytes", "remainingBytesToBeSynced", "latestResponseCode", "latestErrorMessage"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
LEASE_RETRY_PERIOD = 2  # the chart's leaderElection.retryPeriodSeconds


def readme_commands() -> dict[str, list[list[str]]]:
    """docs/install.md's release install block and its upgrade and uninstall commands, as argv lists
    (the README's quick start is the same block: tests/unit/test_readme.py)."""
    readme = (ROOT / "docs" / "install.md").read_text()
    section = re.search(r"\n## Install a release\n(.*?)\n## ", readme, re.DOTALL)
    assert section, "docs/install.md: no ## Install a release section"
    install = re.search(r"```sh\n(.*?)```", section.group(1), re.DOTALL)
    upgrade = re.search(r"\*\*Upgrade:\*\* `([^`]+)`", section.group(1))
    uninstall = re.search(r"\*\*Uninstall:\*\* `([^`]+)`", section.group(1))
    assert install, "docs/install.md: no ```sh block under ## Install a release"
    assert upgrade, "docs/install.md: no **Upgrade:** `command` under ## Install a release"
    assert uninstall, "docs/install.md: no **Uninstall:** `command` under ## Install a release"
    checkout = re.search(r"\n## With Helm, from a checkout\n.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert checkout, "docs/install.md: no ```sh block under ## With Helm, from a checkout"

    def lines(block: str) -> list[list[str]]:
        return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]

    return {
        "install": lines(install.group(1)),
        "upgrade": [shlex.split(upgrade.group(1))],
        "uninstall": [shlex.split(uninstall.group(1))],
        "checkout": lines(checkout.group(1)),
    }


@dataclass
class User:
    """Runs commands as the README writes them: kubectl and helm of the testbin, on the e2e cluster."""

    kubeconfig: Path
    registry: str  # the REGISTRY `make release` was given
    version: str

    def run(self, argv: list[str], *extra: str) -> str:
        tool, *args = argv
        assert tool in ("kubectl", "helm"), f"README command not understood: {argv}"
        # Only the README's placeholders change, to the release the suite made;
        # its registry is plain HTTP, as a private one without TLS may be.
        placeholders = {"<registry>": self.registry, "<version>": self.version}
        args = [re.sub("|".join(placeholders), lambda m: placeholders[m.group(0)], a) for a in args]
        if tool == "helm" and any(a.startswith("oci://") for a in args):
            args.append("--plain-http")
        done = subprocess.run(
            [binaries.path(tool), *args, *extra],
            cwd=ROOT,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{shlex.join(argv)} failed: {done.stderr}"
        return done.stdout


@dataclass
class Installed:
    user: User
    commands: dict[str, list[list[str]]]
    # Wall clock: the cluster's condition times share it (same host), at 1s resolution.
    installed_at: datetime


def leader_name(kubectl: Kubectl) -> str | None:
    """The Pod the release's Lease names (its holder is `<pod>_<suffix>`), if any."""
    lease = kubectl.in_namespace(NAMESPACE).get("lease", RELEASE)
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    return holder.rpartition("_")[0] or None


def operator_pod(kubectl: Kubectl) -> dict[str, Any]:
    """The leading operator Pod (of the chart's two), not being deleted."""
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", f"app.kubernetes.io/name={RELEASE}", "-o", "json"))
    alive = {p["metadata"]["name"]: p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")}
    leader = leader_name(kubectl)
    assert leader in alive, (leader, sorted(alive))
    return dict(alive[leader])


def wait_rolled_out(kubectl: Kubectl) -> dict[str, Any]:
    """Every replica rolled out and Ready; the leader among them."""
    kubectl("-n", NAMESPACE, "rollout", "status", f"deploy/{RELEASE}", "--timeout=180s", timeout=200)
    return eventually(lambda: _ready_pod(kubectl), timeout=60, what="a Ready leader Pod")  # type: ignore[no-any-return]


def _ready_pod(kubectl: Kubectl) -> dict[str, Any] | None:
    try:
        pod = operator_pod(kubectl)
    except AssertionError:
        return None
    return pod if condition(pod, "Ready").get("status") == "True" else None


class LeaderWatch:
    """The release's Lease read every 0.2s from a thread: the holders seen, and
    the longest time it was held by nobody (released, not yet taken)."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl, self.longest_gap, self._seen = kubectl, 0.0, [leader_name(kubectl)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def holders(self) -> int:
        return len({holder for holder in self._seen if holder})

    def __enter__(self) -> LeaderWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        released_at: float | None = None
        while not self._stop.wait(0.2):
            try:
                holder = leader_name(self.kubectl)
            except KubectlError:  # one failed read is no change
                continue
            now = time.monotonic()
            if holder != self._seen[-1]:
                self._seen.append(holder)
            if holder is None and released_at is None:
                released_at = now
            elif holder is not None and released_at is not None:
                self.longest_gap = max(self.longest_gap, now - released_at)
                released_at = None


def operator_calls(influx: Influx, kubectl: Kubectl) -> dict[tuple[str, str], float]:
    """influxdb_operator_influxdb_api_calls_total of the leader, by (endpoint, method):
    from its Pod, not through the Service, which may answer with a standby's."""
    pod_ip = operator_pod(kubectl)["status"]["podIP"]
    calls: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(influx.edge.get(f"http://{pod_ip}:9090/metrics")):
        if family.name == "influxdb_operator_influxdb_api_calls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (sample.labels["endpoint"], sample.labels["method"])
                    calls[key] = calls.get(key, 0) + sample.value
    return calls


def mutations(calls: dict[tuple[str, str], float]) -> float:
    return sum(n for (_, method), n in calls.items() if method in MUTATING)


def refreshes(calls: dict[tuple[str, str], float]) -> float:
    """Listings of replications: one per instance refresh."""
    return sum(n for (endpoint, method), n in calls.items() if (endpoint, method) == ("/api/v2/replications", "GET"))


def settled_calls(influx: Influx, kubectl: Kubectl) -> dict[tuple[str, str], float]:
    """The new leader's calls once it has refreshed its instance twice: by then it
    has seen every resource and would have corrected anything it found wrong."""

    def twice() -> dict[tuple[str, str], float] | None:
        try:
            calls = operator_calls(influx, kubectl)
        except (KubectlError, AssertionError):  # a new Pod not serving yet, or no leader yet
            return None
        return calls if refreshes(calls) >= 2 else None

    return eventually(twice, timeout=90, interval=2, what="two refreshes")  # type: ignore[no-any-return]


def edge_objects(influx: Influx) -> dict[str, dict[str, Any]]:
    """The edge's remotes and replications by ID, without their live figures."""
    org = json.loads(influx.edge.api("GET", "/api/v2/orgs?org=edge-org"))["orgs"][0]["id"]
    objects: dict[str, dict[str, Any]] = {}
    for kind in ("remotes", "replications"):
        for item in json.loads(influx.edge.api("GET", f"/api/v2/{kind}?orgID={org}"))[kind]:
            objects[item["id"]] = {k: v for k, v in item.items() if k not in LIVE_FIELDS}
    return objects


def replication_ids(kubectl: Kubectl) -> dict[str, str | None]:
    items = json.loads(kubectl("-n", EXAMPLES, "get", "replications", "-o", "json"))["items"]
    return {i["metadata"]["name"]: (i.get("status") or {}).get("id") for i in items}


def all_ready(kubectl: Kubectl, kind: str) -> bool:
    items = json.loads(kubectl("-n", EXAMPLES, "get", kind, "-o", "json"))["items"]
    return bool(items) and all(condition(i, "Ready").get("status") == "True" for i in items)


def ready_after_creation(kubectl: Kubectl, kind: str) -> float:
    """Seconds from the first resource's creation to its Ready condition (the API's resolution: 1s)."""
    item = json.loads(kubectl("-n", EXAMPLES, "get", kind, "-o", "json"))["items"][0]
    created = datetime.fromisoformat(item["metadata"]["creationTimestamp"])
    return (datetime.fromisoformat(condition(item, "Ready")["lastTransitionTime"]) - created).total_seconds()


def apply_examples(kubectl: Kubectl, influx: Influx) -> None:
    """deploy/examples/ as written, with in-cluster URLs and the InfluxDB Pods' tokens."""
    cloud_org = json.loads(influx.cloud.api("GET", "/api/v2/orgs?org=cloud-org"))["orgs"][0]["id"]
    values = {
        "EDGE_TOKEN": influx.edge_token,
        "CLOUD_TOKEN": influx.cloud_token,
        "EDGE_URL": f"http://edge.{influx.namespace}.svc:8086",
        "CLOUD_URL": f"http://cloud.{influx.namespace}.svc:8086",
        "CLOUD_ORG_ID": cloud_org,
    }
    examples = sorted((ROOT / "deploy/examples").glob("*.yaml"))
    kubectl("create", "namespace", EXAMPLES)
    kubectl(
        "apply", "-f", "-", input="\n---\n".join(string.Template(p.read_text()).substitute(values) for p in examples)
    )


@pytest.fixture(scope="module")
def installed(cluster: providers.Cluster, release: dict[str, Any], kubectl: Kubectl, influx: Influx) -> Installed:
    """The release installed from the registry with the README's own commands (the
    node pulls its image: nothing is loaded onto it), and the examples applied;
    the later tests change them."""
    commands = readme_commands()
    user = User(cluster.kubeconfig, registry=release["image"].rsplit("/", 1)[0], version=release["version"])
    installed_at = datetime.now(UTC)
    started = time.monotonic()
    for argv in commands["install"]:
        user.run(argv)
    FIGURES["helm install to rollout complete"] = f"{time.monotonic() - started:.1f}s"
    # At once, so that the time to the first Ready Replication is what a user sees.
    apply_examples(kubectl, influx)
    FIGURES["helm install to examples applied"] = f"{time.monotonic() - started:.1f}s"
    return Installed(user, commands, installed_at)


def test_helm_install_runs_a_ready_probed_pod_in_a_restricted_namespace(
    installed: Installed, release: dict[str, Any], kubectl: Kubectl, influx: Influx
) -> None:
    pod = wait_rolled_out(kubectl)
    assert [c["restartCount"] for c in pod["status"]["containerStatuses"]] == [0]
    # The chart's default image is the release's, by digest, and the node pulled it.
    (container,) = pod["spec"]["containers"]
    assert container["image"] == f"{release['image']}@{release['digest']}"
    assert pod["status"]["containerStatuses"][0]["imageID"].endswith(f"@{release['digest']}")
    # The first of the two replicas on the node pulled it; the other (the leader,
    # maybe) found it there: the release's Pods' Events together.
    pod_prefix = pod["metadata"]["name"].rsplit("-", 2)[0]
    events = [
        e
        for e in json.loads(
            kubectl("-n", NAMESPACE, "get", "events", "--field-selector", "involvedObject.kind=Pod", "-o", "json")
        )["items"]
        if e["involvedObject"]["name"].startswith(f"{pod_prefix}-")
    ]
    assert any(e["reason"] == "Pulled" and "Successfully pulled" in e["message"] for e in events), [
        (e["reason"], e["message"]) for e in events
    ]
    # The namespace enforces `restricted`, and that admitted the operator's Pod.
    labels = json.loads(kubectl("get", "namespace", NAMESPACE, "-o", "json"))["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    refused = kubectl(
        "-n", NAMESPACE, "run", "privileged", "--image=busybox", "--privileged", "--dry-run=server", check=False
    )
    assert "violates PodSecurity" in refused, refused
    # The kubelet has really run the liveness probe, and it passed.
    node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]

    def probed() -> float:
        text = kubectl("get", "--raw", f"/api/v1/nodes/{node}/proxy/metrics/probes")
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "prober_probe_total"
            and s.labels.get("pod") == name
            and s.labels.get("probe_type") == "Liveness"
            and s.labels.get("result") == "successful"
        )

    FIGURES["liveness probes passed"] = str(eventually(probed, timeout=90, interval=2, what="a liveness probe"))
    # /metrics answers through the metrics Service, from another Pod: the Service
    # picks either replica, and both say whether they lead (a standby has no reconciles).
    assert re.search(r"^influxdb_operator_leader [01]", influx.edge.get(METRICS_URL), re.M)


def test_examples_with_in_cluster_urls_carry_points_to_the_cloud(
    installed: Installed, kubectl: Kubectl, influx: Influx
) -> None:
    eventually(partial(all_ready, kubectl, "replications"), timeout=120, interval=0.2, what="the Replication Ready")
    (replication,) = json.loads(kubectl("-n", EXAMPLES, "get", "replications", "-o", "json"))["items"]
    ready_at = datetime.fromisoformat(condition(replication, "Ready")["lastTransitionTime"])
    FIGURES["helm install to first Replication Ready"] = f"{(ready_at - installed.installed_at).total_seconds():.0f}s"
    for kind in ("influxdbinstances", "remoteconnections"):
        assert all_ready(kubectl, kind), kind
    FIGURES["examples Ready after creation"] = ", ".join(
        f"{kind} {ready_after_creation(kubectl, kind):.0f}s"
        for kind in ("influxdbinstances", "remoteconnections", "replications")
    )

    run = os.urandom(4).hex()
    influx.edge.api("POST", "/api/v2/write?org=edge-org&bucket=metrics&precision=s", f"e2e,run={run} value=42")
    flux = (
        'from(bucket: "metrics") |> range(start: -1h)'
        f' |> filter(fn: (r) => r._measurement == "e2e" and r.run == "{run}")'
    )
    query = json.dumps({"query": flux, "type": "flux"})

    def arrived() -> list[str]:
        rows = [line.split(",") for line in influx.cloud.api("POST", "/api/v2/query?org=cloud-org", query).splitlines()]
        header = next((r for r in rows if "_value" in r), None)
        if header is None:
            return []
        return [
            r[header.index("_value")] for r in rows if len(r) == len(header) and r is not header and r[1] != "result"
        ]

    assert eventually(arrived, timeout=90, interval=1, what="the point at the cloud") == ["42"]


def test_pod_killed_mid_burst_converges_without_duplicates(
    installed: Installed, kubectl: Kubectl, influx: Influx
) -> None:
    before = set(edge_objects(influx))
    docs = [
        {
            "apiVersion": "influxdb.replication.dev/v1alpha1",
            "kind": "Replication",
            "metadata": {"name": f"burst-{i:02}", "namespace": EXAMPLES},
            "spec": {
                "instanceRef": {"name": "edge"},
                "localBucket": {"name": "metrics"},
                "remote": {"connectionRef": {"name": "cloud"}},
                "remoteBucket": {"name": "metrics"},
            },
        }
        for i in range(BURST)
    ]
    old = operator_pod(kubectl)["metadata"]["name"]
    # One create at a time, as a client bursting would; halfway through, the Pod goes.
    half = BURST // 2
    for doc in docs[:half]:
        kubectl("create", "-f", "-", input=json.dumps(doc))
    with_id = sum(1 for name, id_ in replication_ids(kubectl).items() if name.startswith("burst-") and id_)
    kubectl("-n", NAMESPACE, "delete", "pod", old, "--wait=false")
    killed_at = time.monotonic()
    for doc in docs[half:]:
        kubectl("create", "-f", "-", input=json.dumps(doc))
    FIGURES["pod killed after"] = f"{half} of {BURST} creates, {with_id} of them already in InfluxDB"

    # The standby (the Pod's replacement, or the other replica) leads: the old leader
    # stopped cleanly and handed the Lease back.
    eventually(lambda: leader_name(kubectl) not in (None, old), timeout=60, interval=0.2, what="another leader")
    FIGURES["pod delete to another leader"] = f"{time.monotonic() - killed_at:.1f}s"
    new = wait_rolled_out(kubectl)
    assert new["metadata"]["name"] != old

    def converged() -> bool:
        ids = replication_ids(kubectl)
        burst = {name: id_ for name, id_ in ids.items() if name.startswith("burst-")}
        return len(burst) == BURST and all(burst.values()) and all_ready(kubectl, "replications")

    eventually(converged, timeout=180, interval=0.5, what=f"{BURST} burst Replications Ready")
    FIGURES["pod-kill convergence"] = f"{time.monotonic() - killed_at:.1f}s"
    ids = {id_ for name, id_ in replication_ids(kubectl).items() if name.startswith("burst-")}
    created = set(edge_objects(influx)) - before
    # Exactly one InfluxDB replication per resource: none lost, none duplicated.
    assert created == ids
    assert len(created) == BURST


def test_helm_upgrade_rolls_the_pod_and_changes_nothing_in_influxdb(
    installed: Installed, kubectl: Kubectl, influx: Influx
) -> None:
    before = edge_objects(influx)
    old = operator_pod(kubectl)["metadata"]["uid"]
    (upgrade,) = installed.commands["upgrade"]
    with LeaderWatch(kubectl) as watch:
        installed.user.run(upgrade, "--set", "verbose=true")
        new = wait_rolled_out(kubectl)
    # Each replaced leader handed the Lease back; the next took it at its next retry.
    FIGURES["helm upgrade: longest time with the Lease released"] = f"{watch.longest_gap:.1f}s"
    assert watch.holders >= 2, "the leader changed during the rollout"
    assert watch.longest_gap < LEASE_RETRY_PERIOD * 1.2 + 3, watch.longest_gap
    assert new["metadata"]["uid"] != old
    assert "--verbose" in new["spec"]["containers"][0]["args"]
    assert [c["restartCount"] for c in new["status"]["containerStatuses"]] == [0]
    calls = settled_calls(influx, kubectl)
    assert mutations(calls) == 0, calls
    assert edge_objects(influx) == before


def test_uninstall_keeps_everything_and_a_reinstall_sends_nothing(
    installed: Installed, kubectl: Kubectl, influx: Influx
) -> None:
    before = edge_objects(influx)
    resources = replication_ids(kubectl)
    (uninstall,) = installed.commands["uninstall"]
    installed.user.run(uninstall)
    eventually(lambda: not kubectl("-n", NAMESPACE, "get", "pods", "-o", "name"), timeout=120, what="no operator Pod")
    kubectl("get", "crd", "replications.influxdb.replication.dev", "remoteconnections.influxdb.replication.dev")
    assert replication_ids(kubectl) == resources
    assert edge_objects(influx) == before

    (install,) = [argv for argv in installed.commands["install"] if argv[:2] == ["helm", "install"]]
    installed.user.run(install)
    wait_rolled_out(kubectl)
    calls = settled_calls(influx, kubectl)
    assert mutations(calls) == 0, calls
    assert all_ready(kubectl, "replications")
    assert replication_ids(kubectl) == resources
    assert edge_objects(influx) == before


def test_the_checkouts_chart_installs_the_released_image_and_sends_nothing(
    installed: Installed, kubectl: Kubectl, influx: Influx
) -> None:
    """The README's other install, from this checkout's chart with the image named by --set."""
    before = edge_objects(influx)
    (uninstall,) = installed.commands["uninstall"]
    installed.user.run(uninstall)
    eventually(lambda: not kubectl("-n", NAMESPACE, "get", "pods", "-o", "name"), timeout=120, what="no operator Pod")
    (install,) = [argv for argv in installed.commands["checkout"] if argv[:2] == ["helm", "install"]]
    installed.user.run(install)
    pod = wait_rolled_out(kubectl)
    assert pod["spec"]["containers"][0]["image"] == f"{installed.user.registry}/{RELEASE}:{installed.user.version}"
    calls = settled_calls(influx, kubectl)
    assert mutations(calls) == 0, calls
    assert all_ready(kubectl, "replications")
    assert edge_objects(influx) == before
