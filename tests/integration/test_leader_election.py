"""Two operator processes, one Lease: exactly one acts, the other takes over
when it dies, and a leader frozen past its Lease sends nothing when it wakes.

Each candidate runs with the chart's RBAC under a ServiceAccount of its own,
and a FlowSchema per ServiceAccount matches its writes only: kube-apiserver's
own counters then say how many writes each process sent. InfluxDB's writes
are read from influxd's own /metrics, on an influxd of the test's own where
they can come from nothing else."""

from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox as sandbox_module
from influxdb_operator.leadership import fencing
from sandbox import influx, processes
from support import manifests
from support.chart import render
from support.kubectl import Kubectl, eventually
from support.operator_process import OperatorProcess
from support.request_counters import apiserver_writes, influxd_writes, writes_flow_schema
from support.scenario import ScratchInfluxd, Setup

# Shorter than controller-runtime's 15/10/2, in the same proportions, so a failover takes seconds.
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 6, 4.0, 1.0
IDENTITY_KINDS = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")


@dataclass
class Election:
    kubectl: Kubectl  # the test's namespace, as admin
    namespace: str
    lease: str
    candidates: dict[str, OperatorProcess] = field(default_factory=dict)
    flow_schemas: dict[str, str] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    baseline: dict[str, float] = field(default_factory=dict)

    def holder(self) -> str:
        lease = self.kubectl.get("lease", self.lease)
        return str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")

    def transitions(self) -> int:
        lease = self.kubectl.get("lease", self.lease) or {}
        return int((lease.get("spec") or {}).get("leaseTransitions") or 0)

    def leading(self, name: str) -> float | None:
        candidate = self.candidates[name]
        if name in self.paused or candidate.proc is None or candidate.proc.poll() is not None:
            return None
        try:
            return candidate.metric("influxdb_operator_leader")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None  # not serving yet

    def leader(self, timeout: float = 30) -> str:
        """The one candidate that says it leads, and whose Pod the Lease names."""

        def one() -> str | None:
            says = [name for name in self.candidates if self.leading(name) == 1]
            holder = self.holder()
            if len(says) == 1 and holder.startswith(self.candidates[says[0]].env["POD_ID"] + "_"):
                return says[0]
            return None

        found: str = eventually(one, timeout=timeout, interval=0.2, what="exactly one leader")
        return found

    def writes(self, name: str) -> float:
        """The candidate's writes since the fixture's own (its `kubectl auth can-i` is one)."""
        return apiserver_writes(self.kubectl, self.flow_schemas[name]) - self.baseline.get(name, 0.0)

    def pause(self, name: str) -> None:
        self.candidates[name].pause()
        self.paused.add(name)

    def resume(self, name: str) -> None:
        self.candidates[name].resume()
        self.paused.discard(name)


@pytest.fixture
def election(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, unique: str, tmp_path: Path
) -> Iterator[Election]:
    """Candidates "a" and "b" (not started), each with the chart's RBAC under
    its own ServiceAccount, watching `fault_namespace`, which holds the Lease."""
    ns = fault_namespace
    fullname = f"ha-{unique}"
    docs = render(f"watchNamespaces={{{ns}}}", f"fullnameOverride={fullname}", namespace=ns)
    identity = [d for d in docs if d["kind"] in IDENTITY_KINDS]
    account = next(d for d in identity if d["kind"] == "ServiceAccount")
    elected = Election(kubectl.in_namespace(ns), ns, fullname)
    extra: list[dict[str, Any]] = []
    for name in ("a", "b"):
        sa = f"{fullname}-{name}"
        copied = copy.deepcopy(account)
        copied["metadata"]["name"] = sa
        extra.append(copied)
        for binding in identity:
            if binding["kind"] in ("RoleBinding", "ClusterRoleBinding"):
                binding["subjects"].append({"kind": "ServiceAccount", "name": sa, "namespace": ns})
        elected.flow_schemas[name] = f"writes-{sa}"
        extra.append(writes_flow_schema(elected.flow_schemas[name], sa, ns))
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(identity + extra))
    for name in ("a", "b"):
        token = kubectl("create", "token", f"{fullname}-{name}", f"--namespace={ns}", "--duration=1h").strip()
        config = sandbox.kube.kubeconfig_for_token(token, tmp_path / f"kubeconfig-{name}")
        _wait_for_lease_rights(Kubectl(config), fullname, ns)
        port = processes.free_port()
        candidate = OperatorProcess(
            config,
            tmp_path / f"operator-{name}.log",
            "--leader-elect",
            f"--namespace={ns}",
            f"--lease-name={fullname}",
            f"--lease-namespace={ns}",
            f"--lease-duration={LEASE_DURATION}",
            f"--renew-deadline={RENEW_DEADLINE}",
            f"--retry-period={RETRY_PERIOD}",
            f"--metrics-port={port}",
        )
        candidate.metrics_url = f"http://127.0.0.1:{port}/metrics"
        candidate.env = {"POD_ID": f"candidate-{name}"}
        elected.candidates[name] = candidate
    elected.baseline = {name: elected.writes(name) for name in elected.candidates}
    try:
        yield elected
    finally:
        for name, candidate in elected.candidates.items():
            if name in elected.paused:
                elected.resume(name)
            candidate.stop()
        for schema in elected.flow_schemas.values():
            kubectl("delete", "flowschema", schema, "--ignore-not-found")


def _wait_for_lease_rights(as_candidate: Kubectl, lease: str, namespace: str) -> None:
    """RBAC takes effect once the authorizer's cache has the new bindings."""
    eventually(
        lambda: (
            as_candidate("auth", "can-i", "update", f"lease/{lease}", f"-n={namespace}", check=False).strip() == "yes"
        ),
        timeout=30,
        what="the chart's bindings in effect",
    )


def _settled_writes(elected: Election, server: influx.Influx) -> tuple[float, float, dict[str, float]]:
    """Both candidates' API server writes and influxd's, once two readings a second apart agree."""
    readings: list[tuple[float, float, dict[str, float]]] = []

    def steady() -> tuple[float, float, dict[str, float]] | None:
        readings.append((elected.writes("a"), elected.writes("b"), influxd_writes(server.url)))
        return readings[-1] if len(readings) > 1 and readings[-1] == readings[-2] else None

    found: tuple[float, float, dict[str, float]] = eventually(steady, timeout=30, interval=1, what="writes settled")
    return found


def test_one_leads_and_the_other_takes_over_a_killed_leader_mid_burst(
    sandbox: sandbox_module.Sandbox, election: Election, unique: str
) -> None:
    for candidate in election.candidates.values():
        candidate.start()
    first = election.leader()
    standby = next(name for name in election.candidates if name != first)
    # The standby may not serve /metrics yet (None) when the leader already does; once it does, it reads 0.
    eventually(lambda: election.leading(standby) == 0, timeout=20, interval=0.2, what="the standby's leader gauge at 0")
    assert election.candidates[first].metric("influxdb_operator_leader_changes_total") == 1
    # Started together, both may have tried to create the Lease: the loser's create is refused (409).
    standby_writes = election.writes(standby)
    assert standby_writes <= 1
    assert election.writes(first) > 0  # its Lease: the measure counts
    assert f"operator: leader candidate-{first} (Lease {election.namespace}/{election.lease}, " in _status(election)

    setup = Setup.create(sandbox, election.kubectl, unique)
    count = 30
    names = [f"burst-{unique}-{i}" for i in range(count)]
    for i, name in enumerate(names):
        election.kubectl.apply(setup.replication(name))
        if i == count // 3:
            assert election.writes(standby) == standby_writes, "the standby wrote while the leader ran"
            election.candidates[first].kill()
            killed = time.monotonic()
            took_over = None
        if i > count // 3 and took_over is None and election.leading(standby) == 1:
            took_over = time.monotonic() - killed
    assert election.leader(timeout=LEASE_DURATION + 10) == standby
    failover = took_over if took_over is not None else time.monotonic() - killed
    print(f"failover: the standby led {failover:.1f}s after the leader was killed (lease {LEASE_DURATION}s)")
    # Within the lease, a retry period (jittered) and the time to notice it here.
    assert failover <= LEASE_DURATION + 1.2 * RETRY_PERIOD + 2

    assert f"operator: leader candidate-{standby} (" in _status(election)
    for name in names:
        setup.ready("replication", name, timeout=120)
    edge = sandbox.edge.replications()
    ours = [r["name"] for r in edge if r["name"] in names]
    assert sorted(ours) == sorted(names), "every Replication once in InfluxDB, none twice"
    assert election.transitions() == 1


def _status(election: Election) -> str:
    """`kubectl influxdb status` on the test's namespace, as the admin."""
    done = subprocess.run(
        [sys.executable, "-m", "influxdb_operator.kubectl", "status", "-n", election.namespace],
        env={**os.environ, "KUBECONFIG": str(election.kubectl.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _fenced_setup(
    election: Election, scratch: influx.Influx, cloud: influx.Influx, names: list[str], unique: str
) -> list[dict[str, Any]]:
    ns = election.namespace
    election.kubectl.apply(
        manifests.secret("edge-token", ns, scratch.token),
        manifests.secret("cloud-token", ns, cloud.token),
        manifests.instance("edge", ns, url=scratch.url, org=scratch.org, secret="edge-token"),
        manifests.remote(
            "cloud", ns, instance="edge", url=cloud.url, org_id=cloud.orgID, secret="cloud-token", name=f"c-{unique}"
        ),
    )
    return [
        manifests.replication(
            name, ns, instance="edge", local_bucket="metrics", connection="cloud", remote_bucket="metrics"
        )
        for name in names
    ]


def test_a_frozen_leader_wakes_fenced_and_sends_nothing(
    sandbox: sandbox_module.Sandbox, election: Election, scratch_influxd: ScratchInfluxd, unique: str
) -> None:
    _, scratch = scratch_influxd("fenced")
    names = [f"fenced-{unique}-{i}" for i in range(5)]
    replications = _fenced_setup(election, scratch, sandbox.cloud, names, unique)
    for candidate in election.candidates.values():
        candidate.start()
    old = election.leader()
    new = next(name for name in election.candidates if name != old)
    election.kubectl.apply(*replications[:3])
    for name in names[:3]:
        election.kubectl.wait_ready("replication", name, timeout=60)

    # The leader freezes; meanwhile a change and two new streams are declared.
    election.pause(old)
    frozen = time.monotonic()
    changed = copy.deepcopy(replications[0])
    changed["spec"]["maxQueueSizeBytes"] = 40000000
    election.kubectl.apply(changed, *replications[3:])
    assert election.leader(timeout=LEASE_DURATION + 10) == new
    for name in names[3:]:
        election.kubectl.wait_ready("replication", name, timeout=60)
    eventually(
        lambda: [r["maxQueueSizeBytes"] for r in scratch.replications(name=names[0])] == [40000000],
        timeout=30,
        what="the new leader applied the change",
    )
    assert time.monotonic() - frozen > LEASE_DURATION

    # Nothing else may write now: the new leader freezes too. Then the old one wakes.
    election.pause(new)
    before = _settled_writes(election, scratch)
    election.resume(old)
    woken = election.candidates[old]
    assert woken.proc is not None
    exit_code = woken.proc.wait(30)
    after = _settled_writes(election, scratch)
    print(f"writes (API server by candidate, influxd by method and path) before: {before}, after: {after}")
    assert after == before, "the woken leader sent a write"
    assert exit_code == fencing.EXIT_CODE
    assert "leadership lapsed" in woken.tail()
    assert election.holder().startswith(f"candidate-{new}_")

    # Everything carries on: the new leader (or, if its freeze outlasted its own
    # deadline, a restarted candidate) holds every stream, each once.
    election.resume(new)
    with contextlib.suppress(Exception):
        election.candidates[new].proc.wait(2 * RETRY_PERIOD)  # type: ignore[union-attr]
    for candidate in election.candidates.values():
        if candidate.proc is not None and candidate.proc.poll() is not None:
            candidate.start()
    election.leader(timeout=LEASE_DURATION + 20)
    for name in names:
        election.kubectl.wait_ready("replication", name, timeout=60)
    assert sorted(r["name"] for r in scratch.replications()) == sorted(names)


def test_a_standby_restarted_twenty_times_never_writes(
    sandbox: sandbox_module.Sandbox, election: Election, scratch_influxd: ScratchInfluxd, unique: str
) -> None:
    _, scratch = scratch_influxd("quiet")
    names = [f"quiet-{unique}-{i}" for i in range(3)]
    replications = _fenced_setup(election, scratch, sandbox.cloud, names, unique)
    election.candidates["a"].start()
    assert election.leader() == "a"
    election.kubectl.apply(*replications)
    for name in names:
        election.kubectl.wait_ready("replication", name, timeout=60)
    holder, transitions = election.holder(), election.transitions()
    influx_before = influxd_writes(scratch.url)

    standby = election.candidates["b"]
    for restart in range(1, 21):
        standby.start()
        # It has read the Lease and stands by; then it dies like a crashed pod.
        eventually(
            lambda n=restart: standby.log.read_text().count("the leader is candidate-a_") == n,  # type: ignore[misc]
            timeout=30,
            interval=0.1,
            what=f"standby {restart} reading the Lease",
        )
        # Its /metrics says so (awaited: a scrape may time out on a loaded machine).
        eventually(lambda: election.leading("b") == 0, timeout=20, interval=0.2, what="the standby's leader gauge at 0")
        standby.kill()

    assert election.writes("b") == 0, "the standby wrote to the API server"
    assert election.writes("a") > 0, "the leader's writes are counted (the measure works)"
    assert (election.holder(), election.transitions()) == (holder, transitions)
    assert influxd_writes(scratch.url) == influx_before
    assert election.leader() == "a"


def test_a_leader_stopped_cleanly_hands_the_lease_over_at_once(election: Election) -> None:
    """SIGTERM (an upgrade, a drain): kopf stops, then the Lease is released,
    and the standby leads at its next retry rather than a lease duration later."""
    for candidate in election.candidates.values():
        candidate.start()
    first = election.leader()
    standby = next(name for name in election.candidates if name != first)
    leader = election.candidates[first]
    leader.stop()
    stopped = time.monotonic()
    assert leader.proc is not None
    assert leader.proc.returncode == 0
    assert "released the Lease" in leader.tail()
    assert election.leader(timeout=LEASE_DURATION) == standby
    handover = time.monotonic() - stopped
    print(f"clean handover: {handover:.1f}s (retry period {RETRY_PERIOD}s, lease {LEASE_DURATION}s)")
    assert handover < LEASE_DURATION
    assert election.transitions() == 1  # created (0); released, then taken by another (1)
