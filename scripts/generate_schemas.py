#!/usr/bin/env python3
"""Generate the JSON Schemas istio-lsp validates against from a bundle of Istio CRDs.

    python scripts/generate_schemas.py path/to/crd-all.gen.yaml --out istio_lsp/schemas/

The bundle is Istio's `manifests/charts/base/files/crd-all.gen.yaml` (any release), or
any multi-document YAML of CustomResourceDefinitions (`kubectl get crd -o yaml` of a
cluster works too: a `kind: List` of CRDs is read as well). For each served version of
each CRD it writes `<out>/<group>/<version>/<Kind>.json`: a schema of the whole resource
(apiVersion, kind, metadata, and the CRD's own properties: spec, status), with every
`description` and other documentation-only keyword dropped and everything that
validates kept. `<out>/index.json` lists each kind's group, served versions (preferred
first, by Kubernetes' version priority), storage and preferred version, and the
versions the CRD marks deprecated.

Only PyYAML is needed. The output is deterministic: regenerating from the same bundle
gives byte-identical files (a test checks the committed schemas against the bundle).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

GENERATOR = "istio-lsp scripts/generate_schemas.py"
FORMAT_VERSION = 1

# documentation-only keywords: dropped from every schema object
DOC_KEYWORDS = frozenset({"description", "example", "examples", "externalDocs", "title", "$comment"})
# keywords whose value is a map of property name → schema
SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions", "dependencies"})
# keywords whose value is one schema (or, for additionalProperties/items, a boolean or a list)
SCHEMA_VALUES = frozenset({"items", "additionalProperties", "additionalItems", "not"})
SCHEMA_LISTS = frozenset({"oneOf", "anyOf", "allOf"})

# ObjectMeta as a CustomResource accepts it (k8s.io/apimachinery meta/v1). The API server
# validates these fields itself (a CRD's schema may only constrain name and generateName).
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "uid": {"type": "string"},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time", "nullable": True},
        "deletionTimestamp": {"type": "string", "format": "date-time", "nullable": True},
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        "selfLink": {"type": "string"},
    },
}

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of Kubernetes' version priority: GA before beta before alpha, higher numbers first,
    then versions of any other form alphabetically."""
    match = _VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), version)


def strip_docs(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema without documentation keywords, walking only schema positions
    (a property *named* `description` is kept)."""
    if isinstance(schema, list):
        return [strip_docs(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DOC_KEYWORDS:
            continue
        if key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_docs(sub) for name, sub in value.items()}
        elif key in SCHEMA_VALUES or key in SCHEMA_LISTS:
            out[key] = strip_docs(value)
        else:
            out[key] = value  # enum, required, default, x-kubernetes-validations…: data, kept as is
    return out


def resource_schema(kind: str, crd_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The schema of a whole resource: apiVersion, kind (fixed), ObjectMeta, and the CRD's properties."""
    base: dict[str, Any] = (
        strip_docs(crd_schema) if crd_schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    own: dict[str, Any] = dict(base.get("properties") or {})
    metadata = copy.deepcopy(OBJECT_META)
    # a CRD may constrain metadata.name / generateName: keep its words on top of ObjectMeta's
    for name, sub in (own.pop("metadata", None) or {}).get("properties", {}).items():
        metadata["properties"][name] = sub
    # no enum for apiVersion: the versions of a kind whose schemas agree give byte-identical files
    # (git stores them once); index.json lists the served versions
    properties = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string", "enum": [kind]},
        "metadata": metadata,
    }
    own.pop("apiVersion", None)
    own.pop("kind", None)
    properties.update(own)
    schema = {key: value for key, value in base.items() if key != "properties"}
    schema["type"] = "object"
    schema["properties"] = properties
    return schema


def _crds(bundle: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with bundle.open(encoding="utf-8") as stream:
        for doc in yaml.load_all(stream, Loader=_Loader):
            if not isinstance(doc, dict):
                continue
            docs = doc.get("items") if str(doc.get("kind", "")).endswith("List") else [doc]
            for item in docs or []:
                if isinstance(item, dict) and item.get("kind") == "CustomResourceDefinition":
                    found.append(item)
    return found


def _versions(crd: dict[str, Any]) -> list[tuple[str, bool, bool, dict[str, Any], dict[str, Any] | None]]:
    """(name, served, storage, version entry, openAPIV3Schema) of each version; apiextensions v1beta1
    CRDs keep one schema for all versions in spec.validation."""
    spec = crd.get("spec") or {}
    shared = ((spec.get("validation") or {}).get("openAPIV3Schema")) or None
    entries = spec.get("versions") or (
        [{"name": spec["version"], "served": True, "storage": True}] if "version" in spec else []
    )
    out = []
    for entry in entries:
        schema = ((entry.get("schema") or {}).get("openAPIV3Schema")) or shared
        out.append(
            (str(entry["name"]), bool(entry.get("served", True)), bool(entry.get("storage", False)), entry, schema)
        )
    return out


def generate(bundle: Path, out: Path) -> dict[str, Any]:
    """Write the schemas of `bundle` under `out`; returns the index that was written."""
    kinds: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, Any]] = {}
    for crd in _crds(bundle):
        spec = crd["spec"]
        group, names = str(spec["group"]), spec["names"]
        kind = str(names["kind"])
        if kind in kinds:
            raise SystemExit(f"kind {kind} is defined twice ({kinds[kind]['group']} and {group}): one group per kind")
        versions = _versions(crd)
        served = sorted((v for v in versions if v[1]), key=lambda v: version_priority(v[0]))
        if not served:
            continue
        storage = next((v[0] for v in versions if v[2]), served[0][0])
        entry: dict[str, Any] = {
            "group": group,
            "served": [v[0] for v in served],
            "preferred": served[0][0],
            "storage": storage,
            "deprecated": {
                name: str(v.get("deprecationWarning") or "") for name, _, _, v, _ in served if v.get("deprecated")
            },
            "notServed": sorted(v[0] for v in versions if not v[1]),
            "plural": str(names.get("plural", "")),
            "listKind": str(names.get("listKind", f"{kind}List")),
            "shortNames": [str(n) for n in names.get("shortNames") or []],
            "scope": str(spec.get("scope", "Namespaced")),
        }
        kinds[kind] = entry
        for name, _, _, _, schema in served:
            files[f"{group}/{name}/{kind}.json"] = resource_schema(kind, schema)

    _remove_previous(out)
    for relative, schema in sorted(files.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_dump(schema), encoding="utf-8")
    index = {
        "generator": GENERATOR,
        "format": FORMAT_VERSION,
        "source": {"file": bundle.name, "sha256": hashlib.sha256(bundle.read_bytes()).hexdigest()},
        "kinds": dict(sorted(kinds.items())),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return index


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def _remove_previous(out: Path) -> None:
    """Delete the schema files an earlier run wrote (as its index.json lists them), so kinds or
    versions a newer bundle dropped do not linger. Nothing else in `out` is touched."""
    index_path = out / "index.json"
    if not index_path.is_file():
        return
    try:
        previous = json.loads(index_path.read_text(encoding="utf-8"))
    except ValueError:
        return
    if not isinstance(previous, dict) or previous.get("generator") != GENERATOR:
        raise SystemExit(f"{index_path} was not written by this generator: refusing to overwrite {out}")
    for kind, entry in previous.get("kinds", {}).items():
        for version in entry.get("served", []):
            path = out / entry["group"] / version / f"{kind}.json"
            path.unlink(missing_ok=True)
            for parent in (path.parent, path.parent.parent):
                if parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="YAML file of CustomResourceDefinitions (crd-all.gen.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output directory (istio_lsp/schemas)")
    args = parser.parse_args(argv)
    index = generate(args.bundle, args.out)
    count = sum(len(entry["served"]) for entry in index["kinds"].values())
    print(f"wrote {count} schemas for {len(index['kinds'])} kinds to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
