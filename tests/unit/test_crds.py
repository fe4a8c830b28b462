"""The committed CRDs are exactly what the pydantic models render: no drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from influxdb_operator.api import crds, v1alpha1

ROOT = Path(__file__).resolve().parents[2]
CRD_DIRS = (ROOT / "crds", ROOT / "deploy/chart/influxdb-replication-operator/files/crds")


@pytest.mark.parametrize("directory", CRD_DIRS, ids=lambda d: str(d.relative_to(ROOT)))
@pytest.mark.parametrize("kind", crds.KINDS, ids=lambda k: k.kind)
def test_committed_crd_matches_the_models(kind: crds.Kind, directory: Path) -> None:
    committed = (directory / crds.filename(kind)).read_text()
    assert committed == crds.render(kind), f"{directory} is stale: run `make crds`"


def test_every_spec_field_is_in_the_schema() -> None:
    for kind in crds.KINDS:
        schema = crds.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        aliases = {f.alias or name for name, f in kind.spec.model_fields.items()}
        assert aliases == set(schema["properties"]), kind.kind


def test_bounds_come_from_influxdb() -> None:
    kind = next(k for k in crds.KINDS if k.kind == "Replication")
    spec = crds.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert spec["maxQueueSizeBytes"]["minimum"] == v1alpha1.MIN_QUEUE_BYTES == 33554430
    assert spec["maxAgeSeconds"]["maximum"] == 5184000


def test_structural_schema_has_no_refs_or_nullables() -> None:
    for kind in crds.KINDS:
        text = crds.render(kind)
        for forbidden in ("$ref", "anyOf", "allOf", "title:", "null"):
            assert forbidden not in text, (kind.kind, forbidden)


def test_durations() -> None:
    assert v1alpha1.parse_duration("30s") == 30
    assert v1alpha1.parse_duration("1m30s") == 90
    assert v1alpha1.parse_duration("1h") == 3600
    assert v1alpha1.parse_duration("500ms") == 0.5
