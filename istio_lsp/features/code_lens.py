"""Code lenses: what a subset matches and who uses it; how a weighted route splits traffic; what each
HTTP route (and HTTPRoute or GRPCRoute rule) matches, and a "Trace a request…" lens on each
VirtualService, HTTPRoute and GRPCRoute (the `istioLsp.trace` command)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from istio_lsp.checks.gateway_api._attach import is_gateway_parent, is_service_parent
from istio_lsp.checks.routes._shared import StringCond, http_match
from istio_lsp.features.locate import Convert
from istio_lsp.features.references import subset_usages
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import services_for_rule, subset_workloads
from istio_lsp.model.hosts import gateway_key, namespaces_match
from istio_lsp.model.resources import (
    Destination,
    DestinationRule,
    KubernetesGateway,
    KubernetesRoute,
    RouteRule,
    Service,
    Subset,
    VirtualService,
)
from istio_lsp.routing.engine import Reader, http_route_nodes, route_rule_nodes
from istio_lsp.routing.gateway_api import ROUTE_KINDS, GatewayMatch, read_grpc_match, read_match
from istio_lsp.routing.request import GATEWAY_API
from istio_lsp.syntax import MappingNode, Span
from istio_lsp.syntax.nodes import get, items

TRACE_COMMAND = "istioLsp.trace"
TRACE_TITLE = "Trace a request…"


def code_lenses(index: WorkspaceIndex, uri: str, convert: Convert, read: Reader | None = None) -> list[types.CodeLens]:
    """The file's lenses; `read` (uri → text) lets VirtualServices show what each HTTP route matches."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    lenses: list[types.CodeLens] = []
    for r in index.resources_in(uri):
        if isinstance(r, DestinationRule):
            for subset in r.subsets:
                lenses.append(_lens(convert(uri, _first_line(subset.span)), subset_summary(index, r, subset)))
        elif isinstance(r, VirtualService):
            argument = trace_argument(r)
            if argument is not None:
                command = types.Command(title=TRACE_TITLE, command=TRACE_COMMAND, arguments=[argument])
                lenses.append(types.CodeLens(range=convert(uri, _first_line(r.span)), command=command))
            http = [rule for rule in r.route_rules if rule.protocol == "http"]
            nodes = http_route_nodes(read, r) if read is not None and http else []
            if len(nodes) == len(http):
                for rule, node in zip(http, nodes, strict=True):
                    lenses.append(_lens(convert(uri, _first_line(rule.span)), route_title(r, node)))
            for rule in r.route_rules:
                text = split_text(route_destinations(r, rule))
                if text and rule.route_span is not None:
                    lenses.append(_lens(convert(uri, _first_line(rule.route_span)), text))
        elif isinstance(r, KubernetesRoute) and r.kind in ROUTE_KINDS:
            lenses += _http_route_lenses(index, r, convert, read)
    return lenses


def _http_route_lenses(
    index: WorkspaceIndex, route: KubernetesRoute, convert: Convert, read: Reader | None
) -> list[types.CodeLens]:
    """An HTTPRoute's or GRPCRoute's "Trace a request…", what each rule matches, and how a rule splits its
    traffic."""
    uri = route.uri
    lenses: list[types.CodeLens] = []
    argument = http_route_trace_argument(index, route)
    if argument is not None:
        command = types.Command(title=TRACE_TITLE, command=TRACE_COMMAND, arguments=[argument])
        lenses.append(types.CodeLens(range=convert(uri, _first_line(route.span)), command=command))
    nodes = route_rule_nodes(read, route) if read is not None and route.rules else []
    if len(nodes) == len(route.rules):
        for rule, node in zip(route.rules, nodes, strict=True):
            lenses.append(_lens(convert(uri, _first_line(rule.span)), rule_title(route, node)))
    for rule in route.rules:
        weights = [1 if b.weight is None else max(b.weight, 0) for b in rule.backends]
        total = sum(weights)
        if len(rule.backends) > 1 and total:
            text = " · ".join(
                f"{b.name.value if b.name else '?'} {percent(w * 100 / total)}"
                for b, w in zip(rule.backends, weights, strict=True)
            )
            lenses.append(_lens(convert(uri, _first_line(rule.backends[0].span)), text))
    return lenses


def rule_title(route: KubernetesRoute, rule: MappingNode) -> str:
    """`GET /api/… · shop.example.com`: an HTTPRoute rule's matches (ORed, shown ` | `), and the hostnames.
    A rule without `matches` takes every request; `/api/…` is a PathPrefix (whole segments)."""
    written = get(rule, "matches")
    matches = items(written)
    if written is None or not matches:
        shown = "every request"
    else:
        read = read_grpc_match if route.kind == "GRPCRoute" else read_match
        shown = " | ".join(dict.fromkeys(_gateway_match_text(read(m)) for m in matches))
    hosts = [h.value for h in route.hostnames]
    if len(hosts) == 1:
        return f"{shown} · {hosts[0]}"
    return f"{shown} · {_plural(len(hosts), 'host')}" if hosts else f"{shown} · any host"


def _gateway_match_text(match: GatewayMatch) -> str:
    parts: list[str] = [match.method] if match.method else []
    if match.path_kind == "Exact":
        parts.append(match.path)
    elif match.path_kind == "RegularExpression":
        parts.append(f"~{match.path}")
    elif match.prefix != "/":
        parts.append(f"{match.prefix}/…")
    parts += [f"{c.name}: {'~' if c.kind == 'RegularExpression' else ''}{c.value}" for c in match.headers]
    parts += [f"?{c.name}={'~' if c.kind == 'RegularExpression' else ''}{c.value}" for c in match.query]
    return " ".join(parts) or "every request"


def http_route_trace_argument(index: WorkspaceIndex, route: KubernetesRoute) -> dict[str, Any] | None:
    """The `istioLsp.trace` argument an HTTPRoute's lens starts from: GET / on its first hostname (or its
    listener's), through its first Gateway on the listener's port; for a Service parent, from the route's
    namespace to the Service's port; POST for a GRPCRoute. None when the route has no parent the trace follows."""
    method = "POST" if route.kind == "GRPCRoute" else "GET"
    for parent in route.parents:
        if parent.name is None:
            continue
        namespace = parent.namespace.value if parent.namespace is not None else route.namespace
        if is_service_parent(parent):
            port = parent.port or _service_port(index, parent.name.value, namespace)
            where = f"{parent.name.value}.{namespace}" + (f":{port}" if port else "")
            return {"method": method, "url": f"http://{where}/", "headers": {}, "from": route.namespace}
        if not is_gateway_parent(parent):
            continue
        listeners = [
            li
            for g in index.named(parent.name.value)
            if isinstance(g, KubernetesGateway) and namespaces_match(g.namespace, namespace)
            for li in g.listeners
            if (li.protocol or "").upper() in ("HTTP", "HTTPS")
            and (parent.section_name is None or li.name == parent.section_name.value)
            and (parent.port is None or li.port == parent.port)
        ]
        listener = listeners[0] if listeners else None
        host = route.hostnames[0].value.strip() if route.hostnames else None
        if host is None and listener is not None and listener.hostname is not None:
            host = listener.hostname.value
        host = _concrete(host or "*")
        scheme = "https" if listener is not None and (listener.protocol or "").upper() == "HTTPS" else "http"
        port = parent.port or (listener.port if listener is not None else None)
        default = 443 if scheme == "https" else 80
        authority = host if port in (None, default) else f"{host}:{port}"
        via = f"{namespace}/{parent.name.value}"
        if any(g.api_version.startswith("networking.istio.io/") for g in index.gateway(namespace, parent.name.value)):
            via = f"{GATEWAY_API}:{via}"  # an Istio Gateway of that name too: `via` alone would mean it
        return {"method": method, "url": f"{scheme}://{authority}/", "headers": {}, "via": via}
    return None


def _service_port(index: WorkspaceIndex, name: str, namespace: str) -> int | None:
    for s in index.named(name):
        if isinstance(s, Service) and s.namespace == namespace and s.ports and s.ports[0].port is not None:
            return s.ports[0].port
    return None


def _concrete(host: str) -> str:
    """A host a request can carry for a hostname pattern: `*.example.com` → `www.example.com`."""
    if host == "*":
        return "example.com"
    return "www" + host[1:] if host.startswith("*.") else host


def _lens(rng: types.Range, title: str) -> types.CodeLens:
    # an empty command id: the lens is a label, clicking it does nothing
    return types.CodeLens(range=rng, command=types.Command(title=title, command=""))


def _first_line(span: Span) -> Span:
    return Span(span.start_line, span.start_char, span.start_line, span.start_char)


def subset_summary(index: WorkspaceIndex, rule: DestinationRule, subset: Subset) -> str:
    """`2 workloads · 3 routes`: the workloads the subset selects behind the rule's Services, and its users."""
    if services_for_rule(index, rule):
        count = len(subset_workloads(index, rule, subset.labels))
        workloads = _plural(count, "workload")
    else:
        workloads = "no Service in the workspace"
    routes = _plural(len(subset_usages(index, [rule], subset.name.value)), "route")
    return f"{workloads} · {routes}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def route_destinations(vs: VirtualService, rule: RouteRule) -> list[Destination]:
    return [
        d for d in vs.destinations if d.role == "route" and d.protocol == rule.protocol and d.rule_index == rule.index
    ]


def traffic_split(destinations: list[Destination]) -> list[tuple[Destination, float]]:
    """Each destination's share of the traffic in percent, as Istio reads weights (relative, since 1.13).

    One destination gets everything whatever its weight. With several, a destination
    without a weight gets none; when no destination has weight, nothing is split (the
    webhook rejects it) and every share is 0.
    """
    if len(destinations) == 1:
        return [(destinations[0], 100.0)]
    weights = [max(d.weight or 0, 0) for d in destinations]
    total = sum(weights)
    return [(d, (w * 100 / total) if total else 0.0) for d, w in zip(destinations, weights, strict=True)]


def split_text(destinations: list[Destination]) -> str | None:
    """`v1 90% · v2 10%` for a route with several destinations (or one with a weight that is not 100)."""
    if not destinations:
        return None
    if len(destinations) == 1 and destinations[0].weight in (None, 100):
        return None
    one_host = len({d.host.value for d in destinations}) == 1
    parts = []
    for dest, share in traffic_split(destinations):
        if one_host and dest.subset is not None:
            label = dest.subset.value
        else:
            label = dest.host.value + (f" {dest.subset.value}" if dest.subset is not None else "")
        parts.append(f"{label} {percent(share)}")
    text = " · ".join(parts)
    if len(destinations) > 1 and not any(d.weight for d in destinations):
        text += " (total weight 0)"
    return text


def percent(share: float) -> str:
    text = f"{share:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


# ---- what a route matches, and the request a VirtualService's trace starts from ----------------------


def route_title(vs: VirtualService, route: MappingNode) -> str:
    """`GET /api/* · 2 hosts`: the route's match conditions (entries ORed, shown ` | `), and the hosts."""
    matches = items(get(route, "match"))
    shown = " | ".join(dict.fromkeys(match_text(m) for m in matches)) if matches else "every request"
    hosts = [h.value for h in vs.hosts]
    if len(hosts) == 1:
        return f"{shown} · {hosts[0]}"
    return f"{shown} · {_plural(len(hosts), 'host')}" if hosts else f"{shown} · delegate"


def match_text(node: Any) -> str:
    """One `match[]` entry, short: `GET /api/*`, `/exact`, `~^/v[0-9]+`, `x-canary: true`, …"""
    if not isinstance(node, MappingNode):
        return "?"
    m = http_match(node)
    parts: list[str] = []
    method = m.strings.get("method")
    if method is not None:
        parts.append(_cond(method, "method"))
    authority = m.strings.get("authority")
    if authority is not None:
        parts.append(_cond(authority, "authority"))
    uri = m.strings.get("uri")
    if uri is not None:
        parts.append(_cond(uri, "uri") + (" (any case)" if m.ignore_case else ""))
    scheme = m.strings.get("scheme")
    if scheme is not None:
        parts.append(_cond(scheme, "scheme"))
    parts += [f"{k}{_value(c)}" for k, c in m.headers.items()]
    parts += [f"no {k}{_value(c)}" for k, c in m.without.items()]
    parts += [f"?{k}{_value(c, '=')}" for k, c in m.query.items()]
    if m.port is not None:
        parts.append(f"port {m.port.strip(chr(39))}")
    if m.source_namespace is not None:
        parts.append(f"from {m.source_namespace}")
    if m.source_labels:
        parts.append("from " + ",".join(f"{k}={v}" for k, v in m.source_labels.items()))
    if m.gateways is not None:
        parts.append("via " + ", ".join(sorted(m.gateways)))
    parts += sorted(m.other)
    return " ".join(parts) or "every request"


def _cond(cond: StringCond, name: str) -> str:
    if cond.kind == "exact":
        return cond.value
    if cond.kind == "prefix":  # a prefix of the text: `/api` takes `/apis` too
        return f"{cond.value}*"
    if cond.kind == "regex":
        return f"~{cond.value}"
    return f"{name} {cond.describe()}"


def _value(cond: StringCond, sep: str = ": ") -> str:
    if cond.kind == "present":
        return ""
    return f"{sep}{_cond(cond, '')}".rstrip() if cond.kind in ("exact", "prefix", "regex") else f" {cond.describe()}"


def trace_argument(vs: VirtualService) -> dict[str, Any] | None:
    """The `istioLsp.trace` argument a VirtualService's lens starts from: GET / on its first host, through
    its first Gateway (or from its namespace, for `mesh`). None without hosts (a delegate)."""
    if not vs.hosts:
        return None
    host = _concrete(vs.hosts[0].value.strip())
    argument: dict[str, Any] = {"method": "GET", "url": f"http://{host}/", "headers": {}}
    gateways = [g.value for g in vs.gateways[: vs.spec_gateway_count] if g.value.strip() != "mesh"]
    if gateways:
        namespace, name = gateway_key(gateways[0], vs.namespace)
        argument["via"] = f"{namespace}/{name}"
    else:
        argument["from"] = vs.namespace
    return argument
