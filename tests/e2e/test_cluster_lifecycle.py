"""`make cluster` stops on SIGINT and SIGTERM and takes back everything it made;
killed outright, its watchdog does, and failing that the next run.

One cluster runs per machine, so this module runs before the suite's shared
cluster is up (pytest takes files in name order: keep its name first).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e.conftest import missing

from sandbox import binaries, hostnet, node
from sandbox import cluster as local_cluster

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    script: subprocess.Popen[str]
    python: int  # the cluster's own process (make's child)
    watchdog: int
    workdir: Path
    kubeconfig: Path

    def kubectl(self, *argv: str) -> str:
        return subprocess.run(
            [binaries.path("kubectl"), f"--kubeconfig={self.kubeconfig}", *argv],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and text.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _leftovers(workdir: Path, *, machine: bool = True) -> list[str]:
    """What is left of the cluster that ran in `workdir`; with `machine`, also
    what any cluster would have made (one runs per machine)."""
    found = []
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    for directory in (workdir, node.NODE_BASE / workdir.name):
        found += [f"process {pid}" for pid in _pids_mentioning(f"{directory}/") if _alive(pid)]
        found += [f"mount {line.split()[4]}" for line in mounts if str(directory) in line]
        if directory.exists():
            found.append(f"directory {directory}")
    if not machine:
        return found
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout.split()
    found += [f"link {link}" for link in (hostnet.NODE_INTERFACE, hostnet.POD_BRIDGE) if link in links]
    for family in ("iptables", "ip6tables"):
        rules = subprocess.run([f"{family}-save"], capture_output=True, text=True, check=True).stdout.splitlines()
        found += [f"{family}: {rule}" for rule in rules if "KUBE-" in rule or hostnet.RULE_COMMENT in rule]
    found += [f"cgroup {c}" for c in Path("/sys/fs/cgroup").glob(f"*/{node.KUBEPODS}")]
    found += [f"file {p}" for p in node.CNI_STATE.glob(f"results/{hostnet.CNI_NETWORK}-*")]
    if local_cluster.STATE.exists():
        found.append(f"state {local_cluster.STATE}")
    found += [f"node directory {d}" for d in node.NODE_BASE.glob("*")] if node.NODE_BASE.exists() else []
    return found


def _sysctls() -> dict[str, str]:
    return hostnet.read_sysctls([*hostnet.SYSCTLS_SET, *hostnet.SYSCTLS_KUBELET_CHANGES])


def _children(pid: int) -> list[int]:
    children = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(proc.name))
    return children


@contextlib.contextmanager
def _make_cluster(directory: Path) -> Iterator[Run]:
    """`make cluster &` from a non-interactive shell (SIGINT ignored), up."""
    script = subprocess.Popen(
        ["bash", "-c", "make --no-print-directory cluster & wait"],
        cwd=ROOT,
        env={**os.environ, "SANDBOX_DIR": str(directory)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert script.stdout is not None
    lines = []
    try:
        for line in script.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C to stop"):
                break
        else:
            pytest.fail("make cluster did not come up:\n" + "".join(lines[-40:]))
        kubeconfig = Path(next(line for line in lines if "KUBECONFIG=" in line).split("=", 1)[1].strip())
        (make,) = (pid for pid in _children(script.pid) if _alive(pid))
        (python,) = (pid for pid in _children(make) if _alive(pid))
        (watchdog,) = (pid for pid in _pids_mentioning(f"--clean-after\0{python}\0") if _alive(pid))
        yield Run(script, python, watchdog, kubeconfig.parent, kubeconfig)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        script.communicate(timeout=60)


def _wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


@pytest.fixture(autouse=True)
def _node_possible() -> None:
    if os.environ.get("E2E_CLUSTER") == "kind":
        pytest.skip("E2E_CLUSTER=kind: these tests are about the local node")
    if reason := local_cluster.missing_prerequisites():
        missing(reason)
    if local_cluster.STATE.exists():
        pytest.fail(
            f"a local cluster is running already ({local_cluster.STATE}); this module must run first"
            " (if none runs, an earlier one did not clean up: `make cluster` cleans up before it starts)"
        )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_it_and_nothing_is_left(tmp_path: Path, sig: signal.Signals) -> None:
    before = _sysctls()
    with _make_cluster(tmp_path) as run:
        run.kubectl("wait", "--for=condition=Ready", f"node/{node.NODE_NAME}", "--timeout=10s")
        run.kubectl("create", "deployment", "pause", f"--image={node.image_ref('pause')}")
        run.kubectl("rollout", "status", "deployment/pause", "--timeout=60s")
        os.kill(run.python, sig)
        output, _ = run.script.communicate(timeout=60)
        assert "cluster stopped" in output
        assert _leftovers(run.workdir) == []
        assert _wait_for(lambda: not _alive(run.watchdog), 10), "the watchdog stayed"
    assert _sysctls() == before


def test_after_a_sigkill_the_watchdog_cleans_up(tmp_path: Path) -> None:
    before = _sysctls()
    with _make_cluster(tmp_path) as run:
        run.kubectl("create", "deployment", "pause", f"--image={node.image_ref('pause')}")
        run.kubectl("rollout", "status", "deployment/pause", "--timeout=60s")
        os.kill(run.python, signal.SIGKILL)
        assert _wait_for(lambda: not _leftovers(run.workdir), 30), _leftovers(run.workdir)
    assert _sysctls() == before


def test_after_a_sigkill_without_watchdog_the_next_run_cleans_up(tmp_path: Path) -> None:
    with _make_cluster(tmp_path / "first") as first:
        first.kubectl("create", "deployment", "pause", f"--image={node.image_ref('pause')}")
        first.kubectl("rollout", "status", "deployment/pause", "--timeout=60s")
        os.kill(first.watchdog, signal.SIGKILL)
        os.kill(first.python, signal.SIGKILL)
        assert _wait_for(lambda: not _alive(first.python), 10)
        assert _leftovers(first.workdir) != []
        state = json.loads(local_cluster.STATE.read_text())
        assert state["pid"] == first.python
    with _make_cluster(tmp_path / "second") as second:
        assert _leftovers(first.workdir, machine=False) == []
        os.kill(second.python, signal.SIGTERM)
        output, _ = second.script.communicate(timeout=60)
        assert "cluster stopped" in output
        assert _leftovers(second.workdir) == []
