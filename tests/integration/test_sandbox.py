"""The sandbox's servers are the real thing: Kubernetes (the version selected) with CEL
admission, RBAC and TokenRequest; InfluxDB that really replicates."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import sandbox as sandbox_module
from sandbox import binaries
from support.kubectl import Kubectl, KubectlError, eventually

CEL_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.sandbox.test}
spec:
  group: sandbox.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
            x-kubernetes-validations:
            - rule: "self.size <= 10"
              message: "size must be at most 10"
"""


def test_kubernetes_is_the_selected_version(sandbox: sandbox_module.Sandbox) -> None:
    """KUBE=<version> runs the suite on that release, the default (kube/go.mod's) otherwise."""
    status, version = sandbox.kube.get("/version")
    assert status == 200
    assert version["major"] == "1"
    expected = binaries.expected_version("kube-apiserver")
    assert str(version["gitVersion"]) == f"v{expected}" or str(version["gitVersion"]).startswith(f"v{expected}.")


def test_influxd_is_the_selected_version(sandbox: sandbox_module.Sandbox) -> None:
    """INFLUXD=<version> runs the suite on that release, the default (influxd/go.mod's) otherwise."""
    expected = binaries.expected_version("influxd")
    for server in (sandbox.edge, sandbox.cloud):
        status, health = server.request("GET", "/health")
        assert status == 200
        reported = str(health["version"]).removeprefix("v")
        assert reported == expected or reported.startswith(f"{expected}.")


def test_sandbox_json_describes_the_servers(sandbox: sandbox_module.Sandbox) -> None:
    description = sandbox.description
    assert description.stat().st_mode & 0o777 == 0o600
    data = json.loads(description.read_text())
    assert set(data) == {"kubeconfig", "edge", "cloud"}
    for name, server in (("edge", sandbox.edge), ("cloud", sandbox.cloud)):
        assert set(data[name]) == {"url", "org", "orgID", "token", "bucket", "bucketID"}
        assert data[name]["orgID"] == server.orgID
    assert data["kubeconfig"] == str(sandbox.kube.kubeconfig.resolve())


def test_cel_rule_rejects_at_admission(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(CEL_CRD)
    kubectl("wait", "--for=condition=Established", "crd/widgets.sandbox.test", "--timeout=60s")
    good = {
        "apiVersion": "sandbox.test/v1",
        "kind": "Widget",
        "metadata": {"name": "ok", "namespace": namespace},
        "spec": {"size": 3},
    }
    bad = {**good, "metadata": {"name": "too-big", "namespace": namespace}, "spec": {"size": 11}}
    kubectl.apply(good)
    with pytest.raises(KubectlError, match="size must be at most 10"):
        kubectl.apply(bad)
    assert not kubectl.in_namespace(namespace).exists("widgets", "too-big")


def test_unprivileged_user_is_denied_until_bound(
    sandbox: sandbox_module.Sandbox, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    viewer = Kubectl(sandbox.kube.kubeconfig_for_token(sandbox.kube.unprivileged_token, tmp_path / "viewer"), namespace)
    assert viewer("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}") == "sandbox-viewer"
    with pytest.raises(KubectlError, match=r"[Ff]orbidden"):
        viewer("get", "configmaps")
    # A Role of our own: the built-in "view" is aggregated, and aggregation
    # is a controller-manager loop the sandbox does not run.
    kubectl("create", "role", "read-configmaps", "--verb=get,list", "--resource=configmaps", f"--namespace={namespace}")
    kubectl(
        "create", "rolebinding", "viewer", "--role=read-configmaps", "--user=sandbox-viewer", f"--namespace={namespace}"
    )
    # The authorizer sees the binding once its informer has it: wait for that.
    deadline = time.monotonic() + 30
    while viewer("get", "configmaps", check=False).startswith("Error") and time.monotonic() < deadline:
        time.sleep(0.5)
    viewer("get", "configmaps", "-o", "name")  # raises KubectlError while still denied
    assert viewer("auth", "can-i", "list", "configmaps").strip() == "yes"
    assert viewer("auth", "can-i", "list", "secrets", check=False).strip() == "no"


def test_service_account_token_from_token_request_authenticates(
    sandbox: sandbox_module.Sandbox,
    kubectl: Kubectl,
    namespace: str,
    tmp_path: Path,
) -> None:
    kubectl("create", "serviceaccount", "robot", f"--namespace={namespace}")
    token = kubectl("create", "token", "robot", f"--namespace={namespace}", "--duration=10m").strip()
    assert token.count(".") == 2  # a signed JWT
    robot = Kubectl(sandbox.kube.kubeconfig_for_token(token, tmp_path / "robot"), namespace)
    who = robot("auth", "whoami", "-o", "json")
    assert json.loads(who)["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:robot"
    status, _ = sandbox.kube.get("/api/v1/namespaces", token="not-a-token")
    assert status == 401


def test_influxdb_replicates_edge_to_cloud_over_raw_http(sandbox: sandbox_module.Sandbox, unique: str) -> None:
    edge, cloud = sandbox.edge, sandbox.cloud
    edge_bucket = f"raw-edge-{unique}"
    cloud_bucket = f"raw-cloud-{unique}"
    edge_bucket_id = edge.create_bucket(edge_bucket)
    cloud.create_bucket(cloud_bucket)

    status, remote = edge.request(
        "POST",
        "/api/v2/remotes",
        {
            "orgID": edge.orgID,
            "name": f"cloud-{unique}",
            "remoteURL": cloud.url,
            "remoteAPIToken": cloud.token,
            "remoteOrgID": cloud.orgID,
            "allowInsecureTLS": False,
        },
    )
    assert status == 201, remote
    status, replication = edge.request(
        "POST",
        "/api/v2/replications",
        {
            "orgID": edge.orgID,
            "name": f"raw-{unique}",
            "remoteID": remote["id"],
            "localBucketID": edge_bucket_id,
            "remoteBucketName": cloud_bucket,
            "maxQueueSizeBytes": 67108860,
            "maxAgeSeconds": 604800,
        },
    )
    assert status == 201, replication

    now = time.time_ns()
    edge.write(edge_bucket, "\n".join(f"cpu,host=edge-{i} usage={i}.5 {now + i}" for i in range(10)))
    assert edge.count(edge_bucket, "cpu") == 10
    eventually(lambda: cloud.count(cloud_bucket, "cpu") == 10, timeout=30)

    status, seen = edge.request("GET", f"/api/v2/replications/{replication['id']}")
    assert status == 200
    assert isinstance(seen["currentQueueSizeBytes"], int)
    assert seen["latestResponseCode"] == 204
    assert replication["id"] in {r["id"] for r in edge.replications()}

    assert edge.request("DELETE", f"/api/v2/replications/{replication['id']}")[0] == 204
    assert edge.request("DELETE", f"/api/v2/remotes/{remote['id']}")[0] == 204
