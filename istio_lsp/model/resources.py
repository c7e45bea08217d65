"""Typed, compact views of the resources the checks read.

A resource keeps only what checks and features need, each value with its span,
never the parse tree: a workspace of thousands of files stays small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.syntax import Span

# Positions kept as plain numbers, not as a Span, are marked so that a resource can be moved
# to other lines of its file (an edit above it) without being extracted again.
LINE = {"position": "line"}  # an int line
LINE_CHAR = {"position": "line_char"}  # a (line, character) pair
DOC_INDEX = {"position": "doc_index"}  # the index of the resource's document in its file

NETWORKING_VERSIONS = ("networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3")
SECURITY_VERSIONS = ("security.istio.io/v1", "security.istio.io/v1beta1")

ISTIO_KINDS: dict[str, tuple[str, ...]] = {
    "VirtualService": NETWORKING_VERSIONS,
    "DestinationRule": NETWORKING_VERSIONS,
    "Gateway": NETWORKING_VERSIONS,
    "ServiceEntry": NETWORKING_VERSIONS,
    "Sidecar": NETWORKING_VERSIONS,
    "AuthorizationPolicy": SECURITY_VERSIONS,
    "PeerAuthentication": SECURITY_VERSIONS,
    "RequestAuthentication": SECURITY_VERSIONS,
}

# Kinds that live in no namespace: `metadata.namespace` and kustomize's `namespace:` do not apply.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "APIService",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "GatewayClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Node",
    }
)

WORKLOAD_KINDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("apps/v1",),
    "StatefulSet": ("apps/v1",),
    "DaemonSet": ("apps/v1",),
    "ReplicaSet": ("apps/v1",),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1", "batch/v1beta1"),
    "Pod": ("v1",),
}


@dataclass(slots=True)
class Ref:
    """A scalar value as written, with where it was written."""

    value: str
    span: Span
    quote: str = ""  # the quote character the value was written with, if any


@dataclass(slots=True)
class LabelValue:
    """A label ambient mode reads (`istio.io/use-waypoint`, `…-namespace`, `istio.io/dataplane-mode`,
    `istio.io/waypoint-for`), with where its value is written."""

    key: str
    value: Ref


@dataclass(slots=True, eq=False)
class Resource:
    kind: str
    api_version: str
    name: str
    namespace: str  # as deployed: written, set by a kustomization, ANY_NAMESPACE when unknown, "" when cluster-scoped
    uri: str
    doc_index: int = field(metadata=DOC_INDEX)
    span: Span  # the whole document
    name_span: Span  # metadata.name's value, or the document start when missing
    labels: dict[str, str] = field(default_factory=dict)
    namespace_explicit: bool = True  # `metadata.namespace` is written in the file
    analyze_suppress: str | None = None  # the `galley.istio.io/analyze-suppress` annotation, as written
    # the ambient-mode labels it carries, with where each is written (a workload's: of its pod template)
    ambient_labels: list[LabelValue] = field(default_factory=list)

    @property
    def display(self) -> str:
        """`Kind namespace/name`, the resource id used in CLI output and messages (`Kind name` when the
        namespace is not known or there is none)."""
        if self.namespace in ("", ANY_NAMESPACE):
            return f"{self.kind} {self.name}"
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(slots=True)
class Destination:
    """A route or mirror destination of a VirtualService."""

    host: Ref
    subset: Ref | None
    port: int | None
    role: str  # "route" or "mirror"
    protocol: str  # "http", "tcp" or "tls"
    rule_index: int
    path: str  # field path, e.g. spec.http[0].route[1].destination
    span: Span  # the destination mapping
    key_column: int | None = None  # column of the `host` key in block style, for inserting sibling keys
    subset_line: int | None = field(
        default=None, metadata=LINE
    )  # line of the `subset` key in block style, for deleting it
    weight: int | None = None  # the route item's `weight` (routes only)
    port_span: Span | None = None  # `port.number`'s value
    port_given: bool = False  # a `port` key is written (its number may still be missing or not a number)


@dataclass(slots=True)
class RouteRule:
    """One `spec.http[]`, `spec.tcp[]` or `spec.tls[]` rule, for outlines and lenses."""

    protocol: str  # "http", "tcp" or "tls"
    index: int
    span: Span
    name: str | None = None  # the rule's `name`
    route_span: Span | None = None  # from the `route` key to the end of its value


@dataclass(slots=True)
class Delegate:
    """An HTTP rule's `delegate`: the VirtualService that holds the rule's routes."""

    name: Ref | None
    namespace: Ref | None
    rule_index: int
    span: Span  # the delegate mapping


@dataclass(slots=True)
class HttpRule:
    """What quick fixes need to know about one `spec.http[]` rule."""

    index: int
    span: Span
    route_span: Span | None  # from the `route` key to the end of its value
    route_count: int
    direct_response: str | None  # the directResponse value, as written, dedented


@dataclass(slots=True, eq=False)
class VirtualService(Resource):
    hosts: list[Ref] = field(default_factory=list)
    gateways: list[Ref] = field(default_factory=list)  # spec.gateways and every match[].gateways
    export_to: list[str] = field(default_factory=list)
    export_to_refs: list[Ref] = field(default_factory=list)  # the `exportTo` entries, with where each is written
    destinations: list[Destination] = field(default_factory=list)
    http_rules: list[HttpRule] = field(default_factory=list)
    route_rules: list[RouteRule] = field(default_factory=list)  # http, tcp and tls rules, in that order
    delegates: list[Delegate] = field(default_factory=list)
    match_gateways: bool = False  # some `match[]` names its own gateways: where a rule applies differs per rule
    # `headers` keys of http matches on JWT claims (`@request.auth.claims.…`), with the gateways the
    # match names (None: those of `spec.gateways`)
    claim_matches: list[tuple[Ref, list[str] | None]] = field(default_factory=list)
    spec_gateway_count: int = 0  # how many of `gateways` come from `spec.gateways` (they come first)


@dataclass(slots=True)
class Subset:
    name: Ref
    labels: dict[str, str]
    labels_span: Span | None  # the labels mapping value
    labels_key_span: Span | None
    span: Span  # the subset item
    labels_flow: bool = False  # labels written as `{k: v}`


@dataclass(slots=True, eq=False)
class DestinationRule(Resource):
    host: Ref | None = None
    subsets: list[Subset] = field(default_factory=list)
    export_to: list[str] = field(default_factory=list)
    export_to_refs: list[Ref] = field(default_factory=list)  # the `exportTo` entries, with where each is written
    # where a new subset goes: after this position, as an item indented like the others
    insert_after: tuple[int, int] | None = field(
        default=None, metadata=LINE_CHAR
    )  # None: spec is not a block mapping, no safe place
    subset_indent: int | None = None  # column of the items' `-`; None: there is no `subsets:` list yet
    spec_indent: int = 2
    workload_selector: dict[str, str] = field(default_factory=dict)  # workloadSelector.matchLabels
    workload_selector_span: Span | None = None
    traffic_policy_span: Span | None = None  # the top-level `trafficPolicy` key, when written
    tls_modes: list[TlsMode] = field(default_factory=list)  # every `tls.mode` of its traffic policies
    port_settings: list[PortSetting] = field(default_factory=list)  # every `portLevelSettings[]` item
    outliers: list[OutlierPolicy] = field(default_factory=list)  # every `outlierDetection` of its traffic policies


@dataclass(slots=True)
class PortSetting:
    """A `portLevelSettings[]` item of a DestinationRule's traffic policy (of the host or of a subset)."""

    number: int | None  # `port.number`; None: missing or not an integer
    span: Span  # `port.number`'s value, else the item
    subset: str | None = None


@dataclass(slots=True)
class OutlierPolicy:
    """An `outlierDetection` of a DestinationRule's traffic policy, as written (None: not set or not an integer)."""

    span: Span  # the `outlierDetection` key
    subset: str | None = None  # the subset whose traffic policy holds it; None: the host's
    port: int | None = None  # of the `portLevelSettings` item that holds it
    max_ejection_percent: int | None = None
    max_ejection_span: Span | None = None  # its value
    min_health_percent: int | None = None
    consecutive_5xx: int | None = None  # `consecutive5xxErrors` (else the deprecated `consecutiveErrors`)
    consecutive_gateway: int | None = None  # `consecutiveGatewayErrors`
    local_origin: bool = False  # `splitExternalLocalOriginErrors: true`
    base_ejection_time: str | None = None
    known: bool = True  # False when one of these fields is written but is not an integer (a placeholder)


@dataclass(slots=True)
class TlsMode:
    """A `tls.mode` a DestinationRule sets: for the host, a subset, or a port of either."""

    mode: str  # "": `tls` is written without a mode
    span: Span  # the mode's value (the `tls` key when there is no mode)
    port: int | None = None  # of a `portLevelSettings` item
    subset: str | None = None


@dataclass(slots=True)
class GatewayServer:
    port: int | None
    protocol: str | None
    hosts: list[str]
    span: Span | None = None  # the server item
    name: str | None = None  # `name`, else `port.name`
    host_refs: list[Ref] = field(default_factory=list)  # `hosts` with where each is written
    # where a new host goes: the `-` of the first item of a block-style `hosts` list; None: no safe place
    hosts_at: tuple[int, int] | None = field(default=None, metadata=LINE_CHAR)
    hosts_indent: int = 0  # the column of that `-`, to indent the items after a new one
    tls_mode: str | None = None  # `tls.mode`, as written
    https_redirect: bool = False  # `tls.httpsRedirect: true`: every request is redirected, none routed
    port_span: Span | None = None  # `port.number`'s value
    bind: str | None = None  # `bind`, as written
    tls: bool = False  # a `tls` mapping is written (even one that only sets httpsRedirect)
    credential_name: Ref | None = None  # `tls.credentialName`
    credential_names: list[Ref] = field(default_factory=list)  # `tls.credentialNames`
    server_certificate: Ref | None = None  # `tls.serverCertificate` (a file mounted in the gateway)
    private_key: str | None = None  # `tls.privateKey`


@dataclass(slots=True, eq=False)
class Gateway(Resource):
    selector: dict[str, str] = field(default_factory=dict)
    servers: list[GatewayServer] = field(default_factory=list)
    selector_span: Span | None = None
    selector_flow: bool = False  # the selector written as `{k: v}`


@dataclass(slots=True)
class GatewayListener:
    """A `spec.listeners[]` item of a Gateway API Gateway."""

    name: str | None
    hostname: Ref | None  # None: not written, the listener accepts every host
    protocol: str | None = None
    span: Span | None = None  # the listener item
    port: int | None = None  # `port`
    name_span: Span | None = None  # `name`'s value
    port_span: Span | None = None  # `port`'s value
    # `allowedRoutes.namespaces.from`: Same (the default), All, Selector or None; the selector's `matchLabels`
    # (None: it has `matchExpressions`, which the checks do not judge)
    routes_from: str = "Same"
    routes_from_span: Span | None = None
    routes_selector: dict[str, str] | None = None
    # `allowedRoutes.kinds` as (group, kind); empty: the kinds the protocol supports
    allowed_kinds: list[tuple[str, str]] = field(default_factory=list)
    allowed_kinds_span: Span | None = None
    certificate_refs: list[GatewayBackendRef] = field(default_factory=list)  # `tls.certificateRefs`
    tls_mode: str | None = None  # `tls.mode`, as written


@dataclass(slots=True)
class GatewayParentRef:
    """A `spec.parentRefs[]` item of a Gateway API route (or a ListenerSet's `spec.parentRef`)."""

    group: str  # "gateway.networking.k8s.io" when not written
    kind: str  # "Gateway" when not written
    name: Ref | None
    namespace: Ref | None  # None: the route's own namespace
    section_name: Ref | None
    port: int | None
    port_span: Span | None
    span: Span  # the item
    index: int = 0


@dataclass(slots=True)
class GatewayBackendRef:
    """A `backendRefs[]` item of a route rule, a listener's `tls.certificateRefs[]` item, or a mirror."""

    group: str  # "" (core) when not written
    kind: str  # "Service" (backends) or "Secret" (certificates) when not written
    name: Ref | None
    namespace: Ref | None  # None: the referrer's own namespace
    port: int | None
    port_span: Span | None
    span: Span  # the item
    weight: int | None = None  # `weight` (1 when not written)
    weight_span: Span | None = None
    path: str = ""  # field path, e.g. spec.rules[0].backendRefs[1]
    group_written: bool = False  # `group` is written
    kind_span: Span | None = None  # `kind`'s value


@dataclass(slots=True)
class KubernetesRouteRule:
    """One `spec.rules[]` item of a Gateway API route."""

    index: int
    span: Span
    backends: list[GatewayBackendRef] = field(default_factory=list)
    # each `matches[]` item as a canonical text (keys sorted), for comparing matches; None when a match
    # holds something not read (an alias, a non-scalar where a scalar belongs)
    matches: list[str] | None = field(default_factory=list)
    match_spans: list[Span] = field(default_factory=list)
    has_filters: bool = False  # `filters` written (a redirect or direct answer needs no backend)
    backends_written: bool = False  # `backendRefs` written


@dataclass(slots=True, eq=False)
class KubernetesRoute(Resource):
    """A Gateway API route: HTTPRoute, GRPCRoute, TCPRoute, TLSRoute or UDPRoute (the kind kept)."""

    parents: list[GatewayParentRef] = field(default_factory=list)
    hostnames: list[Ref] = field(default_factory=list)
    rules: list[KubernetesRouteRule] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class ReferenceGrant(Resource):
    """A Gateway API ReferenceGrant: which kinds of which namespaces may refer to which objects of its own."""

    grants_from: list[tuple[str, str, str]] = field(default_factory=list)  # (group, kind, namespace)
    grants_to: list[tuple[str, str, str | None]] = field(default_factory=list)  # (group, kind, name or None)
    from_refs: list[Ref] = field(default_factory=list)  # the `from[].namespace` values


@dataclass(slots=True, eq=False)
class GatewayClass(Resource):
    """A Gateway API GatewayClass (cluster-scoped): which controller implements the Gateways of the class."""

    controller: Ref | None = None  # `spec.controllerName`


@dataclass(slots=True, eq=False)
class ListenerSet(Resource):
    """A Gateway API ListenerSet: more listeners for a parent Gateway."""

    parent: GatewayParentRef | None = None
    listeners: list[GatewayListener] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class KubernetesGateway(Resource):
    """A Gateway API Gateway (`gateway.networking.k8s.io`): Istio's Gateway's namesake, never mistaken for it."""

    class_name: str | None = None  # `spec.gatewayClassName`
    class_ref: Ref | None = None  # the same, with where it is written
    listeners: list[GatewayListener] = field(default_factory=list)
    addresses: list[tuple[str, Ref]] = field(default_factory=list)  # `spec.addresses[]`: (type, value)
    # `spec.allowedListeners.namespaces`: which ListenerSets may attach (`from`: None when not written, Same,
    # All, Selector; the selector's matchLabels, None with matchExpressions)
    listeners_from: str = "None"
    listeners_selector: dict[str, str] | None = None


@dataclass(slots=True, eq=False)
class ServiceEntry(Resource):
    hosts: list[Ref] = field(default_factory=list)
    resolution: str = "NONE"
    location: str = "MESH_EXTERNAL"
    endpoint_count: int = 0
    endpoints: list[ServiceEntryEndpoint] = field(default_factory=list)  # the inline `endpoints[]`
    has_workload_selector: bool = False
    export_to: list[str] = field(default_factory=list)
    export_to_refs: list[Ref] = field(default_factory=list)  # the `exportTo` entries, with where each is written
    ports: list[int] = field(default_factory=list)
    workload_selector: dict[str, str] = field(default_factory=dict)  # workloadSelector.labels
    workload_selector_span: Span | None = None
    ports_complete: bool = True  # every `ports[]` item has an integer `number` (else `ports` misses some)
    port_items: list[ServiceEntryPort] = field(default_factory=list)  # `ports[]` with their protocols


@dataclass(slots=True)
class ServiceEntryEndpoint:
    """One inline `endpoints[]` item of a ServiceEntry: the labels its Envoy endpoint carries."""

    address: str | None  # `address`, as written
    labels: dict[str, str]  # `labels` (scalar entries only)
    labels_complete: bool  # `labels` is absent or a mapping of scalars (else some are not known)
    span: Span  # the endpoint item


@dataclass(slots=True)
class ServiceEntryPort:
    """One `ports[]` item of a ServiceEntry, as written (None: missing or not a scalar)."""

    number: int | None
    protocol: str | None
    name: str | None
    span: Span  # the port item


@dataclass(slots=True)
class ServicePort:
    name: str | None
    port: int | None
    target_port: str | None
    protocol: str | None
    span: Span | None = None  # the port item
    app_protocol: str | None = None  # `appProtocol`, as written
    target_port_span: Span | None = None  # `targetPort`'s value
    name_span: Span | None = None  # `name`'s value
    app_protocol_span: Span | None = None  # `appProtocol`'s value
    first_key_span: Span | None = None  # the item's first key, where a sibling key can be inserted
    flow: bool = False  # the item is written `{port: 80, …}`


@dataclass(slots=True, eq=False)
class Service(Resource):
    selector: dict[str, str] = field(default_factory=dict)
    ports: list[ServicePort] = field(default_factory=list)
    service_type: str = "ClusterIP"
    export_to: list[str] = field(default_factory=list)  # networking.istio.io/exportTo annotation
    export_to_ref: Ref | None = None  # that annotation's value, with where it is written
    selector_span: Span | None = None
    selector_flow: bool = False  # the selector written as `{k: v}`


@dataclass(slots=True, eq=False)
class Workload(Resource):
    pod_labels: dict[str, str] = field(default_factory=dict)
    pod_labels_span: Span | None = None
    container_ports: list[ContainerPort] = field(default_factory=list)  # of the pod's (init) containers
    sidecar_inject: str | None = None  # the pod's `sidecar.istio.io/inject` label, else annotation
    # the pod's `ambient.istio.io/redirection` annotation: Istio's CNI sets it (`enabled`) on pods it captured
    # for ambient mode; only dumps of running pods carry it
    ambient_redirection: str | None = None
    # how many pods it runs: `spec.replicas` (1 when not written, as Kubernetes defaults it), 1 for a Pod;
    # None when the files cannot say (a DaemonSet, a Job, a value that is not an integer)
    replicas: int | None = None
    replicas_written: bool = False  # `spec.replicas` is written
    # the pod's `serviceAccountName` (else the deprecated `serviceAccount`); None: not written, the `default` one
    service_account: Ref | None = None
    containers: list[Container] = field(default_factory=list)  # the pod's `containers` (not init containers)


@dataclass(slots=True, eq=False)
class WorkloadEntry(Resource):
    """A WorkloadEntry: one endpoint (a VM, a host) of the ServiceEntries whose workloadSelector picks it."""

    address: str | None = None  # `spec.address`, as written
    # the labels Istio gives the endpoint: `spec.labels` merged with `metadata.labels` (those win)
    endpoint_labels: dict[str, str] = field(default_factory=dict)
    labels_complete: bool = True  # both are absent or mappings of scalars (else some are not known)


@dataclass(slots=True, eq=False)
class WorkloadGroup(Resource):
    """A WorkloadGroup: the template of the WorkloadEntries its VMs register."""

    service_account: Ref | None = None  # `spec.template.serviceAccount`: the identity its VMs run as
    entry_labels: dict[str, str] = field(default_factory=dict)  # `spec.metadata.labels`, given to those entries
    entry_labels_span: Span | None = None  # that mapping; None when not written
    entry_labels_complete: bool = True  # absent, or a mapping of scalars (else some are not known)


@dataclass(slots=True, eq=False)
class Scaler(Resource):
    """A HorizontalPodAutoscaler or a KEDA ScaledObject: it sets the replicas of the workload it targets."""

    target_kind: str | None = None  # `scaleTargetRef.kind`
    target_name: str | None = None  # `scaleTargetRef.name`


@dataclass(slots=True)
class ContainerPort:
    name: str | None
    number: int | None


@dataclass(slots=True)
class Container:
    """A container of a pod, with its environment variables and where a new one can be written."""

    name: str | None
    span: Span  # the container's `name` value, else the container item
    env: dict[str, str | None] = field(default_factory=dict)  # `env[].name` → `value` as written (None: `valueFrom`)
    env_span: Span | None = None  # the `env` key
    # where a new variable goes: after this position, as a line indented by `env_indent`; None: no safe place (the
    # container or its `env` written in flow style, or ending in a block scalar)
    env_after: tuple[int, int] | None = field(default=None, metadata=LINE_CHAR)
    env_indent: int = 0  # the column of the new item's `-` (of the container's keys when `env` must be added)
    env_key: bool = False  # there is no `env` list: the new variable needs the `env:` key written first


@dataclass(slots=True)
class RuleValue:
    """A value of a list field of an AuthorizationPolicy rule's `from[].source` or `to[].operation`."""

    # the field: `principals`, `notPrincipals`, `serviceAccounts`, `notServiceAccounts`, `namespaces`,
    # `notNamespaces`, `hosts` or `notHosts`
    key: str
    value: Ref


@dataclass(slots=True)
class PolicyTargetRef:
    """A `targetRef` or `targetRefs[]` item of a policy: the Gateway, GatewayClass, Service or ServiceEntry
    it attaches to instead of selecting pods."""

    group: str  # as written; "" when not written (the core group)
    kind: str
    name: Ref | None
    namespace: str | None  # `namespace`, as written (None: the policy's own)
    span: Span  # the item


@dataclass(slots=True)
class JwtKeySource:
    """A RequestAuthentication `jwtRules[]` item without inline `jwks`: its keys are fetched from `jwksUri`, else
    from the URI its issuer's OpenID discovery document names."""

    jwks_uri: Ref | None
    issuer: Ref | None


@dataclass(slots=True, eq=False)
class SelectorPolicy(Resource):
    """Sidecar, AuthorizationPolicy, PeerAuthentication, RequestAuthentication, Telemetry, WasmPlugin."""

    selector: dict[str, str] | None = None
    selector_span: Span | None = None
    selector_flow: bool = False  # the labels written as `{k: v}`
    selector_entry: Span | None = None  # the `selector:` (a Sidecar's `workloadSelector:`) key and its value
    # `targetRef`/`targetRefs` name what it applies to (a Gateway, a waypoint, a Service) instead of pods
    targeted: bool = False
    egress_hosts: list[Ref] = field(default_factory=list)  # a Sidecar's `egress[].hosts`, `ns/dnsName`
    mtls_mode: str | None = None  # a PeerAuthentication's `mtls.mode`, as written
    mtls_span: Span | None = None  # that value
    port_mtls_modes: list[str] = field(default_factory=list)  # its `portLevelMtls` modes, as written
    action: str | None = None  # an AuthorizationPolicy's `action`, as written
    # the parts of an AuthorizationPolicy's rules that read the caller's mTLS identity: a `from.source` key
    # (`principals`, `notPrincipals`, `namespaces`, `notNamespaces`) or a `when` key (`source.principal`,
    # `source.namespace`, `connection.sni`), with where it is written
    peer_identity: list[Ref] = field(default_factory=list)
    # an AuthorizationPolicy's rule values that name callers or hosts: `from[].source` principals, service accounts
    # and namespaces (and their `not` forms), `to[].operation` hosts and notHosts
    rule_values: list[RuleValue] = field(default_factory=list)
    # a RequestAuthentication's `jwtRules[]` without inline `jwks`: their keys are fetched (by istiod by default)
    key_sources: list[JwtKeySource] = field(default_factory=list)
    providers: list[ProviderUse] = field(default_factory=list)  # a Telemetry's, a CUSTOM AuthorizationPolicy's
    target_refs: list[PolicyTargetRef] = field(default_factory=list)  # `targetRef` and `targetRefs[]`
    # an AuthorizationPolicy's rule fields that need the HTTP request (ztunnel cannot read them): `to.operation`
    # hosts, methods, paths (and `not` forms), `from.source` requestPrincipals and remoteIpBlocks (and `not`
    # forms), `when` keys other than the L4 ones; each with the span of its key (a `when` item: of its value)
    l7_attributes: list[Ref] = field(default_factory=list)


@dataclass(slots=True)
class ProviderUse:
    """A provider a Telemetry names (`tracing[]`, `metrics[]`, `accessLogging[]`), or the `provider` of an
    AuthorizationPolicy with `action: CUSTOM`."""

    signal: str  # "tracing", "metrics", "accessLogging" or "authorization"
    name: Ref | None  # None: the entry names no provider, so the mesh's default providers apply
    span: Span  # the provider's name, else the entry
    disabled: bool = False  # the entry sets `disabled: true`
    first_key: Span | None = None  # an entry without providers written in block style: its first key


@dataclass(slots=True, eq=False)
class MeshConfigSource(Resource):
    """Mesh configuration the workspace holds: `data.mesh` of Istio's `istio` (or `istio-<revision>`)
    ConfigMap, or an IstioOperator's `spec.meshConfig`."""

    # `extensionProviders[]`: name → the kind of provider (`zipkin`, `lightstep`, `envoyFileAccessLog`, …)
    extension_providers: dict[str, str] = field(default_factory=dict)
    # `defaultProviders`: signal (`tracing`, `metrics`, `accessLogging`) → provider names, as written
    default_providers: dict[str, list[str]] = field(default_factory=dict)
    readable: bool = True  # False: the mesh text is not YAML a tool leaves alone (a template, a syntax error)


@dataclass(slots=True)
class EnvoyPatch:
    """One `spec.configPatches[]` item of an EnvoyFilter, as written (None: missing, null or not a scalar)."""

    index: int
    span: Span  # the patch item
    apply_to: str | None
    operation: Ref | None  # `patch.operation`
    # the object the match selects: `subFilter.name`, else `filter.name`, else `listenerFilter` (listener
    # matches), else the route's, else the virtual host's name (route configuration matches), else `cluster.name`
    anchor: str | None = None
    subject: str | None = None  # what it is about: `patch.value.name`, else the anchor
    proxy_version: Ref | None = None  # `match.proxy.proxyVersion`
    listener_match: bool = False  # `match.listener` is written
    vhost_match: bool = False  # `match.routeConfiguration.vhost` is written
    route_match: bool = False  # `…vhost.route` selects routes (by `name`, or an `action` other than ANY)


@dataclass(slots=True, eq=False)
class EnvoyFilter(Resource):
    priority: int | None = 0  # `spec.priority`: 0 when not written, None when written but not an integer
    priority_span: Span | None = None  # its value, when written
    selector: dict[str, str] | None = None  # `workloadSelector.labels`; None: no workloadSelector
    targeted: bool = False  # `targetRefs` name what it applies to (a Gateway, a GatewayClass, a Service)
    target_refs: list[PolicyTargetRef] = field(default_factory=list)  # those `targetRefs[]`
    patches: list[EnvoyPatch] = field(default_factory=list)
    # where a `priority` key can go: before the first key of a block-style `spec`; None: no safe place
    spec_first_key: tuple[int, int] | None = field(default=None, metadata=LINE_CHAR)
