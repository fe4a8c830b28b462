"""Running another architecture's binaries on this machine, under QEMU.

The release's arm64 image is built and tried here on an amd64 host: the kernel
hands arm64 executables to Debian's qemu-user-static through binfmt_misc. Its
entries are registered with the fix-binary flag (F), so the interpreter is
opened once at registration and works inside chroots and containers too,
which is what buildkitd's RUN steps for a foreign platform need.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

BINFMT = Path("/proc/sys/fs/binfmt_misc")
_MACHINES = {"x86_64": "amd64", "aarch64": "arm64"}
NATIVE_ARCH = _MACHINES.get(platform.machine(), platform.machine())
# Debian's architecture name -> QEMU's (its binfmt entry is qemu-<name>).
_QEMU = {"arm64": "aarch64", "amd64": "x86_64"}
PACKAGES = ("qemu-user-static", "binfmt-support")


class Unavailable(RuntimeError):
    """Emulation cannot be had here; the message says why."""


def entry(arch: str) -> Path:
    return BINFMT / f"qemu-{_QEMU.get(arch, arch)}"


def enabled(arch: str) -> bool:
    """The kernel runs `arch` binaries: natively, or by an enabled fix-binary QEMU entry."""
    if arch == NATIVE_ARCH:
        return True
    try:
        text = entry(arch).read_text()
    except OSError:
        return False
    return text.startswith("enabled") and any(
        line.startswith("flags:") and "F" in line.split(":", 1)[1] for line in text.splitlines()
    )


def ensure(arch: str) -> None:
    """Make `arch` binaries run here: install QEMU, mount binfmt_misc, enable the entry (root)."""
    if enabled(arch):
        return
    if os.geteuid() != 0:
        raise Unavailable(f"{arch} binaries do not run here, and only root can register QEMU for them")
    if not (BINFMT / "register").exists():
        # A container's /proc often comes without it; the kernel has it all the same.
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    if not Path("/usr/sbin/update-binfmts").exists() or not Path(f"/usr/bin/qemu-{_QEMU[arch]}-static").exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
            done = subprocess.run(step, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise Unavailable(f"{' '.join(step)} failed: {done.stderr.strip()[-2000:]}")
    subprocess.run(["update-binfmts", "--enable", entry(arch).name], check=False, capture_output=True)
    if not enabled(arch):
        raise Unavailable(f"{entry(arch)} is not an enabled fix-binary (F) entry after update-binfmts --enable")
