"""Validate, the Kubernetes way, on real servers: the annotation answered once
in a Validated condition, validateBeforeCreate refusing a stream that cannot
work with nothing created, and a validate stuck on a frozen remote holding
up nothing else.

Each test runs an operator of its own with a short --validate-timeout
(TIMEOUT): a frozen remote makes influxd wait two minutes for it, and the
operator gives up at its own limit first either way, so a short limit shows
the same state (Validating, then Timeout) without the two minutes."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, KubectlError, condition, eventually
from support.operator_process import OperatorProcess
from support.scenario import ScratchInfluxd, Setup

TIMEOUT = 25  # --validate-timeout, seconds
OWN_OPERATOR_ARGS = (f"--validate-timeout={TIMEOUT}",)
ANNOTATION = "influxdb.replication.dev/validate"
BATCH = 20


@pytest.fixture
def setup(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess
) -> Setup:
    return Setup.create(sandbox, kubectl.in_namespace(fault_namespace), fault_namespace)


def _validated(ns: Kubectl, name: str, *, status: str, requested: str, timeout: float = 60) -> dict[str, Any]:
    """The Replication once its Validated condition has `status` for `requested`."""

    def check() -> dict[str, Any] | None:
        obj = ns.get("replication", name)
        shown = (obj or {}).get("status", {}).get("validation") or {}
        ok = condition(obj, "Validated").get("status") == status and shown.get("requested") == requested
        return obj if ok else None

    return dict(eventually(check, timeout=timeout, what=f"Validated={status} for {requested!r}"))


def _request(ns: Kubectl, name: str, value: str) -> None:
    """The README's command."""
    ns("annotate", "--overwrite", "replication", name, f"{ANNOTATION}={value}")


def _remote_token(setup: Setup, token: str) -> None:
    """Put `token` in the RemoteConnection's Secret; return once it was sent to InfluxDB."""
    before = setup.kubectl.get("remoteconnection", "cloud")["status"]["tokenFingerprint"]  # type: ignore[index]
    setup.kubectl.apply(manifests.secret("cloud-token", setup.namespace, token))
    eventually(
        lambda: setup.kubectl.get("remoteconnection", "cloud")["status"]["tokenFingerprint"] != before,  # type: ignore[index]
        timeout=30,
        what="new token sent to InfluxDB",
    )


def _org_token(server: influx.Influx, org: str) -> str:
    """A write token of a new org of `server`: a real token, but not of the remote's org."""
    status, created = server.request("POST", "/api/v2/orgs", {"name": org})
    assert status == 201, created
    grants = [{"action": a, "resource": {"type": "buckets", "orgID": created["id"]}} for a in ("read", "write")]
    status, auth = server.request("POST", "/api/v2/authorizations", {"orgID": created["id"], "permissions": grants})
    assert status == 201, auth
    return str(auth["token"])


def test_validate_on_demand_answers_each_value_once(
    setup: Setup, sandbox: sandbox_module.Sandbox, own_operator: OperatorProcess
) -> None:
    ns, name = setup.kubectl, f"val-{setup.unique}"
    ns.apply(setup.replication(name))
    setup.ready("replication", name)
    assert condition(ns.get("replication", name), "Validated") == {}  # nothing asked, nothing shown

    _request(ns, name, "first")
    works = _validated(ns, name, status="True", requested="first")
    shown = condition(works, "Validated")
    assert shown["reason"] == "StreamWorks"
    assert "'first'" in shown["message"]
    assert works["status"]["validation"]["result"] == "Succeeded"
    answered_at = works["status"]["validation"]["time"]
    assert shown["lastTransitionTime"] == answered_at
    assert "Validated" in [e["reason"] for e in ns.events(name)]

    # The remote token in the Secret replaced with a real token of another org, then with a made-up one.
    wrong = _org_token(sandbox.cloud, f"other-{setup.unique}")
    invalid = f"invalid-{secrets.token_hex(16)}"
    for value, token in (("second", wrong), ("third", invalid)):
        _remote_token(setup, token)
        _request(ns, name, value)
        fails = _validated(ns, name, status="False", requested=value)
        failed = condition(fails, "Validated")
        assert failed["reason"] == "RemoteValidationFailed"
        assert "must be 204" in failed["message"]  # InfluxDB's own words for what the remote answered
        assert fails["status"]["validation"]["result"] == "Failed"
    assert "401 Unauthorized" in failed["message"]
    warnings = [e for e in ns.events(name) if e["reason"] == "RemoteValidationFailed"]
    assert sorted("'third'" in e["message"] for e in warnings) == [False, True]  # one Event per answer
    # The refresh goes on writing the Replication's status; the answer stays as it was written.
    time.sleep(5)
    assert condition(ns.get("replication", name), "Validated") == failed

    # Restarted, the operator does not ask again for an answered value.
    own_operator.stop()
    own_operator.start()
    other = f"val2-{setup.unique}"
    ns.apply(setup.replication(other))  # once this one is answered, the restarted operator has seen both
    setup.ready("replication", other)
    _remote_token(setup, sandbox.cloud.token)
    _request(ns, other, "after-restart")
    _validated(ns, other, status="True", requested="after-restart")
    assert condition(ns.get("replication", name), "Validated") == failed
    assert [e for e in ns.events(name) if e["reason"] == "RemoteValidationFailed"] == warnings

    visible = own_operator.tail(100000) + json.dumps(ns.get("replication", name)) + json.dumps(ns.events(name))
    tokens = (wrong, invalid, sandbox.cloud.token, sandbox.edge.token)
    leaked = [i for i, token in enumerate(tokens) if token in visible]
    assert leaked == [], "tokens (by position) found in logs, status or events"


def test_validate_before_create_refuses_a_stream_that_cannot_work(
    setup: Setup, sandbox: sandbox_module.Sandbox, kubectl: Kubectl
) -> None:
    ns, name, edge = setup.kubectl, f"vbc-{setup.unique}", sandbox.edge
    # By name InfluxDB cannot validate a new replication (see test_client): refused at admission.
    with pytest.raises(KubectlError, match=r"validateBeforeCreate needs remoteBucket\.id"):
        ns.apply(setup.replication(name, validateBeforeCreate=True))

    manifest = setup.replication(name, validateBeforeCreate=True, remoteBucket={"id": "0" * 15 + "1"})
    ns.apply(manifest)
    refused = ns.wait_reason("replication", name, "RemoteValidationFailed", timeout=60)
    assert refused["status"] == "False"
    assert "was not created" in refused["message"]
    assert 'bucket "0000000000000001" not found' in refused["message"]
    assert edge.replications(name=name) == []
    status = ns.get("replication", name)["status"]  # type: ignore[index]
    assert status.get("id") is None
    assert status.get("createPending") is None  # a retry must not adopt a same-name object as its own
    assert "RemoteValidationFailed" in [e["reason"] for e in ns.events(name)]

    code, found = sandbox.cloud.request("GET", f"/api/v2/buckets?orgID={sandbox.cloud.orgID}&name={setup.cloud_bucket}")
    assert code == 200, found
    manifest["spec"]["remoteBucket"] = {"id": found["buckets"][0]["id"]}
    # Asked for with the fix: a validate waits for the replication to exist, then runs.
    manifest["metadata"]["annotations"] = {ANNOTATION: "with-the-fix"}
    ns.apply(manifest)
    created = setup.ready("replication", name)
    assert [r["id"] for r in edge.replications(name=name)] == [created["status"]["id"]]
    _validated(ns, name, status="True", requested="with-the-fix")
    ns("delete", "replication", name, "--timeout=60s")


def _batch(ns: Kubectl, setup: Setup, prefix: str, connection: str) -> float:
    """Seconds from applying BATCH Replications to all of them Ready."""
    docs = [setup.replication(f"{prefix}-{i}", remote={"connectionRef": {"name": connection}}) for i in range(BATCH)]
    started = time.monotonic()
    ns.apply(*docs)

    def all_ready() -> bool:
        items = json.loads(ns("get", "replications", "-o", "json"))["items"]
        ready = {i["metadata"]["name"] for i in items if condition(i, "Ready").get("status") == "True"}
        return all(d["metadata"]["name"] in ready for d in docs)

    eventually(all_ready, timeout=120, what=f"{BATCH} Replications {prefix}-* Ready")
    return time.monotonic() - started


def _own_remote(setup: Setup, scratch_influxd: ScratchInfluxd, label: str) -> tuple[influx.Server, influx.Influx, str]:
    """An influxd of the test's own as a RemoteConnection `label` and a Ready
    Replication to its bucket: the server (to freeze), what it serves, and the
    Replication's name."""
    ns, namespace = setup.kubectl, setup.namespace
    server, remote = scratch_influxd(label)
    ns.apply(
        manifests.secret(f"{label}-token", namespace, remote.token),
        manifests.remote(
            label,
            namespace,
            instance="edge",
            url=remote.url,
            org_id=remote.orgID,
            secret=f"{label}-token",
            name=f"{label}-{setup.unique}",
        ),
    )
    setup.ready("remoteconnection", label)
    name = f"{label}-{setup.unique}"
    ns.apply(setup.replication(name, remote={"connectionRef": {"name": label}}, remoteBucket={"name": "metrics"}))
    setup.ready("replication", name)
    return server, remote, name


def _refreshes(operator: OperatorProcess) -> float:
    """The instance's refreshes so far (each one ends in a reconcile of it)."""
    done = operator.metric("influxdb_operator_reconciles_total", kind="InfluxDBInstance", outcome="success")
    return done or 0.0


def test_a_validate_stuck_on_a_frozen_remote_holds_up_nothing(
    setup: Setup, sandbox: sandbox_module.Sandbox, own_operator: OperatorProcess, scratch_influxd: ScratchInfluxd
) -> None:
    ns = setup.kubectl
    server, remote, slow = _own_remote(setup, scratch_influxd, "frozen")
    server.freeze()
    try:
        # The same work twice, all to the frozen remote: first with no validate in flight.
        alone = _batch(ns, setup, "alone", "frozen")
        # Two validates in flight: one on demand, one before a create.
        _request(ns, slow, "stuck")
        _validated(ns, slow, status="Unknown", requested="stuck", timeout=30)
        early = f"early-{setup.unique}"
        remote_bucket = {"id": remote.bucketID}
        ns.apply(
            setup.replication(
                early,
                remote={"connectionRef": {"name": "frozen"}},
                remoteBucket=remote_bucket,
                validateBeforeCreate=True,
            )
        )
        ns.wait_reason("replication", early, "Validating", timeout=30)
        refreshes = _refreshes(own_operator)
        beside = _batch(ns, setup, "beside", "frozen")
        # Generous for a loaded machine; the proof that nothing waited on the validate is below.
        assert beside <= 2 * alone + 10, f"{BATCH} Replications: {beside:.1f}s beside a validate, {alone:.1f}s alone"
        # The instance's refresh (every 2s) goes on too.
        eventually(lambda: _refreshes(own_operator) >= refreshes + 2, timeout=10, what="two refreshes")
        # All that while both validates still waited on the remote.
        validating = condition(ns.get("replication", slow), "Validated")
        assert (validating["status"], validating["reason"]) == ("Unknown", "Validating")
        waiting = condition(ns.get("replication", early), "Ready")
        assert (waiting["status"], waiting["reason"]) == ("Unknown", "Validating")
        assert sandbox.edge.replications(name=early) == []

        # A newer value while "stuck" is in flight is answered after it.
        _request(ns, slow, "next")
        timed_out = eventually(
            lambda: [e for e in ns.events(slow) if e["reason"] == "Timeout"], timeout=TIMEOUT + 30, what="Timeout"
        )
        assert "'stuck'" in timed_out[0]["message"]
        assert f"within {TIMEOUT}s" in timed_out[0]["message"]
        _validated(ns, slow, status="Unknown", requested="next")
    finally:
        server.thaw()
    answered = _validated(ns, slow, status="True", requested="next")
    assert answered["status"]["validation"]["result"] == "Succeeded"
    # The create that timed out on its validate is retried, and made once the remote answers.
    created = setup.ready("replication", early)
    assert [r["id"] for r in sandbox.edge.replications(name=early)] == [created["status"]["id"]]


def test_a_validate_cut_short_by_a_restart_runs_again(
    setup: Setup, own_operator: OperatorProcess, scratch_influxd: ScratchInfluxd
) -> None:
    ns = setup.kubectl
    server, _, name = _own_remote(setup, scratch_influxd, "paused")
    server.freeze()
    try:
        _request(ns, name, "once")
        _validated(ns, name, status="Unknown", requested="once", timeout=30)
        own_operator.kill()  # mid-validate: status says Validating, nothing answered
    finally:
        server.thaw()
    own_operator.start()
    answered = _validated(ns, name, status="True", requested="once", timeout=60)
    assert condition(answered, "Validated")["reason"] == "StreamWorks"
