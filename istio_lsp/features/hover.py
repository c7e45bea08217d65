"""Hover: what a field means, and what a reference (host, subset, gateway) resolves to.

Links through labels and modes (selectors, workloads, Gateway server hosts, TLS modes) are
described by `hover_links`, from the index, and shown before the field's documentation; so are
the routes a Gateway API listener takes and the listeners a route's parentRef attaches to
(`gateway_api`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lsprotocol import types

from istio_lsp.features import gateway_api
from istio_lsp.features.cursor import cursor_at, document_bounds, metadata_value, top_level
from istio_lsp.features.field_docs import field_doc
from istio_lsp.features.hover_links import link_markdown
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import resolve_host, selected_workloads, services_for_rule, subset_workloads
from istio_lsp.model.hosts import gateway_key, host_candidates
from istio_lsp.model.resources import Service, VirtualService
from istio_lsp.routing.engine import follow_destination
from istio_lsp.routing.render import path_summary
from istio_lsp.syntax import Span, utf16_len
from istio_lsp.syntax.spans import utf16_to_index

Convert = Callable[[str, Span], types.Range]

_TOKEN_BREAK = set(" \t,{}[]#\"'")
_DESTINATION_PARENTS = {"destination", "mirror"}


def hover(
    index: WorkspaceIndex, uri: str, text: str, line: int, character: int, convert: Convert
) -> types.Hover | None:
    lines = text.split("\n")
    if line >= len(lines):
        return None
    line_text = lines[line]
    col = utf16_to_index(line_text, character)
    start = col
    while start > 0 and line_text[start - 1] not in _TOKEN_BREAK:
        start -= 1
    end = col
    while end < len(line_text) and line_text[end] not in _TOKEN_BREAK:
        end += 1
    token = line_text[start:end]
    if not token or line_text[:start].lstrip().startswith("#"):
        return None
    doc_start, doc_end = document_bounds(lines, line)
    kind = top_level(lines, doc_start, doc_end, "kind") or ""
    api_version = top_level(lines, doc_start, doc_end, "apiVersion") or ""
    namespace = index.namespace_at(uri, line, metadata_value(lines, doc_start, doc_end, "namespace"))
    span = Span(line, utf16_len(line_text[:start]), line, utf16_len(line_text[:end]))
    is_key = token.endswith(":") or line_text[end : end + 1] == ":"
    if is_key:
        key = token.rstrip(":")
        cursor = cursor_at(text, line, start)
        markdown = _field_markdown(kind, [*cursor.path, key], api_version)
        if markdown is None:  # a label's key in a selector or a pod template
            markdown = link_markdown(index, uri, text, line, character)
    else:
        cursor = cursor_at(text, line, end)
        markdown = _reference_markdown(index, uri, kind, namespace, cursor, token, line)
        if markdown is None:
            link = link_markdown(index, uri, text, line, character)
            field = _field_markdown(kind, [*cursor.path, cursor.key], api_version) if cursor.key else None
            markdown = "\n\n---\n\n".join(part for part in (link, field) if part) or None
    attached = gateway_api.hover_markdown(index, uri, text, line, character)  # a listener, a parentRef
    if attached:
        markdown = "\n\n---\n\n".join(part for part in (attached, markdown) if part)
    if not markdown:
        return None
    return types.Hover(
        contents=types.MarkupContent(types.MarkupKind.Markdown, markdown),
        range=convert(uri, span),
    )


def _field_markdown(kind: str, path: list[Any], api_version: str = "") -> str | None:
    doc = field_doc(kind, path, api_version)
    if doc is None:
        return _schema_markdown(kind, path, api_version)
    return f"**{path[-1]}** ({doc.message})\n\n{doc.text}\n\n[Istio reference]({doc.url(kind)})"


def _schema_markdown(kind: str, path: list[Any], api_version: str) -> str | None:
    """For a Gateway API field: its type, from the schema of its own group, and whether only the
    experimental channel has it."""
    from istio_lsp.checks.schema import store

    group, _ = store.split_api_version(api_version)
    info = store.kind_info(kind, group)
    if info is None or info.source != "gateway-api":
        return None
    schema = store.subschema(store.schema_for(api_version, kind), [p for p in path if p is not None])
    if schema is None:
        return None
    kind_of = schema.get("type") or ("int or string" if store.is_int_or_string(schema) else "value")
    parts = [f"**{path[-1]}** ({kind_of}) · {info.kind} of the Kubernetes Gateway API (`{group}`)"]
    if schema.get("enum"):
        parts.append("One of: " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if schema.get("x-istio-lsp-experimental"):
        parts.append("Only the Gateway API's experimental channel has this field.")
    parts.append(f"[Gateway API reference]({_GATEWAY_API_REFERENCE})")
    return "\n\n".join(parts)


_GATEWAY_API_REFERENCE = "https://gateway-api.sigs.k8s.io/reference/spec/"


def _reference_markdown(
    index: WorkspaceIndex, uri: str, kind: str, namespace: str, cursor: Any, token: str, line: int
) -> str | None:
    path = cursor.path
    key = cursor.key
    parent = path[-1] if path else None
    if key == "host" and parent in _DESTINATION_PARENTS and kind == "VirtualService":
        vs = _resource_at(index, uri, line, namespace)
        path = _destination_path(vs, line, token, index)
        return _destination_host(index, vs, token) + (f"\n\n{path}" if path else "")
    if key == "host" and kind == "DestinationRule" and path == ["spec"]:
        return _rule_host(index, namespace, token)
    if key == "subset" and parent in _DESTINATION_PARENTS:
        return _subset(index, namespace, cursor.siblings.get("host"), token)
    in_gateways = (key == "gateways") or (cursor.item_start and len(path) >= 2 and path[-2] == "gateways")
    if in_gateways and kind == "VirtualService" and token != "mesh":
        return _gateway(index, namespace, token)
    if in_gateways and token == "mesh":
        return "**mesh**: every sidecar in the mesh (the default when `gateways` is omitted)."
    return None


def _resource_at(index: WorkspaceIndex, uri: str, line: int, namespace: str) -> VirtualService:
    for resource in index.resources_in(uri):
        if isinstance(resource, VirtualService) and resource.span.start_line <= line <= resource.span.end_line:
            return resource
    # the document does not parse right now: judge from its namespace alone
    return VirtualService("VirtualService", "", "", namespace, uri, 0, Span(0, 0, 0, 0), Span(0, 0, 0, 0))


def _destination_host(index: WorkspaceIndex, vs: VirtualService, host: str) -> str:
    res = resolve_host(index, host, vs)
    lines = [f"**{host}** → `{res.fqdn}`", ""]
    for service in res.services:
        lines.append(_service_line(index, service))
    for entry in res.backed_entries + res.hollow_entries:
        where = "with endpoints" if entry in res.backed_entries else "**without endpoints**"
        lines.append(f"- ServiceEntry `{entry.namespace}/{entry.name}`: resolution {entry.resolution}, {where}")
    for hidden in res.hidden:
        lines.append(f"- {hidden.display}: not exported to `{', '.join(res.consumers)}`")
    if res.declaring and not (res.services or res.backed_entries):
        names = ", ".join(f"`{v.namespace}/{v.name}`" for v in res.declaring)
        lines.append(
            f"- Only a VirtualService host ({names}): a routing rule, not a service. Envoy finds no endpoints."
        )
    if len(lines) == 2:
        lines.append("Nothing in the workspace provides this host.")
    return "\n".join(lines)


def _destination_path(vs: VirtualService, line: int, host: str, index: WorkspaceIndex) -> str | None:
    """`→ DestinationRule x subset y (labels) → pods: Deployment a (2 replicas)`: where a route's
    destination leads, as the routing engine follows it (or why it answers 503)."""
    found = [d for d in vs.destinations if d.host.span.start_line == line and d.host.value == host]
    if not found:
        return None
    dest = found[0]
    _, steps = follow_destination(index, vs, host, dest.subset.value if dest.subset else None, dest.port)
    path = path_summary(steps)
    return None if path is None else f"**Path** → {path}"


def _service_line(index: WorkspaceIndex, service: Service) -> str:
    ports = ", ".join(f"{p.name or ''} {p.port}".strip() for p in service.ports if p.port) or "no ports"
    workloads = selected_workloads(index, service)
    selects = ", ".join(f"{w.kind} `{w.name}`" for w in workloads[:5]) or "no workload in the workspace"
    return f"- Service `{service.namespace}/{service.name}` · ports: {ports} · selects: {selects}"


def _rule_host(index: WorkspaceIndex, namespace: str, host: str) -> str:
    candidates = host_candidates(host, namespace, index.settings.cluster_domain)
    services = index.services_for(candidates)
    lines = [f"**{host}** → `{candidates[0]}`", ""]
    lines += [_service_line(index, s) for s in services]
    entries = index.service_entries_for(candidates)
    lines += [f"- ServiceEntry `{e.namespace}/{e.name}`" for e in entries]
    if not services and not entries:
        lines.append("No Service or ServiceEntry in the workspace has this host; Istio ignores a rule for it.")
    return "\n".join(lines)


def _subset(index: WorkspaceIndex, namespace: str, host: str | None, name: str) -> str | None:
    if not host:
        return None
    candidates = host_candidates(host, namespace, index.settings.cluster_domain)
    rules = index.destination_rules_for(candidates)
    lines = [f"**subset {name}** of `{candidates[0]}`", ""]
    found = False
    for rule in rules:
        for subset in rule.subsets:
            if subset.name.value != name:
                continue
            found = True
            labels = ", ".join(f"`{k}: {v}`" for k, v in subset.labels.items()) or "none (all pods)"
            lines.append(f"- defined by DestinationRule `{rule.namespace}/{rule.name}` · labels: {labels}")
            if services_for_rule(index, rule):
                matched = subset_workloads(index, rule, subset.labels)
                names = ", ".join(f"{w.kind} `{w.name}`" for w in matched) or "**none**"
                lines.append(f"- matches: {names}")
    if not found:
        lines.append("No DestinationRule for this host defines it.")
    return "\n".join(lines)


def _gateway(index: WorkspaceIndex, namespace: str, reference: str) -> str:
    gw_namespace, name = gateway_key(reference, namespace)
    gateways = index.gateway(gw_namespace, name)
    if not gateways:
        return f"**Gateway {gw_namespace}/{name}**: not declared in the workspace."
    lines = [f"**Gateway {gw_namespace}/{name}**", ""]
    for gateway in gateways:
        selector = ", ".join(f"`{k}: {v}`" for k, v in gateway.selector.items()) or "all workloads"
        lines.append(f"- selector: {selector}")
        for server in gateway.servers:
            hosts = ", ".join(f"`{h}`" for h in server.hosts)
            lines.append(f"- port {server.port} {server.protocol or ''} · hosts: {hosts}")
    return "\n".join(lines)
