"""A ReplicationSet on the real sandbox: one child Replication per matching
edge bucket, cloud buckets provisioned, buckets that appear and go followed
within a refresh, no duplicates (also across a SIGKILL), and a fleet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import sandbox as sandbox_module
from influxdb_operator.reconcile import fan_out
from sandbox import influx
from support import health, manifests
from support.kubectl import Kubectl, KubectlError, condition, eventually
from support.operator_process import OperatorProcess
from support.scenario import ScratchInfluxd, Setup, cloud_remote

SET_LABEL = "influxdb.replication.dev/replication-set"


replication_set = manifests.replication_set


def cloud_and_remote(
    kubectl: Kubectl, namespace: str, sandbox: sandbox_module.Sandbox, unique: str, *edges: str
) -> None:
    """The cloud as the InfluxDBInstance "cloudinst" and, per edge, a RemoteConnection
    "tocloud-<edge>" (in InfluxDB tocloud-<edge>-<unique>) whose token the operator mints there."""
    kubectl.apply(
        manifests.secret("cloudinst-token", namespace, sandbox.cloud.token),
        manifests.instance(
            "cloudinst", namespace, url=sandbox.cloud.url, org=sandbox.cloud.org, secret="cloudinst-token"
        ),
        *(
            manifests.minted_remote(
                f"tocloud-{edge}",
                namespace,
                instance=edge,
                remote_instance="cloudinst",
                name=f"tocloud-{edge}-{unique}",
            )
            for edge in edges
        ),
    )


def children(kubectl: Kubectl, set_name: str) -> dict[str, dict[str, Any]]:
    listed = json.loads(kubectl("get", "replications", "-l", f"{SET_LABEL}={set_name}", "-o", "json"))["items"]
    return {c["metadata"]["name"]: c for c in listed}


def by_bucket(kubectl: Kubectl, set_name: str) -> dict[str, dict[str, Any]]:
    return {c["spec"]["localBucket"]["name"]: c for c in children(kubectl, set_name).values()}


def all_ready(kubectl: Kubectl, set_name: str, buckets: set[str]) -> dict[str, dict[str, Any]] | None:
    found = by_bucket(kubectl, set_name)
    ready = set(found) == buckets and all(condition(c, "Ready").get("status") == "True" for c in found.values())
    return found if ready else None


def one_replication_each(edge: influx.Influx, names: list[str]) -> bool:
    """InfluxDB holds exactly one replication per child name: no duplicates."""
    return all(len(edge.replications(name=name)) == 1 for name in names)


def status_of(kubectl: Kubectl, kind: str, name: str) -> dict[str, Any]:
    return dict((kubectl.get(kind, name) or {}).get("status") or {})


def delete_bucket(server: influx.Influx, bucket_id: str) -> None:
    status, body = server.request("DELETE", f"/api/v2/buckets/{bucket_id}")
    assert status == 204, (status, body)


def test_a_set_follows_the_edge_buckets_into_provisioned_cloud_buckets(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    kubectl, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    prefix = f"sensor-{u}-"
    # Five buckets, three matching (the pattern is anchored: other-sensor-... does not).
    five = (f"{prefix}a", f"{prefix}b", f"{prefix}c", f"logs-{u}", f"other-{prefix}x")
    ids = {name: edge.create_bucket(name) for name in five}
    cloud_and_remote(kubectl, setup.namespace, sandbox, u, "edge")
    kubectl.apply(
        replication_set(
            "sensors",
            setup.namespace,
            instanceRef={"name": "edge"},
            remote={"connectionRef": {"name": "tocloud-{instance}"}},
            buckets={"pattern": f"^{prefix}"},
            provisionRemoteBuckets=True,
        )
    )
    matching = {f"{prefix}a", f"{prefix}b", f"{prefix}c"}
    found = eventually(lambda: all_ready(kubectl, "sensors", matching), timeout=90, what="three children Ready")
    the_set = setup.ready("replicationset", "sensors")
    assert the_set["status"]["matched"] == 3
    eventually(lambda: status_of(kubectl, "replicationset", "sensors").get("ready") == 3, timeout=30)

    # The cloud buckets were created by the operator, under the same names.
    for bucket in matching:
        assert cloud.request("GET", f"/api/v2/buckets?orgID={cloud.orgID}&name={bucket}")[1]["buckets"]
    now = time.time_ns()
    for n, bucket in enumerate(sorted(matching)):
        edge.write(bucket, "\n".join(f"temp,i={i} value={n} {now + i}" for i in range(5 + n)))
    expected = {bucket: 5 + n for n, bucket in enumerate(sorted(matching))}
    eventually(
        lambda: all(cloud.count(b, "temp") == k for b, k in expected.items()), timeout=60, what="points in the cloud"
    )
    names = [c["metadata"]["name"] for c in found.values()]
    assert one_replication_each(edge, names)
    # Children are owned by the set, and named for their bucket.
    for bucket, child in found.items():
        assert child["metadata"]["ownerReferences"][0]["kind"] == "ReplicationSet"
        assert child["spec"]["remoteBucket"] == {"name": bucket}

    # A fourth bucket gets its child within a refresh (2 s here) and its cloud bucket.
    fourth = f"{prefix}d"
    ids[fourth] = edge.create_bucket(fourth)
    eventually(lambda: all_ready(kubectl, "sensors", matching | {fourth}), timeout=60, what="the fourth child")
    # One ChildCreated each, also for a child a later reconcile found made (409) before the watch showed it.
    created = [e for e in kubectl.events("sensors") if e["reason"] == "ChildCreated"]
    assert sorted(e["message"].split(" for bucket ")[1].split(" of ")[0] for e in created) == sorted(
        matching | {fourth}
    )
    assert all(e.get("count", 1) == 1 for e in created)

    # A child edited by hand is set back to the template.
    child_a = by_bucket(kubectl, "sensors")[f"{prefix}a"]["metadata"]["name"]
    kubectl("patch", "replication", child_a, "--type=merge", "-p", '{"spec": {"maxQueueSizeBytes": 99999999}}')
    eventually(
        lambda: (kubectl.get("replication", child_a) or {})["spec"]["maxQueueSizeBytes"] == 67108860,
        timeout=30,
        what="the hand edit set back",
    )

    # A deleted bucket loses its child, and InfluxDB its replication.
    delete_bucket(edge, ids[f"{prefix}b"])
    gone = by_bucket(kubectl, "sensors")[f"{prefix}b"]["metadata"]["name"]
    eventually(lambda: not kubectl.exists("replication", gone), timeout=60, what="the child of the deleted bucket gone")
    assert edge.replications(name=gone) == []
    remaining = [c["metadata"]["name"] for c in children(kubectl, "sensors").values()]
    assert len(remaining) == 3
    assert one_replication_each(edge, remaining)

    # Deleting the set deletes its children (deletionPolicy Delete) and their replications.
    kubectl("delete", "replicationset", "sensors", "--timeout=60s")
    eventually(lambda: not children(kubectl, "sensors"), timeout=60, what="children deleted with the set")
    eventually(lambda: all(edge.replications(name=n) == [] for n in remaining), timeout=60)


def test_invalid_sets_are_refused_by_the_api_server(kubectl: Kubectl, namespace: str, crds: None) -> None:
    ns = kubectl.in_namespace(namespace)
    remote = {"connectionRef": {"name": "c"}}
    both = replication_set(
        "both", namespace, instanceRef={"name": "e"}, instanceSelector={"matchLabels": {"a": "b"}}, remote=remote
    )
    neither = replication_set("neither", namespace, remote=remote)
    bad_regex = replication_set("badre", namespace, instanceRef={"name": "e"}, remote=remote, buckets={"pattern": "("})
    for doc, says in ((both, "exactly one of"), (neither, "exactly one of"), (bad_regex, "buckets.pattern")):
        with pytest.raises(KubectlError) as refused:
            ns.apply(doc)
        assert says in refused.value.stderr
        assert not ns.exists("replicationset", doc["metadata"]["name"])


def sensor_set(namespace: str, prefix: str) -> dict[str, Any]:
    return replication_set(
        "sensors",
        namespace,
        instanceRef={"name": "edge"},
        remote={"connectionRef": {"name": "tocloud-{instance}"}},
        buckets={"pattern": f"^{prefix}"},
        provisionRemoteBuckets=True,
    )


def test_no_duplicates_when_the_operator_is_killed_while_buckets_appear(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    fault_namespace: str,
    own_operator: OperatorProcess,
    unique: str,
) -> None:
    setup = Setup.create(sandbox, kubectl.in_namespace(fault_namespace), unique)
    ns, edge = setup.kubectl, sandbox.edge
    prefix = f"sensor-{unique}-"
    for name in (f"{prefix}a", f"{prefix}b"):
        edge.create_bucket(name)
    cloud_and_remote(ns, fault_namespace, sandbox, unique, "edge")
    ns.apply(sensor_set(fault_namespace, prefix))
    wanted = {f"{prefix}a", f"{prefix}b"}
    eventually(lambda: all_ready(ns, "sensors", wanted), timeout=90, what="two children Ready")

    # Killed as soon as a new bucket's child exists (its InfluxDB create may be in flight).
    edge.create_bucket(f"{prefix}c")
    wanted.add(f"{prefix}c")
    eventually(lambda: f"{prefix}c" in by_bucket(ns, "sensors"), timeout=30, interval=0.1, what="the third child")
    own_operator.kill()
    # And a bucket that appears while no operator runs.
    edge.create_bucket(f"{prefix}d")
    wanted.add(f"{prefix}d")
    own_operator.start()
    found = eventually(lambda: all_ready(ns, "sensors", wanted), timeout=90, what="four children Ready")
    names = [c["metadata"]["name"] for c in found.values()]
    assert len(children(ns, "sensors")) == 4
    assert one_replication_each(edge, names)


def test_a_fleet_of_three_edges_selected_by_label(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """Three InfluxDBInstances (the edge server's org and two more orgs on it), one set, nine children."""
    ns, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    orgs = {"edge": edge.orgID}
    for n in (2, 3):
        status, org = edge.request("POST", "/api/v2/orgs", {"name": f"fleet{n}-{u}"})
        assert status == 201, (status, org)
        orgs[f"edge{n}"] = org["id"]
        ns.apply(
            manifests.instance(f"edge{n}", setup.namespace, url=edge.url, org=org["name"], secret="edge-token"),
        )
    for name in orgs:
        ns("label", "influxdbinstance", name, f"fleet={u}", "--overwrite")
    buckets = [f"m-{u}-{i}" for i in (1, 2, 3)]
    for org_id in orgs.values():
        for bucket in buckets:
            status, body = edge.request("POST", "/api/v2/buckets", {"orgID": org_id, "name": bucket})
            assert status == 201, (status, body)
    cloud_and_remote(ns, setup.namespace, sandbox, u, *orgs)
    ns.apply(
        replication_set(
            "fleet",
            setup.namespace,
            instanceSelector={"matchLabels": {"fleet": u}},
            remote={"connectionRef": {"name": "tocloud-{instance}"}},
            buckets={"names": buckets},
            remoteBucketName="{instance}-{bucket}",
            provisionRemoteBuckets=True,
        )
    )

    def nine_ready() -> dict[str, dict[str, Any]] | None:
        found = children(ns, "fleet")
        ok = len(found) == 9 and all(condition(c, "Ready").get("status") == "True" for c in found.values())
        return found if ok else None

    found = eventually(nine_ready, timeout=120, what="nine children Ready")
    assert {(c["spec"]["instanceRef"]["name"], c["spec"]["localBucket"]["name"]) for c in found.values()} == {
        (instance, bucket) for instance in orgs for bucket in buckets
    }
    now = time.time_ns()
    for instance, org_id in orgs.items():
        for bucket in buckets:
            query = f"/api/v2/write?orgID={org_id}&bucket={bucket}&precision=ns"
            status, body = edge.request("POST", query, raw=f"temp,edge={instance} value=1 {now}".encode())
            assert status == 204, (status, body)
    eventually(
        lambda: all(cloud.count(f"{i}-{b}", "temp") == 1 for i in orgs for b in buckets),
        timeout=60,
        what="each edge's points in its cloud buckets",
    )
    the_set = setup.ready("replicationset", "fleet")
    assert the_set["status"]["matched"] == 9


def test_orphan_leaves_children_in_place_released_from_the_set(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    ns, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    kept, dropped = f"keep-{u}", f"drop-{u}"
    for name in (kept, dropped):
        edge.create_bucket(name)
        cloud.create_bucket(name)
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": [kept, dropped]},
        "deletionPolicy": "Orphan",
    }
    ns.apply(replication_set("orphans", setup.namespace, **spec))
    found = eventually(lambda: all_ready(ns, "orphans", {kept, dropped}), timeout=60, what="two children Ready")
    names = {bucket: child["metadata"]["name"] for bucket, child in found.items()}

    # No longer selected: released, not deleted; its stream goes on.
    ns.apply(replication_set("orphans", setup.namespace, **{**spec, "buckets": {"names": [kept]}}))
    eventually(lambda: set(by_bucket(ns, "orphans")) == {kept}, timeout=30, what="the dropped child released")
    released = ns.get("replication", names[dropped])
    assert released is not None
    assert SET_LABEL not in (released["metadata"].get("labels") or {})
    assert not released["metadata"].get("ownerReferences")
    assert len(edge.replications(name=names[dropped])) == 1

    # The set deleted: the other child stays too, and neither comes back under a set.
    ns("delete", "replicationset", "orphans", "--timeout=60s")
    eventually(lambda: not children(ns, "orphans"), timeout=30, what="the last child released")
    assert ns.exists("replication", names[kept])
    assert one_replication_each(edge, list(names.values()))


def test_a_replication_labelled_by_hand_is_not_the_sets_to_delete(
    setup: Setup, sandbox: sandbox_module.Sandbox
) -> None:
    """The set's label put on a Replication the set did not make: the set
    neither deletes it (its bucket is not selected) nor takes it with it."""
    kubectl, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    selected, stray = f"mine-{u}", f"stray-{u}"
    edge.create_bucket(selected)
    cloud.create_bucket(selected)
    by_hand = manifests.replication(
        stray, setup.namespace, instance="edge", local_bucket=stray, connection="cloud", remote_bucket=stray
    )
    by_hand["metadata"]["labels"] = {SET_LABEL: "labelled"}
    kubectl.apply(by_hand)
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": [selected]},
    }
    kubectl.apply(replication_set("labelled", setup.namespace, **spec))
    the_set = setup.ready("replicationset", "labelled")
    assert the_set["status"]["matched"] == 1
    assert set(by_bucket(kubectl, "labelled")) == {selected, stray}
    assert not untouched(kubectl, stray).get("deletionTimestamp")

    kubectl("delete", "replicationset", "labelled", "--timeout=60s")
    eventually(lambda: set(by_bucket(kubectl, "labelled")) == {stray}, timeout=30, what="the set's own child deleted")
    assert not untouched(kubectl, stray).get("deletionTimestamp")


def untouched(kubectl: Kubectl, name: str) -> dict[str, Any]:
    """The Replication's metadata (it must exist)."""
    found = kubectl.get("replication", name)
    assert found is not None, f"{name} was deleted"
    return dict(found["metadata"])


def test_a_paused_set_removes_no_child_until_resumed(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    kubectl, u, edge, cloud = setup.kubectl, setup.unique, sandbox.edge, sandbox.cloud
    bucket = f"held-{u}"
    edge.create_bucket(bucket)
    cloud.create_bucket(bucket)
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": [bucket]},
    }
    kubectl.apply(replication_set("held", setup.namespace, **spec))
    eventually(lambda: all_ready(kubectl, "held", {bucket}), timeout=60, what="the child Ready")
    child = by_bucket(kubectl, "held")[bucket]["metadata"]["name"]

    kubectl("annotate", "replicationset", "held", "influxdb.replication.dev/paused=true")
    eventually(
        lambda: condition(kubectl.get("replicationset", "held"), "Synced").get("reason") == "Paused",
        timeout=30,
        what="the set paused",
    )
    # No longer selected while paused: kept, and still counted.
    kubectl.apply(replication_set("held", setup.namespace, **{**spec, "buckets": {"names": [f"other-{u}"]}}))
    eventually(
        lambda: status_of(kubectl, "replicationset", "held").get("observedGeneration") == 2,
        timeout=30,
        what="the change seen",
    )
    assert not untouched(kubectl, child).get("deletionTimestamp")
    assert status_of(kubectl, "replicationset", "held")["ready"] == 1

    kubectl("annotate", "--overwrite", "replicationset", "held", "influxdb.replication.dev/paused=false")
    eventually(lambda: not kubectl.exists("replication", child), timeout=30, what="the child removed once resumed")


def test_a_restart_leaves_a_ready_set_ready(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess, unique: str
) -> None:
    """Resumed, a set is taken up from its instance's first listing: Ready
    does not drop to BucketsNotListed in between (an alert, and a status
    write per set, at every restart)."""
    setup = Setup.create(sandbox, kubectl.in_namespace(fault_namespace), unique)
    ns, prefix = setup.kubectl, f"sensor-{unique}-"
    sandbox.edge.create_bucket(f"{prefix}a")
    cloud_and_remote(ns, fault_namespace, sandbox, unique, "edge")
    ns.apply(sensor_set(fault_namespace, prefix))
    eventually(lambda: all_ready(ns, "sensors", {f"{prefix}a"}), timeout=90, what="the child Ready")
    before = condition(setup.ready("replicationset", "sensors"), "Ready")

    own_operator.stop()
    own_operator.start()
    eventually(lambda: set_reconciles(own_operator) >= 2, timeout=60, what="the set reconciled twice after the restart")
    assert condition(ns.get("replicationset", "sensors"), "Ready") == before


def set_reconciles(operator: OperatorProcess) -> float:
    """ReplicationSet reconciles that ended well so far; 0 while its metrics do not answer yet."""
    try:
        return operator.metric("influxdb_operator_reconciles_total", kind="ReplicationSet", outcome="success") or 0.0
    except OSError:
        return 0.0


def test_a_child_the_api_server_refuses_is_reported_plainly(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """A remote bucket name that the template makes too long for a Replication:
    the set says which call was refused and why, without the answer's headers."""
    kubectl, u = setup.kubectl, setup.unique
    bucket = f"long-{u}"
    sandbox.edge.create_bucket(bucket)
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": [bucket]},
        "remoteBucketName": "{bucket}" + "x" * 245,
    }
    kubectl.apply(replication_set("refused", setup.namespace, **spec))
    ready = eventually(
        lambda: (
            (c := condition(kubectl.get("replicationset", "refused"), "Ready")).get("reason") == "ReconcileError" and c
        ),
        timeout=60,
        what="the refusal reported",
    )
    assert f"create of a child Replication in {setup.namespace}: 422" in ready["message"]
    assert "remoteBucket.name" in ready["message"]  # the API server's own reason
    assert "header" not in ready["message"].lower()


def test_a_set_whose_children_need_a_person_is_stuck_itself(setup: Setup, sandbox: sandbox_module.Sandbox) -> None:
    """One object for a whole edge reads as its children do: children stuck on a
    reason only a person can clear (their RemoteConnection does not exist yet)
    make the set Stalled, naming one (Degraded in Argo CD, Failed in kstatus),
    not Progressing for ever; created, the set is Ready."""
    kubectl, u = setup.kubectl, setup.unique
    buckets = [f"stuck-{u}-a", f"stuck-{u}-b"]
    for bucket in buckets:
        sandbox.edge.create_bucket(bucket)
        sandbox.cloud.create_bucket(bucket)
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "later"}},
        "buckets": {"names": buckets},
    }
    kubectl.apply(replication_set("stuck", setup.namespace, **spec))
    failing = kubectl.wait_reason("replicationset", "stuck", "ChildrenFailing", timeout=90)
    assert failing["message"].startswith("2 of 2 children need a person ("), failing
    assert "RemoteConnectionNotFound" in failing["message"], failing
    stuck = kubectl.get("replicationset", "stuck") or {}
    assert [p["reason"] for p in stuck["status"]["notReady"]] == ["RemoteConnectionNotFound"] * 2
    assert condition(stuck, "Stalled")["status"] == "True"
    assert (health.kstatus(stuck)["status"], health.argocd(stuck)["status"]) == ("Failed", "Degraded")

    kubectl.apply(cloud_remote(sandbox.cloud, setup.namespace, "later", u))
    ready = setup.ready("replicationset", "stuck", timeout=90)
    assert (condition(ready, "Stalled")["status"], health.kstatus(ready)["status"]) == ("False", "Current")


def test_a_child_name_held_by_another_replication_is_a_warning_once(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    kubectl, u = setup.kubectl, setup.unique
    bucket = f"held-{u}"
    sandbox.edge.create_bucket(bucket)
    name = fan_out.child_name("squatted", "edge", bucket)
    kubectl.apply(
        manifests.replication(
            name, setup.namespace, instance="edge", local_bucket=bucket, connection="cloud", remote_bucket=bucket
        )
    )
    spec = {
        "instanceRef": {"name": "edge"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": [bucket]},
    }
    kubectl.apply(replication_set("squatted", setup.namespace, **spec))
    eventually(
        lambda: condition(kubectl.get("replicationset", "squatted"), "Ready").get("reason") == "ChildNameTaken",
        timeout=60,
        what="ChildNameTaken",
    )
    seen = set_reconciles(operator)
    eventually(lambda: set_reconciles(operator) >= seen + 3, timeout=30, what="three more reconciles of the set")
    warnings = [e for e in kubectl.events("squatted") if e["reason"] == "ChildNameTaken"]
    assert [(e["type"], e.get("count", 1)) for e in warnings] == [("Warning", 1)]
    assert name in warnings[0]["message"]
    assert not untouched(kubectl, name).get("ownerReferences"), "the set never took it"


def test_an_unreachable_instance_keeps_its_children(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    fault_namespace: str,
    own_operator: OperatorProcess,
    scratch_influxd: ScratchInfluxd,
) -> None:
    """Its influxd stopped: the set says its buckets are not listed, and its
    child stays (and so does the stream); back, the set is Ready again. Also
    across a restart while it is down: the set does not stay Ready on trust."""
    server, flaky = scratch_influxd("flakyset")
    ns = kubectl.in_namespace(fault_namespace)
    ns.apply(
        manifests.secret("flaky-token", fault_namespace, flaky.token),
        manifests.secret("cloud-token", fault_namespace, sandbox.cloud.token),
        manifests.instance("flaky", fault_namespace, url=flaky.url, org=flaky.org, secret="flaky-token"),
        manifests.remote(
            "cloud",
            fault_namespace,
            instance="flaky",
            url=sandbox.cloud.url,
            org_id=sandbox.cloud.orgID,
            secret="cloud-token",
        ),
    )
    spec = {
        "instanceRef": {"name": "flaky"},
        "remote": {"connectionRef": {"name": "cloud"}},
        "buckets": {"names": ["metrics"]},
    }
    ns.apply(replication_set("onflaky", fault_namespace, **spec))
    child = eventually(lambda: all_ready(ns, "onflaky", {"metrics"}), timeout=90, what="the child Ready")["metrics"]
    name = child["metadata"]["name"]

    server.stop()
    own_operator.stop()
    own_operator.start()
    ns.wait_reason("replicationset", "onflaky", "BucketsNotListed", timeout=30)
    assert not untouched(ns, name).get("deletionTimestamp")

    server.start()
    ns.wait_ready("replicationset", "onflaky", timeout=60)
    assert set(by_bucket(ns, "onflaky")) == {"metrics"}
    assert by_bucket(ns, "onflaky")["metrics"]["metadata"]["uid"] == child["metadata"]["uid"]
