"""`make cluster`: the sandbox's control plane plus one real node, so that a
Deployment gets a Pod, a Service gets traffic and `name.namespace.svc`
resolves in pods, as on kind, without Docker or an image registry.

The node's addresses and bridges are fixed, so one cluster runs per machine:
a lock says which, and a state file written before anything is changed says
what to take back. Containers outlive their cluster's process (containerd's
shims are nobody's children), so a watchdog in a session of its own cleans up
after a SIGKILLed run, and the next run does if the watchdog could not.
Needs root (bridges, iptables, mounts, cgroups).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import binaries, dns, hostnet, kube, node, processes, sandbox_dir, teardown

# Runtime state, machine-wide (one cluster per machine). If it survives a reboot
# (/run is not always tmpfs), the next run's cleanup finds nothing to undo.
STATE_DIR = Path("/run/influxdb-replication-operator")
STATE = STATE_DIR / "cluster.json"
LOCK = STATE_DIR / "cluster.lock"
CONTROL_PLANE_TOOLS = ("etcd", "kube-apiserver", "kubectl")


class Unavailable(RuntimeError):
    """This machine cannot run the node now; the message says why and what to do."""


def missing_prerequisites() -> str | None:
    """Why the node cannot start here, or None."""
    if os.geteuid() != 0:
        return "the local node needs root (bridges, iptables, mounts, cgroups)"
    missing_tools = []
    for tool in (*CONTROL_PLANE_TOOLS, *node.NODE_TOOLS):
        try:
            binaries.path(tool)
        except FileNotFoundError:
            missing_tools.append(tool)
    if missing_tools:
        return f"testbin lacks {', '.join(missing_tools)}: run `make testbin-node`"
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        return "bridged pod traffic cannot reach iptables (Services): `modprobe br_netfilter`"
    if missing := node.missing_host_commands():
        return f"missing {', '.join(missing)}: apt-get install {' '.join(node.HOST_PACKAGES)}"
    return None


@dataclass(frozen=True)
class Cluster:
    """A running single-node cluster, as the e2e suite's providers describe one."""

    kube: kube.Kube
    runtime: node.Containerd
    workdir: Path
    name: str = "local"
    # containerd runs on the host: a registry on loopback is within its reach.
    registry_address: str = "127.0.0.1"

    @property
    def kubeconfig(self) -> Path:
        return self.kube.kubeconfig

    def trust_registry(self, host: str, *, server: str | None = None) -> None:
        """Let the node pull images named `host` ("ADDRESS:PORT") from the
        plain-HTTP registry at `server` (default: `host`)."""
        self.runtime.trust_registry(host, server=server)

    def load_image(self, ref: str) -> None:
        """Make a locally built Docker image usable by pods (`docker save | ctr import`)."""
        self.runtime.load_image(ref)

    def remove_image(self, ref: str) -> None:
        """Forget a pulled image (NAME@DIGEST): the next Pod of it pulls it again."""
        self.runtime.remove_image(ref)

    def import_archive(self, archive: Path) -> None:
        """Make an image archive (OCI layout or `docker save` output) usable by pods."""
        self.runtime.import_archive(archive)

    def kubectl(self, *argv: str, input: str | None = None) -> str:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        result = subprocess.run(
            [binaries.path("kubectl"), *argv], input=input, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(argv)}: {result.stderr.strip()}")
        return result.stdout


@contextlib.contextmanager
def start(*, directory: Path | None = None) -> Iterator[Cluster]:
    """Start the cluster; on exit, however it comes, take back everything it made."""
    if reason := missing_prerequisites():
        raise Unavailable(reason)
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Unavailable(f"another local cluster is running on this machine ({_owner()})") from None
        clean_leftovers()
        directory = (directory or sandbox_dir()).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="cluster-", dir=directory))
        state = {
            "pid": os.getpid(),
            "workdir": str(workdir),
            "node_dir": str(node.NODE_BASE / workdir.name),
            "kube_proxy": binaries.path("kube-proxy"),
            "sysctls": hostnet.read_sysctls([*hostnet.SYSCTLS_SET, *hostnet.SYSCTLS_KUBELET_CHANGES]),
            "host_dirs": teardown.host_dirs_present(),
        }
        _write_state(state)
        _start_watchdog()
        try:
            yield from _run(workdir, node.NODE_BASE / workdir.name)
        finally:
            _teardown(state)
    finally:
        os.close(lock)


def _run(workdir: Path, node_dir: Path) -> Iterator[Cluster]:
    hostnet.setup()
    access = kube.NodeAccess(address=hostnet.NODE_ADDRESS, node_name=node.NODE_NAME)
    with contextlib.ExitStack() as stack:
        control_plane = stack.enter_context(kube.control_plane(workdir, node=access))
        logs = workdir / "logs"
        runtime = stack.enter_context(node.containerd(node_dir / "containerd", node_dir / "containerd.sock", logs=logs))
        # Once the kubelet is gone, before the apiserver: pods' open watches
        # (CoreDNS's) would hold up its shutdown for the whole grace period.
        stack.callback(teardown.kill_containers)
        node.import_node_images(runtime, workdir)
        stack.enter_context(node.kubelet(node_dir / "kubelet", control_plane, runtime, logs=logs))
        stack.enter_context(node.controller_manager(workdir / "kube-controller-manager", control_plane))
        stack.enter_context(node.scheduler(workdir / "kube-scheduler", control_plane))
        stack.enter_context(node.kube_proxy(workdir / "kube-proxy", control_plane))
        cluster = Cluster(control_plane, runtime, workdir)
        cluster.kubectl("apply", "--server-side", "-f", "-", input=dns.manifests(node.image_ref("coredns")))
        cluster.kubectl("wait", "--for=condition=Ready", f"node/{node.NODE_NAME}", "--timeout=120s")
        cluster.kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s")
        # Pods are refused until their namespace's `default` ServiceAccount exists.
        processes.wait_until(
            lambda: control_plane.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
            what="the default ServiceAccount",
            timeout=60,
        )
        yield cluster


def clean_leftovers() -> None:
    """Take back what a cluster that never stopped (SIGKILL) made. Call with the lock held."""
    if not STATE.exists():
        return
    state = json.loads(STATE.read_text())
    print(f"cluster: cleaning up after a run that did not stop (pid {state.get('pid')})", file=sys.stderr)
    if errors := _teardown(state):
        raise Unavailable(f"could not clean up after pid {state.get('pid')}: {'; '.join(errors)}")


def _teardown(state: dict[str, Any]) -> list[str]:
    workdir = Path(state["workdir"])
    # (States written before node_dir existed: everything was in workdir.)
    errors = teardown.remove_node(workdir, Path(state.get("node_dir") or workdir))
    errors += hostnet.teardown(kube_proxy=state.get("kube_proxy"))
    try:
        hostnet.write_sysctls(state.get("sysctls", {}))
    except OSError as error:
        errors.append(f"sysctls: {error}")
    errors += teardown.remove_tree(workdir)
    teardown.remove_host_dirs(state.get("host_dirs", {}))
    if errors:
        # Keep the state: the next run tries again (and refuses to start if it cannot).
        print("cluster: cleanup incomplete:\n  " + "\n  ".join(errors), file=sys.stderr)
    else:
        STATE.unlink(missing_ok=True)
    return errors


def _start_watchdog() -> None:
    """`python -m sandbox.cluster --clean-after <our pid>`, detached: it outlives us on purpose."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    with (STATE_DIR / "watchdog.log").open("ab") as log:
        # It forks and returns at once: the watchdog is not our child to wait for.
        subprocess.run(
            [sys.executable, "-m", "sandbox.cluster", "--clean-after", str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            check=True,
        )


def _clean_after(pid: int) -> int:
    """Wait for `pid` to end; if it left its state behind (it was killed), take everything back."""
    if os.fork() != 0:
        return 0
    with contextlib.suppress(ProcessLookupError):
        watched = os.pidfd_open(pid)
        select.select([watched], [], [])
        os.close(watched)
    lock = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    while True:
        try:
            state = json.loads(STATE.read_text())
        except (OSError, ValueError):
            return 0  # a clean stop: nothing left
        if state.get("pid") != pid:
            return 0  # cleaned already, or a new run owns the machine
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            time.sleep(0.5)  # the dead run's lock is released with its last descriptor
            continue
        print(f"cluster: pid {pid} did not stop; cleaning up after it", flush=True)
        _teardown(state)
        return 0


def _write_state(state: dict[str, Any]) -> None:
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(STATE)


def _owner() -> str:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return f"pid {json.loads(STATE.read_text())['pid']}"
    return "pid unknown"


def main() -> int:
    if sys.argv[1:2] == ["--clean-after"]:
        return _clean_after(int(sys.argv[2]))
    processes.foreground()
    began = time.monotonic()
    try:
        with start() as cluster:
            print(f"cluster up in {time.monotonic() - began:.1f}s")
            print(f"  kube-apiserver  {cluster.kube.url}")
            print(f"  node            {node.NODE_NAME} ({hostnet.NODE_ADDRESS}), pods {hostnet.POD_CIDR}")
            print(f"  logs            {cluster.workdir / 'logs'}")
            ctr = " ".join(cluster.runtime.ctr("images", "import", "-"))
            print(f"  load an image   docker save IMAGE | {ctr}")
            print(f"  export KUBECONFIG={cluster.kubeconfig}")
            print("Ctrl-C to stop.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except Unavailable as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    print("cluster stopped; its processes, mounts, network namespaces, bridges, iptables rules and files are gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
