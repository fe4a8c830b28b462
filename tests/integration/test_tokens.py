"""Remote tokens minted by the operator on the cloud InfluxDB: scoped to the
buckets their Replications write to, rotated make-before-break (also when
the operator is killed in the middle), revoked, and never shown."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from typing import Any

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, condition, eventually
from support.operator_process import OperatorProcess
from support.pacing import paced
from support.proxy import HoldingProxy
from support.scenario import ScratchInfluxd, Setup

ROTATE = "influxdb.replication.dev/rotate-token"


def _minted_remote(setup: Setup, name: str, **spec: Any) -> dict[str, Any]:
    """A RemoteConnection to the cloud, named as the InfluxDBInstance "cloudinst"."""
    return manifests.minted_remote(
        name, setup.namespace, instance="edge", remote_instance="cloudinst", name=f"{name}-{setup.unique}", **spec
    )


def _cloud_instance(
    setup: Setup, cloud: influx.Influx, *, url: str | None = None, own_user: tuple[str, ...] = ("read", "write")
) -> None:
    """The cloud as the InfluxDBInstance "cloudinst", with no more than the README says it
    needs (`own_user`: the actions on its own user)."""
    status, me = cloud.request("GET", "/api/v2/me")
    assert status == 200
    grants = [("read", "replications"), ("read", "remotes"), ("read", "authorizations"), ("write", "authorizations")]
    grants += [("read", "buckets"), ("write", "buckets")]
    permissions = [{"action": a, "resource": {"type": t, "orgID": cloud.orgID}} for a, t in grants]
    permissions += [
        *({"action": action, "resource": {"type": "users", "id": me["id"]}} for action in own_user),
        {"action": "read", "resource": {"type": "orgs", "id": cloud.orgID}},
    ]
    status, made = cloud.request(
        "POST",
        "/api/v2/authorizations",
        {"orgID": cloud.orgID, "description": f"minting {setup.namespace}", "permissions": permissions},
    )
    assert status == 201
    setup.kubectl.apply(
        manifests.secret("cloudinst-token", setup.namespace, made["token"]),
        manifests.instance("cloudinst", setup.namespace, url=url or cloud.url, org=cloud.org, secret="cloudinst-token"),
    )
    setup.ready("influxdbinstance", "cloudinst")


def _stream(
    setup: Setup,
    cloud: influx.Influx,
    remote: str,
    *,
    cloud_url: str | None = None,
    remote_spec: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The cloud instance (at `cloud_url`), a minted RemoteConnection `remote` and a
    Replication `<remote>-<unique>` through it, both Ready: (its name, manifest, object)."""
    _cloud_instance(setup, cloud, url=cloud_url)
    setup.kubectl.apply(_minted_remote(setup, remote, **(remote_spec or {})))
    setup.ready("remoteconnection", remote)
    name = f"{remote}-{setup.unique}"
    replication = setup.replication(name)
    replication["spec"]["remote"] = {"connectionRef": {"name": remote}}
    setup.kubectl.apply(replication)
    return name, replication, setup.ready("replication", name)


def _ours(cloud: influx.Influx, kubectl: Kubectl, name: str) -> list[dict[str, Any]]:
    """The cloud's authorizations made for RemoteConnection `name`, found by description."""
    obj = kubectl.get("remoteconnection", name)
    assert obj is not None
    meta = obj["metadata"]
    description = f"influxdb-replication-operator: {meta['namespace']}/{name} RemoteConnection uid {meta['uid']}"
    status, body = cloud.request("GET", f"/api/v2/authorizations?orgID={cloud.orgID}")
    assert status == 200
    return [a for a in body["authorizations"] if a.get("description") == description]


def _secret_token(kubectl: Kubectl, name: str) -> tuple[str, str]:
    """(token, authorization ID) from the minted Secret of RemoteConnection `name`."""
    secret = kubectl.get("secret", f"{name}-minted-token")
    assert secret is not None
    data = secret["data"]
    return base64.b64decode(data["token"]).decode(), base64.b64decode(data["authorizationID"]).decode()


def _write_with(cloud: influx.Influx, token: str, bucket: str, line: str) -> int:
    query = urllib.parse.urlencode({"org": cloud.org, "bucket": bucket, "precision": "ns"})
    return cloud.request("POST", f"/api/v2/write?{query}", token=token, raw=line.encode())[0]


def _scopes(auth: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted((p["action"], p["resource"]["type"], p["resource"].get("id")) for p in auth["permissions"])


def _bucket_id(cloud: influx.Influx, name: str) -> str:
    status, body = cloud.request("GET", f"/api/v2/buckets?orgID={cloud.orgID}&name={name}")
    assert status == 200
    return str(body["buckets"][0]["id"])


def _leaked(visible: str, *tokens: str) -> list[int]:
    """Positions of the tokens found in `visible`: a failure never prints a token."""
    return [i for i, token in enumerate(tokens) if token in visible]


def _write(edge: influx.Influx, bucket: str, measurement: str, count: int = 5) -> None:
    now = time.time_ns()
    edge.write(bucket, "\n".join(f"{measurement},n={i} v={i} {now + i}" for i in range(count)))


def test_minted_token_writes_only_to_its_buckets_follows_replications_and_is_revoked_on_switch(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, edge, ns = sandbox.cloud, sandbox.edge, setup.kubectl
    _cloud_instance(setup, cloud)
    ns.apply(_minted_remote(setup, "minted"))
    remote = setup.ready("remoteconnection", "minted")
    # No replication yet: a token that may only read its org (InfluxDB wants at least one permission).
    assert remote["status"]["mintedToken"]["buckets"] == []
    assert remote["status"]["mintedToken"]["secretName"] == "minted-minted-token"
    first = remote["status"]["mintedToken"]["authorizationID"]
    name = f"mint-{setup.unique}"
    replication = setup.replication(name)
    replication["spec"]["remote"] = {"connectionRef": {"name": "minted"}}
    ns.apply(replication)
    setup.ready("replication", name)

    _write(edge, setup.edge_bucket, "minted")
    eventually(lambda: cloud.count(setup.cloud_bucket, "minted") == 5, timeout=30, what="points at the cloud")
    target = _bucket_id(cloud, setup.cloud_bucket)
    [auth] = _ours(cloud, ns, "minted")
    assert _scopes(auth) == [("write", "buckets", target)]
    token, auth_id = _secret_token(ns, "minted")
    assert auth_id == auth["id"] != first
    status = ns.get("remoteconnection", "minted")["status"]  # type: ignore[index]
    assert status["mintedToken"]["authorizationID"] == auth["id"]
    assert status["mintedToken"]["buckets"] == [{"id": target, "name": setup.cloud_bucket}]
    secret = ns.get("secret", "minted-minted-token")
    assert secret is not None
    assert secret["metadata"]["ownerReferences"][0]["uid"] == ns.get("remoteconnection", "minted")["metadata"]["uid"]  # type: ignore[index]
    # The token writes to its bucket and nowhere else.
    assert _write_with(cloud, token, setup.cloud_bucket, "direct v=1") == 204
    assert _write_with(cloud, token, cloud.bucket, "direct v=1") in (401, 403)

    # A second Replication to another bucket: the token is widened (a new one), the old one revoked.
    other = f"other-{setup.unique}"
    other_id = cloud.create_bucket(other)
    second = setup.replication(f"{name}-2", remoteBucket={"name": other})
    second["spec"]["remote"] = {"connectionRef": {"name": "minted"}}
    ns.apply(second)
    setup.ready("replication", f"{name}-2")
    [widened] = _ours(cloud, ns, "minted")
    assert _scopes(widened) == sorted([("write", "buckets", target), ("write", "buckets", other_id)])
    assert widened["id"] != auth["id"]
    _write(edge, setup.edge_bucket, "widened")
    eventually(lambda: cloud.count(other, "widened") == 5, timeout=30, what="points in the second bucket")
    # ... and narrowed again when that Replication goes.
    ns("delete", "replication", f"{name}-2", "--timeout=60s")
    eventually(
        lambda: [_scopes(a) for a in _ours(cloud, ns, "minted")] == [[("write", "buckets", target)]],
        timeout=30,
        what="token narrowed to the remaining bucket",
    )
    token, _ = _secret_token(ns, "minted")
    events = ns.events("minted")
    assert {"TokenMinted", "TokenRevoked"} <= {e["reason"] for e in events}

    # Canary: the minted token appears nowhere visible.
    visible = operator.tail(1000000) + json.dumps(ns.get("remoteconnection", "minted")) + json.dumps(events)
    visible += json.dumps(ns.get("replication", name))
    assert _leaked(visible, token) == [], "a minted token (by position) is in the log, status or Events"

    # Back to a user's Secret: the minted tokens are revoked, their Secret deleted; data still flows.
    switched = _minted_remote(setup, "minted")
    del switched["spec"]["remoteInstanceRef"]
    switched["spec"] |= {
        "remoteURL": cloud.url,
        "remoteOrgID": cloud.orgID,
        "remoteTokenSecretRef": {"name": "cloud-token", "key": "token"},
    }
    ns.apply(switched)
    eventually(lambda: _ours(cloud, ns, "minted") == [], timeout=30, what="minted tokens revoked")
    eventually(lambda: not ns.exists("secret", "minted-minted-token"), timeout=30, what="minted Secret deleted")
    assert "mintedToken" not in ns.get("remoteconnection", "minted")["status"]  # type: ignore[index]
    _write(edge, setup.edge_bucket, "switched")
    eventually(lambda: cloud.count(setup.cloud_bucket, "switched") == 5, timeout=30, what="points after the switch")
    assert _write_with(cloud, token, setup.cloud_bucket, "revoked v=1") == 401


def test_deleting_a_minted_remote_revokes_its_token(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, ns = sandbox.cloud, setup.kubectl
    _cloud_instance(setup, cloud)
    ns.apply(_minted_remote(setup, "doomed"))
    setup.ready("remoteconnection", "doomed")
    token, _ = _secret_token(ns, "doomed")
    assert len(_ours(cloud, ns, "doomed")) == 1
    uid = ns.get("remoteconnection", "doomed")["metadata"]["uid"]  # type: ignore[index]
    # The instance that minted it waits: without it the token could not be revoked.
    ns("delete", "influxdbinstance", "cloudinst", "--wait=false")
    waiting = ns.wait_reason("influxdbinstance", "cloudinst", "InUse", timeout=30)
    assert "RemoteConnection doomed (its minted token)" in waiting["message"]
    ns("delete", "remoteconnection", "doomed", "--timeout=60s")
    eventually(lambda: not ns.exists("influxdbinstance", "cloudinst"), timeout=30, what="the instance gone after it")
    status, body = cloud.request("GET", f"/api/v2/authorizations?orgID={cloud.orgID}")
    assert status == 200
    assert [a for a in body["authorizations"] if uid in a.get("description", "")] == []
    assert not ns.exists("secret", "doomed-minted-token")
    assert cloud.request("GET", f"/api/v2/buckets?orgID={cloud.orgID}", token=token)[0] == 401


def test_widening_and_rotation_requests_do_not_wait_for_a_long_resync_period(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, edge, ns = sandbox.cloud, sandbox.edge, setup.kubectl
    _cloud_instance(setup, cloud)
    ns.apply(
        manifests.instance("edge", setup.namespace, url=edge.url, org=edge.org, secret="edge-token", resync="300s")
    )
    ns.apply(_minted_remote(setup, "prompt"))
    setup.ready("remoteconnection", "prompt")
    name = f"prompt-{setup.unique}"
    replication = setup.replication(name)
    replication["spec"]["remote"] = {"connectionRef": {"name": "prompt"}}
    started = time.monotonic()
    ns.apply(replication)
    setup.ready("replication", name, timeout=60)
    assert time.monotonic() - started < 30, "the token was widened only by the periodic refresh"
    started = time.monotonic()
    ns("annotate", "remoteconnection", "prompt", f"{ROTATE}=now")
    eventually(
        lambda: ns.get("remoteconnection", "prompt")["status"]["mintedToken"].get("rotationRequest") == "now",  # type: ignore[index]
        timeout=60,
        what="rotation answered",
    )
    assert time.monotonic() - started < 30, "the rotation waited for the periodic refresh"


def test_a_bucket_missing_on_the_cloud_is_waited_for_and_said(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, ns = sandbox.cloud, setup.kubectl
    _cloud_instance(setup, cloud)
    ns.apply(_minted_remote(setup, "early"))
    setup.ready("remoteconnection", "early")
    later = f"later-{setup.unique}"
    name = f"early-{setup.unique}"
    replication = setup.replication(name, remoteBucket={"name": later})
    replication["spec"]["remote"] = {"connectionRef": {"name": "early"}}
    ns.apply(replication)
    waiting = ns.wait_reason("replication", name, "RemoteTokenPending", timeout=30)
    assert later in waiting["message"]
    eventually(
        lambda: (
            f"not covered: bucket name {later}" in condition(ns.get("remoteconnection", "early"), "Ready")["message"]
        ),
        timeout=30,
        what="the remote names the missing bucket",
    )
    assert sandbox.edge.replications(name=name) == []  # not created to meet 401s
    later_id = cloud.create_bucket(later)
    setup.ready("replication", name, timeout=60)
    assert [_scopes(a) for a in _ours(cloud, ns, "early")] == [[("write", "buckets", later_id)]]


def test_an_instance_token_that_cannot_see_its_authorizations_is_reported(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    # Without read on its user, InfluxDB silently leaves its authorizations out of listings.
    _cloud_instance(setup, sandbox.cloud, own_user=("write",))
    setup.kubectl.apply(_minted_remote(setup, "blind"))
    blocked = setup.kubectl.wait_reason("remoteconnection", "blind", "Unauthorized", timeout=30)
    assert "needs read on authorizations and on its own user" in blocked["message"]


def test_a_secret_of_the_same_name_not_owned_is_never_overwritten(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, ns = sandbox.cloud, setup.kubectl
    _cloud_instance(setup, cloud)
    ns.apply(manifests.secret("taken-minted-token", setup.namespace, "the user's own"))
    ns.apply(_minted_remote(setup, "taken"))
    blocked = ns.wait_reason("remoteconnection", "taken", "SecretNotWritten", timeout=60)
    assert "is not owned by RemoteConnection taken" in blocked["message"]
    assert _ours(cloud, ns, "taken") == []  # the token minted for it was revoked at once
    assert _secret_token_raw(ns, "taken-minted-token") == "the user's own"
    ns("delete", "secret", "taken-minted-token")
    setup.ready("remoteconnection", "taken")
    assert len(_ours(cloud, ns, "taken")) == 1


def _secret_token_raw(kubectl: Kubectl, name: str) -> str:
    secret = kubectl.get("secret", name)
    assert secret is not None
    return base64.b64decode(secret["data"]["token"]).decode()


def _operator_calls(server: influx.Influx, paths: tuple[str, ...]) -> float:
    """Requests the operator made to `paths` on `server`, from influxd's own counters.
    influxd labels the operator's agent ("Python/3.x aiohttp/3.x") "aiohttp" for some
    requests and "Python" for others, so both count; the tests' own are "Python-urllib",
    and replication writes from edge influxds are of other agents."""
    text = urllib.request.urlopen(f"{server.url}/metrics", timeout=10).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_api_requests_total{")
        and ('user_agent="aiohttp"' in line or 'user_agent="Python"' in line)
        and any(f'path="{path}"' in line for path in paths)
    )


def test_a_settled_minted_remote_costs_no_call_and_no_write(
    setup: Setup, operator: OperatorProcess, scratch_influxd: ScratchInfluxd
) -> None:
    # A cloud of its own: its counters hold no call made for what earlier tests left
    # behind on the shared cloud (minted remotes still widening, rotating or waiting).
    _, cloud = scratch_influxd("quiet-cloud")
    cloud.create_bucket(setup.cloud_bucket)
    ns = setup.kubectl
    _stream(setup, cloud, "quiet")

    def versions() -> tuple[str, str]:
        remote, secret = ns.get("remoteconnection", "quiet"), ns.get("secret", "quiet-minted-token")
        assert remote is not None
        assert secret is not None
        return remote["metadata"]["resourceVersion"], secret["metadata"]["resourceVersion"]

    paths = ("/api/v2/authorizations", "/api/v2/buckets", "/api/v2/write")
    assert _operator_calls(cloud, paths) > 0  # minting was counted: the counters do see the operator
    # Once the widening rotation and the first refreshes are done (however long that
    # takes on a loaded machine) no call about the token is made for two periods...
    counts = [_operator_calls(cloud, paths)]

    def quiet() -> bool:
        time.sleep(4)
        counts.append(_operator_calls(cloud, paths))
        return counts[-1] == counts[-2]

    eventually(quiet, timeout=60, interval=0, what="no token call for two periods")
    before, calls = versions(), counts[-1]
    time.sleep(10)  # ...nor in the next five refreshes of the 2s period
    assert versions() == before, "a refresh rewrote the remote or its Secret"
    assert _operator_calls(cloud, paths) == calls, "a refresh called the cloud about the token"


def _remote_write_errors(edge: influx.Influx, replication_id: str) -> dict[str, float]:
    """influxd's remote write errors of one replication, by HTTP code."""
    text = urllib.request.urlopen(f"{edge.url}/metrics", timeout=10).read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("replications_queue_remote_write_errors{") and f'replicationID="{replication_id}"' in line:
            code = line.split('code="', 1)[1].split('"', 1)[0] if 'code="' in line else "?"
            found[code] = found.get(code, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


def test_rotation_under_steady_writes_loses_nothing_and_never_sees_401(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, edge, ns = sandbox.cloud, sandbox.edge, setup.kubectl
    name, _, ready = _stream(setup, cloud, "steady")
    replication_id = ready["status"]["id"]
    [before] = _ours(cloud, ns, "steady")
    codes: set[int] = set()

    def write(n: int) -> None:
        edge.write(setup.edge_bucket, f"paced,n={n} v={n} {time.time_ns()}")

    with paced(write, every=0.1) as counts:
        time.sleep(2)
        for request in ("one", "two"):
            ns("annotate", "--overwrite", "remoteconnection", "steady", f"{ROTATE}={request}")

            def answered(request: str = request) -> bool:
                status = ns.get("remoteconnection", "steady")["status"]  # type: ignore[index]
                code = ns.get("replication", name)["status"].get("latestResponseCode")  # type: ignore[index]
                if code is not None:
                    codes.add(code)
                return bool(
                    status["mintedToken"].get("rotationRequest") == request and not status.get("tokenRotationStarted")
                )

            eventually(answered, timeout=60, interval=0.3, what=f"rotation {request} answered")
            time.sleep(3)  # writes keep flowing with the new token
    written, failed = counts
    assert failed == 0
    eventually(lambda: cloud.count(setup.cloud_bucket, "paced") == written, timeout=60, what="every point at the cloud")
    [after] = _ours(cloud, ns, "steady")
    assert after["id"] != before["id"]
    assert cloud.request("GET", f"/api/v2/authorizations/{before['id']}")[0] == 404
    assert codes <= {204}, f"response codes seen: {codes}"
    assert _remote_write_errors(edge, replication_id) == {}, "influxd recorded remote write errors"
    assert "TokenMinted" in [e["reason"] for e in ns.events("steady")]


def test_a_rotation_period_mints_new_tokens_on_its_own(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, edge, ns = sandbox.cloud, sandbox.edge, setup.kubectl
    name, _, _ = _stream(setup, cloud, "periodic", remote_spec={"tokenRotation": {"period": "5s"}})
    seen = {_secret_token(ns, "periodic")[1]}

    def rotated_twice() -> bool:
        seen.add(_secret_token(ns, "periodic")[1])
        return len(seen) >= 3

    eventually(rotated_twice, timeout=60, what="two rotations by period")
    _write(edge, setup.edge_bucket, "periodic")
    _arrive(cloud, setup.cloud_bucket, "periodic", 5)
    # Each rotation revoked the one before: never more than one left once a rotation is done.
    eventually(lambda: len(_ours(cloud, ns, "periodic")) == 1, timeout=30, what="one authorization")
    # Not left rotating every 5 s for the rest of the session (it would call the shared cloud).
    ns("delete", "replication", name, "--timeout=60s")
    ns("delete", "remoteconnection", "periodic", "--timeout=60s")


def test_moving_a_replication_to_another_bucket_under_writes_never_loses_permission(
    setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess
) -> None:
    cloud, edge, ns = sandbox.cloud, sandbox.edge, setup.kubectl
    _, replication, ready = _stream(setup, cloud, "mover")
    replication_id = ready["status"]["id"]
    second = f"moved-{setup.unique}"
    second_id = cloud.create_bucket(second)

    def write(n: int) -> None:
        edge.write(setup.edge_bucket, f"moving,n={n} v={n} {time.time_ns()}")

    with paced(write, every=0.1) as counts:
        time.sleep(2)
        replication["spec"]["remoteBucket"] = {"name": second}
        ns.apply(replication)
        eventually(
            lambda: edge.request("GET", f"/api/v2/replications/{replication_id}")[1].get("RemoteBucketName") == second,
            timeout=60,
            what="the replication moved to the second bucket",
        )
        eventually(
            lambda: [_scopes(a) for a in _ours(cloud, ns, "mover")] == [[("write", "buckets", second_id)]],
            timeout=60,
            what="the token narrowed to the second bucket",
        )
        time.sleep(2)
    written, failed = counts
    assert failed == 0
    eventually(
        lambda: cloud.count(setup.cloud_bucket, "moving") + cloud.count(second, "moving") == written,
        timeout=60,
        what="every point in one of the two buckets",
    )
    assert cloud.count(second, "moving") > 0
    assert _remote_write_errors(edge, replication_id) == {}, "influxd recorded remote write errors"


def test_a_rotation_that_fails_halfway_is_finished_with_the_token_already_minted(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> None:
    cloud, ns = sandbox.cloud, kubectl.in_namespace(namespace)
    with HoldingProxy(sandbox.edge.url).running() as edge_proxy:
        setup = Setup.create(sandbox, ns, unique, edge_url=edge_proxy.url)
        _stream(setup, cloud, "halfway")
        # The edge refuses (502) to take the new token once: the rotation stops after the Secret.
        edge_proxy.arm(r"PATCH /api/v2/remotes/\w+", before=True)
        ns("annotate", "remoteconnection", "halfway", f"{ROTATE}=once")
        assert edge_proxy.held.wait(60), "the new token was never sent to the edge"
        _, minted = _secret_token(ns, "halfway")
        edge_proxy.release()
        eventually(
            lambda: ns.get("remoteconnection", "halfway")["status"]["mintedToken"].get("rotationRequest") == "once",  # type: ignore[index]
            timeout=60,
            what="the rotation finished",
        )
        assert [a["id"] for a in _ours(cloud, ns, "halfway")] == [minted], "minted again instead of finishing"
        assert _secret_token(ns, "halfway")[1] == minted


# Where a rotation is cut short: (proxy, "METHOD /path" held, held before it is sent?).
STEPS = [
    ("cloud", r"POST /api/v2/authorizations", False),  # minted; the Secret not yet written
    ("edge", r"PATCH /api/v2/remotes/\w+", True),  # the Secret written; the remote still has the old token
    ("edge", r"PATCH /api/v2/remotes/\w+", False),  # the remote has the new token; not confirmed
    ("cloud", r"POST /api/v2/write", False),  # confirming the new token
    ("cloud", r"DELETE /api/v2/authorizations/\w+", False),  # the old one revoked; status not yet written
]


def test_operator_killed_at_each_step_of_a_rotation_leaves_one_working_token(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, fault_namespace: str, own_operator: OperatorProcess
) -> None:
    cloud, edge = sandbox.cloud, sandbox.edge
    ns = kubectl.in_namespace(fault_namespace)
    with HoldingProxy(edge.url).running() as edge_proxy, HoldingProxy(cloud.url).running() as cloud_proxy:
        proxies = {"edge": edge_proxy, "cloud": cloud_proxy}
        setup = Setup.create(sandbox, ns, fault_namespace, edge_url=edge_proxy.url)
        # The operator reaches the cloud through the proxy; the edge writes to it directly (remoteURL).
        name, _, _ = _stream(setup, cloud, "killed", cloud_url=cloud_proxy.url, remote_spec={"remoteURL": cloud.url})

        seen: list[str] = []
        for step, (side, match, before) in enumerate(STEPS):
            proxy = proxies[side]
            proxy.arm(match, before=before)
            ns("annotate", "--overwrite", "remoteconnection", "killed", f"{ROTATE}=step-{step}")
            assert proxy.held.wait(60), f"step {step}: the operator never sent {match}"
            own_operator.kill()
            proxy.release()
            own_operator.start()

            def answered(step: int = step) -> bool:
                status = ns.get("remoteconnection", "killed")["status"]  # type: ignore[index]
                return bool(
                    status["mintedToken"].get("rotationRequest") == f"step-{step}"
                    and not status.get("tokenRotationStarted")
                )

            eventually(answered, timeout=60, what=f"step {step}: rotation answered after the restart")
            ours = _ours(cloud, ns, "killed")
            token, auth_id = _secret_token(ns, "killed")
            assert [a["id"] for a in ours] == [auth_id], f"step {step}: strays left"
            assert _write_with(cloud, token, setup.cloud_bucket, f"direct,step={step} v=1") == 204
            seen.append(token)
            _write(edge, setup.edge_bucket, f"after{step}")
            _arrive(cloud, setup.cloud_bucket, f"after{step}", 5)
        visible = own_operator.tail(1000000) + json.dumps(ns.get("remoteconnection", "killed"))
        visible += json.dumps(ns.events("killed"))
        assert _leaked(visible, *seen) == [], "a minted token (by position) is in the log, status or Events"
        ns("delete", "replication", name, "--timeout=60s")
        ns("delete", "remoteconnection", "killed", "--timeout=60s")
        assert _ours_by_uid(cloud, fault_namespace) == []


def _arrive(cloud: influx.Influx, bucket: str, measurement: str, count: int) -> None:
    eventually(lambda: cloud.count(bucket, measurement) == count, timeout=30, what=f"{count} {measurement} points")


def _ours_by_uid(cloud: influx.Influx, namespace: str) -> list[str]:
    status, body = cloud.request("GET", f"/api/v2/authorizations?orgID={cloud.orgID}")
    assert status == 200
    return [a["id"] for a in body["authorizations"] if f" {namespace}/" in a.get("description", "")]
