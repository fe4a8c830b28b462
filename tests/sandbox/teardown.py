"""Taking back everything a node (`sandbox.node`) made, from its processes to
the files it left outside its directories.

Containers and their shims are not our children (containerd double-forks
them) and outlive any SIGKILL, so everything is found by what it is tied to:
the node's directories, the kubepods cgroups, our CNI network's name. The
same procedure serves a clean stop and the leftovers of a killed run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import hostnet, node


def remove_node(workdir: Path, node_dir: Path) -> list[str]:
    """Stop every container and process of the node (files in `workdir`,
    runtime in `node_dir`), remove its mounts, cgroups and its files outside
    `workdir`; returns what failed."""
    errors = kill_containers()
    for directory in (workdir, node_dir):
        _kill_processes_mentioning(f"{directory}/")
        errors += _unmount_under(str(directory))
    errors += _remove_cgroups()
    if node.CONTAINER_LOG_LINKS.is_dir():
        for link in node.CONTAINER_LOG_LINKS.iterdir():
            if link.is_symlink() and os.readlink(link).startswith((f"{workdir}/", f"{node_dir}/")):
                link.unlink()
    # containerd names a shim's socket by hashing its own address, the
    # namespace and the sandbox's ID; a killed shim leaves it behind.
    socket = node_dir / "containerd.sock"
    for task in (node_dir / "containerd/state/io.containerd.runtime.v2.task/k8s.io").glob("*"):
        digest = hashlib.sha256(f"{socket}/k8s.io/{task.name}".encode()).hexdigest()
        Path(node.SHIM_SOCKETS, digest).unlink(missing_ok=True)
    errors += remove_tree(node_dir)
    # libcni's cache of ADD results (one per sandbox for our network and for
    # loopback), and host-local's address leases.
    results = node.CNI_STATE / "results"
    for result in results.glob(f"{hostnet.CNI_NETWORK}-*-eth0"):
        sandbox_id = result.name.removeprefix(f"{hostnet.CNI_NETWORK}-").removesuffix("-eth0")
        (results / f"cni-loopback-{sandbox_id}-lo").unlink(missing_ok=True)
        result.unlink()
    shutil.rmtree(node.CNI_STATE / "networks" / hostnet.CNI_NETWORK, ignore_errors=True)
    return errors


def remove_tree(path: Path) -> list[str]:
    """rm -rf `path`, unless something is still mounted below it: a bind mount
    (a pod's hostPath, say) would have the host's files deleted through it."""
    mounted = _mount_points_under(str(path))
    if mounted:
        return [f"not removing {path}: still mounted: {', '.join(mounted)}"]
    shutil.rmtree(path, ignore_errors=True)
    return []


def host_dirs_present() -> dict[str, bool]:
    """Which of the host directories the node writes to exist now (see `remove_host_dirs`)."""
    return {
        str(d): d.exists() for d in (node.CONTAINER_LOG_LINKS, node.CNI_STATE, node.SHIM_SOCKETS.parent, node.NODE_BASE)
    }


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
    return sorted(Path("/sys/fs/cgroup").glob(f"*/{node.KUBEPODS}")) + sorted(
        Path("/sys/fs/cgroup").glob(node.KUBEPODS)
    )


def _pids_in(cgroup: Path) -> set[int]:
    """The processes of `cgroup` and its children. os.walk, not rglob: a
    container's cgroup removed during the walk is skipped, not an error."""
    pids: set[int] = set()
    for directory, _, files in os.walk(cgroup):
        if "cgroup.procs" in files:
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(line) for line in Path(directory, "cgroup.procs").read_text().split())
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


def _mount_points_under(prefix: str) -> list[str]:
    points = (line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines())
    # mountinfo escapes space, tab, newline and backslash as octal.
    decoded = (point.encode().decode("unicode_escape") for point in points)
    return sorted({point for point in decoded if point.startswith(prefix + "/")})


def _unmount_under(prefix: str) -> list[str]:
    """Lazily unmount every mount point below `prefix` (pod volumes, rootfs,
    shm and network namespaces all live there), deepest first."""
    errors = []
    for point in sorted(_mount_points_under(prefix), key=lambda p: p.count("/"), reverse=True):
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
