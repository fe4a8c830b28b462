"""Render the CustomResourceDefinitions from the pydantic models.

`python -m influxdb_operator.api.crds DIR...` writes one YAML file per kind
into each DIR; `make crds` fills `crds/` and the Helm chart's copy, and a
test fails when a committed file differs from what the models render, so
schemas and models cannot drift.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from . import v1alpha1


def _condition(type_: v1alpha1.ConditionType, field: str) -> str:
    """The JSONPath of a condition's field, for a printer column."""
    return f'.status.conditions[?(@.type=="{type_.value}")].{field}'


_READY = _condition(v1alpha1.ConditionType.READY, "status")
_SYNCED = _condition(v1alpha1.ConditionType.SYNCED, "status")
_REASON = _condition(v1alpha1.ConditionType.READY, "reason")
_HEALTH = _condition(v1alpha1.ConditionType.HEALTHY, "reason")


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[dict[str, Any], ...]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def name(self) -> str:
        return f"{self.plural}.{v1alpha1.GROUP}"


def _column(name: str, path: str, type_: str = "string", priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


_AGE = _column("Age", ".metadata.creationTimestamp", "date")

KINDS = (
    Kind(
        "InfluxDBInstance",
        "influxdbinstances",
        ("idbi",),
        v1alpha1.InfluxDBInstanceSpec,
        v1alpha1.InfluxDBInstanceStatus,
        (
            _column("URL", ".spec.url"),
            _column("Org ID", ".status.orgID"),
            _column("Version", ".status.version"),
            _column("Ready", _READY),
            _column("Reason", _REASON),
            _AGE,
        ),
    ),
    Kind(
        "RemoteConnection",
        "remoteconnections",
        ("irc", "remoteconn"),
        v1alpha1.RemoteConnectionSpec,
        v1alpha1.RemoteConnectionStatus,
        (
            _column("ID", ".status.id"),
            _column("Instance", ".spec.instanceRef.name"),
            _column("Remote URL", ".spec.remoteURL"),
            _column("Ready", _READY),
            _column("Synced", _SYNCED, priority=1),
            _column("Reason", _REASON),
            _AGE,
        ),
    ),
    Kind(
        "Replication",
        "replications",
        ("irep", "repl"),
        v1alpha1.ReplicationSpec,
        v1alpha1.ReplicationStatus,
        (
            _column("ID", ".status.id"),
            _column("Remote", ".spec.remote.connectionRef.name"),
            _column("Queue Bytes", ".status.currentQueueSizeBytes", "integer"),
            _column("Remaining", ".status.remainingBytesToBeSynced", "integer"),
            _column("Last Code", ".status.latestResponseCode", "integer"),
            _column("Ready", _READY),
            _column("Health", _HEALTH),
            _column("Full In", ".status.dataPlane.queueFullIn"),
            _column("Synced", _SYNCED, priority=1),
            _column("Reason", _REASON),
            _column("Last Error", ".status.latestErrorMessage", priority=1),
            _AGE,
        ),
    ),
    Kind(
        "ReplicationSet",
        "replicationsets",
        ("ireps", "replset"),
        v1alpha1.ReplicationSetSpec,
        v1alpha1.ReplicationSetStatus,
        (
            _column("Instance", ".spec.instanceRef.name"),
            _column("Remote", ".spec.remote.connectionRef.name"),
            _column("Matched", ".status.matched", "integer"),
            _column("Ready Children", ".status.ready", "integer"),
            _column("Ready", _READY),
            _column("Synced", _SYNCED, priority=1),
            _column("Reason", _REASON),
            _AGE,
        ),
    ),
)

# Keywords of pydantic's JSON Schema that a structural CRD schema keeps.
_KEEP = {
    "type",
    "description",
    "default",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
}


def structural(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's JSON Schema as a Kubernetes structural schema: refs inlined,
    optional (`anyOf [X, null]`) turned into plain X, no titles."""
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return structural(_merge(target, siblings), defs)
    for combinator in ("anyOf", "allOf"):
        if combinator in schema:
            options = [o for o in schema[combinator] if o.get("type") != "null"]
            if len(options) != 1:
                raise ValueError(f"cannot express {combinator} of {len(options)} types structurally: {schema}")
            siblings = {k: v for k, v in schema.items() if k != combinator}
            return structural(_merge(options[0], siblings), defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = structural(value, defs)
        elif key == "const":
            out["enum"] = [value]
        elif key == "default" and (value is None or value == []):
            continue
        elif key in _KEEP or key.startswith("x-kubernetes-"):
            out[key] = value
    if out.get("type") == "object" and "properties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _merge(base: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    """A type's schema with a field's keywords on top; both sets of CEL rules apply."""
    merged = {**base, **field}
    rules = base.get("x-kubernetes-validations", []) + field.get("x-kubernetes-validations", [])
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return structural(raw, raw.get("$defs", {}))


def crd(kind: Kind) -> dict[str, Any]:
    spec_schema = _schema(kind.spec)
    spec_schema["description"] = (kind.spec.__doc__ or "").strip()
    status_schema = _schema(kind.status)
    status_schema.pop("required", None)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.name, "labels": {"app.kubernetes.io/name": "influxdb-replication-operator"}},
        "spec": {
            "group": v1alpha1.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [v1alpha1.CATEGORY],
            },
            "versions": [_version(kind, spec_schema, status_schema)],
        },
    }


def _version(kind: Kind, spec_schema: dict[str, Any], status_schema: dict[str, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            # Defaulted, so that its observedGeneration default (0) shows before the first write.
            "status": {**status_schema, "default": {}},
        },
    }
    # Rules that compare spec with the stored status (see v1alpha1._immutable_once).
    if rules := getattr(kind.spec, "ROOT_RULES", ()):
        root["x-kubernetes-validations"] = list(rules)
    return {
        "name": v1alpha1.VERSION,
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "additionalPrinterColumns": list(kind.columns),
        "schema": {"openAPIV3Schema": root},
    }


def render(kind: Kind) -> str:
    header = "# Generated from operator/influxdb_operator/api/v1alpha1.py by `make crds`; do not edit.\n"
    return header + yaml.dump(crd(kind), Dumper=_NoAliases, sort_keys=False, width=120)


def filename(kind: Kind) -> str:
    return f"{v1alpha1.GROUP}_{kind.plural}.yaml"


def main(argv: list[str]) -> int:
    for target in map(Path, argv[1:] or ["crds"]):
        target.mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            (target / filename(kind)).write_text(render(kind))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
