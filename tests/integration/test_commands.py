"""The README's commands, run as a person would run them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import sandbox as sandbox_module
from sandbox import binaries

ROOT = Path(__file__).resolve().parents[2]


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parsed.hostname or "127.0.0.1", parsed.port or 80)) == 0


def test_make_sandbox_runs_until_ctrl_c_and_leaves_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox-dir"
    env = {**os.environ, "SANDBOX_DIR": str(directory)}
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "sandbox"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    description = directory / "sandbox.json"
    try:
        deadline = time.monotonic() + 180
        while not description.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert description.exists(), "sandbox.json never appeared"
        assert description.stat().st_mode & 0o777 == 0o600
        data = json.loads(description.read_text())
        urls = [data["edge"]["url"], data["cloud"]["url"]]
        kubeconfig = Path(data["kubeconfig"])
        assert kubeconfig.exists()
        assert all(_listening(url) for url in urls)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode in (0, 2, -signal.SIGINT), output  # make passes the interrupt on
    assert b"sandbox stopped" in output
    assert not description.exists()
    assert not kubeconfig.exists()
    assert not any(_listening(url) for url in urls)
    assert not directory.exists() or not any(directory.iterdir())


def test_make_demo_carries_points_to_the_cloud() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "demo", "DEMO_ARGS=--check --timeout=150"],
        cwd=ROOT,
        env={**os.environ, "SANDBOX_DIR": str(ROOT / ".sandbox-demo-test")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo check passed" in done.stdout
    assert "metrics-to-cloud" in done.stdout


def test_testbin_is_cached_and_reports_real_versions() -> None:
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "testbin"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert time.monotonic() - started < 60, "a second `make testbin` must build nothing"
    assert "building" not in done.stdout
    bin_dir = Path(done.stdout.strip().splitlines()[-1].split(" in ", 1)[1])
    apiserver = subprocess.run([bin_dir / "kube-apiserver", "--version"], capture_output=True, text=True, check=True)
    assert apiserver.stdout.strip() == f"Kubernetes v{binaries.default_version('kube-apiserver')}"
    influxd = subprocess.run([bin_dir / "influxd", "version"], capture_output=True, text=True, check=True)
    assert influxd.stdout.startswith(f"InfluxDB {binaries.default_version('influxd')} ")
    etcd = subprocess.run([bin_dir / "etcd", "--version"], capture_output=True, text=True, check=True)
    assert "etcd Version: 3.6." in etcd.stdout
    helm = subprocess.run([bin_dir / "helm", "version", "--short"], capture_output=True, text=True, check=True)
    assert helm.stdout.startswith(f"v{binaries.default_version('helm')}")
    # Helm 3 beside it, as HELM_VERSION=3 picks it.
    (helm3,) = bin_dir.glob("helm@3.*")
    helm = subprocess.run([helm3, "version", "--short"], capture_output=True, text=True, check=True)
    assert helm.stdout.startswith("v3.")


def test_make_crds_and_manifests_reproduce_the_committed_files() -> None:
    generated = [*sorted((ROOT / "crds").glob("*.yaml")), ROOT / "deploy/manifests/operator.yaml"]
    generated += sorted((ROOT / "deploy/chart/influxdb-replication-operator/files/crds").glob("*.yaml"))
    before = {p: p.read_text() for p in generated}
    subprocess.run(["make", "--no-print-directory", "crds", "manifests"], cwd=ROOT, capture_output=True, check=True)
    assert {p: p.read_text() for p in generated} == before


def test_make_run_starts_the_operator_against_kubeconfig(sandbox: sandbox_module.Sandbox, crds: None) -> None:
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env={**os.environ, "KUBECONFIG": str(sandbox.kube.kubeconfig)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            seen.append(line)
            if "Activity 'configure' succeeded" in line or time.monotonic() > deadline:
                break
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
        proc.communicate(timeout=30)
        # make is gone; the operator must be too (a leftover would keep polling a dead sandbox).
        stopped = _group_gone(proc.pid, within=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert any("Activity 'configure' succeeded" in line for line in seen), "".join(seen[-20:])
    assert stopped, "the operator outlived Ctrl-C"


def _group_gone(pgid: int, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_operator_help_lists_its_flags() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "influxdb_operator", "--help"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "operator")},
        capture_output=True,
        text=True,
        check=True,
    )
    flags = ("--namespace", "--liveness", "--metrics-port", "--max-backoff", "--standalone", "--leader-elect")
    for flag in (*flags, "--lease-name", "--lease-namespace", "--lease-duration", "--renew-deadline", "--retry-period"):
        assert flag in done.stdout


def test_make_bench_prints_its_figures() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "bench"],
        cwd=ROOT,
        env={
            **os.environ,
            "BENCH_REPLICATIONS": "10",
            "BENCH_SIZES": "10",
            "BENCH_PROFILE": "1",  # as the README's profiling command
            "SANDBOX_DIR": str(ROOT / ".sandbox-bench-test"),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    figures = ("all Ready after", "InfluxDB API calls per period", "Kubernetes write requests per period", "growth: N")
    for figure in figures:
        assert figure in done.stdout
    assert re.search(r"^ +10 +1 +\d+\.\d", done.stdout, re.M), "no growth row for N=10 on one instance"
    assert "profile of the operator at N=10" in done.stdout
    assert "cumulative" in done.stdout


def test_make_help_lists_the_targets_the_readme_names() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for target in ("demo", "test", "testbin", "sandbox", "run", "lint", "typecheck", "crds", "manifests", "bench"):
        assert f"  {target} " in done.stdout, target
