"""One Kubernetes node made of host processes, in the style of Kubernetes'
hack/local-up-cluster.sh: containerd (its own root, state, runc root and
socket), the kubelet, kube-controller-manager,
kube-scheduler, kube-proxy (iptables) and CoreDNS as a pod.

One function per component, each waiting for its health endpoint before the
next starts. Containers and their shims are not our children (containerd
double-forks them) and outlive any SIGKILL, so `teardown` finds and removes
everything by what it is tied to (the work directory, the kubepods cgroups,
the pod network), the same way after a clean stop and after a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import binaries, hostnet, kube, oci, processes

NODE_NAME = "local"
DNS_IP = "10.0.0.10"
CLUSTER_DOMAIN = "cluster.local"
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
)
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

    def ctr(self, *argv: str) -> list[str]:
        return ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *argv]

    def import_archive(self, archive: Path) -> None:
        """Import an image archive (OCI layout or `docker save`) for the kubelet."""
        subprocess.run(self.ctr("images", "import", str(archive)), check=True, capture_output=True)

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
    """The host's own parts (Debian: containerd, runc, containernetworking-plugins, iptables, iproute2)."""
    files = (RUNC, f"{CNI_BIN_DIR}/bridge", f"{CNI_BIN_DIR}/host-local", f"{CNI_BIN_DIR}/loopback")
    return [c for c in HOST_COMMANDS if shutil.which(c) is None] + [f for f in files if not Path(f).exists()]


def image_ref(tool: str) -> str:
    """The name the node's own image of `tool` (pause, coredns) is imported under."""
    # The cache directory is <tool>-<version>-<recipe>: the version names the image.
    version = Path(binaries.path(tool)).parent.name.removeprefix(f"{tool}-").rsplit("-", 1)[0]
    return f"{IMAGE_PREFIX}/{tool}:{version}"


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
    for d in ("root", "state", "runc", "opt", "cni/net.d"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    (workdir / "cni/net.d/10-iro.conflist").write_text(json.dumps(hostnet.cni_config(), indent=2))
    socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    (workdir / "config.toml").write_text(containerd_config(workdir, socket))
    log = logs / "containerd.log"
    argv = ["containerd", "--config", str(workdir / "config.toml"), "--log-level", "warn"]
    with processes.running("containerd", argv, log=log) as proc:
        runtime = Containerd(socket)
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
        "clusterDNS": [DNS_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        # Pods resolve cluster names only: no host resolver, nothing leaves the machine.
        "resolvConf": "",
        "podLogsDir": str(workdir / "pod-logs"),
        "volumePluginDir": str(workdir / "volume-plugins"),
        # A test machine's disk may be fuller than a production node's would be.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
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
    with processes.running("kubelet", argv, log=log) as proc:
        processes.wait_until(
            lambda: _healthy(f"http://127.0.0.1:{healthz_port}/healthz"), what="kubelet", timeout=60, proc=proc, log=log
        )
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
    with processes.running("kube-controller-manager", argv, log=log) as proc:
        processes.wait_until(
            lambda: _healthy(f"https://127.0.0.1:{port}/healthz"),
            what="kube-controller-manager",
            timeout=60,
            proc=proc,
            log=log,
        )
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
    with processes.running("kube-scheduler", argv, log=log) as proc:
        processes.wait_until(
            lambda: _healthy(f"https://127.0.0.1:{port}/healthz"), what="kube-scheduler", timeout=60, proc=proc, log=log
        )
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
    with processes.running("kube-proxy", argv, log=log) as proc:
        processes.wait_until(
            lambda: _healthy(f"http://127.0.0.1:{healthz_port}/healthz"),
            what="kube-proxy",
            timeout=60,
            proc=proc,
            log=log,
        )
        yield


def dns_manifests() -> str:
    """CoreDNS as the kube-dns Service: cluster names only, no forwarding
    (there is nothing to forward to, and nothing may leave the machine)."""
    corefile = f""".:53 {{
    errors
    health :8080
    ready :8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
}}
"""
    labels = {"k8s-app": "kube-dns"}
    documents: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "data": {"Corefile": corefile},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "coredns",
                        "priorityClassName": "system-cluster-critical",
                        "dnsPolicy": "Default",
                        "containers": [
                            {
                                "name": "coredns",
                                "image": image_ref("coredns"),
                                "imagePullPolicy": "Never",
                                "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [
                                    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                    {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                ],
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                                "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "clusterIP": DNS_IP,
                "selector": labels,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                ],
            },
        },
    ]
    return yaml.safe_dump_all(documents)


# --- teardown ---------------------------------------------------------------


def teardown(workdir: Path, node_dir: Path) -> list[str]:
    """Stop every container and process of the node (files in `workdir`,
    runtime in `node_dir`), remove its mounts, cgroups and its files outside
    `workdir`; returns what failed."""
    errors = kill_containers()
    for directory in (workdir, node_dir):
        _kill_processes_mentioning(f"{directory}/")
        errors += _unmount_under(str(directory))
    errors += _remove_cgroups()
    if CONTAINER_LOG_LINKS.is_dir():
        for link in CONTAINER_LOG_LINKS.iterdir():
            if link.is_symlink() and os.readlink(link).startswith((f"{workdir}/", f"{node_dir}/")):
                link.unlink()
    # containerd names a shim's socket by hashing its own address, the
    # namespace and the sandbox's ID; a killed shim leaves it behind.
    socket = node_dir / "containerd.sock"
    for task in (node_dir / "containerd/state/io.containerd.runtime.v2.task/k8s.io").glob("*"):
        digest = hashlib.sha256(f"{socket}/k8s.io/{task.name}".encode()).hexdigest()
        Path(SHIM_SOCKETS, digest).unlink(missing_ok=True)
    shutil.rmtree(node_dir, ignore_errors=True)
    # libcni's cache of ADD results (one per sandbox for our network and for
    # loopback), and host-local's address leases.
    results = CNI_STATE / "results"
    for result in results.glob(f"{hostnet.CNI_NETWORK}-*-eth0"):
        sandbox_id = result.name.removeprefix(f"{hostnet.CNI_NETWORK}-").removesuffix("-eth0")
        (results / f"cni-loopback-{sandbox_id}-lo").unlink(missing_ok=True)
        result.unlink()
    shutil.rmtree(CNI_STATE / "networks" / hostnet.CNI_NETWORK, ignore_errors=True)
    return errors


def host_dirs_present() -> dict[str, bool]:
    """Which of the host directories the node writes to exist now (see `remove_host_dirs`)."""
    return {str(d): d.exists() for d in (CONTAINER_LOG_LINKS, CNI_STATE, SHIM_SOCKETS.parent, NODE_BASE)}


def remove_host_dirs(present_before: dict[str, bool]) -> None:
    """Remove the host directories the node created, if nothing else has put anything in them."""
    for directory, existed in present_before.items():
        if not existed:
            for d in sorted((p for p in Path(directory).rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                Path(directory).rmdir()


def _cgroup_dirs() -> list[Path]:
    return sorted(Path("/sys/fs/cgroup").glob(f"*/{KUBEPODS}")) + sorted(Path("/sys/fs/cgroup").glob(KUBEPODS))


def _pids_in(cgroup: Path) -> set[int]:
    pids: set[int] = set()
    for procs in cgroup.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(line) for line in procs.read_text().split())
    return pids


def kill_containers() -> list[str]:
    """SIGKILL every process in the kubelet's cgroups until none is left."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = set[int]().union(*(_pids_in(c) for c in _cgroup_dirs()))
        if not pids:
            return []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    return ["container processes survived SIGKILL for 20s"]


def _kill_processes_mentioning(text: str) -> None:
    """SIGKILL processes with `text` in their command line: containerd's shims
    (their -address is our socket; the containers they watched are gone) and
    any server of ours a SIGKILL left behind."""
    victims = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text.encode() in (proc / "cmdline").read_bytes():
                victims.append(int(proc.name))
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victims and time.monotonic() < deadline:
        victims = [pid for pid in victims if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
        time.sleep(0.1)


def _is_zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True


def _unmount_under(prefix: str) -> list[str]:
    """Lazily unmount every mount point below `prefix` (pod volumes, rootfs,
    shm and network namespaces all live there), deepest first."""
    targets = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix + "/"):
            targets.append(point)
    errors = []
    for point in sorted(set(targets), key=lambda p: p.count("/"), reverse=True):
        result = subprocess.run(["umount", "-l", point], capture_output=True, text=True, check=False)
        if result.returncode != 0 and "not mounted" not in result.stderr:
            errors.append(f"umount {point}: {result.stderr.strip()}")
    return errors


def _remove_cgroups() -> list[str]:
    errors = []
    for top in _cgroup_dirs():
        for cgroup in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                cgroup.rmdir()
        try:
            top.rmdir()
        except FileNotFoundError:
            pass
        except OSError as error:
            errors.append(f"rmdir {top}: {error}")
    return errors


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
