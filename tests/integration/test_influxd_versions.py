"""What differs by influxd version, with real servers: a starting influxd
(2.10 answers 503 `{"status": "starting"}` while it starts) waited out by the
sandbox and reported as temporary by the operator, and a server older than the
oldest supported refused with a reason of its own.

Answers no supported version gives on demand (a 503 while starting, a
version older than supported) are made by tests/support/proxy.py in front of the
sandbox's real influxd, which changes only what each test says; every other
answer is the real server's. What each supported version does differently is
pinned in test_influxd_differences.py.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from pydantic import SecretStr

import sandbox as sandbox_module
from influxdb_operator.influx import errors
from influxdb_operator.influx.client import InfluxClient
from influxdb_operator.reconcile.outcome import from_influx
from influxdb_operator.reconcile.reasons import Reason
from sandbox import influx
from support import manifests, scenario
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.proxy import HoldingProxy

STARTING = {"status": "starting"}


def test_onboarding_waits_out_a_starting_influxd(tmp_path: Path) -> None:
    server = influx.Server(tmp_path / "starting", "starting")
    server.start()
    try:
        with HoldingProxy(server.url).running() as proxy:
            proxy.answer("POST /api/v2/setup", 503, STARTING, times=3)
            onboarded = influx.onboard(proxy.url, "starting", org="starting-org", bucket="metrics", timeout=30)
            assert proxy.canned_left == 0, "the three 503 answers were all given, and onboarding went on"
        # Onboarded on the real server: its token works there, straight.
        direct = influx.Influx(server.url, "starting-org", onboarded.orgID, onboarded.token, "metrics", "")
        status, body = direct.request("GET", f"/api/v2/buckets?orgID={onboarded.orgID}&name=metrics")
        assert status == 200
        assert [b["id"] for b in body["buckets"]] == [onboarded.bucketID]
    finally:
        server.stop()


def test_onboarding_gives_up_at_its_deadline_and_says_why(tmp_path: Path) -> None:
    server = influx.Server(tmp_path / "never", "never")
    server.start()
    try:
        with HoldingProxy(server.url).running() as proxy:
            proxy.answer("POST /api/v2/setup", 503, STARTING, times=1_000_000)
            with pytest.raises(TimeoutError, match=r"onboarding not ready after 2s; its last answer: 503 .*starting"):
                influx.onboard(proxy.url, "never", org="o", bucket="b", timeout=2)
            # Another refusal is not waited out: a server already onboarded answers 422 at once.
            proxy.answer("POST /api/v2/setup", 503, STARTING, times=0)
            influx.onboard(proxy.url, "never", org="o", bucket="b", timeout=30)
            with pytest.raises(influx.OnboardingFailed, match="422"):
                influx.onboard(proxy.url, "never", org="o", bucket="b", timeout=30)
    finally:
        server.stop()


async def test_the_client_takes_a_starting_influxd_for_a_temporary_state(sandbox: sandbox_module.Sandbox) -> None:
    edge = sandbox.edge
    with HoldingProxy(edge.url).running() as proxy:
        async with InfluxClient(proxy.url, SecretStr(edge.token)) as client:
            proxy.answer("GET /api/v2/orgs", 503, STARTING, times=1)
            with pytest.raises(errors.Starting) as caught:
                await client.find_org(edge.org)
            blocked = from_influx(caught.value, doing=f"InfluxDB at {proxy.url}")
            assert blocked.reason is Reason.UNAVAILABLE
            assert "still starting" in blocked.message
            # Temporary: the same call, asked again, is answered by the server.
            org = await client.find_org(edge.org)
            assert org is not None
            assert org.id == edge.orgID

            # /health saying so is "starting", not "unhealthy" (Unreachable).
            proxy.answer("GET /health", 503, STARTING, times=1)
            with pytest.raises(errors.Starting):
                await client.health()
            assert (await client.health()).status == "pass"


def test_a_starting_instance_is_unavailable_then_ready(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> None:
    ns = kubectl.in_namespace(namespace)
    with HoldingProxy(sandbox.edge.url).running() as proxy:
        proxy.answer("GET /health", 503, STARTING, times=1_000_000)
        scenario.apply_edge_and_cloud(ns, sandbox, namespace, unique, edge_url=proxy.url)
        ready = ns.wait_reason("influxdbinstance", "edge", "Unavailable")
        assert ready["status"] == "False"
        assert "still starting" in ready["message"]
        proxy.answer("GET /health", 503, STARTING, times=0)  # started
        ns.wait_ready("influxdbinstance", "edge")


def test_an_influxd_older_than_supported_is_refused_with_its_own_reason(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> None:
    """The server is the sandbox's real influxd 2.9.1; only the version its
    /health reports is changed, to 2.6.1, by the proxy in front of it."""
    edge = sandbox.edge
    ns = kubectl.in_namespace(namespace)
    bucket = f"edge-{unique}"
    edge.create_bucket(bucket)
    sandbox.cloud.create_bucket(f"cloud-{unique}")
    name = f"old-{unique}"
    with HoldingProxy(edge.url).running() as proxy:
        proxy.rewrite("GET /health", lambda health: health | {"version": "v2.6.1"})
        scenario.apply_edge_and_cloud(ns, sandbox, namespace, unique, edge_url=proxy.url)
        ns.apply(
            manifests.replication(
                name,
                namespace,
                instance="edge",
                local_bucket=bucket,
                connection="cloud",
                remote_bucket=f"cloud-{unique}",
            )
        )
        ready = ns.wait_reason("influxdbinstance", "edge", "UnsupportedVersion")
        assert ready["status"] == "False"
        assert "v2.6.1" in ready["message"]
        assert "older than 2.7.0" in ready["message"]
        assert "2.7 to 2.10" in ready["message"]
        warnings = eventually(
            lambda: [e for e in ns.events("edge") if e["reason"] == "UnsupportedVersion"],
            timeout=30,
            what="the Warning Event",
        )
        assert {e["type"] for e in warnings} == {"Warning"}

        # Its dependents wait, and nothing is made in InfluxDB for them.
        def waiting(kind: str, named: str) -> bool:
            return condition(ns.get(kind, named), "Ready").get("reason") in {"InstanceNotReady", "InstanceFailing"}

        for kind, named in (("replication", name), ("remoteconnection", "cloud")):
            eventually(partial(waiting, kind, named), timeout=60, what=f"the {kind} waiting on its instance")
        assert edge.replications(name=name) == []
        status, body = edge.request("GET", f"/api/v2/remotes?orgID={edge.orgID}&name=cloud-{unique}")
        assert status == 200
        assert not body.get("remotes")

        # The same server reporting its own version: all of it becomes Ready.
        proxy.rewrite("GET /health", None)
        instance = ns.wait_ready("influxdbinstance", "edge")
        assert instance["status"]["version"] == edge.request("GET", "/health")[1]["version"]
        ns.wait_ready("replication", name, timeout=90)
        assert len(edge.replications(name=name)) == 1
