"""Where a request goes through Gateway API HTTPRoutes and GRPCRoutes, as Istio's controller programs them.

Istio turns each HTTPRoute into VirtualService routes, one route per `matches[]` entry, merges those
of every HTTPRoute that serves the same hostname on the same parent, and sorts them by the Gateway
API's precedence (path Exact before PathPrefix before RegularExpression, longer paths first, then a
method, more headers, more query parameters); equal ones keep the routes' creation order, then
`namespace/name`. Envoy then picks the most specific hostname (its virtual host) and the first route
of it that matches. This module reproduces that over the indexed workspace for the two places an
HTTPRoute applies: a Gateway API Gateway (`--via`) and a Service parentRef for mesh traffic
(`--from`, GAMMA). The destinations are then followed as a VirtualService's are (`Tracer._target`).
A GRPCRoute is the same with its `method` match read as the path `/service/method` (a gRPC request is
`POST /package.Service/Method`); Istio keeps its rules apart from the HTTPRoutes' of the same host.
A connection to a TLS listener in Passthrough mode goes to the TLSRoute of its SNI, one to a TCP (or
terminating TLS) listener to its TCPRoute.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Context
from istio_lsp.checks.gateway_api._attach import (
    is_gateway_parent,
    is_listener_set_parent,
    is_service_parent,
    kind_allowed,
    kubernetes_gateways,
    namespace_refusal,
    parent_namespace,
)
from istio_lsp.checks.gateway_api._backends import SUPPORTED_BACKENDS
from istio_lsp.checks.gateway_api._grants import permitted
from istio_lsp.checks.gateway_api.gatewayclass_controller_not_istio import ISTIO_CONTROLLERS
from istio_lsp.checks.routes._shared import percent
from istio_lsp.index.resolve import stand_in_referrer
from istio_lsp.model.hosts import ANY_NAMESPACE, host_matches, namespaces_match, service_fqdn
from istio_lsp.model.resources import (
    GatewayClass,
    GatewayListener,
    GatewayParentRef,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    Resource,
    VirtualService,
)
from istio_lsp.routing import authorization
from istio_lsp.routing.matching import Where, full_match
from istio_lsp.routing.outcome import NOT_FOUND, REDIRECT, REFUSED, SERVER_ERROR, UNKNOWN, Target, Trace
from istio_lsp.syntax import MappingNode, Node, Span, YamlDocument
from istio_lsp.syntax.nodes import get, items, scalar

if TYPE_CHECKING:
    from istio_lsp.routing.engine import Tracer

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")

# Istio's rank of a path match type when it sorts the routes (higher first)
_PATH_RANK = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}


@dataclass(frozen=True)
class GatewayCondition:
    """A header or query parameter condition: `type` Exact or RegularExpression."""

    kind: str
    name: str
    value: str


@dataclass
class GatewayMatch:
    """One `matches[]` entry (or the default a rule without `matches` gets: PathPrefix `/`)."""

    path_kind: str = "PathPrefix"  # "": no path condition (a GRPCRoute match without `method`)
    path: str = "/"
    method: str | None = None
    headers: tuple[GatewayCondition, ...] = ()
    query: tuple[GatewayCondition, ...] = ()
    unread: str | None = None  # something of the entry the trace cannot read (counts as no match)

    @property
    def prefix(self) -> str:
        """The PathPrefix as Istio compares it: a trailing `/` ignored."""
        return self.path if self.path == "/" else self.path.rstrip("/") or "/"

    def sort_key(self) -> tuple[int, int, int, int, int]:
        length = len(self.prefix) if self.path_kind == "PathPrefix" else len(self.path)
        rank = _PATH_RANK.get(self.path_kind, -1)
        return (-rank, -length, 0 if self.method else 1, -len(self.headers), -len(self.query))

    def describe(self) -> str:
        kind = {"PathPrefix": "prefix", "Exact": "exact", "RegularExpression": "regex"}.get(self.path_kind, "?")
        parts = [f"path {kind} `{self.path}`"] if self.path_kind else []
        if self.method:
            parts.append(f"method {self.method}")
        parts += [f"header `{c.name}` {_how(c)}" for c in self.headers]
        parts += [f"query `{c.name}` {_how(c)}" for c in self.query]
        return ", ".join(parts) or "no condition"


def _how(cond: GatewayCondition) -> str:
    return f"regex `{cond.value}`" if cond.kind == "RegularExpression" else f"= `{cond.value}`"


def read_match(node: Node | None) -> GatewayMatch:
    """A `matches[]` entry as data; what it cannot read goes to `unread`."""
    match = GatewayMatch()
    if not isinstance(node, MappingNode):
        match.unread = "a match that is not a mapping"
        return match
    path = get(node, "path")
    if path is not None:
        match.path_kind = scalar(get(path, "type")) or "PathPrefix"
        match.path = scalar(get(path, "value")) or "/"
        if match.path_kind not in _PATH_RANK:
            match.unread = f"path type `{match.path_kind}`"
    match.method = scalar(get(node, "method"))
    headers: list[GatewayCondition] = []
    query: list[GatewayCondition] = []
    for key, out in (("headers", headers), ("queryParams", query)):
        for item in items(get(node, key)):
            kind = scalar(get(item, "type")) or "Exact"
            name, value = scalar(get(item, "name")), scalar(get(item, "value"))
            if name is None or value is None or kind not in ("Exact", "RegularExpression"):
                match.unread = f"a `{key}` entry of type `{kind}` or without name and value"
                continue
            out.append(GatewayCondition(kind, name, value))
    match.headers, match.query = tuple(headers), tuple(query)
    return match


def read_grpc_match(node: Node | None) -> GatewayMatch:
    """A GRPCRoute `matches[]` entry as the path condition Istio makes of its `method` (`/service/method`:
    exact, a `/service/` prefix, or a regex for a method of any service or a RegularExpression type)."""
    match = read_match(node)  # its headers; a GRPCRoute match has no `path`
    match.path_kind, match.path = "", ""
    method = get(node, "method")
    if method is None:
        return match
    service, name = scalar(get(method, "service")), scalar(get(method, "method"))
    if (scalar(get(method, "type")) or "Exact") == "RegularExpression":
        match.path_kind, match.path = "RegularExpression", f"/{service or '[^/]+'}/{name or '.+'}"
    elif name is None:
        match.path_kind, match.path = "PathPrefix", f"/{service}/"
    elif service is None:
        match.path_kind, match.path = "RegularExpression", f"/[^/]+/{name}"
    else:
        match.path_kind, match.path = "Exact", f"/{service}/{name}"
    return match


def path_accepts(match: GatewayMatch, path: str) -> bool | None:
    """Whether the path condition takes a path (None: an invalid regex). PathPrefix compares whole
    path segments: `/api` takes `/api` and `/api/v1`, not `/apis`."""
    if not match.path_kind:
        return True
    if match.path_kind == "Exact":
        return path == match.path
    if match.path_kind == "RegularExpression":
        return full_match(match.path, path)
    prefix = match.prefix
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def miss(match: GatewayMatch, method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> str | None:
    """Why a match entry does not take the request (None: it does). All its conditions must hold."""
    if match.unread is not None:
        return f"it uses {match.unread}, which the trace does not read (counted as no match)"
    taken = path_accepts(match, path)
    if taken is None:
        return f"path regex `{match.path}` is not valid RE2"
    if not taken:
        kind = {"PathPrefix": "prefix", "Exact": "exact", "RegularExpression": "regex"}[match.path_kind]
        return f"path {kind} `{match.path}` does not match `{path}`"
    if match.method and match.method.upper() != method:
        return f"method {match.method} is not {method}"
    for kind, conds, given in (("header", match.headers, headers), ("query", match.query, query)):
        for cond in conds:
            got = given.get(cond.name.lower() if kind == "header" else cond.name)
            if got is None:
                return f"{kind} `{cond.name}` {_how(cond)} required, it is absent"
            ok = full_match(cond.value, got) if cond.kind == "RegularExpression" else got == cond.value
            if not ok:
                return f"{kind} `{cond.name}` {_how(cond)} required, it is `{got}`"
    return None


# ---- HTTPRoute rules as Istio orders them -------------------------------------------------------------


@dataclass
class _Rule:
    """One match of one rule of an HTTPRoute: Istio's unit of ordering."""

    route: KubernetesRoute
    doc: YamlDocument
    node: MappingNode  # the rule
    index: int  # of the rule in `spec.rules`
    match: GatewayMatch | None  # None: `matches: []` written, the rule takes every request and sorts last
    match_node: Node | None
    match_index: int

    @property
    def label(self) -> str:
        name = scalar(get(self.node, "name"))
        where = f"{self.route.namespace}/{self.route.name} rules[{self.index}]"
        return f'{where} "{name}"' if name else where

    def sort_key(self) -> tuple[int, tuple[int, int, int, int, int]]:
        return (1, (0, 0, 0, 0, 0)) if self.match is None else (0, self.match.sort_key())


def ordered_rules(routes: list[tuple[KubernetesRoute, YamlDocument, MappingNode]]) -> list[_Rule]:
    """Every match of the routes' rules, in the order Istio tries them (a stable sort of the routes in
    `namespace/name` order, which stands for their creation order)."""
    found: list[_Rule] = []
    for route, doc, node in sorted(routes, key=lambda r: (r[0].namespace, r[0].name)):
        for i, rule in enumerate(items(get(get(node, "spec"), "rules"))):
            if not isinstance(rule, MappingNode):
                continue
            matches = get(rule, "matches")
            grpc = route.kind == "GRPCRoute"
            if matches is None and not grpc:  # the API server's default: one match, PathPrefix `/`
                found.append(_Rule(route, doc, rule, i, GatewayMatch(), None, 0))
            elif not items(matches):  # a GRPCRoute rule without matches takes every request, last
                found.append(_Rule(route, doc, rule, i, None, matches, 0))
            for j, m in enumerate(items(matches)):
                found.append(_Rule(route, doc, rule, i, read_grpc_match(m) if grpc else read_match(m), m, j))
    return sorted(found, key=_Rule.sort_key)


def hostname_rank(host: str) -> tuple[int, int]:
    """How specific a virtual host's name is, as Envoy picks one: exact, then longer wildcards."""
    return (0 if host.startswith("*") else 1, len(host))


def effective_hostnames(route: KubernetesRoute, listener: GatewayListener | None) -> list[str]:
    """The hostnames a route serves on a listener: the route's, narrowed to the listener's (no hostname
    on either side: every host)."""
    bound = listener.hostname.value.lower() if listener is not None and listener.hostname is not None else "*"
    written = [h.value.strip().lower() for h in route.hostnames] or ["*"]
    out = []
    for host in written:
        if host_matches(host, bound):  # the listener's is the narrower: it names the virtual host
            out.append(bound)
        elif host_matches(bound, host):
            out.append(host)
    return list(dict.fromkeys(out))


# ---- the trace ---------------------------------------------------------------------------------------


class GatewayApiTrace:
    """The part of a trace that runs through Gateway API routes, on the tracer's request and trace."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.t = tracer.trace
        self.request = tracer.request
        self.ctx = Context(tracer.index)

    def _routes(self, kinds: tuple[str, ...] = ROUTE_KINDS) -> list[KubernetesRoute]:
        """The workspace's routes of those kinds (HTTPRoutes and GRPCRoutes), from the index by kind."""
        index = self.tracer.index
        return [r for kind in kinds for r in index.of_kind(ANY_NAMESPACE, kind) if isinstance(r, KubernetesRoute)]

    def _node(self, route: Resource) -> tuple[YamlDocument, MappingNode] | None:
        found = self.tracer.docs.node(route)
        if found is None:
            self.t.notes.append(f"could not read {route.display} again from its file")
        return found

    # ---- ingress through a Gateway API Gateway ----------------------------------------------------------

    def gateways(self, namespace: str, name: str) -> list[KubernetesGateway]:
        return kubernetes_gateways(self.ctx, namespace, name)

    def ingress(self, namespace: str, name: str) -> Trace | None:
        """The trace through the Gateway API Gateway `namespace/name`; None when there is none."""
        gateways = self.gateways(namespace, name)
        if not gateways:
            return None
        t, req = self.t, self.request
        port = req.effective_port
        # the same Gateway in several builds (overlays, or unrelated samples side by side): the one that
        # takes the request on its port and host, else the first
        gateway = next((g for g in gateways if self._takes(g, port)), gateways[0])
        t.add("source", f"Gateway API Gateway {gateway.namespace}/{gateway.name} takes {req.method} {req.url}", gateway)
        if len(gateways) > 1:
            t.add("note", f"{len(gateways)} Gateways are named {gateway.namespace}/{gateway.name}: traced the one here")
        self._class_note(gateway)
        owners: list[Resource] = [gateway, *self._listener_sets(gateway)]
        on_port = [(owner, li) for owner in owners for li in _listeners(owner) if li.port == port]
        if not on_port:
            ports = ", ".join(sorted({str(li.port) for o in owners for li in _listeners(o) if li.port is not None}))
            return t.end(REFUSED, f"no listener of the Gateway is on port {port} (it has {ports or 'none'})")
        self.tracer.where = Where(f"{gateway.namespace}/{gateway.name}", gateway.namespace, {})
        refused = self._authorize(gateway)
        if refused is not None:
            return refused
        http = [(o, li) for o, li in on_port if (li.protocol or "").upper() in ("HTTP", "HTTPS")]
        if not http:
            return self._connection(gateway, on_port)
        taking = [(o, li) for o, li in http if li.hostname is None or host_matches(li.hostname.value.lower(), req.host)]
        if not taking:
            hosts = ", ".join(f"`{li.hostname.value}`" for _, li in http if li.hostname is not None)
            return t.end(NOT_FOUND, f"no listener on port {port} takes host `{req.host}` (they take {hosts})", 404)
        self._listener_steps(gateway, taking)
        attached = self._attached(taking, ROUTE_KINDS)
        return self._virtual_host(attached, f"Gateway {gateway.namespace}/{gateway.name}")

    def _authorize(self, gateway: KubernetesGateway) -> Trace | None:
        """The AuthorizationPolicies attached to the Gateway (`targetRefs`), which its pods enforce before
        routing. None: the request goes on."""
        policies = authorization.attached_to_gateway(self.tracer.index, gateway.namespace, gateway.name)
        return self.tracer.authorize_at_gateway(policies, "the Gateway")

    def _listener_steps(self, gateway: KubernetesGateway, taking: list[tuple[Resource, GatewayListener]]) -> None:
        for owner, listener in taking:
            hostname = listener.hostname.value if listener.hostname is not None else "any host"
            text = f"listener `{listener.name}` port {listener.port} {listener.protocol} takes {hostname}"
            if (listener.protocol or "").upper() == "TLS":
                text += f" ({listener.tls_mode or 'Terminate'})"
            if owner is not gateway:
                text += f" (ListenerSet {owner.namespace}/{owner.name})"
            self.t.add("server", text, (owner.uri, listener.span))

    def _connection(self, gateway: KubernetesGateway, on_port: list[tuple[Resource, GatewayListener]]) -> Trace:
        """A connection to a TLS or TCP listener: a TLSRoute by its SNI (the request's host) at a passthrough
        listener, else a TCPRoute (a TLS listener that terminates forwards the bytes)."""
        t, req = self.t, self.request
        port = req.effective_port
        passthrough = [
            (o, li)
            for o, li in on_port
            if (li.protocol or "").upper() == "TLS" and (li.tls_mode or "Terminate") == "Passthrough"
        ]
        terminating = [(o, li) for o, li in on_port if (li.protocol or "").upper() in ("TCP", "TLS")]
        terminating = [pair for pair in terminating if pair not in passthrough]
        if passthrough:
            kind, listeners = "TLSRoute", passthrough
            listeners = [
                (o, li)
                for o, li in listeners
                if li.hostname is None or host_matches(li.hostname.value.lower(), req.host)
            ]
            if not listeners:
                return t.end(
                    REFUSED, f"no TLS listener on port {port} takes SNI `{req.host}`: the connection is closed"
                )
        elif terminating:
            kind, listeners = "TCPRoute", terminating
        else:
            protocols = ", ".join(sorted({li.protocol or "?" for _, li in on_port}))
            t.notes.append("UDP listeners (UDPRoute) are not modelled")
            return t.end(UNKNOWN, f"the listeners on port {port} speak {protocols}, which the trace does not model")
        self._listener_steps(gateway, listeners)
        attached = self._attached(listeners, (kind,))
        if kind == "TLSRoute":  # the most specific hostname that takes the SNI, as for HTTP
            best = max((hostname_rank(h) for _, h in attached if host_matches(h, req.host)), default=None)
            attached = [(r, h) for r, h in attached if host_matches(h, req.host) and hostname_rank(h) == best]
        routes = sorted(dict.fromkeys(r for r, _ in attached), key=lambda r: (r.namespace, r.name))
        if not routes:
            what = f"SNI `{req.host}`" if kind == "TLSRoute" else f"port {port}"
            return t.end(REFUSED, f"no {kind} attached to the listener takes {what}: the connection is closed")
        if len(routes) > 1:
            t.add(
                "note",
                f"{len(routes)} {kind}s take the connection: Istio uses the oldest, which files do not show "
                "(traced: the first by namespace/name)",
            )
        route = routes[0]
        found = self._node(route)
        rules = [r for r in items(get(get(found[1], "spec"), "rules")) if isinstance(r, MappingNode)] if found else []
        if found is None or not rules:
            return t.end(UNKNOWN, f"{route.display} has no rule the trace can read")
        rule = _Rule(route, found[0], rules[0], 0, None, None, 0)
        t.add("route", f"{kind} {route.namespace}/{route.name} rules[0]", self._at(rule, rules[0]))
        t.route.update(
            {"tlsRoute" if kind == "TLSRoute" else "tcpRoute": f"{route.namespace}/{route.name}", "index": 0}
        )
        return self._backends(rule)

    def _takes(self, gateway: KubernetesGateway, port: int) -> bool:
        """Whether a listener of the Gateway on the port takes the request's host."""
        return any(
            li.port == port and (li.hostname is None or host_matches(li.hostname.value.lower(), self.request.host))
            for li in gateway.listeners
        )

    def _class_note(self, gateway: KubernetesGateway) -> None:
        """A note when the Gateway's class belongs to another controller: Istio would not program it."""
        classes = [c for c in self.tracer.index.named(gateway.class_name or "") if isinstance(c, GatewayClass)]
        controllers = {c.controller.value.strip() for c in classes if c.controller is not None}
        if controllers and not controllers & set(ISTIO_CONTROLLERS):
            self.t.notes.append(
                f"GatewayClass `{gateway.class_name}` belongs to {', '.join(sorted(controllers))}, not Istio: traced "
                "with Istio's semantics"
            )

    def _listener_sets(self, gateway: KubernetesGateway) -> list[ListenerSet]:
        """The ListenerSets whose parent is the Gateway (their listeners serve on its addresses)."""
        found = []
        for kind in ("ListenerSet", "XListenerSet"):
            for r in self.tracer.index.of_kind(ANY_NAMESPACE, kind):
                if not isinstance(r, ListenerSet) or r.parent is None or r.parent.name is None:
                    continue
                namespace = parent_namespace(r, r.parent)
                if r.parent.name.value == gateway.name and namespaces_match(namespace, gateway.namespace):
                    found.append(r)
        return found

    def _attached(
        self, taking: list[tuple[Resource, GatewayListener]], kinds: tuple[str, ...]
    ) -> list[tuple[KubernetesRoute, str]]:
        """The routes of those kinds attached to the listeners that take the host, each with the hostnames
        it serves there; a route a listener refuses is a `skip` step."""
        out: list[tuple[KubernetesRoute, str]] = []
        for route in self._routes(kinds):
            served: list[str] = []
            refusals: list[str] = []
            for parent in route.parents:
                for owner, listener in taking:
                    if not _selects(route, parent, owner, listener):
                        continue
                    why = self._refusal(route, owner, listener)
                    if why:
                        refusals.append(why)
                        continue
                    served += effective_hostnames(route, listener)
            if served:
                out += [(route, h) for h in dict.fromkeys(served)]
            elif refusals:
                self.t.add("skip", f"{route.display}: " + "; ".join(dict.fromkeys(refusals)), route)
        return out

    def _refusal(self, route: KubernetesRoute, owner: Resource, listener: GatewayListener) -> str | None:
        if not kind_allowed(listener, route.kind):
            return f"listener `{listener.name}` does not accept {route.kind}s"
        why = namespace_refusal(self.ctx, route.namespace, owner.namespace, listener)
        if why == "":
            note = (
                f"whether listener `{listener.name}` admits {route.display} depends on what the files do not fix "
                "(a namespace set at deploy time, or a namespace's labels): taken as admitted"
            )
            if note not in self.t.notes:
                self.t.notes.append(note)
            return None
        return why

    # ---- mesh traffic: HTTPRoutes with a Service parent (GAMMA) ----------------------------------------------

    def mesh(self, hosts: list[str]) -> Trace | None:
        """The trace through the HTTPRoutes bound to the destination Service; None when none is."""
        client = self.tracer.where.namespace
        port = self.request.effective_port
        producer: list[tuple[KubernetesRoute, str]] = []
        consumer: list[tuple[KubernetesRoute, str]] = []
        domain = self.tracer.domain
        for route in self._routes():
            for parent in route.parents:
                if not is_service_parent(parent) or parent.name is None:
                    continue
                namespace = parent_namespace(route, parent)
                fqdn = service_fqdn(parent.name.value, namespace, domain)
                if fqdn not in hosts or (parent.port is not None and parent.port != port):
                    continue
                if namespaces_match(route.namespace, client) and route.namespace != ANY_NAMESPACE:
                    consumer.append((route, fqdn))
                elif namespaces_match(route.namespace, namespace):
                    producer.append((route, fqdn))
        chosen = consumer or producer
        if not chosen:
            return None
        if consumer and producer:
            names = ", ".join(r.display for r, _ in producer)
            self.t.add("note", f"the client's namespace has its own route for the Service: {names} not applied")
        declaring = self.tracer.index.virtual_services_declaring([chosen[0][1]])
        if declaring:
            names = ", ".join(v.display for v in declaring)
            self.t.add(
                "note",
                f"{names} also declares the host: both become routes for it on the mesh and Istio applies only "
                "one (by creation time, which files do not show); traced: the Gateway API route",
            )
        return self._virtual_host(chosen, f"Service {chosen[0][1]}", mesh=True)

    # ---- the virtual host and its routes -------------------------------------------------------------

    def _virtual_host(self, attached: list[tuple[KubernetesRoute, str]], parent: str, mesh: bool = False) -> Trace:
        t, host = self.t, self.request.host
        best: tuple[int, int] | None = None
        for _, hostname in attached:
            if mesh or host_matches(hostname, host):
                rank = hostname_rank(hostname)
                best = rank if best is None or rank > best else best
        if best is None:
            return t.end(NOT_FOUND, f"no HTTPRoute or GRPCRoute attached to {parent} serves host `{host}`: 404", 404)
        chosen: list[tuple[KubernetesRoute, str]] = [
            (r, h) for r, h in attached if (mesh or host_matches(h, host)) and hostname_rank(h) == best
        ]
        routes: dict[int, tuple[KubernetesRoute, YamlDocument, MappingNode]] = {}
        # listed in the order their rules are tried when they tie: by namespace/name
        for route, hostname in sorted(chosen, key=lambda pair: (pair[0].namespace, pair[0].name)):
            if id(route) in routes:
                continue
            found = self._node(route)
            if found is None:
                continue
            routes[id(route)] = (route, *found)
            shown = f"{route.kind} {route.namespace}/{route.name}"
            if mesh:
                t.add("httproute", f"{shown} is bound to {parent}", route)
            else:
                t.add("httproute", f"{shown} serves `{hostname}` on {parent}", route)
        if len(routes) > 1:
            t.add(
                "note",
                "these routes share the host: Istio sorts their rules together by precedence, and equal ones by "
                "the routes' creation time, which files do not show (traced: namespace/name order)",
            )
        # Istio merges each kind's routes into one VirtualService for the host; the two VirtualServices' routes
        # follow each other in creation order, which files do not show: traced HTTPRoutes first
        by_kind = [[r for r in routes.values() if r[0].kind == kind] for kind in ROUTE_KINDS]
        if all(by_kind):
            t.add("note", "HTTPRoutes and GRPCRoutes share the host: their rules are tried one kind after the other")
        ordered = [rule for group in by_kind for rule in ordered_rules(group)]
        in_file_order = sorted(
            ordered,
            key=lambda r: (ROUTE_KINDS.index(r.route.kind), r.route.namespace, r.route.name, r.index, r.match_index),
        )
        if ordered != in_file_order:
            t.add(
                "note",
                "Istio tries the matches by precedence, not in file order: exact paths, then longer prefixes, then "
                "regexes; then those with a method, more headers, more query parameters",
            )
        return self._first(ordered)

    def _first(self, rules: list[_Rule]) -> Trace:
        t, req = self.t, self.request
        for rule in rules:
            where = (rule.route.uri, rule.doc.span_of(rule.match_node if rule.match_node is not None else rule.node))
            if rule.match is None:
                reason = "`matches: []`: takes every request"
            else:
                why = miss(rule.match, req.method, req.path, req.headers, req.query)
                if why is not None:
                    t.add("skip", f"{rule.label} match #{rule.match_index}: {why}", where)
                    continue
                reason = f"match #{rule.match_index}: {rule.match.describe()}"
            t.add("route", f"{rule.label} ({reason})", where)
            key = "grpcRoute" if rule.route.kind == "GRPCRoute" else "httpRoute"
            t.route.update({key: f"{rule.route.namespace}/{rule.route.name}"})
            t.route.update(index=rule.index, name=scalar(get(rule.node, "name")))
            return self._act(rule)
        t.add("note", "no rule matched: Envoy answers 404 (route_not_found, NR)")
        return t.end(NOT_FOUND, f"no route rule matches {req.method} {req.path}", 404)

    # ---- what the matched rule does ----------------------------------------------------------------

    def _at(self, rule: _Rule, node: Node | None) -> tuple[str, Span | None]:
        return rule.route.uri, rule.doc.span_of(node) if node is not None else rule.route.name_span

    def _act(self, rule: _Rule) -> Trace:
        t = self.t
        redirect: Trace | None = None
        for item in items(get(rule.node, "filters")):
            kind = scalar(get(item, "type")) or "?"
            where = self._at(rule, item)
            if kind == "RequestRedirect":
                redirect = self._redirect(rule, get(item, "requestRedirect"), where)
            elif kind == "URLRewrite":
                self._rewrite(rule, get(item, "urlRewrite"), where)
            elif kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
                self._headers(kind, get(item, kind[0].lower() + kind[1:]), where)
            elif kind == "RequestMirror":
                self._mirror(get(item, "requestMirror"), where, rule.route)
            elif kind == "CORS":
                t.add("cors", "CORS filter applies (preflight answered by Envoy)", where)
            else:
                t.add("note", f"filter `{kind}` is not modelled", where)
                t.notes.append(f"the `{kind}` filter is not modelled")
        if redirect is not None:
            return redirect
        self._timeouts(rule)
        return self._backends(rule)

    def _redirect(self, rule: _Rule, node: Node | None, where: tuple[str, Span | None]) -> Trace:
        t, req = self.t, self.request
        code = as_int(scalar(get(node, "statusCode"))) or 302
        scheme = scalar(get(node, "scheme"))
        hostname = scalar(get(node, "hostname")) or req.host
        port = as_int(scalar(get(node, "port")))
        if port is None:  # a scheme given: its well-known port; none: the listener's (the request's) port
            port = {"http": 80, "https": 443}.get(scheme, req.effective_port) if scheme else req.effective_port
        scheme = scheme or req.scheme
        path = self._new_path(rule, get(node, "path")) or req.path
        default = {"http": 80, "https": 443}.get(scheme)
        location = f"{scheme}://{hostname}{'' if port == default else f':{port}'}{path}"
        t.add("redirect", f"RequestRedirect {code} to {location}", where)
        t.route["redirect"] = {
            "uri": path,
            "authority": hostname,
            "scheme": scheme,
            "port": port,
            "redirectCode": code,
        }
        return t.end(REDIRECT, f"{code} redirect to {location}", code)

    def _new_path(self, rule: _Rule, node: Node | None) -> str | None:
        """The path a `path` modifier (ReplaceFullPath or ReplacePrefixMatch) makes of the request's."""
        if node is None:
            return None
        kind = scalar(get(node, "type"))
        if kind == "ReplaceFullPath":
            return scalar(get(node, "replaceFullPath")) or "/"
        if kind == "ReplacePrefixMatch" and rule.match is not None and rule.match.path_kind == "PathPrefix":
            replacement = scalar(get(node, "replacePrefixMatch")) or "/"
            # whole segments: the matched prefix (a trailing `/` aside) gives way to the replacement
            prefix, path = rule.match.prefix, self.request.path
            new = replacement.rstrip("/") + (path if prefix == "/" else path[len(prefix) :])
            return new if new.startswith("/") else "/" + new
        return None

    def _rewrite(self, rule: _Rule, node: Node | None, where: tuple[str, Span | None]) -> None:
        t, path = self.t, self.request.path
        parts, done = [], {}
        new = self._new_path(rule, get(node, "path"))
        if new is not None:
            parts.append(f"path {path} → {new}")
            done["uri"] = new
        hostname = scalar(get(node, "hostname"))
        if hostname is not None:
            parts.append(f"hostname → {hostname}")
            done["authority"] = hostname
        if done:
            t.route["rewrite"] = done
            t.add("rewrite", "URLRewrite: " + "; ".join(parts), where)

    def _headers(self, kind: str, node: Node | None, where: tuple[str, Span | None]) -> None:
        side = "request" if kind.startswith("Request") else "response"
        data: dict[str, Any] = {}
        for op in ("set", "add"):
            pairs_ = {scalar(get(i, "name")) or "?": scalar(get(i, "value")) for i in items(get(node, op))}
            if pairs_:
                data[op] = pairs_
        removed = [scalar(i) or "?" for i in items(get(node, "remove"))]
        if removed:
            data["remove"] = removed
        shown = "; ".join(
            f"{op} " + (", ".join(v) if isinstance(v, list) else ", ".join(f"{k}={x}" for k, x in v.items()))
            for op, v in data.items()
        )
        self.t.add("headers", f"{kind}: {shown or 'nothing'}", where)
        self.t.route.setdefault("headers", {})[side] = data

    def _mirror(self, node: Node | None, where: tuple[str, Span | None], route: KubernetesRoute) -> None:
        ref = get(node, "backendRef")
        name = scalar(get(ref, "name")) or "?"
        namespace = scalar(get(ref, "namespace")) or route.namespace
        share = "100%"
        given = scalar(get(node, "percent"))
        fraction = get(node, "fraction")
        if given is not None:
            share = f"{given}%"
        elif fraction is not None:
            numerator = as_int(scalar(get(fraction, "numerator"))) or 0
            denominator = as_int(scalar(get(fraction, "denominator"))) or 100
            share = f"{float(Fraction(numerator * 100, denominator or 100)):g}%"
        fqdn = service_fqdn(name, namespace, self.tracer.domain)
        self.t.add("mirror", f"RequestMirror: a copy of {share} to {fqdn} (responses ignored)", where)

    def _timeouts(self, rule: _Rule) -> None:
        t = self.t
        timeouts, retry = get(rule.node, "timeouts"), get(rule.node, "retry")
        request_timeout = scalar(get(timeouts, "request"))
        backend_timeout = scalar(get(timeouts, "backendRequest"))
        if request_timeout is not None:
            t.add("timeout", f"timeouts.request {request_timeout}", self._at(rule, get(timeouts, "request")))
            t.route["timeout"] = request_timeout
        if isinstance(retry, MappingNode):
            attempts = as_int(scalar(get(retry, "attempts")))
            attempts = 2 if attempts is None else attempts
            codes = [scalar(c) or "?" for c in items(get(retry, "codes"))]
            text = f"retry: {attempts} attempt(s)"
            if get(retry, "attempts") is None:
                text += " (Istio's default count)"
            if backend_timeout is not None:
                text += f", {backend_timeout} per try (timeouts.backendRequest)"
            backoff = scalar(get(retry, "backoff"))
            if backoff:
                text += f", backoff {backoff}"
            retry_on = ",".join(["connect-failure", "refused-stream", "unavailable", "cancelled", *codes])
            text += f", on {retry_on}"
            t.add("retries", text, self._at(rule, retry))
            t.route["retries"] = {
                "attempts": attempts,
                "perTryTimeout": backend_timeout,
                "retryOn": retry_on if attempts else "",
            }
        elif backend_timeout is not None:
            # without a retry stanza, Istio makes the backend request timeout the route's timeout
            where = self._at(rule, get(timeouts, "backendRequest"))
            instead = f", in place of timeouts.request {request_timeout}" if request_timeout is not None else ""
            text = f"timeouts.backendRequest {backend_timeout} is the route's timeout (no retry){instead}"
            t.add("timeout", text, where)
            t.route["timeout"] = backend_timeout

    # ---- backends ------------------------------------------------------------------------------------

    def _backends(self, rule: _Rule) -> Trace:
        t = self.t
        refs = [r for r in items(get(rule.node, "backendRefs")) if isinstance(r, MappingNode)]
        weights = [_weight(scalar(get(r, "weight"))) for r in refs]
        total = sum(weights)
        if total == 0:
            # route-backends-all-zero-weight reports the weights (rules with filters aside)
            why = "the rule has no backendRefs" if not refs else "every backendRef has weight 0"
            t.add("direct", f"{why}: Istio answers 500", self._at(rule, get(rule.node, "backendRefs") or rule.node))
            t.route["directResponse"] = {"status": 500, "body": None}
            return t.end(SERVER_ERROR, f"{why}: 500", 500)
        stand_in = stand_in_referrer(rule.route.namespace, rule.route)
        targets: list[Target] = []
        for ref, weight in zip(refs, weights, strict=True):
            targets.append(self._backend(rule, ref, Fraction(weight, total), stand_in))
        return self.tracer._conclude(targets)

    def _backend(self, rule: _Rule, ref: MappingNode, share: Fraction, stand_in: VirtualService) -> Target:
        t, route = self.t, rule.route
        group = scalar(get(ref, "group")) or ""
        group = "" if group == "core" else group
        kind = scalar(get(ref, "kind")) or "Service"
        name = scalar(get(ref, "name")) or ""
        namespace = scalar(get(ref, "namespace")) or route.namespace
        port = as_int(scalar(get(ref, "port")))
        where = self._at(rule, ref)
        for item in items(get(ref, "filters")):
            t.add("note", f"backend filter `{scalar(get(item, 'type')) or '?'}` applies to this backend only", where)
        if (group, kind) not in SUPPORTED_BACKENDS:
            target = Target(name, name, None, port, share, "500", rule="route-backend-invalid-kind")
            target.reason = f"Istio does not route to a backend of kind {group or 'core'}/{kind}: 500"
            t.add("destination", f"{percent(share)} → {kind} {name}", where)
            t.add("500", target.reason, where, 1)
            return target
        if (group, kind) == ("networking.istio.io", "Hostname"):
            return self.tracer._target(stand_in, name, None, port, share, where, missing_code=500)
        if (group, kind) != ("", "Service"):
            target = Target(name, name, None, port, share, "unknown", reason=f"a {kind} backend is not modelled")
            t.add("destination", f"{percent(share)} → {kind} {namespace}/{name}", where)
            t.add("unknown", target.reason, depth=1)
            return target
        if namespace != route.namespace:
            allowed = permitted(self.ctx, route.kind, route.namespace, "", "Service", namespace, name)
            if allowed is False:
                fqdn = service_fqdn(name, namespace, self.tracer.domain)
                target = Target(name, fqdn, None, port, share, "500", rule="route-backend-not-permitted")
                target.reason = (
                    f"no ReferenceGrant in `{namespace}` lets {route.kind}s of `{route.namespace}` refer to Service "
                    f"`{name}`: Istio drops the backend and its share answers 500"
                )
                t.add("destination", f"{percent(share)} → {fqdn}:{port}", where)
                t.add("500", target.reason, where, 1)
                return target
        fqdn = service_fqdn(name, namespace, self.tracer.domain)
        return self.tracer._target(stand_in, fqdn, None, port, share, where, missing_code=500)


def _selects(route: KubernetesRoute, parent: GatewayParentRef, owner: Resource, listener: GatewayListener) -> bool:
    """Whether a parentRef names the owner (Gateway or ListenerSet) and, by sectionName and port, the listener."""
    if parent.name is None or parent.name.value != owner.name:
        return False
    if not namespaces_match(parent_namespace(route, parent), owner.namespace):
        return False
    if isinstance(owner, KubernetesGateway) and not is_gateway_parent(parent):
        return False
    if isinstance(owner, ListenerSet) and not is_listener_set_parent(parent):
        return False
    if parent.section_name is not None and listener.name != parent.section_name.value:
        return False
    return parent.port is None or parent.port == listener.port


def _listeners(owner: Resource) -> list[GatewayListener]:
    return owner.listeners if isinstance(owner, (KubernetesGateway, ListenerSet)) else []


def _weight(text: str | None) -> int:
    """A backendRef's weight: 1 when not written (an unreadable one counts as 0)."""
    return 1 if text is None else (as_int(text) or 0)
