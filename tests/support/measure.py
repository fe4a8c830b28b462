"""What the benches read off the running parts: the operator's InfluxDB calls
(its own counter), kube-apiserver's write requests (its own counters, so no-op
patches count), and a process's CPU time and memory."""

from __future__ import annotations

import collections
import gzip
import os
import re
import urllib.request
from pathlib import Path

from sandbox import kube as kube_module


def scrape(port: int) -> str:
    """The operator's metrics, gzipped as Prometheus asks for them. Their
    per-Replication series make this cost the operator CPU: keep it out of CPU windows."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        gzipped = response.headers.get("Content-Encoding") == "gzip"
    return (gzip.decompress(body) if gzipped else body).decode()


def total(body: str, name: str, **labels: str) -> float:
    """The sum, over every series of `name` whose labels include `labels`, of
    its value so far, from a scrape (e.g. a counter, or a histogram's `_sum`)."""
    found = 0.0
    for m in re.finditer(rf"^{name}(?:\{{(.*)\}})? (\S+)$", body, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if labels.items() <= have.items():
            found += float(m.group(2))
    return found


def kube_writes(kube: kube_module.Kube) -> collections.Counter[str]:
    """kube-apiserver's count of write requests so far, by resource[/subresource], no-ops included."""
    status, body = kube.get("/metrics")
    assert status == 200, body
    counts: collections.Counter[str] = collections.Counter()
    for m in re.finditer(r"^apiserver_request_total\{(.*)\} (\S+)$", body, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("verb") in {"POST", "PUT", "PATCH", "DELETE"} and labels.get("resource") in {
            "replications",
            "events",
        }:
            key = labels["resource"] + (f"/{labels['subresource']}" if labels.get("subresource") else "")
            counts[key] += int(float(m.group(2)))
    return counts


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_of_commands(*names: str) -> float:
    """CPU seconds so far of every running process whose command is one of `names`."""
    spent = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in names:
                spent += cpu_seconds(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited meanwhile
    return spent


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds so far over every core, from /proc/stat."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / ticks, sum(fields) / ticks
