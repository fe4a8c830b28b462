"""The local node's configuration keeps it to itself: containerd writes only
under the node's directory, Service and DNS addresses agree, and the image
archives it makes are what `ctr images import` expects. Registries are trusted
per host, on the local node and on kind."""

from __future__ import annotations

import io
import ipaddress
import json
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml
from e2e import providers

from sandbox import dns, hostnet, kube, node, oci, registry


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_containerd_config_is_toml_and_writes_only_under_the_node_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node, "image_ref", lambda tool: f"testbin.local/{tool}:test")
    config = tomllib.loads(node.containerd_config(tmp_path / "containerd", tmp_path / "containerd.sock"))
    paths = [s for s in _strings(config) if s.startswith("/")]
    host_programs = [node.RUNC, node.CNI_BIN_DIR]
    assert paths
    assert [p for p in paths if not p.startswith(f"{tmp_path}/") and p not in host_programs] == []
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["sandbox_image"] == "testbin.local/pause:test"
    assert cri["registry"] == {"config_path": str(tmp_path / "containerd/certs.d")}


def test_a_trusted_registry_is_pulled_from_over_plain_http_and_only_pulled_from() -> None:
    host = "127.0.0.1:5000"
    assert tomllib.loads(registry.hosts_toml(host)) == {
        "server": f"http://{host}",
        "host": {f"http://{host}": {"capabilities": ["pull", "resolve"]}},
    }
    aliased = tomllib.loads(registry.hosts_toml("registry.invalid:5000", server=host))
    assert aliased["server"] == f"http://{host}"
    assert list(aliased["host"]) == [f"http://{host}"]


def test_kind_nodes_read_registry_hosts_from_the_directory_the_suite_writes_to() -> None:
    # Only GitHub runs the kind provider: this is what can be checked of it here.
    config = yaml.safe_load(providers.KIND_CONFIG)
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    (patch,) = config["containerdConfigPatches"]
    cri = tomllib.loads(patch)["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri == {"registry": {"config_path": providers.KIND_CERTS_DIR}}


def test_dns_and_the_kubernetes_service_are_in_the_service_range() -> None:
    services = ipaddress.ip_network(kube.SERVICE_CIDR)
    assert ipaddress.ip_address(dns.SERVICE_IP) in services
    assert ipaddress.ip_address(kube.NodeAccess(address="10.250.0.1", node_name="n").service_ip) in services
    assert kube.SERVICE_CIDR == hostnet.SERVICE_CIDR
    documents = list(yaml.safe_load_all(dns.manifests("testbin.local/coredns:test")))
    (service,) = (d for d in documents if d["kind"] == "Service")
    assert (service["metadata"]["name"], service["spec"]["clusterIP"]) == ("kube-dns", dns.SERVICE_IP)
    (deployment,) = (d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_pods_are_not_masqueraded_out_of_the_machine() -> None:
    (bridge,) = hostnet.cni_config()["plugins"]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": hostnet.POD_CIDR}]]


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    data = tar.extractfile(name)
    assert data is not None, name
    return data.read()


def test_an_image_archive_names_its_image_and_holds_the_files(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_bytes(b"#!/bin/sh\n")
    binary.chmod(0o755)
    archive = oci.write_single_binary_image(
        tmp_path / "a.tar", ref="testbin.local/tool:1", binary=binary, entrypoint=["/tool"]
    )
    with tarfile.open(archive) as tar:
        (entry,) = json.loads(_member(tar, "index.json"))["manifests"]
        assert entry["annotations"]["io.containerd.image.name"] == "testbin.local/tool:1"
        manifest = json.loads(_member(tar, f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"))
        config = json.loads(_member(tar, f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"))
        assert config["config"]["Entrypoint"] == ["/tool"]
        (layer,) = manifest["layers"]
        assert config["rootfs"]["diff_ids"] == [layer["digest"]]
        rootfs = _member(tar, f"blobs/sha256/{layer['digest'].removeprefix('sha256:')}")
    with tarfile.open(fileobj=io.BytesIO(rootfs)) as files:
        assert files.getmember("tool").mode == 0o755
