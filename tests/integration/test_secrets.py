"""Token rotation without a restart, and tokens kept out of everything visible."""

from __future__ import annotations

import json
import time
from typing import Any

import sandbox as sandbox_module
from sandbox import influx
from support import manifests
from support.kubectl import Kubectl, eventually
from support.operator_process import OperatorProcess
from support.proxy import HoldingProxy
from support.scenario import Setup


def _token(server: influx.Influx, description: str, grants: list[tuple[str, str]]) -> dict[str, Any]:
    """A token with exactly `grants` ((action, resource type) pairs) in the server's org."""
    permissions = [
        {"action": action, "resource": {"type": kind, "orgID": server.orgID}}
        | ({"resource": {"type": kind, "id": server.orgID}} if kind == "orgs" else {})
        for action, kind in grants
    ]
    status, body = server.request(
        "POST",
        "/api/v2/authorizations",
        {"orgID": server.orgID, "description": description, "permissions": permissions},
    )
    assert status == 201, body
    return dict(body)


def _write_token(server: influx.Influx, description: str) -> dict[str, Any]:
    """What a remote token needs: write (and read) on the remote's buckets."""
    return _token(server, description, [("read", "buckets"), ("write", "buckets")])


def _replication_token(server: influx.Influx, description: str) -> dict[str, Any]:
    """What the operator needs on the edge, and nothing more."""
    grants = [(a, k) for k in ("replications", "remotes") for a in ("read", "write")]
    return _token(server, description, [*grants, ("read", "buckets"), ("read", "orgs")])


def _code(setup: Setup, name: str, code: int) -> dict[str, Any]:
    return dict(
        eventually(
            lambda: (
                (r := setup.kubectl.get("replication", name)) and r["status"].get("latestResponseCode") == code and r
            ),
            timeout=45,
            what=f"latestResponseCode {code}",
        )
    )


def test_remote_token_rotation(setup: Setup, sandbox: sandbox_module.Sandbox, operator: OperatorProcess) -> None:
    cloud, edge = sandbox.cloud, sandbox.edge
    first = _write_token(cloud, f"first-{setup.unique}")
    setup.kubectl.apply(manifests.secret("rotating", setup.namespace, first["token"]))
    setup.kubectl.apply(
        manifests.remote(
            "rotating",
            setup.namespace,
            instance="edge",
            url=cloud.url,
            org_id=cloud.orgID,
            secret="rotating",
            name=f"rotating-{setup.unique}",
        )
    )
    fingerprint = setup.ready("remoteconnection", "rotating")["status"]["tokenFingerprint"]
    name = f"rot-{setup.unique}"
    replication = setup.replication(name)
    replication["spec"]["remote"] = {"connectionRef": {"name": "rotating"}}
    setup.kubectl.apply(replication)
    setup.ready("replication", name)

    def write(measurement: str) -> None:
        now = time.time_ns()
        edge.write(setup.edge_bucket, "\n".join(f"{measurement},n={i} v={i} {now + i}" for i in range(5)))

    write("before")
    eventually(lambda: cloud.count(setup.cloud_bucket, "before") == 5, timeout=30)
    _code(setup, name, 204)

    # The cloud's admin issues a new token, the Secret is updated, the old token revoked.
    second = _write_token(cloud, f"second-{setup.unique}")
    setup.kubectl.apply(manifests.secret("rotating", setup.namespace, second["token"]))
    eventually(
        lambda: setup.kubectl.get("remoteconnection", "rotating")["status"]["tokenFingerprint"] != fingerprint,  # type: ignore[index]
        timeout=30,
        what="new token sent to the remote",
    )
    assert cloud.request("DELETE", f"/api/v2/authorizations/{first['id']}")[0] == 204
    write("after")
    eventually(lambda: cloud.count(setup.cloud_bucket, "after") == 5, timeout=30)
    _code(setup, name, 204)
    assert "TokenRotated" in [e["reason"] for e in setup.kubectl.events("rotating")]

    # Revoking the token in use (without updating the Secret) shows up as 401 and Degraded health.
    assert cloud.request("DELETE", f"/api/v2/authorizations/{second['id']}")[0] == 204
    write("denied")
    replication_status = _code(setup, name, 401)
    healthy = next(c for c in replication_status["status"]["conditions"] if c["type"] == "Healthy")
    assert (healthy["status"], healthy["reason"]) == ("False", "RemoteError")

    # Secrets never leak: not in the operator's log, status or events.
    visible = operator.tail(100000) + json.dumps(setup.kubectl.get("remoteconnection", "rotating"))
    visible += json.dumps(setup.kubectl.events("rotating")) + json.dumps(replication_status)
    # Compared without showing either side: a failure must not print the token itself.
    leaked = [
        i for i, token in enumerate((first["token"], second["token"], cloud.token, edge.token)) if token in visible
    ]
    assert leaked == [], "tokens (by position) found in logs, status or events"


def test_instance_token_rotation(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, operator: OperatorProcess, namespace: str, unique: str
) -> None:
    edge = sandbox.edge
    # Through a proxy, which shows when the operator's calls carry the new token.
    with HoldingProxy(edge.url).running() as proxy:
        setup = Setup.create(sandbox, kubectl.in_namespace(namespace), unique, edge_url=proxy.url)
        first = _replication_token(edge, f"op-first-{unique}")
        setup.kubectl.apply(manifests.secret("edge-token", namespace, first["token"]))
        name = f"inst-{unique}"
        setup.kubectl.apply(setup.replication(name))
        setup.ready("replication", name)
        eventually(lambda: proxy.carried(first["token"]), timeout=30, what="a call with the first token")

        second = _replication_token(edge, f"op-second-{unique}")
        setup.kubectl.apply(manifests.secret("edge-token", namespace, second["token"]))
        # The Secret's change wakes the instance's refresh: its calls take the new token.
        eventually(lambda: proxy.carried(second["token"]), timeout=30, what="a call with the new token")
        assert edge.request("DELETE", f"/api/v2/authorizations/{first['id']}")[0] == 204

        # Still working with the new token: an out-of-band change is still corrected.
        replication_id = setup.kubectl.get("replication", name)["status"]["id"]  # type: ignore[index]
        assert edge.request("PATCH", f"/api/v2/replications/{replication_id}", {"description": "x"})[0] == 200
        eventually(
            lambda: edge.request("GET", f"/api/v2/replications/{replication_id}")[1].get("description", "") == "",
            timeout=20,
            what="drift corrected with the rotated token",
        )
        assert setup.ready("influxdbinstance", "edge")
