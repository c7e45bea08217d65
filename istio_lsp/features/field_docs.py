"""Short explanations of the fields people touch most, with links to istio.io's reference.

The texts are ours. Each entry names the proto message and field, which is also how
istio.io anchors its reference pages (`#HTTPRoute-timeout`).
"""

from __future__ import annotations

from dataclasses import dataclass

_BASE = "https://istio.io/latest/docs/reference/config"
_PAGES = {
    "VirtualService": f"{_BASE}/networking/virtual-service/",
    "DestinationRule": f"{_BASE}/networking/destination-rule/",
    "Gateway": f"{_BASE}/networking/gateway/",
    "ServiceEntry": f"{_BASE}/networking/service-entry/",
    "Sidecar": f"{_BASE}/networking/sidecar/",
    "AuthorizationPolicy": f"{_BASE}/security/authorization-policy/",
    "PeerAuthentication": f"{_BASE}/security/peer_authentication/",
    "RequestAuthentication": f"{_BASE}/security/request_authentication/",
}


@dataclass(frozen=True)
class FieldDoc:
    message: str  # proto message the field belongs to, e.g. HTTPRoute
    field: str
    text: str

    def url(self, kind: str) -> str:
        return f"{_PAGES.get(kind, _BASE + '/')}#{self.message}-{self.field}"


# (kind, path pattern) → doc. Patterns use `*` for any list index.
_DOCS: dict[tuple[str, str], FieldDoc] = {}


def _add(kind: str, pattern: str, message: str, text: str) -> None:
    _DOCS[(kind, pattern)] = FieldDoc(message, pattern.rsplit(".", 1)[-1], text)


# VirtualService
_add(
    "VirtualService",
    "spec.hosts",
    "VirtualService",
    "The hosts this routing applies to: names clients call (short names resolve in this resource's "
    "namespace) or external domains for gateway traffic. A VirtualService host is a routing name, "
    "not a service you can send traffic to.",
)
_add(
    "VirtualService",
    "spec.gateways",
    "VirtualService",
    "Where these routes apply: Gateways as `ns/name` (a bare name means this namespace), and `mesh` for "
    "all sidecars. Omitted means `mesh` only; listing gateways without `mesh` removes the sidecars.",
)
_add(
    "VirtualService",
    "spec.exportTo",
    "VirtualService",
    "Namespaces that may use this VirtualService: `.` for its own, `*` for all (the default), or names.",
)
_add(
    "VirtualService",
    "spec.http",
    "VirtualService",
    "HTTP routes, tried in order: the first route whose match fits the request wins, so put specific "
    "routes before general ones and a catch-all (no `match`) last.",
)
_add("VirtualService", "spec.tcp", "VirtualService", "Routes for opaque TCP traffic, tried in order.")
_add(
    "VirtualService",
    "spec.tls",
    "VirtualService",
    "Routes for TLS traffic that is passed through unterminated, chosen by SNI host; tried in order.",
)
_add(
    "VirtualService",
    "spec.http.*.match",
    "HTTPRoute",
    "Conditions for this route. Conditions inside one entry must all hold; the route applies when any "
    "entry holds. Without `match`, the route takes every request that reaches it.",
)
_add(
    "VirtualService",
    "spec.http.*.route",
    "HTTPRoute",
    "Where matching requests go: one or more destinations, split by relative `weight`.",
)
_add(
    "VirtualService",
    "spec.http.*.route.*.weight",
    "HTTPRouteDestination",
    "This destination's share of the traffic, relative to the other weights of the route (they need "
    "not add up to 100 since Istio 1.13). With several destinations, one without a weight gets none.",
)
_add(
    "VirtualService",
    "spec.http.*.route.*.destination",
    "HTTPRouteDestination",
    "The service that receives the traffic.",
)
_add(
    "VirtualService",
    "spec.http.*.route.*.destination.host",
    "Destination",
    "A Kubernetes Service or ServiceEntry host. Short names resolve in this VirtualService's "
    "namespace; prefer fully qualified names. Not a VirtualService host: that would find no endpoints.",
)
_add(
    "VirtualService",
    "spec.http.*.route.*.destination.subset",
    "Destination",
    "A subset defined by the DestinationRule for this host; it selects the pods by their labels.",
)
_add(
    "VirtualService",
    "spec.http.*.route.*.destination.port",
    "Destination",
    "The service port to send to; needed when the service has more than one port.",
)
_add(
    "VirtualService",
    "spec.http.*.timeout",
    "HTTPRoute",
    "How long to wait for the response, retries included. Unset means no timeout. Keep it longer "
    "than attempts × perTryTimeout, or later retries are cut off.",
)
_add("VirtualService", "spec.http.*.retries", "HTTPRoute", "How failed requests are retried.")
_add(
    "VirtualService",
    "spec.http.*.retries.attempts",
    "HTTPRetry",
    "How many retries are allowed (Istio's default is 2). 0 turns retries off.",
)
_add(
    "VirtualService",
    "spec.http.*.retries.perTryTimeout",
    "HTTPRetry",
    "The timeout of each attempt, the first one included.",
)
_add(
    "VirtualService",
    "spec.http.*.retries.retryOn",
    "HTTPRetry",
    "Comma-separated conditions that trigger a retry, such as `5xx,reset,connect-failure` or status codes.",
)
_add(
    "VirtualService",
    "spec.http.*.fault",
    "HTTPRoute",
    "Fault injection for testing resilience: delay or abort a percentage of requests.",
)
_add(
    "VirtualService",
    "spec.http.*.mirror",
    "HTTPRoute",
    "Also send a copy of each request to this destination; its responses are discarded.",
)
_add(
    "VirtualService",
    "spec.http.*.redirect",
    "HTTPRoute",
    "Answer with an HTTP redirect instead of forwarding. Excludes `route` and `directResponse`.",
)
_add("VirtualService", "spec.http.*.rewrite", "HTTPRoute", "Rewrite the path or authority before forwarding.")
_add(
    "VirtualService",
    "spec.http.*.directResponse",
    "HTTPRoute",
    "Answer directly with a fixed status and body, without forwarding. Excludes `route` and `redirect`.",
)
_add(
    "VirtualService",
    "spec.http.*.delegate",
    "HTTPRoute",
    "Hand matching requests to another VirtualService's routes (one level only; that VirtualService "
    "must have no hosts).",
)
_add("VirtualService", "spec.http.*.headers", "HTTPRoute", "Headers to set, add or remove on requests and responses.")
_add(
    "VirtualService",
    "spec.http.*.match.*.uri",
    "HTTPMatchRequest",
    "Match the path: `exact`, `prefix` or `regex` (RE2 syntax).",
)
_add(
    "VirtualService",
    "spec.http.*.match.*.headers",
    "HTTPMatchRequest",
    "Match request headers, each by `exact`, `prefix` or `regex`.",
)

# DestinationRule
_add(
    "DestinationRule",
    "spec.host",
    "DestinationRule",
    "The service this rule configures: a Service or ServiceEntry host. Short names resolve in this "
    "DestinationRule's namespace, so a rule in another namespace needs the full name.",
)
_add(
    "DestinationRule",
    "spec.subsets",
    "DestinationRule",
    "Named groups of the service's pods, selected by labels; routes send traffic to them by name.",
)
_add("DestinationRule", "spec.subsets.*.name", "Subset", "The name routes use in `destination.subset`.")
_add(
    "DestinationRule",
    "spec.subsets.*.labels",
    "Subset",
    "Pod labels that pick this subset's endpoints among the Service's pods; they must be on the pod "
    "template, not only on the Deployment.",
)
_add(
    "DestinationRule",
    "spec.trafficPolicy",
    "DestinationRule",
    "Load balancing, connection pool, outlier detection and TLS for calls to this service.",
)
_add(
    "DestinationRule",
    "spec.trafficPolicy.tls",
    "TrafficPolicy",
    "How clients connect with TLS. Setting it turns off automatic mutual TLS for this service.",
)
_add(
    "DestinationRule",
    "spec.trafficPolicy.outlierDetection",
    "TrafficPolicy",
    "Eject failing endpoints from the load-balancing pool for a while.",
)
_add(
    "DestinationRule",
    "spec.trafficPolicy.connectionPool",
    "TrafficPolicy",
    "Limits on connections and pending requests to the service (circuit breaking).",
)
_add(
    "DestinationRule",
    "spec.exportTo",
    "DestinationRule",
    "Namespaces that may use this DestinationRule: `.` for its own, `*` for all (the default), or names.",
)

# Gateway
_add(
    "Gateway",
    "spec.selector",
    "Gateway",
    "Labels of the gateway pods (e.g. `istio: ingressgateway`) that get this configuration.",
)
_add("Gateway", "spec.servers", "Gateway", "The ports the gateway listens on, with their protocols, hosts and TLS.")
_add(
    "Gateway",
    "spec.servers.*.hosts",
    "Server",
    "Hosts served on this port, optionally `ns/host` to restrict which namespaces' VirtualServices bind.",
)
_add("Gateway", "spec.servers.*.port", "Server", "The port number, its protocol and a unique name.")
_add("Gateway", "spec.servers.*.tls", "Server", "TLS settings: mode and certificates (e.g. a `credentialName` secret).")

# ServiceEntry
_add("ServiceEntry", "spec.hosts", "ServiceEntry", "Host names this entry adds to the mesh's service registry.")
_add(
    "ServiceEntry",
    "spec.resolution",
    "ServiceEntry",
    "How endpoints are found: NONE (the caller's address), STATIC (`endpoints`), DNS or DNS_ROUND_ROBIN.",
)
_add(
    "ServiceEntry",
    "spec.location",
    "ServiceEntry",
    "MESH_EXTERNAL for services outside the mesh (the default), MESH_INTERNAL for ones inside it.",
)
_add("ServiceEntry", "spec.endpoints", "ServiceEntry", "Addresses of the service, for STATIC or DNS resolution.")


def field_doc(kind: str, path: list[str | int], api_version: str = "") -> FieldDoc | None:
    """The doc of a field of an Istio kind. `api_version` keeps namesakes apart: a `Gateway` of the
    Gateway API (`gateway.networking.k8s.io/v1`) is not Istio's, and gets none of its docs."""
    group = api_version.strip().rpartition("/")[0]
    if api_version.strip() and not group.endswith("istio.io"):
        return None
    pattern = ".".join("*" if isinstance(p, int) else p for p in path)
    found = _DOCS.get((kind, pattern))
    if found is None and (".tcp." in pattern or ".tls." in pattern):
        found = _DOCS.get((kind, pattern.replace(".tcp.", ".http.").replace(".tls.", ".http.")))
    if found is None and ".mirror." in pattern:
        found = _DOCS.get((kind, pattern.replace(".mirror.", ".route.*.destination.")))
    return found


def page(kind: str) -> str | None:
    return _PAGES.get(kind)
