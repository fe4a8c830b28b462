"""The host side of the local node's network, and how to take it all back.

Everything is private to this machine: the node's address sits on an empty
bridge of its own (this kernel has no dummy interfaces), pods live on a CNI
bridge with no masquerading, and a FORWARD rule drops whatever a pod sends
anywhere but another pod or the node, so nothing ever leaves the machine.
Every rule carries `RULE_COMMENT`, so a later run can find and delete exactly
what an earlier one made, even if that one was SIGKILLed.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NODE_INTERFACE = "iro-node0"  # an empty bridge that only holds NODE_ADDRESS
NODE_ADDRESS = "10.250.0.1"
POD_BRIDGE = "iro-br0"  # made by the CNI bridge plugin, deleted by us
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.0.0.0/24"
CNI_NETWORK = "iro-cluster"
RULE_COMMENT = "influxdb-replication-operator local node"
# Pod-to-Service traffic is DNATed on the host and bridged back: it needs
# forwarding and bridged packets through iptables. The kubelet also sets the
# kernel tunables it wants (protectKernelDefaults=false); every value is put
# back on teardown.
SYSCTLS_SET = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
SYSCTLS_KUBELET_CHANGES = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
# Allowed before the catch-all drop: pod to pod (bridged, also after a
# Service's DNAT), and replies. Traffic from pods to the node's own
# addresses is INPUT, not FORWARD, so it is not affected.
_FORWARD_RULES = (
    ["-i", POD_BRIDGE, "-o", POD_BRIDGE, "-j", "ACCEPT"],
    ["-o", POD_BRIDGE, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ["-i", POD_BRIDGE, "-j", "DROP"],
)


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctls(names: Iterable[str]) -> dict[str, str]:
    return {name: _sysctl_path(name).read_text().strip() for name in names if _sysctl_path(name).exists()}


def write_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        _sysctl_path(name).write_text(value)


def cni_config() -> dict[str, Any]:
    """The pod network: one bridge, host-local addresses, no NAT to the outside."""
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": POD_BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,  # a pod reaching itself through its Service
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            }
        ],
    }


def setup() -> None:
    """The node's address, a route that keeps Service IPs on this machine, and the FORWARD rules."""
    _run("ip", "link", "add", NODE_INTERFACE, "type", "bridge")
    _run("ip", "addr", "add", f"{NODE_ADDRESS}/32", "dev", NODE_INTERFACE)
    _run("ip", "link", "set", NODE_INTERFACE, "up")
    # Service IPs are rewritten by kube-proxy; one that is not (no such
    # Service) goes to the empty bridge and is dropped, never to eth0.
    _run("ip", "route", "add", SERVICE_CIDR, "dev", NODE_INTERFACE)
    for position, rule in enumerate(_FORWARD_RULES, start=1):
        _run("iptables", "-I", "FORWARD", str(position), *rule, "-m", "comment", "--comment", RULE_COMMENT)
    write_sysctls(SYSCTLS_SET)


def teardown(*, kube_proxy: str | None) -> list[str]:
    """Remove the interfaces, routes and rules `setup` and the node made; returns what failed."""
    errors: list[str] = []
    if kube_proxy:
        # kube-proxy knows its own chains (iptables, and nftables/IPVS if ever used).
        result = _run(kube_proxy, "--cleanup", check=False)
        if result.returncode != 0:
            errors.append(f"kube-proxy --cleanup: {result.stderr.strip()[-300:]}")
    errors += _delete_tagged_rules()
    errors += _delete_kube_chains()
    for link in _bridge_ports(POD_BRIDGE):
        _run("ip", "link", "del", link, check=False)
    for link in (POD_BRIDGE, NODE_INTERFACE):
        if _run("ip", "link", "show", link, check=False).returncode == 0:
            result = _run("ip", "link", "del", link, check=False)
            if result.returncode != 0:
                errors.append(f"ip link del {link}: {result.stderr.strip()}")
    return errors


def _bridge_ports(bridge: str) -> list[str]:
    result = _run("ip", "-j", "link", "show", "master", bridge, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    return [str(link["ifname"]) for link in json.loads(result.stdout)]


_TABLES = ("filter", "nat", "mangle")
# kube-proxy and the kubelet make chains for both families when the host has
# IPv6 addresses, though pods here have IPv4 only.
_FAMILIES = ("iptables", "ip6tables")


def _rules(family: str, table: str) -> list[str]:
    return _run(f"{family}-save", "-t", table).stdout.splitlines()


def _delete_tagged_rules() -> list[str]:
    errors = []
    for table in _TABLES:
        for line in _rules("iptables", table):
            if line.startswith("-A ") and f'"{RULE_COMMENT}"' in line:
                errors += _delete_rule("iptables", table, line)
    return errors


def _delete_rule(family: str, table: str, line: str) -> list[str]:
    # iptables-save prints a rule as it was appended; -D takes the same words.
    words = shlex.split(line)
    result = _run(family, "-t", table, "-D", *words[1:], check=False)
    return [] if result.returncode == 0 else [f"{family} -t {table} {line}: {result.stderr.strip()}"]


def _delete_kube_chains() -> list[str]:
    """What kube-proxy --cleanup leaves, e.g. the kubelet's KUBE-* canary and
    hint chains. One cluster runs per machine, so every KUBE-* chain is ours."""
    errors = []
    for family in _FAMILIES:
        for table in _TABLES:
            lines = _rules(family, table)
            chains = [line[1:].split()[0] for line in lines if line.startswith(":KUBE-")]
            for line in lines:
                if line.startswith("-A ") and not line.split()[1].startswith("KUBE-") and " -j KUBE-" in line:
                    errors += _delete_rule(family, table, line)
            for chain in chains:
                _run(family, "-t", table, "-F", chain, check=False)
            for chain in chains:
                result = _run(family, "-t", table, "-X", chain, check=False)
                if result.returncode != 0:
                    errors.append(f"{family} -t {table} -X {chain}: {result.stderr.strip()}")
    return errors
