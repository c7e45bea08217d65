"""Outline of a file (document symbols) and every resource of the workspace by name (workspace symbols).

A resource's children: a VirtualService's routes, a DestinationRule's subsets, an Istio Gateway's servers,
a Gateway API Gateway's (or ListenerSet's) listeners, a Gateway API route's rules, a ServiceEntry's hosts,
a Service's ports."""

from __future__ import annotations

from lsprotocol import types

from istio_lsp.features.code_lens import percent, traffic_split
from istio_lsp.features.locate import Convert, UriOf, same_uri
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import (
    WORKLOAD_KINDS,
    Destination,
    DestinationRule,
    Gateway,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    Resource,
    SelectorPolicy,
    Service,
    ServiceEntry,
    VirtualService,
)

MAX_WORKSPACE_SYMBOLS = 1000

_KINDS: dict[str, types.SymbolKind] = {
    "VirtualService": types.SymbolKind.Module,
    "DestinationRule": types.SymbolKind.Struct,
    "Gateway": types.SymbolKind.Interface,
    "ServiceEntry": types.SymbolKind.Interface,
    "Service": types.SymbolKind.Interface,
    "Namespace": types.SymbolKind.Namespace,
    **{kind: types.SymbolKind.Class for kind in WORKLOAD_KINDS},
}


def symbol_kind(resource: Resource) -> types.SymbolKind:
    if isinstance(resource, SelectorPolicy):
        return types.SymbolKind.Object
    return _KINDS.get(resource.kind, types.SymbolKind.Object)


def document_symbols(index: WorkspaceIndex, uri: str, convert: Convert) -> list[types.DocumentSymbol]:
    """Each resource as `Kind ns/name`, with its routes, servers or subsets as children."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    return [_resource_symbol(r, uri, convert) for r in index.resources_in(uri)]


def _resource_symbol(r: Resource, uri: str, convert: Convert) -> types.DocumentSymbol:
    children: list[types.DocumentSymbol] = []
    if isinstance(r, VirtualService):
        for rule in r.route_rules:
            destinations = [
                d
                for d in r.destinations
                if d.role == "route" and d.protocol == rule.protocol and d.rule_index == rule.index
            ]
            label = f"{rule.protocol}[{rule.index}]"
            children.append(
                types.DocumentSymbol(
                    name=f"{label} {rule.name}" if rule.name else label,
                    kind=types.SymbolKind.Function,
                    range=convert(uri, rule.span),
                    selection_range=convert(uri, rule.span),
                    detail=_route_detail(destinations) or None,
                )
            )
    elif isinstance(r, DestinationRule):
        for subset in r.subsets:
            children.append(
                types.DocumentSymbol(
                    name=subset.name.value or "(unnamed subset)",
                    kind=types.SymbolKind.EnumMember,
                    range=convert(uri, subset.span),
                    selection_range=convert(uri, subset.name.span),
                    detail=", ".join(f"{k}: {v}" for k, v in subset.labels.items()) or None,
                )
            )
    elif isinstance(r, Gateway):
        for number, server in enumerate(r.servers):
            if server.span is not None:
                name = server.name or f"servers[{number}]"
                detail = ", ".join(server.hosts) or None
                children.append(
                    _port_symbol(name, server.protocol, server.port, convert(uri, server.span), None, detail)
                )
    elif isinstance(r, (KubernetesGateway, ListenerSet)):
        for number, listener in enumerate(r.listeners):
            if listener.span is not None:
                name = listener.name or f"listeners[{number}]"
                selection = convert(uri, listener.name_span) if listener.name_span is not None else None
                detail = listener.hostname.value if listener.hostname is not None else None
                children.append(
                    _port_symbol(name, listener.protocol, listener.port, convert(uri, listener.span), selection, detail)
                )
    elif isinstance(r, KubernetesRoute):
        for route_rule in r.rules:
            backends = [
                f"{b.name.value}:{b.port}" if b.port is not None else b.name.value
                for b in route_rule.backends
                if b.name
            ]
            children.append(
                types.DocumentSymbol(
                    name=f"rules[{route_rule.index}]",
                    kind=types.SymbolKind.Function,
                    range=convert(uri, route_rule.span),
                    selection_range=convert(uri, route_rule.span),
                    detail="→ " + ", ".join(backends) if backends else None,
                )
            )
    elif isinstance(r, ServiceEntry):
        for ref in r.hosts:
            children.append(
                types.DocumentSymbol(
                    name=ref.value or "(empty host)",
                    kind=types.SymbolKind.Field,
                    range=convert(uri, ref.span),
                    selection_range=convert(uri, ref.span),
                )
            )
    elif isinstance(r, Service):
        for service_port in r.ports:
            if service_port.span is None:
                continue
            port_text = "" if service_port.port is None else str(service_port.port)
            children.append(
                types.DocumentSymbol(
                    name=f"{service_port.name or 'port'} {port_text}".strip(),
                    kind=types.SymbolKind.Property,
                    range=convert(uri, service_port.span),
                    selection_range=convert(uri, service_port.span),
                    detail=service_port.protocol,
                )
            )
    return types.DocumentSymbol(
        name=_title(r),
        kind=symbol_kind(r),
        range=convert(uri, r.span),
        selection_range=convert(uri, r.name_span),
        detail=r.api_version or None,
        children=children or None,
    )


def _title(r: Resource) -> str:
    name = r.name or "(no name)"
    return f"{r.kind} {name}" if r.namespace in ("", ANY_NAMESPACE) else f"{r.kind} {r.namespace}/{name}"


def _route_detail(destinations: list[Destination]) -> str:
    """`→ cart stable 90%, cart canary 10%`: where the rule sends traffic."""
    parts = []
    for d, share in traffic_split(destinations):
        text = d.host.value + (f" {d.subset.value}" if d.subset else "")
        if len(destinations) > 1:
            text += f" {percent(share)}"
        parts.append(text)
    return "→ " + ", ".join(parts) if parts else ""


def flatten(symbols: list[types.DocumentSymbol], uri: str) -> list[types.SymbolInformation]:
    """Document symbols for clients without hierarchical support: a flat list with containers."""
    out: list[types.SymbolInformation] = []

    def visit(symbol: types.DocumentSymbol, container: str | None) -> None:
        out.append(
            types.SymbolInformation(
                name=symbol.name,
                kind=symbol.kind,
                location=types.Location(uri, symbol.range),
                container_name=container,
            )
        )
        for child in symbol.children or []:
            visit(child, symbol.name)

    for symbol in symbols:
        visit(symbol, None)
    return out


def workspace_symbols(
    index: WorkspaceIndex, query: str, convert: Convert, uri_of: UriOf = same_uri
) -> list[types.WorkspaceSymbol]:
    """Every resource whose name (or `ns/name`) holds the query's characters in order, case-insensitively."""
    wanted = query.strip().lower()
    found: list[tuple[tuple[int, str, str, str, str], Resource]] = []
    for resource in index.resources():
        if not resource.name:
            continue
        rank = _rank(wanted, resource)
        if rank is not None:
            found.append(((rank, resource.name, resource.namespace, resource.kind, resource.uri), resource))
    found.sort(key=lambda pair: pair[0])
    return [
        types.WorkspaceSymbol(
            name=r.name,
            kind=symbol_kind(r),
            location=types.Location(uri_of(r.uri), convert(r.uri, r.name_span)),
            container_name=f"{r.kind} {r.namespace}" if r.namespace not in ("", ANY_NAMESPACE) else r.kind,
        )
        for _, r in found[:MAX_WORKSPACE_SYMBOLS]
    ]


def _rank(query: str, r: Resource) -> int | None:
    """0: the name starts with the query; 1: contains it; 2: holds its characters in order; None: no match."""
    name = r.name.lower()
    if not query or name.startswith(query):
        return 0
    qualified = f"{r.namespace}/{name}".lower()
    if query in name or query in qualified:
        return 1
    rest = iter(qualified)
    if all(ch in rest for ch in query):
        return 2
    return None


def _port_symbol(
    name: str,
    protocol: str | None,
    port: int | None,
    whole: types.Range,
    selection: types.Range | None,
    detail: str | None,
) -> types.DocumentSymbol:
    """A Gateway server or a Gateway API listener: `name (PROTOCOL port)`, what it serves as the detail."""
    shown = " ".join(str(p) for p in (protocol, port) if p is not None)
    return types.DocumentSymbol(
        name=f"{name} ({shown})" if shown else name,
        kind=types.SymbolKind.Property,
        range=whole,
        selection_range=selection or whole,
        detail=detail,
    )
