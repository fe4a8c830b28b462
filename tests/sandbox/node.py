"""One Kubernetes node made of host processes, in the style of Kubernetes'
hack/local-up-cluster.sh: containerd (its own root, state, runc root and
socket), the kubelet, kube-controller-manager,
kube-scheduler, kube-proxy (iptables) and CoreDNS as a pod.

One function per component, each waiting for its health endpoint before the
next starts; `sandbox.teardown` takes it all back.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import binaries, dns, hostnet, kube, oci, processes, registry

NODE_NAME = "local"
# Images the node makes itself; `testbin.local` is no registry anyone can pull from.
IMAGE_PREFIX = "testbin.local"
RUNC = "/usr/sbin/runc"
CNI_BIN_DIR = "/usr/lib/cni"
HOST_COMMANDS = (
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "iptables",
    "iptables-save",
    "ip6tables",
    "ip6tables-save",
    "ip",
    "umount",
    # kube-proxy 1.32's --cleanup destroys its IPVS sets with it and fails without it (1.37's does not).
    "ipset",
)
# The Debian packages that hold HOST_COMMANDS, RUNC and the CNI plugins.
HOST_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "iptables", "iproute2", "ipset")
NODE_TOOLS = ("kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy", "coredns", "pause")
KUBEPODS = "kubepods"  # the kubelet's cgroup (cgroupfs driver, cgroupRoot /)
CONTAINER_LOG_LINKS = Path("/var/log/containers")  # the kubelet's fixed directory of log symlinks
CNI_STATE = Path("/var/lib/cni")  # libcni's result cache and host-local's leases (not configurable here)
SHIM_SOCKETS = Path("/run/containerd/s")  # fixed in containerd 1.6
# containerd's and the kubelet's trees hold unix sockets, whose paths may not
# exceed about 100 bytes, so they live under this short path, not in the work
# directory (a pytest tmp_path is too long).
NODE_BASE = Path("/var/lib/influxdb-replication-operator")


@dataclass(frozen=True)
class Containerd:
    socket: Path
    # CRI's registry config_path: a directory per registry host, read at each pull.
    certs_dir: Path

    def trust_registry(self, host: str, *, server: str | None = None) -> None:
        """Pull images named `host` ("ADDRESS:PORT") over plain HTTP from `server`
        (default: `host`), as a user configures a private registry without TLS;
        effective from the next pull, no restart.

        (containerd already tries plain HTTP for a loopback host with a port; a
        registry anywhere else needs this.)"""
        directory = self.certs_dir / host
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "hosts.toml").write_text(registry.hosts_toml(host, server=server))

    def ctr(self, *argv: str) -> list[str]:
        return ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *argv]

    def import_archive(self, archive: Path) -> None:
        """Import an image archive (OCI layout or `docker save`) for the kubelet."""
        subprocess.run(self.ctr("images", "import", str(archive)), check=True, capture_output=True)

    def remove_image(self, ref: str) -> None:
        """Forget the image `ref` (NAME@DIGEST) names, under every name it has here
        (the CRI adds its own, sha256:ID), so that the next Pod of it pulls again."""
        digest = ref.rpartition("@")[2]
        listed = subprocess.run(self.ctr("images", "ls"), capture_output=True, text=True, check=True).stdout
        names = [line.split()[0] for line in listed.splitlines()[1:] if digest in line.split()[1:]]
        if names:
            subprocess.run(self.ctr("images", "rm", *names), check=True, capture_output=True)

    def load_image(self, ref: str) -> None:
        """`docker save ref | ctr images import -`: a locally built Docker image
        becomes usable by pods (imagePullPolicy IfNotPresent or Never)."""
        with subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE) as save:
            assert save.stdout is not None
            with subprocess.Popen(
                self.ctr("images", "import", "-"), stdin=save.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            ) as ctr:
                save.stdout.close()  # ours; if ctr fails, docker save gets EPIPE instead of blocking
                _, errors = ctr.communicate()
        if save.returncode != 0:
            raise RuntimeError(f"docker save {ref} failed with code {save.returncode}")
        if ctr.returncode != 0:
            raise RuntimeError(f"ctr images import of {ref} failed: {errors.decode(errors='replace')}")


def missing_host_commands() -> list[str]:
    """The host's own parts (Debian's HOST_PACKAGES) that are not here."""
    files = (RUNC, f"{CNI_BIN_DIR}/bridge", f"{CNI_BIN_DIR}/host-local", f"{CNI_BIN_DIR}/loopback")
    return [c for c in HOST_COMMANDS if shutil.which(c) is None] + [f for f in files if not Path(f).exists()]


def image_ref(tool: str) -> str:
    """The name the node's own image of `tool` (pause, coredns) is imported under."""
    # The cache directory is <tool>-<version>-<recipe>: the version names the image.
    version = Path(binaries.path(tool)).parent.name.removeprefix(f"{tool}-").rsplit("-", 1)[0]
    return f"{IMAGE_PREFIX}/{tool}:{version}"


@contextlib.contextmanager
def _serving(name: str, argv: list[str], log: Path, healthz: str) -> Iterator[subprocess.Popen[bytes]]:
    """`name` running until the block ends, once its healthz answers."""
    with processes.running(name, argv, log=log) as proc:
        processes.wait_until(lambda: _healthy(healthz), what=name, timeout=60, proc=proc, log=log)
        yield proc


def _healthy(url: str) -> bool:
    # Components serve health on loopback with self-signed certificates.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        return int(response.status) == 200


def containerd_config(workdir: Path, socket: Path) -> str:
    """containerd's config.toml: the CRI plugin, every path under `workdir` but the socket."""
    cri = {
        "sandbox_image": image_ref("pause"),
        # Registries are configured per host in hosts.toml files (Containerd.trust_registry).
        "registry": {"config_path": str(workdir / "certs.d")},
        # Without CAP_SYS_RESOURCE negative OOM scores are refused; clamp them instead.
        "restrict_oom_score_adj": True,
        "disable_tcp_service": True,
        "stream_server_address": "127.0.0.1",
        "stream_server_port": "0",
        # Pod network namespaces under workdir, not in the host's /run/netns.
        "netns_mounts_under_state_dir": True,
        "containerd": {
            "snapshotter": "overlayfs",
            "default_runtime_name": "runc",
            "runtimes": {
                "runc": {
                    "runtime_type": "io.containerd.runc.v2",
                    "options": {"BinaryName": RUNC, "Root": str(workdir / "runc"), "SystemdCgroup": False},
                }
            },
        },
        "cni": {"bin_dir": CNI_BIN_DIR, "conf_dir": str(workdir / "cni/net.d")},
    }
    config = {
        "version": 2,
        "root": str(workdir / "root"),
        "state": str(workdir / "state"),
        "grpc": {"address": str(socket)},
        "ttrpc": {"address": f"{socket}.ttrpc"},
        "debug": {"address": ""},
        "metrics": {"address": ""},
        # Plugins that would need what is not here.
        "disabled_plugins": [
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.zfs",
            "io.containerd.tracing.processor.v1.otlp",
            "io.containerd.internal.v1.tracing",
        ],
        "plugins": {
            "io.containerd.grpc.v1.cri": cri,
            "io.containerd.internal.v1.opt": {"path": str(workdir / "opt")},
            # Unused (CRI runs runc.v2), but it is loaded and would use /run/containerd.
            "io.containerd.runtime.v1.linux": {"runtime_root": str(workdir / "runc-v1")},
        },
    }
    return _toml(config)


@contextlib.contextmanager
def containerd(workdir: Path, socket: Path, *, logs: Path) -> Iterator[Containerd]:
    """containerd with the CRI plugin, everything of it under `workdir`, listening on `socket`."""
    for d in ("root", "state", "runc", "opt", "cni/net.d", "certs.d"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    (workdir / "cni/net.d/10-iro.conflist").write_text(json.dumps(hostnet.cni_config(), indent=2))
    socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    (workdir / "config.toml").write_text(containerd_config(workdir, socket))
    log = logs / "containerd.log"
    argv = ["containerd", "--config", str(workdir / "config.toml"), "--log-level", "warn"]
    with processes.running("containerd", argv, log=log) as proc:
        runtime = Containerd(socket, workdir / "certs.d")
        processes.wait_until(
            lambda: subprocess.run(runtime.ctr("version"), capture_output=True).returncode == 0,
            what="containerd",
            timeout=60,
            proc=proc,
            log=log,
        )
        yield runtime


def import_node_images(runtime: Containerd, workdir: Path) -> None:
    """The pause and CoreDNS images, made from the testbin's static binaries."""
    for tool, entrypoint in (("pause", ["/pause"]), ("coredns", ["/coredns"])):
        archive = oci.write_single_binary_image(
            workdir / f"{tool}.oci.tar", ref=image_ref(tool), binary=Path(binaries.path(tool)), entrypoint=entrypoint
        )
        runtime.import_archive(archive)
        archive.unlink()


@contextlib.contextmanager
def kubelet(workdir: Path, control_plane: kube.Kube, runtime: Containerd, *, logs: Path) -> Iterator[None]:
    assert control_plane.pki_dir is not None
    workdir.mkdir(parents=True, exist_ok=True)
    healthz_port = processes.free_port()
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": hostnet.NODE_ADDRESS,
        "port": processes.free_port(),
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "containerRuntimeEndpoint": f"unix://{runtime.socket}",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "oomScoreAdj": 0,  # the default, -999, needs CAP_SYS_RESOURCE
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(control_plane.pki_dir / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [dns.SERVICE_IP],
        "clusterDomain": dns.CLUSTER_DOMAIN,
        # Pods resolve cluster names only: no host resolver, nothing leaves the machine.
        "resolvConf": "",
        "podLogsDir": str(workdir / "pod-logs"),
        "volumePluginDir": str(workdir / "volume-plugins"),
        # A test machine's disk may be fuller than a production node's would be.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        # No image garbage collection (kind's setting): the node's images are imported,
        # not pullable, and on a disk over 85% used (by statfs' free space: a thin
        # volume reads so) the kubelet removed the pause image, and no Pod started after.
        "imageGCHighThresholdPercent": 100,
        "serializeImagePulls": False,
        "shutdownGracePeriod": "0s",
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    kubeconfig = control_plane.kubeconfig_for_token(control_plane.component_tokens["kubelet"], workdir / "kubeconfig")
    argv = [
        binaries.path("kubelet"),
        f"--config={workdir / 'config.yaml'}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={workdir / 'root'}",
        f"--cert-dir={workdir / 'pki'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={hostnet.NODE_ADDRESS}",
    ]
    log = logs / "kubelet.log"
    with _serving("kubelet", argv, log, f"http://127.0.0.1:{healthz_port}/healthz") as proc:
        processes.wait_until(
            lambda: control_plane.get(f"/api/v1/nodes/{NODE_NAME}")[0] == 200,
            what="the Node to register",
            timeout=60,
            proc=proc,
            log=log,
        )
        yield


@contextlib.contextmanager
def controller_manager(workdir: Path, control_plane: kube.Kube) -> Iterator[None]:
    """Garbage collection, namespaces, Deployments, ServiceAccounts and their
    tokens, and the kube-root-ca.crt ConfigMap every pod's token volume needs."""
    assert control_plane.pki_dir is not None
    workdir.mkdir(parents=True, exist_ok=True)
    port = processes.free_port()
    kubeconfig = control_plane.kubeconfig_for_token(
        control_plane.component_tokens["kube-controller-manager"], workdir / "kubeconfig"
    )
    argv = [
        binaries.path("kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--service-account-private-key-file={control_plane.pki_dir / 'sa.key'}",
        f"--root-ca-file={control_plane.pki_dir / 'ca.crt'}",
        "--use-service-account-credentials=true",  # each controller with its own bootstrap role
        f"--service-cluster-ip-range={kube.SERVICE_CIDR}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'pki'}",
    ]
    log = workdir.parent / "logs/kube-controller-manager.log"
    with _serving("kube-controller-manager", argv, log, f"https://127.0.0.1:{port}/healthz"):
        yield


@contextlib.contextmanager
def scheduler(workdir: Path, control_plane: kube.Kube) -> Iterator[None]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = processes.free_port()
    kubeconfig = control_plane.kubeconfig_for_token(
        control_plane.component_tokens["kube-scheduler"], workdir / "kubeconfig"
    )
    argv = [
        binaries.path("kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'pki'}",
    ]
    log = workdir.parent / "logs/kube-scheduler.log"
    with _serving("kube-scheduler", argv, log, f"https://127.0.0.1:{port}/healthz"):
        yield


@contextlib.contextmanager
def kube_proxy(workdir: Path, control_plane: kube.Kube) -> Iterator[None]:
    workdir.mkdir(parents=True, exist_ok=True)
    healthz_port, metrics_port = processes.free_port(), processes.free_port()
    kubeconfig = control_plane.kubeconfig_for_token(
        control_plane.component_tokens["kube-proxy"], workdir / "kubeconfig"
    )
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": hostnet.POD_CIDR,
        "bindAddress": hostnet.NODE_ADDRESS,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        # NodePorts on the node's own address only, never on eth0 or loopback
        # (which would need route_localnet, a host-wide sysctl).
        "nodePortAddresses": [f"{hostnet.NODE_ADDRESS}/32"],
        "iptables": {"localhostNodePorts": False},
        # Leave the host's conntrack sysctls alone.
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "oomScoreAdj": 0,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    argv = [binaries.path("kube-proxy"), f"--config={workdir / 'config.yaml'}"]
    log = workdir.parent / "logs/kube-proxy.log"
    with _serving("kube-proxy", argv, log, f"http://127.0.0.1:{healthz_port}/healthz"):
        yield


def _toml(config: dict[str, object]) -> str:
    """The little TOML containerd's config needs: tables, strings, numbers, booleans, lists."""
    lines: list[str] = []

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    def table(name: str, body: dict[str, object]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if name:
            lines.append(f"\n[{name}]")
        lines.extend(f"{json.dumps(k) if '.' in k else k} = {value(v)}" for k, v in scalars.items())
        for k, v in body.items():
            if isinstance(v, dict):
                key = json.dumps(k) if "." in k else k
                table(f"{name}.{key}" if name else key, v)

    table("", config)
    return "\n".join(lines) + "\n"
