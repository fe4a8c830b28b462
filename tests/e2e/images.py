"""The images the end-to-end suite runs, built with a real Docker engine.

Everything a fresh machine lacks is made here rather than assumed: as root,
Debian's docker.io is installed and dockerd started when no engine answers;
where the official Python base cannot be pulled (no image registry), a
stand-in is made from Debian packages with mmdebstrap and cached by its
recipe. Dependencies are downloaded on the host (`make wheels`), whose trust
store knows any TLS-intercepting proxy, so the builds never touch the network.

    python -m e2e.images [operator|influxdb|all]    # prints the image references
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import release as release_tool
from sandbox import binaries, emulation

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("IRO_CACHE", Path.home() / ".cache/influxdb-replication-operator"))
PYTHON_BASE = "python:3.11-slim-bookworm"
# What `make release` looks for on a base to say it was built on a stand-in.
STANDIN_LABEL = release_tool.STANDIN_LABEL
OPERATOR_REPOSITORY = "influxdb-replication-operator"
INFLUXDB_REPOSITORY = "influxdb-replication-operator-e2e/influxdb"
NATIVE_ARCH = emulation.NATIVE_ARCH
# The platforms `make release` builds, so the stand-in base is made for each.
RELEASE_ARCHES = ("amd64", "arm64")
# The stand-in base: Debian's python3 is 3.11 on bookworm, like the official base:
# the Essential packages (a shell, coreutils, ...) and Python with venv.
STANDIN_SUITE = "bookworm"
STANDIN_PACKAGES = ("?essential", "python3", "python3-venv")
STANDIN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Files a container never reads; dropping them keeps the stand-in near the official slim size.
STANDIN_PRUNE = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
# Our own dockerd: no bridge and no iptables rules, so it cannot disturb a Kubernetes
# node's networking on the same host; builds and test containers use the host network.
DOCKERD_ARGS = ("--storage-driver=overlay2", "--bridge=none", "--iptables=false", "--ip-masq=false")


class Unavailable(RuntimeError):
    """A prerequisite is missing and cannot be provided here; the message says which."""


def say(message: str) -> None:
    """Progress goes to stderr: stdout carries only results (image references)."""
    print(f"e2e.images: {message}", file=sys.stderr, flush=True)


def _docker(*argv: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *argv], capture_output=quiet, text=True, check=check)


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def ensure_docker() -> bool:
    """Make `docker` reach an engine: the one running, else our own dockerd; True if started here.

    A dockerd started here runs detached, its log and pidfile under the cache
    directory, its images in the default data root, so a later start finds them
    (`python -m e2e.images stop-docker` stops it).
    """
    if _engine_answers():
        return False
    if shutil.which("dockerd") is None:
        if os.geteuid() != 0:
            raise Unavailable("no Docker engine answers and, not being root, cannot install docker.io")
        say("installing Debian's docker.io")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "docker.io"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            check=True,
        )
    if os.geteuid() != 0:
        raise Unavailable("no Docker engine answers and, not being root, cannot start dockerd")
    state = CACHE / "docker"
    state.mkdir(parents=True, exist_ok=True)
    say(f"starting dockerd (log: {state / 'dockerd.log'})")
    # A shell that backgrounds dockerd and exits at once: dockerd outlives this
    # process without a Popen object left to warn "still running" when collected.
    argv = shlex.join(["dockerd", *DOCKERD_ARGS, f"--pidfile={state / 'dockerd.pid'}"])
    log = shlex.quote(str(state / "dockerd.log"))
    subprocess.run(["sh", "-c", f"{argv} </dev/null >>{log} 2>&1 &"], check=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _engine_answers():
        if time.monotonic() > deadline:
            raise Unavailable(f"dockerd did not answer within 60s; see {state / 'dockerd.log'}")
        time.sleep(0.5)
    return True


def stop_docker() -> None:
    """Stop the dockerd that ensure_docker started, if any (by its pidfile)."""
    pidfile = CACHE / "docker/dockerd.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    os.kill(pid, 15)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)


def _present(ref: str) -> bool:
    return _docker("image", "inspect", ref, check=False, quiet=True).returncode == 0


@functools.cache
def python_base() -> str:
    """The official Python base if it is here or can be pulled, else the Debian stand-in."""
    if _present(PYTHON_BASE) or _docker("pull", "-q", PYTHON_BASE, check=False, quiet=True).returncode == 0:
        return PYTHON_BASE
    return standin_base()


def _standin_key() -> str:
    recipe = "|".join((STANDIN_SUITE, *STANDIN_PACKAGES, *STANDIN_PRUNE, "extract-v2"))
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def standin_rootfs(arch: str = NATIVE_ARCH) -> Path:
    """The stand-in's root filesystem for `arch` as a tarball, made once per recipe.

    The packages are extracted, not configured (mmdebstrap's extract variant), so
    a foreign architecture needs no emulation and any takes seconds: nothing a
    container of this base runs needs their maintainer scripts, except the
    accounts base-passwd's would write, which are copied from its own masters.
    """
    suffix = "" if arch == "amd64" else f"-{arch}"
    tarball = CACHE / "images" / f"debian-{STANDIN_SUITE}-essential-python3-{_standin_key()}{suffix}.tar"
    if not tarball.exists():
        _extract(tarball, arch)
    return tarball


def standin_base() -> str:
    """Debian minbase + python3 + python3-venv, imported as an image.

    The root filesystem is kept as a tarball under the cache, so a new Docker
    data root imports it in seconds.
    """
    ref = f"influxdb-replication-operator-e2e/debian-python:{STANDIN_SUITE}-{_standin_key()}"
    say(f"{PYTHON_BASE} cannot be pulled here: using a stand-in made from Debian's packages ({ref})")
    if _present(ref):
        return ref
    tarball = standin_rootfs()
    subprocess.run(
        [
            "docker",
            "import",
            "--change",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--change",
            'CMD ["python3"]',
            str(tarball),
            ref,
        ],
        check=True,
        capture_output=True,
    )
    return ref


def _extract(tarball: Path, arch: str) -> None:
    if shutil.which("mmdebstrap") is None:
        if os.geteuid() != 0:
            raise Unavailable("the stand-in base needs mmdebstrap, and root to install and run it")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "mmdebstrap"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            check=True,
        )
    if os.geteuid() != 0:
        raise Unavailable("mmdebstrap needs root here")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tarball.parent) as work:
        rootfs = Path(work) / "rootfs"
        say(f"mmdebstrap {STANDIN_SUITE} {arch}, extracted: {', '.join(STANDIN_PACKAGES)}")
        started = time.monotonic()
        subprocess.run(
            [
                "mmdebstrap",
                "--mode=root",
                "--variant=extract",
                "--skip=cleanup/apt/cache",  # the .debs, for the package database below
                f"--architectures={arch}",
                *(f"--include={package}" for package in STANDIN_PACKAGES),
                STANDIN_SUITE,
                str(rootfs),
                STANDIN_MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for account in ("passwd", "group"):  # base-passwd's postinst, which extract does not run
            shutil.copyfile(rootfs / f"usr/share/base-passwd/{account}.master", rootfs / "etc" / account)
        _record_packages(rootfs)
        for path in STANDIN_PRUNE:
            shutil.rmtree(rootfs / path, ignore_errors=True)
        partial = Path(work) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
        say(f"stand-in root filesystem made in {time.monotonic() - started:.0f}s: {tarball}")


def _record_packages(rootfs: Path) -> None:
    """dpkg's database of the extracted packages, as an installed system has it,
    so that what reads it (an SBOM's scanner, dpkg -l) sees what the base holds."""
    entries = []
    for deb in sorted((rootfs / "var/cache/apt/archives").glob("*.deb")):
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
        package, rest = control.split("\n", 1)
        entries.append(f"{package}\nStatus: install ok installed\n{rest.rstrip()}\n")
    if not entries:
        raise RuntimeError(f"mmdebstrap left no packages in {rootfs / 'var/cache/apt/archives'}")
    (rootfs / "var/lib/dpkg/status").write_text("\n".join(entries))


def release_base(registry: str) -> str:
    """The base `make release` builds on: the official image where it can be pulled,
    else the stand-ins for every release platform, pushed to `registry` as one index.

    Each stand-in carries the label that `make release` reports (STANDIN_LABEL), so
    the release says what it was built on.
    """
    crane = [binaries.path("crane"), "--insecure"]
    if subprocess.run([*crane, "digest", PYTHON_BASE], capture_output=True, check=False).returncode == 0:
        return PYTHON_BASE
    index = f"{registry}/stand-in/debian-python:{STANDIN_SUITE}-{_standin_key()}"
    if subprocess.run([*crane, "digest", index], capture_output=True, check=False).returncode == 0:
        return index
    say(f"{PYTHON_BASE} cannot be pulled here: pushing stand-ins made from Debian's packages as {index}")
    manifests = []
    for arch in RELEASE_ARCHES:
        ref = f"{index}-{arch}"
        run = functools.partial(subprocess.run, check=True, capture_output=True)
        run([*crane, "append", "--oci-empty-base", "-f", str(standin_rootfs(arch)), "-t", ref])
        mutate = [*crane, "mutate", ref, "--set-platform", f"linux/{arch}", "--cmd", "python3"]
        mutate += ["--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        mutate += ["--label", f"{STANDIN_LABEL}={PYTHON_BASE}"]
        manifests.append(run(mutate, text=True).stdout.strip())
    subprocess.run(
        [*crane, "index", "append", *(f"--manifest={m}" for m in manifests), "-t", index],
        check=True,
        capture_output=True,
    )
    return index


def download_wheels() -> None:
    """`make wheels`: the lock's wheels (and the build backend) for the image, fetched by the host's pip."""
    subprocess.run(["make", "-s", "-C", str(ROOT), "wheels"], check=True)


def _tag_by_id(local: str, repository: str) -> str:
    """Tag the image by its content, so a node never runs a stale image under a reused tag."""
    image_id = _docker("image", "inspect", "--format", "{{.Id}}", local, quiet=True).stdout.strip()
    ref = f"{repository}:e2e-{image_id.removeprefix('sha256:')[:12]}"
    _docker("tag", local, ref)
    return ref


def build_operator() -> str:
    """Build the operator's Dockerfile as a user would, on whichever base is available."""
    ensure_docker()
    base = python_base()
    download_wheels()
    started = time.monotonic()
    _docker("build", "--network=host", "--build-arg", f"PYTHON={base}", "-t", f"{OPERATOR_REPOSITORY}:dev", str(ROOT))
    ref = _tag_by_id(f"{OPERATOR_REPOSITORY}:dev", OPERATOR_REPOSITORY)
    say(f"built {ref} in {time.monotonic() - started:.0f}s, {image_size(ref) / 1e6:.0f} MB")
    return ref


def influxd_binary() -> Path:
    """The pinned influxd of the testbin (`make testbin`)."""
    try:
        return Path(binaries.path("influxd"))
    except FileNotFoundError as missing:
        raise Unavailable(str(missing)) from None


def build_influxdb() -> str:
    """InfluxDB from the pinned influxd binary, on the same Debian base as the operator's stand-in.

    influxd links glibc dynamically, and Debian's python3 runs the small
    entrypoint that onboards the server and serves the tests as an HTTP client.
    """
    ensure_docker()
    base = python_base()
    with tempfile.TemporaryDirectory() as work:
        context = Path(work)
        shutil.copy2(influxd_binary(), context / "influxd")
        shutil.copy2(ROOT / "tests/e2e/influxdb/influxdb_e2e.py", context / "influxdb_e2e.py")
        shutil.copy2(ROOT / "tests/e2e/influxdb/Dockerfile", context / "Dockerfile")
        _docker(
            "build",
            "--network=host",
            "--build-arg",
            f"BASE={base}",
            "-t",
            f"{INFLUXDB_REPOSITORY}:dev",
            str(context),
            quiet=True,
        )
    return _tag_by_id(f"{INFLUXDB_REPOSITORY}:dev", INFLUXDB_REPOSITORY)


def image_size(ref: str) -> int:
    """Bytes, as `docker image ls` counts them (all layers, uncompressed)."""
    return int(_docker("image", "inspect", "--format", "{{.Size}}", ref, quiet=True).stdout)


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "all"
    try:
        if what == "stop-docker":
            stop_docker()
            return 0
        if what in ("operator", "all"):
            print(build_operator())
        if what in ("influxdb", "all"):
            print(build_influxdb())
    except Unavailable as missing:
        say(str(missing))
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
