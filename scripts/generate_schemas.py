"""Generate the JSON Schemas istio-lsp validates against from bundles of CRDs (Istio's, the Gateway API's).

    python scripts/generate_schemas.py istio=path/to/crd-all.gen.yaml --out istio_lsp/schemas/
    python scripts/generate_schemas.py gateway-api=path/to/gateway-api/experimental \
        --baseline gateway-api=path/to/gateway-api/standard --out istio_lsp/schemas/

Each source is named (`NAME=PATH`; a bare path is the source `istio`) and is a YAML file of
CustomResourceDefinitions or a directory of such files: Istio's
`manifests/charts/base/files/crd-all.gen.yaml`, the Gateway API's `config/crd/experimental/`,
or `kubectl get crd -o yaml` of a cluster (a `kind: List` of CRDs is read as well). Several
sources may be given at once; sources not named are left as an earlier run wrote them, so
Istio's and the Gateway API's schemas regenerate independently or together.

For each served version of each CRD it writes `<out>/<group>/<version>/<Kind>.json`: a
schema of the whole resource (apiVersion, kind, metadata, and the CRD's own properties: spec,
status), with every `description` and other documentation-only keyword dropped and
everything that validates kept. `<out>/index.json` lists the sources (files and sha256) and,
per (group, kind) -- the Gateway API's `Gateway` and Istio's are two entries -- its source,
served versions (preferred first, by Kubernetes' version priority), storage and preferred
version, and the versions the CRD marks deprecated.

`--baseline NAME=PATH` gives the standard channel of a source generated from its experimental
channel: properties the baseline lacks carry `x-istio-lsp-experimental: true` and the index
lists, per kind, the versions only the experimental channel serves.

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
FORMAT_VERSION = 2
# marks a property that only the experimental channel of a source has (see --baseline)
EXPERIMENTAL = "x-istio-lsp-experimental"

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


def _bundle_files(bundle: Path) -> list[Path]:
    """The YAML files of a source: the file itself, or every `*.yaml`/`*.yml` of a directory (sorted)."""
    if bundle.is_dir():
        return sorted(p for p in bundle.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [bundle]


def _mark_experimental(schema: Any, baseline: Any) -> Any:
    """`schema` with `x-istio-lsp-experimental: true` on every property its `baseline` (the same kind and
    version in the standard channel) does not have: the fields only an experimental channel serves."""
    if not isinstance(schema, dict) or not isinstance(baseline, dict):
        return schema
    out = dict(schema)
    props, base_props = schema.get("properties"), baseline.get("properties")
    if isinstance(props, dict):
        base_props = base_props if isinstance(base_props, dict) else {}
        marked = {}
        for name, sub in props.items():
            if name not in base_props and isinstance(sub, dict):
                marked[name] = {**sub, EXPERIMENTAL: True}
            else:
                marked[name] = _mark_experimental(sub, base_props.get(name))
        out["properties"] = marked
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = _mark_experimental(schema[key], baseline.get(key))
    return out


def _read_source(
    name: str, bundle: Path, baseline: Path | None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]]:
    """(index entries, files by relative path, the `sources` entry) of one source."""
    entries: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    base: dict[tuple[str, str, str], dict[str, Any] | None] = {}
    for path in _bundle_files(baseline) if baseline is not None else []:
        for crd in _crds(path):
            spec = crd["spec"]
            for version, served, _, _, schema in _versions(crd):
                if served:
                    base[(str(spec["group"]), str(spec["names"]["kind"]), version)] = schema
    seen: set[tuple[str, str]] = set()
    for path in _bundle_files(bundle):
        for crd in _crds(path):
            spec = crd["spec"]
            group, names = str(spec["group"]), spec["names"]
            kind = str(names["kind"])
            if (group, kind) in seen:
                raise SystemExit(f"{group} {kind} is defined twice in {name}")
            seen.add((group, kind))
            versions = _versions(crd)
            served = sorted((v for v in versions if v[1]), key=lambda v: version_priority(v[0]))
            if not served:
                continue
            storage = next((v[0] for v in versions if v[2]), served[0][0])
            entry: dict[str, Any] = {
                "kind": kind,
                "group": group,
                "source": name,
                "served": [v[0] for v in served],
                "preferred": served[0][0],
                "storage": storage,
                "deprecated": {
                    version: str(v.get("deprecationWarning") or "")
                    for version, _, _, v, _ in served
                    if v.get("deprecated")
                },
                "notServed": sorted(v[0] for v in versions if not v[1]),
                "plural": str(names.get("plural", "")),
                "listKind": str(names.get("listKind", f"{kind}List")),
                "shortNames": [str(n) for n in names.get("shortNames") or []],
                "scope": str(spec.get("scope", "Namespaced")),
            }
            if baseline is not None:
                entry["experimental"] = [v[0] for v in served if (group, kind, v[0]) not in base]
            entries.append(entry)
            for version, _, _, _, schema in served:
                whole = resource_schema(kind, schema)
                if (group, kind, version) in base:
                    whole = _mark_experimental(whole, resource_schema(kind, base[(group, kind, version)]))
                files[f"{group}/{version}/{kind}.json"] = whole
    record: dict[str, Any] = {"files": [_file_record(p) for p in _bundle_files(bundle)]}
    if baseline is not None:
        record["baseline"] = [_file_record(p) for p in _bundle_files(baseline)]
    return entries, files, record


def _file_record(path: Path) -> dict[str, str]:
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def generate(sources: dict[str, Path], out: Path, baselines: dict[str, Path] | None = None) -> dict[str, Any]:
    """Write the schemas of each named source under `out`, keeping those of the other sources an earlier
    run wrote; returns the index that was written."""
    baselines = baselines or {}
    previous = _previous_index(out)
    kept = [e for e in previous.get("kinds", []) if e.get("source") not in sources]
    records = {k: v for k, v in (previous.get("sources") or {}).items() if k not in sources}
    _remove(out, [e for e in previous.get("kinds", []) if e.get("source") in sources], kept)
    entries = list(kept)
    files: dict[str, dict[str, Any]] = {}
    for name, bundle in sources.items():
        new_entries, new_files, records[name] = _read_source(name, bundle, baselines.get(name))
        taken = {(e["group"], e["kind"]) for e in entries}
        for entry in new_entries:
            if (entry["group"], entry["kind"]) in taken:
                raise SystemExit(f"{entry['group']} {entry['kind']} comes from two sources: one source per kind")
        entries.extend(new_entries)
        files.update(new_files)
    for relative, schema in sorted(files.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_dump(schema), encoding="utf-8")
    index = {
        "generator": GENERATOR,
        "format": FORMAT_VERSION,
        "sources": dict(sorted(records.items())),
        "kinds": sorted(entries, key=lambda e: (e["group"], e["kind"])),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return index


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def _previous_index(out: Path) -> dict[str, Any]:
    """The index an earlier run wrote in `out` (format 1, one source keyed by kind, is read as source
    `istio`), or an empty one."""
    index_path = out / "index.json"
    if not index_path.is_file():
        return {}
    try:
        previous = json.loads(index_path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    if not isinstance(previous, dict) or previous.get("generator") != GENERATOR:
        raise SystemExit(f"{index_path} was not written by this generator: refusing to overwrite {out}")
    if isinstance(previous.get("kinds"), dict):  # format 1
        previous["kinds"] = [{**e, "kind": k, "source": "istio"} for k, e in previous["kinds"].items()]
    return previous


def _remove(out: Path, dropped: list[dict[str, Any]], kept: list[dict[str, Any]]) -> None:
    """Delete the schema files an earlier run wrote for the sources being regenerated (as its index.json
    lists them), so kinds or versions a newer bundle dropped do not linger. Nothing else in `out` is
    touched."""
    keep = {(e["group"], v, e["kind"]) for e in kept for v in e.get("served", [])}
    for entry in dropped:
        for version in entry.get("served", []):
            if (entry["group"], version, entry["kind"]) in keep:
                continue
            path = out / entry["group"] / version / f"{entry['kind']}.json"
            path.unlink(missing_ok=True)
            for parent in (path.parent, path.parent.parent):
                if parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()


def _named(value: str) -> tuple[str, Path]:
    name, eq, path = value.partition("=")
    return (name, Path(path)) if eq and name and "/" not in name else ("istio", Path(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="[NAME=]PATH",
        help="a YAML file or a directory of YAML files of CustomResourceDefinitions, named (istio=…, "
        "gateway-api=…; a bare path is the source `istio`)",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the standard channel of a source: fields, kinds and versions beyond it are marked experimental",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (istio_lsp/schemas)")
    args = parser.parse_args(argv)
    sources = dict(_named(v) for v in args.sources)
    baselines = dict(_named(v) for v in args.baseline)
    index = generate(sources, args.out, baselines)
    mine = [e for e in index["kinds"] if e["source"] in sources]
    count = sum(len(e["served"]) for e in mine)
    print(f"wrote {count} schemas for {len(mine)} kinds to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
