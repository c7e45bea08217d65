"""The resource schemas of Istio and of the Kubernetes Gateway API, read from the package data in
`istio_lsp/schemas/`.

`scripts/generate_schemas.py` writes them from the CRD bundles: one JSON Schema
(OpenAPI v3 as Kubernetes uses it, without descriptions) per served
(group, version, kind), describing the whole resource, plus `index.json` ((group, kind) →
source, served versions, preferred and storage version, deprecations).

Kinds are keyed by API group: the Gateway API `Gateway` (gateway.networking.k8s.io) and Istio's
`Gateway` (networking.istio.io) are two kinds, each with its own schema.

Files are read from the installed package (`importlib.resources`), lazily: the index
on first use, each schema the first time it is asked for, each once. The returned
dicts are shared: treat them as read-only.

For completion and hover::

    schema = schema_for("networking.istio.io/v1", "VirtualService")
    route = subschema(schema, "spec.http[0].route[0]")      # or ["spec", "http", 0, "route", 0]
    sorted(properties(route))                              # ['destination', 'headers', 'weight']
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from istio_lsp.syntax.nodes import PathSegment, parse_path

log = logging.getLogger(__name__)

Schema = dict[str, Any]

_COMBINATORS = ("allOf", "oneOf", "anyOf")
_MAX_DEPTH = 32  # combinators nest a level or two in Istio's schemas; this only bounds odd bundles


@dataclass(frozen=True)
class KindInfo:
    """What index.json says about one kind."""

    kind: str
    group: str
    served: tuple[str, ...]  # served versions, preferred first (Kubernetes' version priority: v1, v1beta1, v1alpha3)
    preferred: str
    storage: str
    deprecated: Mapping[str, str] = field(default_factory=dict)  # version → the CRD's deprecation warning ("" if none)
    list_kind: str = ""
    plural: str = ""
    short_names: tuple[str, ...] = ()
    source: str = "istio"  # the bundle it came from: `istio`, `gateway-api`
    experimental: tuple[str, ...] = ()  # versions only the source's experimental channel serves

    def api_version(self, version: str | None = None) -> str:
        """`group/version`, for the preferred version by default."""
        return f"{self.group}/{version or self.preferred}"

    @property
    def api_versions(self) -> tuple[str, ...]:
        """The served apiVersions, preferred first."""
        return tuple(self.api_version(v) for v in self.served)


def _data_dir() -> Any:
    return resources.files("istio_lsp") / "schemas"


@cache
def _index() -> dict[tuple[str, str], KindInfo]:
    try:
        raw = json.loads((_data_dir() / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.exception("schema index missing or unreadable; schema checks are off")
        return {}
    found: dict[tuple[str, str], KindInfo] = {}
    for entry in raw.get("kinds", []):
        kind = entry["kind"]
        found[(entry["group"], kind)] = KindInfo(
            kind=kind,
            group=entry["group"],
            served=tuple(entry["served"]),
            preferred=entry["preferred"],
            storage=entry["storage"],
            deprecated=dict(entry.get("deprecated") or {}),
            list_kind=entry.get("listKind", f"{kind}List"),
            plural=entry.get("plural", ""),
            short_names=tuple(entry.get("shortNames") or ()),
            source=entry.get("source", "istio"),
            experimental=tuple(entry.get("experimental") or ()),
        )
    return found


def kinds() -> Mapping[tuple[str, str], KindInfo]:
    """Every kind of the bundles, by (group, kind)."""
    return _index()


@cache
def kind_names() -> frozenset[str]:
    """The names of every kind of the bundles (`Gateway` once, though two groups have one)."""
    return frozenset(kind for _, kind in _index())


def kind_info(kind: str, group: str | None = None) -> KindInfo | None:
    """The kind `kind` of API group `group`; without a group, the only kind of that name (Istio's when
    two groups have one: a `Gateway` with no apiVersion is most often Istio's)."""
    if group is not None:
        return _index().get((group, kind))
    found = kind_infos(kind)
    return next((info for info in found if info.source == "istio"), found[0] if found else None)


def kind_infos(kind: str) -> tuple[KindInfo, ...]:
    """Every kind named `kind`, one per API group."""
    return tuple(info for (_, name), info in _index().items() if name == kind)


@cache
def groups() -> frozenset[str]:
    """The API groups of the bundles (networking.istio.io, security.istio.io, gateway.networking.k8s.io, …)."""
    return frozenset(group for group, _ in _index())


def split_api_version(api_version: str) -> tuple[str, str]:
    """`networking.istio.io/v1` → (`networking.istio.io`, `v1`); the core group's `v1` → (``, `v1`)."""
    group, slash, version = api_version.strip().rpartition("/")
    return (group, version) if slash else ("", version)


def served_versions(kind: str, group: str | None = None) -> tuple[str, ...]:
    """The apiVersions `kind` is served at, preferred first (`networking.istio.io/v1`, …); every
    group's when `group` is None; empty for kinds of neither bundle."""
    found = [kind_info(kind, group)] if group else list(kind_infos(kind))
    return tuple(version for info in found if info is not None for version in info.api_versions)


def is_served(api_version: str, kind: str) -> bool:
    group, version = split_api_version(api_version)
    info = kind_info(kind, group)
    return info is not None and version in info.served


def schema_for(api_version: str, kind: str) -> Schema | None:
    """The schema of a whole resource (apiVersion, kind, metadata, spec, status), or None when no
    bundle serves `kind` at `api_version` (the group of `api_version` picks Istio's or the Gateway
    API's `Gateway`)."""
    if not is_served(api_version, kind):
        return None  # also keeps names from documents out of file paths
    group, version = split_api_version(api_version)
    return _load(group, version, kind)


@cache
def _load(group: str, version: str, kind: str) -> Schema | None:
    try:
        schema = json.loads((_data_dir() / group / version / f"{kind}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.exception("schema %s/%s %s missing or unreadable", group, version, kind)
        return None
    return schema if isinstance(schema, dict) else None


def same_schema(api_version: str, other: str, kind: str) -> bool:
    """Whether `kind` has the same schema at both apiVersions (true of most Istio versions)."""
    first, second = schema_for(api_version, kind), schema_for(other, kind)
    return first is not None and first == second


def subschema(schema: Schema | None, path: str | Sequence[PathSegment]) -> Schema | None:
    """The schema of the value at a field path below `schema`, or None where the schema says nothing.

    `path` is `spec.http[0].match[0].uri` or its segments. A name resolves through `properties`,
    then the properties of `allOf`/`oneOf`/`anyOf` branches, then `additionalProperties` (map values:
    `headers.request.set.x-user` gives the schema of a header value); an index resolves through
    `items`. An int-or-string or preserve-unknown-fields value ends the walk (None below it).
    """
    segments = parse_path(path) if isinstance(path, str) else list(path)
    current: Schema | None = schema
    for segment in segments:
        if current is None:
            return None
        current = _child(current, segment, 0)
    return current


def _child(schema: Schema, segment: PathSegment, depth: int) -> Schema | None:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(segment, int):
        items = schema.get("items")
        if isinstance(items, dict):
            return items
    else:
        props = schema.get("properties")
        if isinstance(props, dict) and isinstance(props.get(segment), dict):
            sub: Schema = props[segment]
            return sub
    for combinator in _COMBINATORS:
        for branch in schema.get(combinator) or ():
            if isinstance(branch, dict):
                found = _child(branch, segment, depth + 1)
                if found is not None:
                    return found
    if isinstance(segment, str):
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return None


def properties(schema: Schema | None) -> dict[str, Schema]:
    """The fields an object schema names, including fields only named in `allOf`/`oneOf`/`anyOf`
    branches (for completion). Empty for non-objects and free-form maps."""
    found: dict[str, Schema] = {}
    _collect_properties(schema, found, 0)
    return found


def _collect_properties(schema: Schema | None, found: dict[str, Schema], depth: int) -> None:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            if isinstance(sub, dict):
                found.setdefault(name, sub)
    for combinator in _COMBINATORS:
        for branch in schema.get(combinator) or ():
            _collect_properties(branch, found, depth + 1)


def is_int_or_string(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-int-or-string")) or schema.get("format") == "int-or-string"


_INT_OR_STRING = frozenset({"integer", "string"})
_SINGLE = {t: frozenset({t}) for t in ("string", "integer", "number", "boolean", "object", "array", "null")}


def allowed_types(schema: Schema) -> frozenset[str] | None:
    """The JSON types a value may have (`integer` is also a `number`), or None when any type goes."""
    if is_int_or_string(schema):
        return _INT_OR_STRING
    kind = schema.get("type")
    if isinstance(kind, str):
        return _SINGLE.get(kind) or frozenset({kind})
    if isinstance(kind, list):
        return frozenset(str(k) for k in kind)
    return None
