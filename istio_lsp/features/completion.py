"""Completion: keys and enum values from the schemas, and references from the workspace index.

Works on the text alone (see `cursor.py`), so it also answers on the half-typed
line of a document that does not parse yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from lsprotocol import types

from istio_lsp.features import gateway_api
from istio_lsp.features.cursor import Cursor, cursor_at, document_bounds, metadata_value, top_level
from istio_lsp.features.field_docs import field_doc
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import distinguishing_labels, selected_workloads
from istio_lsp.model.hosts import host_candidates, namespaces_match, service_fqdn
from istio_lsp.model.resources import ISTIO_KINDS, Service, ServiceEntry
from istio_lsp.syntax import Span, utf16_len
from istio_lsp.syntax.spans import utf16_to_index

Convert = Callable[[str, Span], types.Range]

_DESTINATION_PARENTS = {"destination", "mirror"}


def complete(
    index: WorkspaceIndex,
    uri: str,
    text: str,
    line: int,
    character: int,
    convert: Convert,
    *,
    snippets: bool = True,
) -> list[types.CompletionItem]:
    """Completion items at (line, UTF-16 character) of a document's current text."""
    lines = text.split("\n")
    character = utf16_to_index(lines[line] if line < len(lines) else "", character)
    cursor = cursor_at(text, line, character)
    start, end = document_bounds(lines, min(line, len(lines) - 1))
    kind = top_level(lines, start, end, "kind") or ""
    api_version = top_level(lines, start, end, "apiVersion") or ""
    namespace = index.namespace_at(uri, line, metadata_value(lines, start, end, "namespace"))
    prefix_units = utf16_len(cursor.prefix)
    utf16_char = utf16_len((lines[line] if line < len(lines) else "")[:character])
    replace = convert(uri, Span(line, utf16_char - prefix_units, line, utf16_char))
    context = _Context(index, cursor, kind, api_version, namespace, lines, replace, snippets)
    return list(context.items())


class _Context:
    def __init__(
        self,
        index: WorkspaceIndex,
        cursor: Cursor,
        kind: str,
        api_version: str,
        namespace: str,
        lines: list[str],
        replace: types.Range,
        snippets: bool,
    ) -> None:
        self.index = index
        self.cursor = cursor
        self.kind = kind
        self.api_version = api_version
        self.namespace = namespace
        self.lines = lines
        self.replace = replace
        self.snippets = snippets

    # ---- what to offer ---------------------------------------------------------

    def items(self) -> Iterator[types.CompletionItem]:
        cursor = self.cursor
        path = cursor.path
        if cursor.in_value:
            key = cursor.key or (str(path[-1]) if path and isinstance(path[-1], str) else None)
            value_path = path if cursor.in_list_item and cursor.key is None else [*path, key] if key else path
            yield from self.values(key, [p for p in value_path if p is not None], list_item=cursor.in_list_item)
            return
        if cursor.item_start:
            # `- x|`: a scalar item of the list at path[:-1], or the first key of a mapping item
            list_key = path[-2] if len(path) >= 2 and isinstance(path[-2], str) else None
            yield from self.values(list_key, path[:-1], list_item=True)
            yield from self.keys(path)
            return
        yield from self.keys(path)

    def values(self, key: str | None, path: list[Any], list_item: bool) -> Iterator[types.CompletionItem]:
        parent = path[-2] if len(path) >= 2 else None
        holder = _ref_holder(path) if self.api_version.startswith(_GATEWAY_API_GROUPS) else None
        if holder in ("parentRefs", "parentRef"):
            yield from self.parent_ref_values(key)
        elif holder in ("backendRefs", "backendRef"):
            yield from self.backend_ref_values(key)
        elif key == "host" and (
            parent in _DESTINATION_PARENTS or (self.kind == "DestinationRule" and path == ["spec", "host"])
        ):
            yield from self.hosts()
        elif key == "subset" and parent in _DESTINATION_PARENTS:
            yield from self.subsets(self.cursor.siblings.get("host"))
        elif key == "gateways" and self.kind == "VirtualService":
            yield from self.gateways()
        elif self.kind == "DestinationRule" and len(path) >= 4 and path[-2] == "labels" and path[1] == "subsets":
            yield from self.subset_label_values(key)
        elif key == "kind" and len(path) == 1:
            yield from (self.item(k, types.CompletionItemKind.Class, "Istio kind") for k in ISTIO_KINDS)
            yield from (
                self.item(k, types.CompletionItemKind.Class, "Gateway API kind")
                for k in sorted(_gateway_api_kinds())
                if k not in ISTIO_KINDS
            )
        elif key == "apiVersion" and len(path) == 1:
            for version in (*ISTIO_KINDS.get(self.kind, ()), *_gateway_api_kinds().get(self.kind, ())):
                yield self.item(version, types.CompletionItemKind.Module, f"serves {self.kind}")
        schema = _schema_at(self.api_version, self.kind, path)
        if schema is not None:
            for value in schema.get("enum", []) or []:
                yield self.item(str(value), types.CompletionItemKind.EnumMember, "allowed value")
            if schema.get("type") == "boolean":
                yield from (self.item(v, types.CompletionItemKind.Value, "boolean") for v in ("true", "false"))

    def keys(self, path: list[Any]) -> Iterator[types.CompletionItem]:
        if self.kind == "DestinationRule" and len(path) >= 4 and path[-1] == "labels" and path[1] == "subsets":
            yield from self.subset_label_keys()
            return
        schema = _schema_at(self.api_version, self.kind, path)
        if schema is None:
            return
        properties: dict[str, Any] = _properties(schema)
        required = set(schema.get("required", []) or [])
        for name, sub in properties.items():
            if name in self.cursor.siblings or name == "status":
                continue
            yield self.key_item(name, sub, name in required, path)

    # ---- references ------------------------------------------------------------

    def hosts(self) -> Iterator[types.CompletionItem]:
        domain = self.index.settings.cluster_domain
        seen: set[str] = set()
        for key in list(self.index.services.keys()):
            for service in self.index.services.get(key):
                fqdn = service_fqdn(service.name, service.namespace, domain)
                detail = f"Service {service.namespace}/{service.name}"
                if namespaces_match(service.namespace, self.namespace) and service.name not in seen:
                    seen.add(service.name)
                    yield self.item(service.name, types.CompletionItemKind.Reference, detail, sort="0")
                if fqdn not in seen:
                    seen.add(fqdn)
                    yield self.item(fqdn, types.CompletionItemKind.Reference, detail, sort="1")
        for key in list(self.index.service_entries.keys()):
            for entry in self.index.service_entries.get(key):
                for ref in entry.hosts:
                    if ref.value not in seen and not ref.value.startswith("*"):
                        seen.add(ref.value)
                        yield self.item(
                            ref.value,
                            types.CompletionItemKind.Reference,
                            f"ServiceEntry {entry.namespace}/{entry.name}",
                            sort="2",
                        )

    def subsets(self, host: str | None) -> Iterator[types.CompletionItem]:
        if not host:
            return
        candidates = host_candidates(host, self.namespace, self.index.settings.cluster_domain)
        seen: set[str] = set()
        for rule in self.index.destination_rules_for(candidates):
            for subset in rule.subsets:
                if subset.name.value in seen:
                    continue
                seen.add(subset.name.value)
                labels = ", ".join(f"{k}: {v}" for k, v in subset.labels.items())
                yield self.item(subset.name.value, types.CompletionItemKind.EnumMember, f"{rule.display} · {labels}")

    def gateways(self) -> Iterator[types.CompletionItem]:
        yield self.item("mesh", types.CompletionItemKind.Keyword, "all sidecars in the mesh")
        for gateway in self.index.all_gateways():
            name = gateway.name if gateway.namespace == self.namespace else f"{gateway.namespace}/{gateway.name}"
            ports = ", ".join(f"{s.port}/{s.protocol}" for s in gateway.servers if s.port)
            yield self.item(
                name, types.CompletionItemKind.Reference, f"Gateway {gateway.namespace}/{gateway.name} {ports}".strip()
            )

    def parent_ref_values(self, key: str | None) -> Iterator[types.CompletionItem]:
        """A Gateway API parentRef's `name` (the Gateways, ListenerSets or Services of the namespace it points
        at), `sectionName` (the named Gateway's listeners) and `port` (their ports, or the Service's)."""
        siblings = self.cursor.siblings
        namespace = siblings.get("namespace") or self.namespace
        kind = siblings.get("kind") or "Gateway"
        candidates = gateway_api.parent_candidates(self.index, namespace, kind)
        if key == "name":
            for r in candidates:
                if isinstance(r, Service):
                    detail = f"Service {r.namespace}/{r.name} · ports: {_ports(r)}"
                else:
                    listeners = ", ".join(f"{x.name} {x.port}" for x in getattr(r, "listeners", []))
                    detail = f"{r.kind} {r.namespace}/{r.name} (Gateway API) · listeners: {listeners or 'none'}"
                yield self.item(r.name, types.CompletionItemKind.Reference, detail, sort="0")
            return
        named = [r for r in candidates if r.name == siblings.get("name")]
        seen: set[str] = set()
        for r in named:
            if isinstance(r, Service):
                if key == "port":
                    yield from self.service_ports(r, seen)
                continue
            for listener in getattr(r, "listeners", []):
                value = listener.name if key == "sectionName" else str(listener.port) if key == "port" else None
                if not value or value == "None" or value in seen:
                    continue
                seen.add(value)
                host = f" · {listener.hostname.value}" if listener.hostname is not None else ""
                detail = f"listener {listener.name} of {r.display}: {listener.protocol or ''} {listener.port}{host}"
                yield self.item(value, types.CompletionItemKind.EnumMember, detail)

    def backend_ref_values(self, key: str | None) -> Iterator[types.CompletionItem]:
        """A Gateway API backendRef's `name` (the Services of its namespace; for a `Hostname`, ServiceEntry hosts)
        and `port` (the named Service's ports)."""
        siblings = self.cursor.siblings
        namespace = siblings.get("namespace") or self.namespace
        hostname = siblings.get("kind") == "Hostname"
        candidates = gateway_api.backend_candidates(self.index, namespace)
        seen: set[str] = set()
        for r in candidates:
            if key == "name" and isinstance(r, Service) and not hostname and r.name not in seen:
                seen.add(r.name)
                yield self.item(
                    r.name, types.CompletionItemKind.Reference, f"{r.display} · ports: {_ports(r)}", sort="0"
                )
            elif key == "name" and isinstance(r, ServiceEntry) and hostname:
                for ref in r.hosts:
                    if ref.value not in seen and not ref.value.startswith("*"):
                        seen.add(ref.value)
                        yield self.item(
                            ref.value, types.CompletionItemKind.Reference, f"ServiceEntry {r.namespace}/{r.name}"
                        )
            elif key == "port" and isinstance(r, Service) and r.name == siblings.get("name") and not hostname:
                yield from self.service_ports(r, seen)

    def service_ports(self, service: Service, seen: set[str]) -> Iterator[types.CompletionItem]:
        for port in service.ports:
            if port.port is not None and str(port.port) not in seen:
                seen.add(str(port.port))
                named = f" ({port.name})" if port.name else ""
                yield self.item(str(port.port), types.CompletionItemKind.Value, f"port{named} of {service.display}")

    def _rule_services(self) -> list[Service]:
        """The Services behind the `spec.host` of the DestinationRule being edited."""
        host = None
        text = "\n".join(self.lines)
        for number in range(self.cursor.document_start, min(self.cursor.document_end, len(self.lines))):
            stripped = self.lines[number].strip()
            if stripped.startswith("host:"):
                here = cursor_at(text, number, len(self.lines[number]))
                if here.path == ["spec"] and here.key == "host" and here.prefix:
                    host = here.prefix.split("#")[0].strip()
                    break
        if not host:
            return []
        return self.index.services_for(host_candidates(host, self.namespace, self.index.settings.cluster_domain))

    def _workload_labels(self) -> dict[str, set[str]]:
        labels: dict[str, set[str]] = {}
        for service in self._rule_services():
            for workload in selected_workloads(self.index, service):
                for k, v in distinguishing_labels(workload, service.selector).items():
                    labels.setdefault(k, set()).add(v)
        return labels

    def subset_label_keys(self) -> Iterator[types.CompletionItem]:
        for key, values in sorted(self._workload_labels().items()):
            if key in self.cursor.siblings:
                continue
            for value in sorted(values):
                yield self.item(
                    f"{key}: {value}", types.CompletionItemKind.Property, "label of the Service's workloads"
                )

    def subset_label_values(self, key: str | None) -> Iterator[types.CompletionItem]:
        for value in sorted(self._workload_labels().get(key or "", ())):
            yield self.item(value, types.CompletionItemKind.Value, f"{key} on the Service's workloads")

    # ---- items -----------------------------------------------------------------

    def item(self, label: str, kind: types.CompletionItemKind, detail: str, sort: str = "1") -> types.CompletionItem:
        return types.CompletionItem(
            label=label,
            kind=kind,
            detail=detail,
            sort_text=f"{sort}{label}",
            filter_text=label,
            text_edit=types.TextEdit(range=self.replace, new_text=label),
        )

    def key_item(self, name: str, schema: dict[str, Any], required: bool, path: list[Any]) -> types.CompletionItem:
        doc = field_doc(self.kind, [*path, name], self.api_version)
        documentation = None
        if doc is not None:
            documentation = types.MarkupContent(
                types.MarkupKind.Markdown, f"{doc.text}\n\n[Reference]({doc.url(self.kind)})"
            )
        kind_of = schema.get("type")
        new_text = f"{name}: "
        fmt = types.InsertTextFormat.PlainText
        if self.snippets:
            fmt = types.InsertTextFormat.Snippet
            if kind_of == "object":
                children = [c for c in schema.get("required", []) or []]
                body = "".join(f"\n  {child}: ${i + 1}" for i, child in enumerate(children)) or "\n  $0"
                new_text = f"{name}:{body}"
            elif kind_of == "array":
                item = schema.get("items", {}) or {}
                if item.get("type") == "object":
                    children = [c for c in item.get("required", []) or []]
                    first = f"{children[0]}: $1" if children else "$0"
                    new_text = f"{name}:\n- {first}"
                else:
                    new_text = f"{name}:\n- $0"
            elif schema.get("enum"):
                choices = ",".join(str(v).replace(",", "\\,").replace("|", "\\|") for v in schema["enum"])
                new_text = f"{name}: ${{1|{choices}|}}"
            else:
                new_text = f"{name}: $0"
        return types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Field,
            detail=("required · " if required else "") + (str(kind_of) if kind_of else "field"),
            documentation=documentation,
            sort_text=("0" if required else "1") + name,
            filter_text=name,
            insert_text_format=fmt,
            insert_text_mode=types.InsertTextMode.AdjustIndentation,
            text_edit=types.TextEdit(range=self.replace, new_text=new_text),
        )


_GATEWAY_API_GROUPS = ("gateway.networking.k8s.io/", "gateway.networking.x-k8s.io/")


def _ref_holder(path: list[Any]) -> str | None:
    """The key holding the reference a value path ends in (`parentRefs` for `spec.parentRefs[0].name`)."""
    keys = [p for p in path[:-1] if isinstance(p, str)]
    return keys[-1] if keys else None


def _ports(service: Service) -> str:
    return ", ".join(str(p.port) for p in service.ports if p.port is not None) or "none"


def _gateway_api_kinds() -> dict[str, tuple[str, ...]]:
    """The Gateway API kinds and the apiVersions serving each (a `Gateway` is also Istio's)."""
    from istio_lsp.checks.schema import store

    return {info.kind: info.api_versions for info in store.kinds().values() if info.source == "gateway-api"}


def _schema_at(api_version: str, kind: str, path: list[Any]) -> dict[str, Any] | None:
    try:
        from istio_lsp.checks.schema import store
    except ImportError:  # schemas not generated: completion of references still works
        return None
    schema = store.schema_for(api_version, kind)
    if schema is None:
        return None
    found = store.subschema(schema, [p for p in path if p is not None])
    return found if isinstance(found, dict) else None


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    properties = dict(schema.get("properties", {}) or {})
    for branch_key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(branch_key, []) or []:
            if isinstance(branch, dict):
                for name, sub in (branch.get("properties", {}) or {}).items():
                    properties.setdefault(name, sub)
    return properties
