"""`make release`: the operator's image for every platform, its SBOM and the Helm chart, pushed.

    make release VERSION=x.y.z REGISTRY=host/path

pushes, for the package version x.y.z (pyproject.toml is the single source;
any other VERSION is refused):

- the image REGISTRY/influxdb-replication-operator:x.y.z, one index over
  linux/amd64 and linux/arm64 (PLATFORMS), built with buildx from the
  Dockerfile with its OCI labels and a provenance attestation;
- a CycloneDX SBOM per platform, written by syft from the pushed image (what
  it really holds: Debian packages and Python distributions alike) and attached
  to that platform's manifest with oras (an OCI referrer);
- the chart, oci://REGISTRY/charts/influxdb-replication-operator x.y.z, whose
  default image is that image by tag and digest;

and writes build/release/release.json, printing the image digest, each
platform's size, the SBOM's package count and the chart's reference.

The tools are the testbin's pinned builds (`make testbin-node`), or the same names
on PATH (a release workflow's own setup), or the path in BUILDX, SYFT, ORAS,
HELM, CRANE. With BUILDX_BUILDER set, that builder builds (the workflow's
docker-container builder); otherwise a buildkitd of the testbin is started for
the build, which runs the foreign platform's steps under QEMU (binfmt_misc).
A registry on a loopback address is spoken to in plain HTTP, as Docker does;
PLAIN_HTTP=1 says REGISTRY is (a private registry without TLS).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy/chart/influxdb-replication-operator"
IMAGE = "influxdb-replication-operator"
PLATFORMS = ("linux/amd64", "linux/arm64")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "influxdb-replication-operator"
TESTBIN = Path(os.environ.get("TESTBIN_DIR") or Path(os.environ.get("TESTBIN_CACHE", CACHE / "testbin")) / "bin")
SBOM_TYPE = "application/vnd.cyclonedx+json"
# A base image made as a stand-in for the official one says so in this label.
STANDIN_LABEL = "dev.influxdb-replication.stand-in-for"
_MACHINES = {"x86_64": "amd64", "aarch64": "arm64"}


class ReleaseError(RuntimeError):
    """A release cannot be made as asked; the message says why and what to do."""


def say(message: str) -> None:
    print(f"release: {message}", file=sys.stderr, flush=True)


def tool(name: str) -> list[str]:
    """The command for a tool: $NAME, the testbin's pinned build, or PATH."""
    if override := os.environ.get(name.upper()):
        return override.split()
    if (TESTBIN / name).exists():
        return [str(TESTBIN / name)]
    if found := shutil.which(name):
        return [found]
    if name == "buildx" and shutil.which("docker"):
        return ["docker", "buildx"]
    raise ReleaseError(f"{name} not found: `make testbin-node` builds it, or put it on PATH, or set {name.upper()}")


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, check=False
        )
    except FileNotFoundError as missing:
        raise ReleaseError(f"{missing.filename} is missing: `make testbin-node` builds it") from None
    if done.returncode != 0:
        raise ReleaseError(f"{Path(argv[0]).name} {argv[1] if len(argv) > 1 else ''} failed:\n{done.stderr.strip()}")
    return done.stdout


def package_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def revision() -> str:
    """The commit built, marked when the tree has uncommitted changes."""
    commit = run(["git", "rev-parse", "HEAD"], cwd=ROOT).strip()
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).strip()
    if dirty:
        say("the work tree has uncommitted changes: the image's revision label says -dirty")
    return commit + ("-dirty" if dirty else "")


def plain_http(reference: str) -> bool:
    """Loopback registries are plain HTTP, as Docker and containerd treat them by default."""
    host = reference.split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_host(reference: str) -> str:
    return reference.split("/", 1)[0]


@dataclass(frozen=True)
class Release:
    version: str
    registry: str
    platforms: tuple[str, ...]
    base: str
    out: Path

    @property
    def image(self) -> str:
        return f"{self.registry}/{IMAGE}:{self.version}"

    @property
    def repository(self) -> str:
        return f"{self.registry}/{IMAGE}"

    @property
    def chart(self) -> str:
        return f"oci://{self.registry}/charts/{IMAGE}"

    def http(self) -> bool:
        return plain_http(self.registry) or os.environ.get("PLAIN_HTTP") == "1"


# --- the builder ---------------------------------------------------------------------------


def _emulation_missing(platforms: Sequence[str]) -> list[str]:
    """Foreign platforms this kernel cannot run (no enabled qemu binfmt_misc handler)."""
    native = _MACHINES.get(platform.machine(), platform.machine())
    missing = []
    for wanted in platforms:
        arch = wanted.split("/")[1]
        if arch == native:
            continue
        qemu = {"arm64": "aarch64", "amd64": "x86_64"}.get(arch, arch)
        # Enabled, and with the fix-binary flag (F): only then does it work inside the build's containers.
        entry = Path(f"/proc/sys/fs/binfmt_misc/qemu-{qemu}")
        text = entry.read_text() if entry.exists() else ""
        flags = next((line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags:")), "")
        if not text.startswith("enabled") or "F" not in flags:
            missing.append(wanted)
    return missing


def _buildkitd_config(release: Release, directory: Path) -> Path:
    """buildkitd's registry settings: plain HTTP where the release's registry or base is."""
    hosts = {registry_host(ref) for ref in (release.registry, release.base) if plain_http(ref)}
    hosts |= {registry_host(release.registry)} if release.http() else set()
    config = directory / "buildkitd.toml"
    config.write_text("".join(f'[registry."{h}"]\n  http = true\n  insecure = true\n' for h in sorted(hosts)))
    return config


@contextlib.contextmanager
def builder(release: Release) -> Iterator[tuple[list[str], dict[str, str]]]:
    """A buildx command and environment able to build every platform of the release:
    BUILDX_BUILDER's; else, as root, the testbin's buildkitd run here; else a
    docker-container builder made for this release (a Docker engine that may pull
    buildkit's image, as on GitHub's runners)."""
    buildx = tool("buildx")
    if name := os.environ.get("BUILDX_BUILDER"):
        yield [*buildx, "--builder", name], {}
        return
    if missing := _emulation_missing(release.platforms):
        raise ReleaseError(
            f"this kernel cannot run {', '.join(missing)} binaries: install qemu-user-static and binfmt-support"
            " (Debian), or set BUILDX_BUILDER to a builder that can"
        )
    with tempfile.TemporaryDirectory(prefix="iro-buildkit-") as scratch:
        env = {"BUILDX_CONFIG": str(Path(scratch) / "buildx")}
        name = f"iro-release-{os.getpid()}"
        config = _buildkitd_config(release, Path(scratch))
        if os.geteuid() == 0:
            with _buildkitd(config, Path(scratch) / "buildkitd.sock") as socket:
                run([*buildx, "create", "--name", name, "--driver", "remote", f"unix://{socket}"], env=env)
                yield [*buildx, "--builder", name], env
            return
        # The host's network, so that a registry on the host's own addresses is reached.
        create = [*buildx, "create", "--name", name, "--driver", "docker-container", "--driver-opt", "network=host"]
        run([*create, f"--buildkitd-config={config}"], env=env)
        try:
            yield [*buildx, "--builder", name], env
        finally:
            run([*buildx, "rm", name], env=env)


@contextlib.contextmanager
def _buildkitd(config: Path, socket: Path) -> Iterator[Path]:
    """The testbin's buildkitd on a unix socket, its build cache kept under the cache directory
    (one release at a time: buildkitd holds its root, so a second waits for the first)."""
    state = CACHE / "buildkit"
    state.mkdir(parents=True, exist_ok=True)
    lock = (state / ".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    log = state / "buildkitd.log"
    argv = [
        *tool("buildkitd"),
        f"--root={state / 'root'}",
        f"--addr=unix://{socket}",
        f"--config={config}",
        "--oci-worker=true",
        "--containerd-worker=false",
        # The host's network: RUN steps may need PyPI where no wheels were downloaded.
        "--oci-worker-net=host",
    ]
    with log.open("ab") as logfile:
        daemon = subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise ReleaseError(f"buildkitd did not start; see {log}")
            time.sleep(0.2)
        yield socket
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        lock.close()


# --- the steps -----------------------------------------------------------------------------


def build_image(release: Release) -> str:
    """Build and push the multi-platform image; its index digest."""
    metadata = release.out / "buildx-metadata.json"
    output = f"type=image,name={release.image},push=true"
    if release.http():
        output += ",registry.insecure=true"
    with builder(release) as (buildx, env):
        say(f"building {release.image} for {', '.join(release.platforms)} on {release.base}")
        started = time.monotonic()
        run(
            [
                *buildx,
                "build",
                f"--platform={','.join(release.platforms)}",
                f"--build-arg=PYTHON={release.base}",
                f"--build-arg=VERSION={release.version}",
                f"--build-arg=REVISION={revision()}",
                "--provenance=mode=max",
                f"--output={output}",
                f"--metadata-file={metadata}",
                str(ROOT),
            ],
            env=env,
        )
        say(f"built and pushed in {time.monotonic() - started:.0f}s")
    return str(json.loads(metadata.read_text())["containerimage.digest"])


def crane(release: Release, *args: str) -> str:
    return run([*tool("crane"), *(["--insecure"] if release.http() else []), *args])


def platform_manifests(release: Release, digest: str) -> dict[str, dict[str, Any]]:
    """Each platform's manifest digest and size (compressed layers and config: what a node pulls)."""
    index = json.loads(crane(release, "manifest", f"{release.repository}@{digest}"))
    found: dict[str, dict[str, Any]] = {}
    for entry in index["manifests"]:
        where = entry.get("platform", {})
        key = f"{where.get('os')}/{where.get('architecture')}"
        if key not in release.platforms:
            continue  # attestation manifests (unknown/unknown)
        manifest = json.loads(crane(release, "manifest", f"{release.repository}@{entry['digest']}"))
        size = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
        found[key] = {"digest": entry["digest"], "size": size}
    if sorted(found) != sorted(release.platforms):
        raise ReleaseError(f"the pushed index holds {sorted(found)}, not {sorted(release.platforms)}")
    return found


def sbom(release: Release, where: str, digest: str) -> dict[str, Any]:
    """syft's CycloneDX SBOM of one platform's image, attached to it in the registry."""
    name = f"sbom-{where.replace('/', '-')}.cdx.json"
    path = release.out / name
    # Packages, not the files each owns (thousands of entries nobody reads).
    env = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_FILE_METADATA_SELECTION": "none"}
    if release.http():
        env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
    run(
        [*tool("syft"), "scan", f"registry:{release.repository}@{digest}", "-q", "-o", f"cyclonedx-json={path}"],
        env=env,
    )
    components = json.loads(path.read_text()).get("components", [])
    # Packages: not the operating system's own entry, nor files.
    packages = sum(1 for component in components if component.get("type") not in ("file", "operating-system"))
    oras, http = tool("oras"), (["--plain-http"] if release.http() else [])
    subject = f"{release.repository}@{digest}"
    # The same image again (a release re-run) keeps the SBOM it has: same content, one referrer.
    known = json.loads(run([*oras, "discover", *http, "--format=json", f"--artifact-type={SBOM_TYPE}", subject]))
    # oras 1.2 and later say "referrers"; earlier ones "manifests".
    if referrers := known.get("referrers", known.get("manifests")):
        return {"path": str(path), "packages": packages, "digest": referrers[0]["digest"]}
    attached = run(
        [
            *oras,
            "attach",
            *http,
            f"--artifact-type={SBOM_TYPE}",
            "--format=json",
            subject,
            f"{name}:{SBOM_TYPE}",
        ],
        cwd=release.out,
    )
    return {"path": str(path), "packages": packages, "digest": json.loads(attached)["digest"]}


def chart(release: Release, digest: str) -> dict[str, str]:
    """The chart, its default image set to this release's, packaged and pushed."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / CHART.name
        shutil.copytree(CHART, copy)
        values = copy / "values.yaml"
        text, count = re.subn(r"(?m)^(  repository: ).*$", rf"\g<1>{release.repository}", values.read_text(), count=1)
        text, digests = re.subn(r"(?m)^  # digest: .*$", f"  digest: {digest}", text, count=1)
        if count != 1 or digests != 1:
            raise ReleaseError(f"{values.relative_to(copy.parent)}: image.repository or the digest comment moved")
        values.write_text(text)
        helm = tool("helm")
        versions = [f"--version={release.version}", f"--app-version={release.version}"]
        run([*helm, "package", *versions, f"--destination={release.out}", str(copy)])
    package = release.out / f"{IMAGE}-{release.version}.tgz"
    rendered = run([*helm, "template", "check", str(package)])
    wanted = f"image: {release.repository}:{release.version}@{digest}"
    if wanted not in rendered:
        raise ReleaseError(f"the packaged chart does not render {wanted}")
    run([*helm, "push", str(package), release.chart.rsplit("/", 1)[0], *(["--plain-http"] if release.http() else [])])
    # helm prints the digest it pushed on stdout or stderr depending on its version: ask the registry.
    chart_digest = crane(release, "digest", f"{release.chart.removeprefix('oci://')}:{release.version}")
    return {"ref": release.chart, "version": release.version, "digest": chart_digest.strip()}


def base_note(release: Release) -> dict[str, Any]:
    """Whether the base is a stand-in for the official one (its label says so)."""
    note: dict[str, Any] = {"ref": release.base, "standin": None}
    if not plain_http(release.base):
        return note
    config = json.loads(crane(release, "config", release.base, "--platform", release.platforms[0]))
    note["standin"] = (config.get("config", {}).get("Labels") or {}).get(STANDIN_LABEL)
    return note


def release(version: str, registry: str, platforms: tuple[str, ...], base: str) -> dict[str, Any]:
    if version != package_version():
        raise ReleaseError(
            f"VERSION {version} is not the package's version {package_version()}: set it in pyproject.toml"
            " (and Chart.yaml, CHANGELOG.md) first"
        )
    out = ROOT / "build/release" / version
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    made = Release(version=version, registry=registry.rstrip("/"), platforms=platforms, base=base, out=out)
    started = time.monotonic()
    digest = build_image(made)
    platforms_made = platform_manifests(made, digest)
    for where, entry in platforms_made.items():
        entry["sbom"] = sbom(made, where, entry["digest"])
    record = {
        "version": version,
        "image": made.image,
        "digest": digest,
        "platforms": platforms_made,
        "chart": chart(made, digest),
        "base": base_note(made),
        "seconds": round(time.monotonic() - started),
    }
    (ROOT / "build/release/release.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def summary(record: dict[str, Any]) -> str:
    lines = [f"released {record['version']} in {record['seconds']}s", f"  image   {record['image']}@{record['digest']}"]
    for where, entry in record["platforms"].items():
        sbom_made = entry["sbom"]
        lines.append(
            f"  {where:<12} {entry['digest']}  {entry['size'] / 1e6:.1f} MB compressed,"
            f" SBOM: {sbom_made['packages']} packages ({Path(sbom_made['path']).name}, referrer {sbom_made['digest']})"
        )
    chart_made = record["chart"]
    lines.append(f"  chart   {chart_made['ref']} --version {chart_made['version']} ({chart_made['digest']})")
    base = record["base"]
    lines.append(f"  base    {base['ref']}" + (f" (a stand-in for {base['standin']})" if base["standin"] else ""))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    version = os.environ.get("VERSION") or package_version()
    registry = os.environ.get("REGISTRY", "")
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    if not registry:
        say("REGISTRY is required, e.g. make release REGISTRY=ghcr.io/you")
        return 2
    platforms = tuple(p for p in os.environ.get("PLATFORMS", ",".join(PLATFORMS)).split(",") if p)
    base = os.environ.get("PYTHON_BASE", "python:3.11-slim-bookworm")
    try:
        record = release(version, registry, platforms, base)
    except ReleaseError as failed:
        say(str(failed))
        return 1
    print(summary(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
