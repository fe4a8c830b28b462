"""Real faults: an InfluxDB server that goes away, and an operator killed in
the middle of a create. Each test runs an operator of its own, watching only
its own namespace, so it can be killed without disturbing the others."""

from __future__ import annotations

import functools

import sandbox as sandbox_module
from influxdb_operator.state.runtime import HANDLERS_PER_INSTANCE
from support import manifests
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.proxy import HoldingProxy
from support.scenario import ScratchInfluxd, Setup


def test_unreachable_instance_is_not_ready_and_recovers(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    fault_namespace: str,
    own_operator: OperatorProcess,
    scratch_influxd: ScratchInfluxd,
) -> None:
    server, flaky = scratch_influxd("flaky")
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
        manifests.replication(
            "stream",
            fault_namespace,
            instance="flaky",
            local_bucket="metrics",
            connection="cloud",
            remote_bucket="metrics",
        ),
    )
    ns.wait_ready("replication", "stream")

    server.stop()
    instance_ready = ns.wait_reason("influxdbinstance", "flaky", "Unreachable", timeout=30)
    assert instance_ready["status"] == "False"
    assert flaky.url in instance_ready["message"]
    replication_ready = ns.wait_reason("replication", "stream", "InstanceUnreachable", timeout=30)
    assert replication_ready["status"] == "False"
    assert own_operator.proc is not None
    assert own_operator.proc.poll() is None  # no crash

    server.start()
    ns.wait_ready("influxdbinstance", "flaky")
    ns.wait_ready("replication", "stream")
    for kind, name in (("replication", "stream"), ("remoteconnection", "cloud"), ("influxdbinstance", "flaky")):
        ns("delete", kind, name, "--timeout=60s")


def test_operator_killed_between_create_and_record_makes_exactly_one(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess
) -> None:
    edge = sandbox.edge
    unique = fault_namespace
    name = f"crash-{unique}"
    ns = kubectl.in_namespace(fault_namespace)
    with HoldingProxy(edge.url).running() as proxy:
        setup = Setup.create(sandbox, ns, unique, edge_url=proxy.url)
        proxy.hold.set()
        ns.apply(setup.replication(name))
        assert proxy.held.wait(60), "the operator never sent the create"
        # InfluxDB has made it; the operator has not heard back. Kill it now.
        own_operator.kill()
        listed = edge.replications(name=name)
        assert len(listed) == 1
        created_id = listed[0]["id"]
        status = ns.get("replication", name)["status"]  # type: ignore[index]
        assert status.get("id") is None
        assert status.get("createPending") == name

        proxy.release()
        own_operator.start()
        resource = ns.wait_ready("replication", name)
        assert resource["status"]["id"] == created_id
        assert resource["status"].get("createPending") is None
        listed = edge.replications(name=name)
        assert [r["id"] for r in listed] == [created_id]
        assert "Adopted" in [e["reason"] for e in ns.events(name)]
        ns("delete", "replication", name, "--timeout=60s")
        assert edge.request("GET", f"/api/v2/replications/{created_id}")[0] == 404


def test_tls_instance_verified_with_a_ca_from_a_secret(
    kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess, scratch_influxd: ScratchInfluxd
) -> None:
    server, secure = scratch_influxd("tls", tls=True)
    assert secure.url.startswith("https://")
    assert server.ca is not None
    ns = kubectl.in_namespace(fault_namespace)
    instance = manifests.instance("secure", fault_namespace, url=secure.url, org=secure.org, secret="tls-token")
    ns.apply(manifests.secret("tls-token", fault_namespace, secure.token), instance)
    # Not trusted by the system roots: a clear TLS failure, no crash.
    untrusted = ns.wait_reason("influxdbinstance", "secure", "Unreachable", timeout=30)
    assert "TLS" in untrusted["message"] or "certificate" in untrusted["message"]

    ns("create", "secret", "generic", "tls-ca", f"--from-file=ca.crt={server.ca}")
    instance["spec"]["tls"] = {"caSecretRef": {"name": "tls-ca", "key": "ca.crt"}}
    ns.apply(instance)
    ns.wait_ready("influxdbinstance", "secure", timeout=30)
    ns("delete", "influxdbinstance", "secure", "--timeout=60s")


def test_a_frozen_instance_never_delays_the_rest_of_the_fleet(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    fault_namespace: str,
    own_operator: OperatorProcess,
    scratch_influxd: ScratchInfluxd,
) -> None:
    """Instances are refreshed and reconciled independently: with one influxd
    frozen (its calls hang until the client's 30s timeout), the others' drift is
    corrected and their new Replications become Ready before the frozen one's
    own refresh has even returned."""
    server, stuck = scratch_influxd("stuck")
    ns = kubectl.in_namespace(fault_namespace)
    unique = fault_namespace
    healthy = {"edge": sandbox.edge, "cloud": sandbox.cloud}
    fleet = {**healthy, "stuck": stuck}
    # Each server's streams go from its "out" bucket to the peer's "in" one: peers
    # replicating the same bucket both ways would be a loop, which the operator refuses.
    buckets = {
        (name, way): server_.create_bucket(f"fleet-{unique}-{way}")
        for name, server_ in fleet.items()
        for way in ("out", "in")
    }
    assert all(buckets.values())

    def stream(instance: str, what: str) -> dict[str, object]:
        """A Replication `<instance>-<what>` of the fleet bucket, through the instance's remote."""
        return manifests.replication(
            f"{instance}-{what}",
            fault_namespace,
            instance=instance,
            local_bucket=f"fleet-{unique}-out",
            connection=f"{instance}-peer",
            remote_bucket=f"fleet-{unique}-in",
            name=f"{instance}-{what}-{unique}",
        )

    docs: list[dict[str, object]] = []
    for name, influxd in fleet.items():
        peer = sandbox.edge if influxd is sandbox.cloud else sandbox.cloud
        docs += [
            manifests.secret(f"{name}-token", fault_namespace, influxd.token),
            manifests.secret(f"{name}-peer-token", fault_namespace, peer.token),
            manifests.instance(name, fault_namespace, url=influxd.url, org=influxd.org, secret=f"{name}-token"),
            manifests.remote(
                f"{name}-peer",
                fault_namespace,
                instance=name,
                url=peer.url,
                org_id=peer.orgID,
                secret=f"{name}-peer-token",
                name=f"{name}-peer-{unique}",
            ),
            stream(name, "stream"),
        ]
    ns.apply(*docs)
    before = {name: ns.wait_ready("replication", f"{name}-stream")["status"]["id"] for name in fleet}
    stuck_ready = ns.wait_ready("influxdbinstance", "stuck")
    stuck_since = condition(stuck_ready, "Ready")["lastTransitionTime"]

    server.freeze()
    try:
        # Out-of-band deletions on the healthy instances: their refresh recreates them.
        for name, influxd in healthy.items():
            assert influxd.request("DELETE", f"/api/v2/replications/{before[name]}")[0] == 204
        # New streams on the healthy instances: their handlers create them.
        ns.apply(*(stream(name, "late") for name in healthy))
        for name, influxd in healthy.items():
            in_influx = functools.partial(influxd.replications, name=f"{name}-stream-{unique}")
            recreated = eventually(in_influx, timeout=25)
            assert recreated[0]["id"] != before[name]
            ns.wait_ready("replication", f"{name}-late", timeout=25)
        # All of it happened while the frozen instance's own refresh was still waiting on it.
        assert condition(ns.get("influxdbinstance", "stuck"), "Ready")["lastTransitionTime"] == stuck_since
        timed_out = ns.wait_reason("influxdbinstance", "stuck", "Timeout", timeout=60)
        assert timed_out["status"] == "False"
        assert "no answer" in timed_out["message"]
    finally:
        server.thaw()
    ns.wait_ready("influxdbinstance", "stuck", timeout=60)
    ns.wait_ready("replication", "stuck-stream", timeout=60)


def test_an_instance_moved_while_its_places_are_all_held_is_taken_up_at_once(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess
) -> None:
    """An instance's own events take none of its places: with every place held
    by a Replication handler whose call hangs (a proxy keeps InfluxDB's answers
    back) and more handlers queued behind them, the instance's new URL is
    observed at once, not after those calls time out (30 s)."""
    edge, unique = sandbox.edge, fault_namespace
    ns = kubectl.in_namespace(fault_namespace)
    with HoldingProxy(edge.url).running() as proxy:
        setup = Setup.create(sandbox, ns, unique, edge_url=proxy.url)
        # A long period: only a change itself wakes the refresh that observes it.
        instance = {"secret": "edge-token", "resync": "300s"}
        ns.apply(manifests.instance("edge", fault_namespace, url=proxy.url, org=edge.org, **instance))

        def observed(generation: int) -> bool:
            found = ns.get("influxdbinstance", "edge") or {}
            return bool(
                found["status"].get("observedGeneration") == generation
                and condition(found, "Ready").get("status") == "True"
            )

        eventually(functools.partial(observed, 2), timeout=10, what="the instance's longer period observed")
        names = [f"queued-{i:02d}" for i in range(HANDLERS_PER_INSTANCE + 4)]
        streams = {name: setup.replication(name, name=f"{name}-{unique}") for name in names}
        ns.apply(*streams.values())
        for name in names:
            ns.wait_ready("replication", name)

        proxy.arm(r"PATCH /api/v2/replications/\w+")
        for stream in streams.values():
            stream["spec"]["maxAgeSeconds"] = 7200
        ns.apply(*streams.values())
        # The per-instance bound holds: as many calls in flight as places, no more.
        eventually(lambda: proxy.holding == HANDLERS_PER_INSTANCE, timeout=30, what="every place held")

        ns.apply(manifests.instance("edge", fault_namespace, url=edge.url, org=edge.org, **instance))
        eventually(functools.partial(observed, 3), timeout=10, what="the instance's new URL observed")
        assert proxy.holding == HANDLERS_PER_INSTANCE  # the places were still held all along
        proxy.release()

        def caught_up() -> bool:
            return all(
                (r := ns.get("replication", name) or {})["status"].get("observedGeneration") == 2
                and condition(r, "Ready").get("status") == "True"
                for name in names
            )

        eventually(caught_up, timeout=60, what="every queued change applied")
    in_influx = {r["name"]: r["maxAgeSeconds"] for r in edge.replications() if r["name"].endswith(unique)}
    assert in_influx == {f"{name}-{unique}": 7200 for name in names}
    ns("delete", "replication", *names, "--timeout=60s")
