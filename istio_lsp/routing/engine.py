"""Where a request goes: Istio's routing decision computed from the indexed workspace.

Pure: it reads the index, and the text of the few resources whose routes it walks (through
`read`, a uri → text function the front end gives: files on disk for the CLI, the editor's
buffers for the server). Every step cites the file and the span it comes from; front ends
render the `Trace` as text, JSON or Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from istio_lsp.checks.admission.common import as_int, format_duration, parse_duration
from istio_lsp.checks.routes._shared import destinations, percent
from istio_lsp.checks.routes.timeout_shorter_than_retries import DEFAULT_ATTEMPTS
from istio_lsp.index.resolve import (
    delegate_targets,
    destination_rules_for_route,
    only_virtual,
    resolve_host,
    selected_workloads,
    stand_in_referrer,
    subset_selects,
    workloads_matching,
)
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.extract import resource_nodes
from istio_lsp.model.hosts import (
    ANY_NAMESPACE,
    cluster_namespace,
    host_candidates,
    host_matches,
    namespaces_match,
    visible,
)
from istio_lsp.model.resources import (
    DestinationRule,
    Gateway,
    GatewayServer,
    KubernetesRoute,
    Resource,
    SelectorPolicy,
    Service,
    VirtualService,
    Workload,
)
from istio_lsp.model.serving import Labels, meets, readings, server_entry
from istio_lsp.routing import authorization
from istio_lsp.routing.gateway_api import GatewayApiTrace
from istio_lsp.routing.matching import (
    Where,
    connection_miss,
    describe_connection,
    evaluate,
    gateway_binds,
    regex_substitute,
)
from istio_lsp.routing.outcome import (
    BLOCKED,
    DIRECT,
    FAULT,
    FORBIDDEN,
    NOT_FOUND,
    PASSTHROUGH,
    REDIRECT,
    REFUSED,
    ROUTED,
    TARGET_FAILURES,
    UNAVAILABLE,
    UNKNOWN,
    Step,
    Target,
    Trace,
)
from istio_lsp.routing.request import GATEWAY_API, ISTIO, Request, Source
from istio_lsp.syntax import MappingNode, Node, Span, YamlDocument, parse_document, split_documents
from istio_lsp.syntax.nodes import get, items, pairs, scalar

Reader = Callable[[str], "str | None"]


class _Documents:
    """The parse trees of the resources the trace walks, read once each."""

    def __init__(self, read: Reader) -> None:
        self.read = read
        self.memo: dict[tuple[str, int], tuple[YamlDocument, list[tuple[Resource, MappingNode]]] | None] = {}

    def node(self, resource: Resource) -> tuple[YamlDocument, MappingNode] | None:
        key = (resource.uri, resource.doc_index)
        if key not in self.memo:
            self.memo[key] = self._parse(resource)
        found = self.memo[key]
        if found is None:
            return None
        doc, nodes = found
        # by kind and place: a kustomization may have renamed the resource (namePrefix)
        for candidate, node in nodes:
            if candidate.kind == resource.kind and candidate.span.start_line == resource.span.start_line:
                return doc, node
        return None

    def _parse(self, resource: Resource) -> tuple[YamlDocument, list[tuple[Resource, MappingNode]]] | None:
        text = self.read(resource.uri)
        if text is None:
            return None
        pieces = split_documents(text)
        if resource.doc_index >= len(pieces):
            return None
        line, piece = pieces[resource.doc_index]
        doc = parse_document(piece, resource.doc_index, line)
        return doc, resource_nodes(doc, resource.uri)


@dataclass
class _Route:
    vs: VirtualService
    doc: YamlDocument
    node: MappingNode
    index: int
    delegated_from: str | None = None
    layer: str = "http"  # or "tcp", "tls"

    @property
    def label(self) -> str:
        name = scalar(get(self.node, "name"))
        where = f"{self.vs.name} {self.layer}[{self.index}]"
        return f'{where} "{name}"' if name else where


class Tracer:
    """One trace through one workspace."""

    def __init__(self, index: WorkspaceIndex, read: Reader, request: Request, source: Source) -> None:
        self.index = index
        self.docs = _Documents(read)
        self.request = request
        self.source = source
        self.trace = Trace(request, source)
        self.domain = index.settings.cluster_domain
        self.where = Where(None, source.namespace, dict(source.labels))
        self.client: Workload | None = None  # the source workload, when the trace starts from a known one
        self.request_less = False  # following a destination without a request (hover): no authorization

    def at(self, doc: YamlDocument, node: Node | None, resource: Resource) -> tuple[str, Span | None]:
        return resource.uri, doc.span_of(node) if node is not None else resource.name_span

    # ---- the way in ------------------------------------------------------------------------

    def run(self) -> Trace:
        if self.source.kind == "gateway":
            return self._ingress()
        return self._mesh()

    def _ingress(self) -> Trace:
        t, req, src = self.trace, self.request, self.source
        gateways = [
            g
            for g in self.index.gateway(src.namespace, src.name or "")
            if isinstance(g, Gateway) and g.api_version.startswith("networking.istio.io/")
        ]
        gateway_api = GatewayApiTrace(self)
        if src.api == GATEWAY_API or not gateways:
            through_routes = gateway_api.ingress(src.namespace, src.name or "") if src.api != ISTIO else None
            if through_routes is not None:
                return through_routes
            return t.end(UNKNOWN, f"no {src.label} in the workspace: nothing to trace")
        if src.api is None and gateway_api.gateways(src.namespace, src.name or ""):
            t.notes.append(
                f"a Gateway API Gateway is named {src.namespace}/{src.name} too: traced the Istio Gateway; "
                f"`--via {GATEWAY_API}:{src.namespace}/{src.name}` traces through the other"
            )
        gateway = gateways[0]
        self.where = Where(f"{gateway.namespace}/{gateway.name}", gateway.namespace, dict(gateway.selector))
        t.add("source", f"Gateway {gateway.namespace}/{gateway.name} takes {req.method} {req.url}", gateway)
        # the gateway's pods, when the files hold them: their service account is the caller's identity
        pods = workloads_matching(self.index, dict(gateway.selector), None)
        self.client = pods[0] if len(pods) == 1 else None
        port = req.effective_port
        on_port = [s for s in gateway.servers if s.port == port]
        if not on_port:
            ports = ", ".join(str(s.port) for s in gateway.servers if s.port is not None) or "none"
            return t.end(
                REFUSED, f"no server of the Gateway listens on port {port} (it has {ports}): connection refused"
            )
        chosen = self._server(gateway, on_port)
        if chosen is None:
            sibling = self._sibling(gateway, port)
            if sibling is not None:  # the same gateway pods: every Gateway selecting them serves on the port
                gateway, chosen = sibling
                t.add(
                    "source",
                    f"Gateway {gateway.namespace}/{gateway.name} (same selector, same pods) serves the host",
                    gateway,
                )
                self.where = Where(f"{gateway.namespace}/{gateway.name}", gateway.namespace, dict(gateway.selector))
        if chosen is None:
            hosts = ", ".join(f"`{h}`" for s in on_port for h in s.hosts)
            return t.end(NOT_FOUND, f"no server on port {port} accepts host `{req.host}` (they accept {hosts})", 404)
        server, entry = chosen
        protocol = (server.protocol or "").upper()
        t.add(
            "server",
            f"server {server.name or ''} port {port} {protocol} accepts host `{entry}`".replace("server  ", "server "),
            (gateway.uri, server.span),
        )
        refused = self._gateway_authorize()
        if refused is not None:
            return refused
        if server.https_redirect and req.scheme == "http":
            location = f"https://{req.host}{req.path}"
            t.add("redirect", f"tls.httpsRedirect: 301 to {location}", (gateway.uri, server.span))
            return t.end(REDIRECT, f"301 redirect to {location} (httpsRedirect)", 301)
        mode = (server.tls_mode or "").upper()

        def admits(vs: VirtualService) -> bool:
            return self._gateway_admits(gateway, server, vs)

        if mode == "AUTO_PASSTHROUGH":
            t.notes.append("AUTO_PASSTHROUGH servers send a connection to the service its SNI names, without routes")
            return t.end(UNKNOWN, "an AUTO_PASSTHROUGH server (multi-network): no VirtualService applies")
        if mode == "PASSTHROUGH":
            t.add("note", "TLS passthrough: the gateway routes the connection by its SNI, unread (`tls` routes)")
            return self._virtual_services(admits, [req.host], "tls")
        if protocol in ("TLS", "TCP", "MONGO", "MYSQL", "REDIS"):
            if protocol == "TLS":
                t.add("note", "the gateway terminates TLS and forwards the bytes (`tcp` routes)")
            return self._virtual_services(admits, [req.host], "tcp")
        return self._virtual_services(admits, [req.host])

    def _server(self, gateway: Gateway, servers: list[GatewayServer]) -> tuple[GatewayServer, str] | None:
        """The server on the port whose host takes the request's host: exact before wildcard, longest first."""
        best: tuple[tuple[int, int], GatewayServer, str] | None = None
        for server in servers:
            for written in server.hosts:
                _, host = server_entry(written, gateway.namespace, ANY_NAMESPACE)
                if host_matches(host, self.request.host):
                    rank = (1 if "*" not in host else 0, len(host))
                    if best is None or rank > best[0]:
                        best = (rank, server, written)
        return None if best is None else (best[1], best[2])

    def _sibling(self, gateway: Gateway, port: int) -> tuple[Gateway, tuple[GatewayServer, str]] | None:
        """Another Istio Gateway that selects the same gateway pods and takes the host on the port."""
        if not gateway.selector:
            return None
        for other in self.index.all_gateways():
            if other is gateway or other.selector != gateway.selector:
                continue
            if not other.api_version.startswith("networking.istio.io/"):
                continue
            chosen = self._server(other, [s for s in other.servers if s.port == port])
            if chosen is not None:
                return other, chosen
        return None

    def _gateway_admits(self, gateway: Gateway, server: GatewayServer, vs: VirtualService) -> bool:
        """Whether the server lets the VirtualService's namespace serve the request's host (`ns/host` entries)."""
        for written in server.hosts:
            admits, host = server_entry(written, gateway.namespace, vs.namespace)
            if admits and host_matches(host, self.request.host):
                return True
        return False

    def _mesh(self) -> Trace:
        t, req, src = self.trace, self.request, self.source
        if src.name:
            found = [
                r
                for r in self.index.named(src.name)
                if isinstance(r, Workload) and namespaces_match(r.namespace, src.namespace)
            ]
            if not found:
                return t.end(UNKNOWN, f"no workload {src.namespace}/{src.name} in the workspace: nothing to trace")
            self.where = Where(None, src.namespace, dict(found[0].pod_labels))
            self.client = found[0]
            t.add("source", f"sidecar of {found[0].display} sends {req.method} {req.url}", found[0])
        else:
            what = f"pods labelled {src.label}" if src.labels else f"a workload of namespace {src.namespace}"
            t.add("source", f"sidecar of {what} sends {req.method} {req.url}")
        # the client's DNS search path makes `name.ns` the Service `name.ns.svc.<domain>`: that reading first
        suffix = f".svc.{self.domain}"
        hosts = sorted(host_candidates(req.host, src.namespace, self.domain), key=lambda h: not h.endswith(suffix))
        blocked = self._sidecar_egress(hosts[0])
        if blocked is not None:
            return blocked
        through_routes = GatewayApiTrace(self).mesh(hosts)
        if through_routes is not None:
            return through_routes
        return self._virtual_services(lambda vs: True, hosts)

    def _sidecar_egress(self, fqdn: str) -> Trace | None:
        """The source's Sidecar `egress`: a host it does not import has no route in the sidecar. None: go on."""
        sidecar = self._sidecar()
        if sidecar is None or not sidecar.egress_hosts:
            return None
        t = self.trace
        homes = self._host_namespaces(fqdn)
        # `.` is the namespace of the proxy the Sidecar configures (a root namespace Sidecar's default for all)
        for ref in sidecar.egress_hosts:
            imported, slash, dns = ref.value.strip().partition("/")
            if not slash:
                continue
            namespace_ok = (
                imported == "*" or not homes or (self.source.namespace if imported == "." else imported) in homes
            )
            if namespace_ok and (dns == "*" or host_matches(dns.lower(), fqdn)):
                t.add(
                    "sidecar",
                    f"{sidecar.display} imports `{fqdn}` through egress host `{ref.value}`",
                    (sidecar.uri, ref.span),
                )
                return None
        mode = "ALLOW_ANY"
        found = self.docs.node(sidecar)
        if found is not None:
            written = scalar(get(get(get(found[1], "spec"), "outboundTrafficPolicy"), "mode"))
            mode = (written or mode).upper()
        t.add(
            "sidecar",
            f"{sidecar.display} does not import `{fqdn}` (egress hosts: "
            f"{', '.join(r.value for r in sidecar.egress_hosts)})",
            sidecar,
        )
        if mode == "REGISTRY_ONLY":
            return t.end(
                BLOCKED,
                "the Sidecar does not import the host and allows only registry hosts "
                "(REGISTRY_ONLY): BlackHoleCluster, 502",
                502,
            )
        return t.end(
            PASSTHROUGH,
            "the Sidecar does not import the host: the request leaves through "
            "PassthroughCluster (ALLOW_ANY) to whatever DNS gives, without any VirtualService rule",
        )

    def _sidecar(self) -> SelectorPolicy | None:
        """The Sidecar that configures the source's proxy: one selecting its pods, else its namespace's,
        else the root namespace's."""
        namespace, labels = self.source.namespace, self.where.labels

        def placed(ns: str) -> list[SelectorPolicy]:
            return [r for r in self.index.of_kind(ns, "Sidecar") if isinstance(r, SelectorPolicy) and r.namespace == ns]

        own = placed(namespace)
        picked = [r for r in own if r.selector and labels and all(labels.get(k) == v for k, v in r.selector.items())]
        wide = [r for r in own if not r.selector]
        root = [r for r in placed(self.index.settings.root_namespace) if not r.selector]
        for found in (picked, wide, root):
            if found:
                return found[0]
        return None

    def _host_namespaces(self, fqdn: str) -> set[str]:
        """The namespaces whose config declares a host (for a Sidecar's `ns/host` imports); empty: not known."""
        home = cluster_namespace(fqdn, self.domain)
        if home is not None and home != ANY_NAMESPACE:
            return {home}
        found = [*self.index.service_entries_for([fqdn]), *self.index.virtual_services_declaring([fqdn])]
        return {r.namespace for r in found if r.namespace != ANY_NAMESPACE}

    # ---- VirtualService and routes ------------------------------------------------------------

    def _virtual_services(
        self, admits: Callable[[VirtualService], bool], hosts: list[str], layer: str = "http"
    ) -> Trace:
        """The VirtualServices for the host and their routes: `http`, or the `tcp` or `tls` routes of a
        connection (a TCP or TLS server; a mesh VirtualService with no `http` route)."""
        t = self.trace
        consumer = self.where.namespace
        gateway = self.where.gateway
        best_rank: tuple[int, int] | None = None
        chosen: list[tuple[VirtualService, str]] = []
        hidden: list[VirtualService] = []
        for vs in self._candidates(hosts):
            spec_gateways = [g.value for g in vs.gateways[: vs.spec_gateway_count]]
            if not gateway_binds(spec_gateways, vs.namespace, gateway):
                continue
            rank, written = self._host_rank(vs, hosts)
            if rank is None:
                continue
            if not visible(vs.export_to, vs.namespace, consumer) or not admits(vs):
                hidden.append(vs)
                continue
            if best_rank is None or rank > best_rank:
                best_rank, chosen = rank, [(vs, written)]
            elif rank == best_rank:
                chosen.append((vs, written))
        for vs in hidden:
            why = (
                "not exported to" if not visible(vs.export_to, vs.namespace, consumer) else "not admitted by the server"
            )
            t.add("skip", f"{vs.display} declares the host but is {why} namespace {consumer}", vs)
        if not chosen:
            return self._no_virtual_service(hosts)
        for vs, written in chosen:
            kind = "wildcard" if "*" in written else "exact"
            t.add("virtualservice", f"{vs.display} host `{written}` ({kind})", vs)
        if len(chosen) > 1:
            names = ", ".join(vs.display for vs, _ in chosen)
            if gateway is not None:
                t.add(
                    "note",
                    f"{names} share the host: Istio merges their routes at the gateway, ordered by creation time, "
                    "which files do not show; traced in file order",
                )
            else:
                t.add(
                    "note",
                    f"{names} share the host on `mesh`: Istio uses only the oldest (IST0109 conflict); "
                    "traced: the first in file order",
                )
                chosen = chosen[:1]
        routes: list[_Route] = []
        for vs, _ in chosen:
            routes += self._routes(vs, layer=layer)
        protocols = {r.protocol for vs, _ in chosen for r in vs.route_rules}
        if layer == "http" and not routes and protocols & {"tcp", "tls"}:
            # no `http` route: the sidecar proxies the connection (TLS by its SNI, when it is TLS)
            layer = "tls" if self.request.scheme == "https" and "tls" in protocols else "tcp"
            t.add("note", f"no `http` route: the connection takes the `{layer}` routes")
            for vs, _ in chosen:
                routes += self._routes(vs, layer=layer)
        if layer != "http":
            return self._match_connection(routes, layer)
        return self._match(routes)

    def _candidates(self, hosts: list[str]) -> list[VirtualService]:
        """The VirtualServices with a host reading that may meet one of the (concrete) hosts, in the index's
        order: those of a reading whose first label is a host's first label or `*` (a reading's first label
        is never unknown, so no other can meet). Every VirtualService for a host that is itself a pattern."""
        by_first, order = self._vs_readings()
        if any(h.startswith("*") for h in hosts):
            found = {id(vs): vs for bucket in by_first.values() for vs, _ in bucket}
        else:
            found = {id(vs): vs for h in hosts for key in (h.split(".")[0], "*") for vs, _ in by_first.get(key, [])}
        return sorted(found.values(), key=lambda vs: order[id(vs)])

    def _vs_readings(self) -> tuple[dict[str, list[tuple[VirtualService, Labels]]], dict[int, int]]:
        """Every VirtualService host reading, by its first label, and the VirtualServices' order in the index:
        built once per state of the index (its memo is cleared on each update)."""
        key = ("trace-vs-readings", self.domain)
        found = self.index.memo.get(key)
        if found is None:
            by_first: dict[str, list[tuple[VirtualService, Labels]]] = {}
            order: dict[int, int] = {}
            for vs in self.index.resources():
                if not isinstance(vs, VirtualService) or not vs.hosts:
                    continue
                order.setdefault(id(vs), len(order))
                for ref in vs.hosts:
                    for labels in readings(ref.value, vs.namespace, self.domain):
                        by_first.setdefault(labels[0] or "", []).append((vs, labels))
            found = self.index.memo[key] = (by_first, order)
        return found

    def _host_rank(self, vs: VirtualService, hosts: list[str]) -> tuple[tuple[int, int] | None, str]:
        best: tuple[int, int] | None = None
        written = ""
        for ref in vs.hosts:
            # the readings of the host (a short name in a namespace not known may be in any namespace)
            for labels in readings(ref.value, vs.namespace, self.domain):
                if any(meets(h, labels) for h in hosts):
                    rank = (0 if labels[0] == "*" else 1, len(labels))
                    if best is None or rank > best:
                        best, written = rank, ref.value
        return best, written

    def _no_virtual_service(self, hosts: list[str]) -> Trace:
        t = self.trace
        if self.where.gateway is not None:
            return t.end(
                NOT_FOUND,
                f"no VirtualService bound to Gateway {self.where.gateway} serves host `{self.request.host}`: "
                "the gateway answers 404",
                404,
            )
        t.add(
            "note", f"no VirtualService for `{hosts[0]}` on `mesh`: the sidecar sends the request to the service itself"
        )
        stand_in = stand_in_referrer(self.source.namespace)
        target = self._target(stand_in, hosts[0], None, self.request.effective_port, Fraction(1), None)
        return self._conclude([target])

    def _routes(self, vs: VirtualService, delegated_from: str | None = None, layer: str = "http") -> list[_Route]:
        found = self.docs.node(vs)
        if found is None:
            self.trace.notes.append(f"could not read {vs.display} again from its file")
            return []
        doc, node = found
        return [
            _Route(vs, doc, r, i, delegated_from, layer)
            for i, r in enumerate(items(get(get(node, "spec"), layer)))
            if isinstance(r, MappingNode)
        ]

    def _match(self, routes: list[_Route]) -> Trace:
        found = self._first(routes)
        if found is not None:
            return found
        t = self.trace
        t.add("note", "no route matched: Envoy answers 404 (route_not_found, NR)")
        return t.end(NOT_FOUND, f"no route matches {self.request.method} {self.request.path}", 404)

    def _first(self, routes: list[_Route]) -> Trace | None:
        """The trace from the first route that takes the request; None when none does."""
        t = self.trace
        for route in routes:
            depth = 1 if route.delegated_from else 0
            where = self.at(route.doc, route.node, route.vs)
            matches = items(get(route.node, "match"))
            verdict_text = "no `match`: takes every request"
            uri_cond = None
            if matches:
                misses = []
                taken = False
                for i, m in enumerate(matches):
                    verdict = evaluate(m, self.request, self.where, route.vs.namespace)
                    if verdict.matched:
                        taken, uri_cond = True, verdict.uri
                        verdict_text = f"match #{i}: {verdict.reason}"
                        break
                    misses.append(f"match #{i}: {verdict.reason}" if len(matches) > 1 else verdict.reason)
                if not taken:
                    t.add("skip", f"{route.label}: " + "; ".join(misses), where, depth)
                    continue
            delegate = get(route.node, "delegate")
            if delegate is not None and scalar(get(delegate, "name")):
                t.add("route", f"{route.label} ({verdict_text}) delegates", where, depth)
                result = self._delegate(route, delegate)
                if result is not None:
                    return result
                continue
            t.add("route", f"{route.label} ({verdict_text})", where, depth)
            t.route.update(
                virtualService=f"{route.vs.namespace}/{route.vs.name}",
                index=route.index,
                name=scalar(get(route.node, "name")),
            )
            return self._act(route, uri_cond)
        return None

    def _delegate(self, route: _Route, delegate: Node) -> Trace | None:
        """The trace through a delegate's routes (ANDed with the root's match, which held); None when none
        of them matches: Istio's merged list then goes on with the root's next routes."""
        t = self.trace
        name = scalar(get(delegate, "name")) or ""
        namespace = scalar(get(delegate, "namespace"))
        shown = f"{namespace or route.vs.namespace}/{name}"
        targets = [d for d in delegate_targets(self.index, route.vs, name, namespace) if not d.hosts]
        where = self.at(route.doc, delegate, route.vs)
        if not targets:
            t.add("unknown", f"delegate {shown} is not in the workspace (or declares hosts)", where, 1)
            t.notes.append(f"delegate {shown} not found: its routes are unknown")
            return t.end(UNKNOWN, f"the matching route delegates to {shown}, which is not in the workspace")
        child = targets[0]
        if not visible(child.export_to, child.namespace, route.vs.namespace):
            t.add("skip", f"delegate {child.display} is not exported to {route.vs.namespace}: not merged", child, 1)
            return None
        t.add("delegate", f"{child.display}: its routes apply under this match", child, 1)
        t.route["delegate"] = {"name": child.name, "namespace": child.namespace}
        result = self._first(self._routes(child, route.vs.display))
        if result is None:
            t.add("note", "no route of the delegate matches: the root's next routes are tried", depth=1)
        return result

    # ---- what the matched route does ------------------------------------------------------------

    def _act(self, route: _Route, uri_cond: Any) -> Trace:
        t, node, vs, doc = self.trace, route.node, route.vs, route.doc
        req = self.request
        redirect = get(node, "redirect")
        direct = get(node, "directResponse")
        self._fault(route)
        if isinstance(redirect, MappingNode):
            code = as_int(scalar(get(redirect, "redirectCode"))) or 301
            scheme = scalar(get(redirect, "scheme")) or req.scheme
            authority = scalar(get(redirect, "authority")) or req.host
            port = scalar(get(redirect, "port"))
            path = scalar(get(redirect, "uri")) or req.path
            location = f"{scheme}://{authority}{':' + port if port else ''}{path}"
            t.add("redirect", f"redirect {code} to {location}", self.at(doc, redirect, vs))
            t.route["redirect"] = {
                "uri": path,
                "authority": authority,
                "scheme": scheme,
                "port": as_int(port),
                "redirectCode": code,
            }
            return t.end(REDIRECT, f"{code} redirect to {location}", code)
        if isinstance(direct, MappingNode):
            code = as_int(scalar(get(direct, "status"))) or 200
            body = get(direct, "body")
            text = scalar(get(body, "string")) if body is not None else None
            shown = f" with body {text!r}" if text else ""
            t.add("direct", f"directResponse {code}{shown}", self.at(doc, direct, vs))
            t.route["directResponse"] = {"status": code, "body": text}
            return t.end(DIRECT, f"direct response {code}{shown}", code)
        self._rewrite(route, uri_cond)
        self._mirror(route)
        self._timeouts(route)
        headers = get(node, "headers")
        if headers is not None:
            t.add("headers", "headers: " + _flat(headers), self.at(doc, headers, vs))
            t.route["headers"] = _plain(headers)
        cors = get(node, "corsPolicy")
        if cors is not None:
            t.add("cors", "corsPolicy applies (preflight answered by Envoy)", self.at(doc, cors, vs))
        if t.status == FAULT:
            return t
        return self._weighted(route)

    def _match_connection(self, routes: list[_Route], layer: str) -> Trace:
        """The first `tcp` or `tls` route whose match takes the connection (port, SNI, source), and its
        destinations; none: the proxy closes the connection."""
        t, req = self.trace, self.request
        for route in routes:
            where = self.at(route.doc, route.node, route.vs)
            matches = items(get(route.node, "match"))
            verdict_text = "no `match`: takes every connection"
            if matches:
                misses = []
                for i, m in enumerate(matches):
                    why = connection_miss(m, req, self.where, route.vs.namespace, sni=layer == "tls")
                    if why is None:
                        verdict_text = f"match #{i}: {describe_connection(m)}"
                        break
                    misses.append(f"match #{i}: {why}" if len(matches) > 1 else why)
                else:
                    t.add("skip", f"{route.label}: " + "; ".join(misses), where)
                    continue
            t.add("route", f"{route.label} ({verdict_text})", where)
            t.route.update(virtualService=f"{route.vs.namespace}/{route.vs.name}", index=route.index, protocol=layer)
            return self._weighted(route)
        what = f"SNI `{req.host}`, port {req.effective_port}" if layer == "tls" else f"port {req.effective_port}"
        t.add("note", f"no `{layer}` route takes the connection: the proxy closes it")
        return t.end(REFUSED, f"no `{layer}` route takes the connection ({what}): it is closed")

    def _weighted(self, route: _Route) -> Trace:
        """The route's weighted destinations, each followed to its pods."""
        t, node, vs, doc = self.trace, route.node, route.vs, route.doc
        dests = destinations(node)
        if not dests:
            t.add("note", "the route has no destination the trace can read", self.at(doc, node, vs))
            return t.end(UNKNOWN, "the matched route has no readable destination")
        weights = [d.weight or 0 for d in dests] if len(dests) > 1 else [1]
        total = sum(weights)
        if total == 0:
            return t.end(UNAVAILABLE, "the destinations' weights add up to 0 (the webhook rejects this route)", 503)
        targets = []
        for d, w in zip(dests, weights, strict=True):
            share = Fraction(w, total)
            span = doc.span_of(d.node)
            targets.append(self._target(vs, d.host or "", d.subset, d.port, share, (vs.uri, span)))
        return self._conclude(targets)

    def _fault(self, route: _Route) -> None:
        t, fault = self.trace, get(route.node, "fault")
        if not isinstance(fault, MappingNode):
            return
        where = self.at(route.doc, fault, route.vs)
        delay = get(fault, "delay")
        if delay is not None:
            fixed = scalar(get(delay, "fixedDelay")) or "?"
            t.add("fault", f"fault: delay {fixed} for {_percentage(delay)} of requests", where)
            t.route.setdefault("fault", {})["delay"] = {"fixedDelay": fixed, "percentage": _number(_percentage(delay))}
        abort = get(fault, "abort")
        if abort is not None:
            status = as_int(scalar(get(abort, "httpStatus")))
            share = _percentage(abort)
            t.add("fault", f"fault: abort with {status or 'a gRPC status'} for {share} of requests", where)
            t.route.setdefault("fault", {})["abort"] = {"httpStatus": status, "percentage": _number(share)}
            if share == "100%" and status is not None:
                t.end(FAULT, f"fault injection aborts every request with {status}", status)

    def _rewrite(self, route: _Route, uri_cond: Any) -> None:
        t, rewrite = self.trace, get(route.node, "rewrite")
        if not isinstance(rewrite, MappingNode):
            return
        path = self.request.path
        parts = []
        done: dict[str, Any] = {}  # what the destination receives
        uri = scalar(get(rewrite, "uri"))
        if uri is not None:
            if uri_cond is None or uri_cond.kind == "prefix":
                prefix = "/" if uri_cond is None else uri_cond.value
                new = uri + path[len(prefix) :]
                parts.append(f"path {path} → {new} (prefix `{prefix}` replaced)")
            else:
                new = uri
                parts.append(f"path {path} → {uri}")
            done["uri"] = new
        regex = get(rewrite, "uriRegexRewrite")
        if regex is not None:
            new_path = regex_substitute(scalar(get(regex, "match")) or "", scalar(get(regex, "rewrite")) or "", path)
            parts.append(f"path {path} → {new_path}" if new_path is not None else "uriRegexRewrite (invalid regex)")
            if new_path is not None:
                done["uri"] = new_path
        authority = scalar(get(rewrite, "authority"))
        if authority is not None:
            parts.append(f"authority → {authority}")
            done["authority"] = authority
        if done:
            t.route["rewrite"] = done
        if parts:
            t.add("rewrite", "rewrite: " + "; ".join(parts), self.at(route.doc, rewrite, route.vs))

    def _mirror(self, route: _Route) -> None:
        t = self.trace
        mirror = get(route.node, "mirror")
        share = _percentage(get(route.node, "mirrorPercentage"), key="value", default="100%")
        if isinstance(mirror, MappingNode):
            host = scalar(get(mirror, "host"))
            t.add(
                "mirror",
                f"mirror a copy of {share} to {host} (responses ignored)",
                self.at(route.doc, mirror, route.vs),
            )
        for item in items(get(route.node, "mirrors")):
            host = scalar(get(get(item, "destination"), "host"))
            each = _percentage(get(item, "percentage"), key="value", default="100%")
            t.add(
                "mirror", f"mirror a copy of {each} to {host} (responses ignored)", self.at(route.doc, item, route.vs)
            )

    def _timeouts(self, route: _Route) -> None:
        t, node, vs, doc = self.trace, route.node, route.vs, route.doc
        timeout_node = get(node, "timeout")
        timeout = _seconds(scalar(timeout_node))
        retries = get(node, "retries")
        if timeout_node is not None:
            t.add("timeout", f"timeout {scalar(timeout_node)}", self.at(doc, timeout_node, vs))
            t.route["timeout"] = scalar(timeout_node)
        attempts_text = scalar(get(retries, "attempts")) if retries is not None else None
        attempts = DEFAULT_ATTEMPTS if attempts_text is None else (as_int(attempts_text) or 0)
        per_try = _seconds(scalar(get(retries, "perTryTimeout"))) if retries is not None else None
        if retries is not None:
            on = scalar(get(retries, "retryOn"))
            text = f"retries: {attempts} attempt(s)" + (" (Istio's default count)" if attempts_text is None else "")
            if per_try is not None:
                text += f", {format_duration(per_try)} per try"
            if on:
                text += f", on {on}"
            t.add("retries", text, self.at(doc, retries, vs))
            t.route["retries"] = {
                "attempts": attempts,
                "perTryTimeout": scalar(get(retries, "perTryTimeout")),
                "retryOn": on,
            }
        if timeout is not None and per_try is not None and attempts > 0 and timeout < attempts * per_try:
            t.add(
                "warning",
                f"timeout {format_duration(timeout)} < {attempts} × {format_duration(per_try)}: the later "
                f"retries never run, the route times out first with 504 (timeout-shorter-than-retries)",
                self.at(doc, timeout_node, vs),
            )

    # ---- destinations -------------------------------------------------------------------------

    def _target(
        self,
        vs: VirtualService,
        host: str,
        subset: str | None,
        port: int | None,
        share: Fraction,
        where: tuple[str, Span | None] | None,
        missing_code: int = 503,  # what a host that does not exist answers (500: a Gateway API backend)
    ) -> Target:
        t = self.trace
        resolution = resolve_host(self.index, host, vs)
        target = Target(host, resolution.fqdn, subset, port, share, "ok")
        extra = f" subset {subset}" if subset else ""
        port_text = f":{port}" if port is not None else ""
        t.add("destination", f"{percent(share)} → {resolution.fqdn}{port_text}{extra}", where)
        if share == 0:
            target.status, target.reason = "ok", "weight 0: gets no traffic"
            t.add("note", "weight 0 (or none): gets no traffic", depth=1)
            return target
        if resolution.unknown:
            target.status, target.reason = "unknown", "a placeholder: filled in by a tool before applying"
            return target
        if only_virtual(self.index, resolution):
            names = ", ".join(v.display for v in resolution.declaring)
            target.status, target.rule = "503", "destination-host-is-virtualservice"
            target.reason = (
                f"`{resolution.fqdn}` is only a VirtualService host ({names}): a sidecar does not route twice; "
                "no Service or ServiceEntry with endpoints provides it, so Envoy answers 503"
            )
            t.add("503", target.reason, resolution.declaring[0], 1)
            return target
        if not resolution.provided:
            if resolution.hidden:
                names = ", ".join(r.display for r in resolution.hidden)
                target.status, target.reason = "503", f"{names} provides the host but is not exported here: 503"
                target.rule = "destination-host-not-found"
                t.add("503", target.reason, resolution.hidden[0], 1)
            else:
                target.status = "unknown"
                target.reason = (
                    f"no Service or ServiceEntry in the workspace provides `{resolution.fqdn}` "
                    f"({missing_code} if it does not exist elsewhere)"
                )
                t.add("unknown", target.reason, depth=1)
            return target
        for service in resolution.services[:1]:
            t.add("service", f"{service.display}" + _ports(service), service, 1)
            if port is None and len(service.ports) == 1 and service.ports[0].port is not None:
                target.port = service.ports[0].port
        for entry in resolution.backed_entries[:1]:
            t.add("service", f"{entry.display} (resolution {entry.resolution})", entry, 1)
        consumer = self.where.namespace
        lookup = destination_rules_for_route(self.index, resolution.candidates, [consumer])
        for rule in lookup.hidden:
            t.add("note", f"{rule.display} is not exported to {consumer}: not applied", rule, 1)
        rules = lookup.visible
        if len(rules) > 1:
            t.add(
                "note",
                f"{len(rules)} DestinationRules for the host: Istio merges them (subsets of the first win)",
                depth=1,
            )
        chosen_rule: DestinationRule | None = rules[0] if rules else None
        subset_index: int | None = None
        if subset is not None:
            if not rules:
                target.status, target.rule = "503", "subset-without-destinationrule"
                target.reason = (
                    f"subset `{subset}` needs a DestinationRule for `{host}` and none is visible: "
                    "Envoy has no such cluster and answers 503"
                )
                t.add("503", target.reason, where, 1)
                return target
            holders = [(r, i) for r in rules for i, s in enumerate(r.subsets) if s.name.value == subset]
            if not holders:
                defined = ", ".join(f"`{s.name.value}`" for r in rules for s in r.subsets) or "none"
                target.status, target.rule = "503", "subset-not-found"
                target.reason = f"no DestinationRule for the host defines subset `{subset}` (defined: {defined}): 503"
                t.add("503", target.reason, rules[0], 1)
                return target
            chosen_rule, subset_index = holders[0]
        if chosen_rule is not None:
            self._policy(chosen_rule, subset_index, target.port, target)
        elif resolution.services:
            t.add("policy", "no DestinationRule: Istio's defaults (auto mTLS, LEAST_REQUEST)", depth=1)
        self._pods(resolution.services, chosen_rule, subset_index, target)
        return target

    def _policy(self, rule: DestinationRule, subset_index: int | None, port: int | None, target: Target) -> None:
        t = self.trace
        text = f"{rule.display}"
        where: Resource | tuple[str, Span | None] = rule
        if subset_index is not None:
            subset = rule.subsets[subset_index]
            labels = ", ".join(f"{k}: {v}" for k, v in subset.labels.items()) or "no labels"
            text += f" subset {subset.name.value} ({labels})"
            where = (rule.uri, subset.span)
        t.add("rule", text, where, 1)
        found = self.docs.node(rule)
        if found is None:
            return
        doc, node = found
        spec = get(node, "spec")
        layers: list[tuple[str, Node | None]] = [("host", get(spec, "trafficPolicy"))]
        if subset_index is not None:
            subset_nodes = [s for s in items(get(spec, "subsets")) if isinstance(s, MappingNode)]
            if subset_index < len(subset_nodes):
                layers.append(("subset", get(subset_nodes[subset_index], "trafficPolicy")))
        settings: dict[str, tuple[Node, str]] = {}
        for origin, policy in layers:
            if not isinstance(policy, MappingNode):
                continue
            for key, value in pairs(policy):
                settings[str(key.value)] = (value, origin)
            if port is not None:
                for item in items(get(policy, "portLevelSettings")):
                    if scalar(get(get(item, "port"), "number")) == str(port):
                        for key, value in pairs(item):
                            if str(key.value) != "port":
                                settings[str(key.value)] = (value, f"{origin} port {port}")
        settings.pop("portLevelSettings", None)
        defaults = [text for key, text in _DEFAULTS.items() if key not in settings]
        if defaults:
            t.add("policy", f"{', '.join(defaults)} (Istio's defaults: not set)", depth=1)
        for name, (value, origin) in settings.items():
            t.add("policy", f"{name} ({origin}): {_flat(value)}", (rule.uri, doc.span_of(value)), 1)

    def _pods(
        self, services: list[Service], rule: DestinationRule | None, subset_index: int | None, target: Target
    ) -> None:
        t = self.trace
        behind = list({id(w): w for s in services for w in selected_workloads(self.index, s)}.values())
        if not services:
            return
        if not behind:
            target.status = "unknown" if target.status == "ok" else target.status
            target.reason = "no workload in the workspace behind the Service (its pods may be deployed elsewhere)"
            t.add("unknown", target.reason, depth=1)
            return
        picked = behind
        if rule is not None and subset_index is not None:
            subset = rule.subsets[subset_index]
            picked = [w for w in behind if subset_selects(subset.labels, w)]
            if not picked:
                carried = "; ".join(
                    f"{w.display} has {', '.join(f'{k}: {v}' for k, v in w.pod_labels.items())}" for w in behind[:3]
                )
                target.status, target.rule = "503", "subset-matches-no-workload"
                target.reason = (
                    f"subset `{subset.name.value}` selects none of the pods behind the Service ({carried}): "
                    'no endpoints, 503 "no healthy upstream"'
                )
                if ANY_NAMESPACE in {rule.namespace, *(w.namespace for w in behind)}:
                    # as the check, which then only informs: these pods may not be the ones the rule applies to
                    target.status = "unknown"
                    target.reason += "; but the namespaces are not known, so these may not be its pods"
                t.add(target.status, target.reason, (rule.uri, subset.labels_span or subset.span), 1)
                return
        target.workloads = [w.display for w in picked]
        if all(w.replicas == 0 for w in picked):
            target.status, target.reason = "503", "every selected workload runs 0 replicas: no endpoints, 503"
            t.add("503", target.reason, picked[0], 1)
            return
        for w in picked:
            replicas = f" ({w.replicas} replica{'s' if w.replicas != 1 else ''})" if w.replicas is not None else ""
            t.add("pods", f"{w.display}{replicas}", w, 1)
        self._authorize(picked, services, target)

    def _gateway_authorize(self) -> Trace | None:
        """The ingress gateway's own AuthorizationPolicies (when its pods are in the files). None: go on."""
        if self.client is None:
            return None
        return self.authorize_at_gateway(authorization.applicable(self.index, self.client), "the ingress gateway")

    def authorize_at_gateway(self, policies: list[SelectorPolicy], who: str) -> Trace | None:
        """Policies a gateway's pods enforce before routing, for a client from outside the mesh (no peer
        identity): the 403 when they refuse the request, else None (the request goes on)."""
        req = self.request
        seen = authorization.Request(req.method, req.host, req.authority, req.path, req.effective_port, req.headers)
        external = authorization.Caller(None, None, external=True)
        decision = authorization.decide(self.policy_trees(policies), seen, external)
        if decision is None:
            return None
        t = self.trace
        where = (decision.policy.uri, decision.span) if decision.policy is not None else None
        if decision.allowed is False:
            t.add("403", f"{who}'s pods: {decision.reason}", where)
            return t.end(FORBIDDEN, f"{who} refuses it: {decision.reason}", 403)
        t.add("unknown" if decision.allowed is None else "authz", f"at {who}: {decision.reason}", where)
        return None

    def policy_trees(self, policies: list[SelectorPolicy]) -> list[tuple[SelectorPolicy, YamlDocument, MappingNode]]:
        """The policies with their parse trees (those the trace can read again)."""
        out = []
        for policy in policies:
            found = self.docs.node(policy)
            if found is not None:
                out.append((policy, *found))
        return out

    def _authorize(self, picked: list[Workload], services: list[Service], target: Target) -> None:
        """The AuthorizationPolicies of the destination's sidecars: a request they refuse gets 403."""
        t, req = self.trace, self.request
        if self.request_less:
            return
        rewrite = t.route.get("rewrite") or {}
        host = str(rewrite.get("authority") or req.host)
        seen = authorization.Request(
            method=req.method,
            host=host,
            authority=host if host != req.host else req.authority,
            path=str(rewrite.get("uri") or req.path),
            port=_target_port(services, target.port),
            headers=req.headers,
        )
        if self.client is not None:
            caller = authorization.caller_of(self.client.namespace, self.client, self.domain)
        elif self.source.kind == "gateway":  # gateway pods not in the files: neither namespace nor identity known
            caller = authorization.Caller(None, None)
        else:
            caller = authorization.caller_of(self.where.namespace, None, self.domain)
        decisions: list[authorization.Decision] = []
        for workload in picked:
            policies = self.policy_trees(authorization.applicable(self.index, workload))
            decision = authorization.decide(policies, seen, caller)
            if decision is not None:
                decisions.append(decision)
        if not decisions:
            return
        decision = next((d for d in decisions if d.allowed is False), None) or next(
            (d for d in decisions if d.allowed is None), decisions[0]
        )
        where = (decision.policy.uri, decision.span) if decision.policy is not None else None
        if decision.allowed is False and len(decisions) == len(picked) and all(d.allowed is False for d in decisions):
            target.status, target.reason = "403", decision.reason
            t.add("403", decision.reason, where, 1)
        elif decision.allowed is False:
            t.add("authz", f"some of the pods refuse it: {decision.reason}", where, 1)
        elif decision.allowed is None:
            t.add("unknown", f"authorization: {decision.reason}", where, 1)
            t.notes.append(
                "whether the destination's AuthorizationPolicies let the request in depends on what it does not show"
            )
        else:
            t.add("authz", decision.reason, where, 1)

    def _conclude(self, targets: list[Target]) -> Trace:
        t = self.trace
        t.targets = targets
        if t.status == FAULT:
            return t
        live = [x for x in targets if x.share > 0]
        bad = [x for x in live if x.failing]
        failing = sum((x.share for x in bad), Fraction(0))
        shown = "; ".join(_shown(x) for x in live)
        code = next(int(c) for c in TARGET_FAILURES if any(x.status == c for x in bad)) if bad else 0
        if failing == 1:
            reasons = "; ".join(dict.fromkeys(x.reason for x in bad))
            return t.end(str(code), reasons, code)
        if failing > 0:
            rest = "; ".join(_shown(x) for x in live if x not in bad)
            why = "; ".join(f"{_shown(x)}: {x.reason}" for x in bad)
            codes = " or ".join(dict.fromkeys(x.status for x in bad))
            return t.end(f"partly-{code}", f"{percent(failing)} of requests get {codes} ({why}); routed: {rest}", None)
        if any(x.status == "unknown" for x in live):
            t.notes.append("part of the path lies outside the workspace (see `unknown` steps)")
        return t.end(ROUTED, shown)


_DEFAULTS = {"tls": "auto mTLS", "loadBalancer": "LEAST_REQUEST", "outlierDetection": "no outlier detection"}


def trace(index: WorkspaceIndex, read: Reader, request: Request, source: Source) -> Trace:
    """Istio's decision for `request` from `source`, computed from the workspace (never raises on content)."""
    return Tracer(index, read, request, source).run()


def http_route_nodes(read: Reader, vs: VirtualService) -> list[MappingNode]:
    """The `spec.http[]` routes of a VirtualService as the trace reads them (through `read`)."""
    found = _Documents(read).node(vs)
    if found is None:
        return []
    return [r for r in items(get(get(found[1], "spec"), "http")) if isinstance(r, MappingNode)]


def route_rule_nodes(read: Reader, route: KubernetesRoute) -> list[MappingNode]:
    """The `spec.rules[]` of a Gateway API route as the trace reads them (through `read`)."""
    found = _Documents(read).node(route)
    if found is None:
        return []
    return [r for r in items(get(get(found[1], "spec"), "rules")) if isinstance(r, MappingNode)]


def follow_destination(
    index: WorkspaceIndex,
    vs: VirtualService,
    host: str,
    subset: str | None,
    port: int | None,
    missing_code: int = 503,
) -> tuple[Target, list[Step]]:
    """What a route's destination leads to, as the trace follows it: the host's Service, the
    DestinationRule and subset, and the pods (or why it answers 503), seen from the VirtualService's
    namespace. The same steps as a trace's `destination`, without a request (for hover). An HTTPRoute's
    backend is followed with a stand-in VirtualService (`index.resolve.stand_in_referrer`) and 500 as
    what a missing backend answers."""
    tracer = Tracer(index, lambda _uri: None, Request(host=host), Source("mesh", vs.namespace))
    tracer.request_less = True
    target = tracer._target(vs, host, subset, port, Fraction(1), None, missing_code)
    return target, tracer.trace.steps[1:]  # without the `destination` line itself


# ---- small readers -------------------------------------------------------------------------------


def _shown(target: Target) -> str:
    port = f":{target.port}" if target.port else ""
    subset = f" subset {target.subset}" if target.subset else ""
    return f"{percent(target.share)} → {target.fqdn}{port}{subset}"


def _seconds(text: str | None) -> float | None:
    return None if text is None else parse_duration(text)


def _percentage(node: Node | None, key: str = "percentage", default: str = "100%") -> str:
    """A fault's or mirror's `percentage.value` (or the older `percent`), as text; absent: all requests."""
    if node is None:
        return default
    holder = get(node, key) if key == "percentage" else node
    value = scalar(get(holder, "value")) if holder is not None else None
    if value is None:
        value = scalar(get(node, "percent"))
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:g}%"


def _number(text: str) -> float | str:
    """`50%` as 50.0 (a percentage the trace shows as text)."""
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return text


def _plain(node: Node | None) -> Any:
    """A YAML node as plain data (scalars as text), for comparing with what a routing test expects."""
    if isinstance(node, MappingNode):
        return {str(k.value): _plain(v) for k, v in pairs(node)}
    listed = items(node)
    return [_plain(i) for i in listed] if listed else scalar(node)


def _ports(service: Service) -> str:
    ports = ", ".join(f"{p.name or ''}:{p.port}".lstrip(":") for p in service.ports if p.port is not None)
    return f" (ports {ports})" if ports else ""


def _flat(node: Node | None, prefix: str = "", budget: int = 12) -> str:
    """A small mapping as `a.b=1, c=2` (long ones cut)."""
    out: list[str] = []

    def walk(n: Node | None, at: str) -> None:
        if len(out) >= budget:
            return
        if isinstance(n, MappingNode):
            for k, v in pairs(n):
                walk(v, f"{at}.{k.value}" if at else str(k.value))
        elif n is not None and items(n):
            out.append(f"{at}=[{', '.join(scalar(i) or '…' for i in items(n))}]")
        else:
            out.append(f"{at}={scalar(n)}" if at else str(scalar(n)))

    walk(node, prefix)
    return ", ".join(out[:budget]) + (", …" if len(out) > budget else "")


def _target_port(services: list[Service], port: int | None) -> int | None:
    """The port the destination's pods receive on: the Service port's numeric `targetPort` (None: a named
    one, which only the pods' container ports resolve)."""
    for service in services:
        for item in service.ports:
            if item.port == port:
                if item.target_port is None:
                    return port
                return int(item.target_port) if item.target_port.isdigit() else None
    return port
