"""Container images made from single binaries, without Docker or a registry.

The node's own images (pause, CoreDNS) are nothing but one static binary, so
an OCI image layout written here and imported with `ctr` is all they need:
no image registry is reachable on the machines this runs on.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def _blob(archive: tarfile.TarFile, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    _add(archive, f"blobs/sha256/{digest}", data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    archive.addfile(info, io.BytesIO(data))


def with_libraries(binary: Path) -> dict[str, Path]:
    """A dynamically linked host binary and the shared libraries `ldd` says it
    loads, each at its own path: enough to run it in an otherwise empty image."""
    files = {str(binary): binary}
    for match in re.finditer(
        r"(/\S+) \(0x", subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    ):
        files[match.group(1)] = Path(match.group(1)).resolve()
    return files


def write_single_binary_image(archive_path: Path, *, ref: str, binary: Path, entrypoint: list[str]) -> Path:
    """An image holding only `binary`, as /<its name>."""
    return write_image(archive_path, ref=ref, files={f"/{binary.name}": binary}, entrypoint=entrypoint)


def write_image(archive_path: Path, *, ref: str, files: Mapping[str, Path], entrypoint: list[str]) -> Path:
    """An OCI image archive for `ref`, one layer with `files` (path in the image:
    host file; mode kept), run as `entrypoint`.

    `ctr images import` takes the name from the `io.containerd.image.name` annotation.
    """
    layer_buffer = io.BytesIO()
    with tarfile.open(fileobj=layer_buffer, mode="w") as layer:
        for name, source in sorted(files.items()):
            _add(layer, name.lstrip("/"), source.read_bytes(), mode=source.stat().st_mode & 0o777)
    layer_bytes = layer_buffer.getvalue()
    with tarfile.open(archive_path, "w") as archive:
        layer_descriptor = _blob(archive, layer_bytes)
        config = {
            "architecture": _architecture(),
            "os": "linux",
            "config": {"Entrypoint": entrypoint, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [layer_descriptor["digest"]]},
        }
        config_descriptor = _blob(archive, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_descriptor},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_descriptor}],
        }
        manifest_descriptor = _blob(archive, json.dumps(manifest).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    **manifest_descriptor,
                    "platform": {"architecture": _architecture(), "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": ref,
                        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1],
                    },
                }
            ],
        }
        _add(archive, "index.json", json.dumps(index).encode())
        _add(archive, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    return archive_path


def _architecture() -> str:
    return _ARCHITECTURES.get(platform.machine(), platform.machine())
