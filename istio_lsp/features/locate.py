"""What is under a position: the reference or declaration the navigation features act on.

Read from the file's summary in the index (its resources and the spans they keep),
so it works on the last analysed text of an open document and on files never opened.
Hover and the navigation features share it: `locate` says what the cursor is on,
`definition_sites` (in definition.py) what that resolves to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lsprotocol import types

from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates, host_matches
from istio_lsp.model.resources import (
    Delegate,
    Destination,
    DestinationRule,
    Gateway,
    GatewayBackendRef,
    GatewayListener,
    GatewayParentRef,
    GatewayServer,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    Ref,
    Resource,
    SelectorPolicy,
    Service,
    ServiceEntry,
    Subset,
    TlsMode,
    VirtualService,
    Workload,
)
from istio_lsp.syntax import Span

Convert = Callable[[str, Span], types.Range]
UriOf = Callable[[str], str]

# what the cursor is on
DESTINATION_HOST = "destination-host"  # a route or mirror `destination.host`
DESTINATION_SUBSET = "destination-subset"
DESTINATION_PORT = "destination-port"  # `destination.port.number`
GATEWAY_REF = "gateway-ref"  # an entry of a VirtualService's `gateways` or `match[].gateways`
DELEGATE = "delegate"  # an HTTP rule's `delegate.name` or `delegate.namespace`
VIRTUALSERVICE_HOST = "virtualservice-host"  # an entry of a VirtualService's `hosts`
DESTINATIONRULE_HOST = "destinationrule-host"
SUBSET_NAME = "subset-name"  # a DestinationRule subset's `name`
SUBSET_LABELS = "subset-labels"  # a DestinationRule subset's `labels`
SERVICEENTRY_HOST = "serviceentry-host"
SELECTOR = "selector"  # a Service, Gateway or policy selector, a workloadSelector
WORKLOAD_LABELS = "workload-labels"  # a workload's pod template labels
GATEWAY_HOST = "gateway-host"  # an entry of a Gateway server's `hosts`
TLS_MODE = "tls-mode"  # a DestinationRule's `tls.mode` (or a `tls` without one)
MTLS_MODE = "mtls-mode"  # a PeerAuthentication's `mtls.mode`
RESOURCE_NAME = "resource-name"  # `metadata.name`
# the Gateway API (Istio's `networking.istio.io` Gateway is another kind: see GATEWAY_REF)
PARENT_NAME = "parent-name"  # a route's `parentRefs[].name`, a ListenerSet's `parentRef.name`
SECTION_NAME = "section-name"  # their `sectionName`
PARENT_PORT = "parent-port"  # their `port`
BACKEND_NAME = "backend-name"  # a route rule's `backendRefs[].name`
BACKEND_PORT = "backend-port"  # its `port`
LISTENER_NAME = "listener-name"  # a Gateway API Gateway's (or ListenerSet's) `listeners[].name`


def same_uri(uri: str) -> str:
    return uri


@dataclass(frozen=True, eq=False)
class Site:
    """A place in the workspace: a declaration, or a reference to one."""

    uri: str
    span: Span
    resource: Resource
    ref: Ref | None = None  # the scalar at the place, when it is one

    def location(self, convert: Convert, uri_of: UriOf = same_uri) -> types.Location:
        return types.Location(uri_of(self.uri), convert(self.uri, self.span))


@dataclass(frozen=True, eq=False)
class Located:
    """The reference or declaration under a position."""

    what: str  # one of the constants above
    resource: Resource  # the resource that holds it
    span: Span  # the text under the cursor
    ref: Ref | None = None
    destination: Destination | None = None
    subset: Subset | None = None
    delegate: Delegate | None = None
    labels: dict[str, str] = field(default_factory=dict)  # a selector's labels
    scope: str | None = None  # the namespace a selector looks in; None: every namespace
    server: GatewayServer | None = None  # of a GATEWAY_HOST
    tls: TlsMode | None = None  # of a TLS_MODE
    parent: GatewayParentRef | None = None  # of a PARENT_NAME, SECTION_NAME, PARENT_PORT
    backend: GatewayBackendRef | None = None  # of a BACKEND_NAME, BACKEND_PORT
    listener: GatewayListener | None = None  # of a LISTENER_NAME

    @property
    def uri(self) -> str:
        return self.resource.uri

    def site(self) -> Site:
        return Site(self.resource.uri, self.span, self.resource, self.ref)


def resource_at(index: WorkspaceIndex, uri: str, line: int, character: int) -> Resource | None:
    """The resource of a file whose document holds the position."""
    summary = index.files.get(uri)
    if summary is None:
        return None
    for resource in index.resources_in(uri):
        if resource.span.contains(line, character):
            return resource
    return None


def locate(index: WorkspaceIndex, uri: str, line: int, character: int) -> Located | None:
    """What the position (line, UTF-16 character) of a file is on, if navigation knows it."""
    resource = resource_at(index, uri, line, character)
    if resource is None:
        return None
    for found in _candidates(resource, index.settings.root_namespace):
        if found.span.contains(line, character):
            return found
    return None


def _candidates(r: Resource, root: str) -> Iterable[Located]:
    """What a resource holds that navigation knows, most specific first."""
    if isinstance(r, VirtualService):
        for dest in r.destinations:
            yield Located(DESTINATION_HOST, r, dest.host.span, dest.host, destination=dest)
            if dest.subset is not None:
                yield Located(DESTINATION_SUBSET, r, dest.subset.span, dest.subset, destination=dest)
            if dest.port_span is not None:
                yield Located(DESTINATION_PORT, r, dest.port_span, destination=dest)
        for ref in r.gateways:
            yield Located(GATEWAY_REF, r, ref.span, ref)
        for delegate in r.delegates:
            for part in (delegate.name, delegate.namespace):
                if part is not None:
                    yield Located(DELEGATE, r, part.span, part, delegate=delegate)
        for ref in r.hosts:
            yield Located(VIRTUALSERVICE_HOST, r, ref.span, ref)
    elif isinstance(r, DestinationRule):
        if r.host is not None:
            yield Located(DESTINATIONRULE_HOST, r, r.host.span, r.host)
        for subset in r.subsets:
            yield Located(SUBSET_NAME, r, subset.name.span, subset.name, subset=subset)
            if subset.labels_span is not None:
                yield Located(SUBSET_LABELS, r, subset.labels_span, subset=subset, labels=subset.labels)
        if r.workload_selector_span is not None:
            yield _selector(r, r.workload_selector_span, r.workload_selector, r.namespace)
        for tls in r.tls_modes:
            yield Located(TLS_MODE, r, tls.span, tls=tls)
    elif isinstance(r, ServiceEntry):
        for ref in r.hosts:
            yield Located(SERVICEENTRY_HOST, r, ref.span, ref)
        if r.workload_selector_span is not None:
            yield _selector(r, r.workload_selector_span, r.workload_selector, r.namespace)
    elif isinstance(r, Gateway):
        for server in r.servers:
            for ref in server.host_refs:
                yield Located(GATEWAY_HOST, r, ref.span, ref, server=server)
        if r.selector_span is not None:
            # a Gateway's selector picks gateway pods in every namespace
            yield _selector(r, r.selector_span, r.selector, None)
    elif isinstance(r, Service):
        if r.selector_span is not None:
            yield _selector(r, r.selector_span, r.selector, r.namespace)
    elif isinstance(r, KubernetesRoute):
        for parent in r.parents:
            yield from _parent_candidates(r, parent)
        for rule in r.rules:
            for backend in rule.backends:
                if backend.name is not None:
                    yield Located(BACKEND_NAME, r, backend.name.span, backend.name, backend=backend)
                if backend.port_span is not None:
                    yield Located(BACKEND_PORT, r, backend.port_span, backend=backend)
    elif isinstance(r, (KubernetesGateway, ListenerSet)):
        if isinstance(r, ListenerSet) and r.parent is not None:
            yield from _parent_candidates(r, r.parent)
        for listener in r.listeners:
            if listener.name_span is not None:
                name = Ref(listener.name or "", listener.name_span)
                yield Located(LISTENER_NAME, r, listener.name_span, name, listener=listener)
    elif isinstance(r, Workload):
        if r.pod_labels_span is not None:
            yield Located(WORKLOAD_LABELS, r, r.pod_labels_span, labels=r.pod_labels)
    elif isinstance(r, SelectorPolicy):
        if r.kind == "PeerAuthentication" and r.mtls_span is not None:
            yield Located(MTLS_MODE, r, r.mtls_span)
        if r.selector is not None and r.selector_span is not None:
            # a policy in the root namespace picks pods of every namespace
            scope = None if r.namespace in (root, ANY_NAMESPACE) else r.namespace
            yield _selector(r, r.selector_span, r.selector, scope)
    if r.name:
        yield Located(RESOURCE_NAME, r, r.name_span)


def _parent_candidates(r: Resource, parent: GatewayParentRef) -> Iterable[Located]:
    if parent.name is not None:
        yield Located(PARENT_NAME, r, parent.name.span, parent.name, parent=parent)
    if parent.section_name is not None:
        yield Located(SECTION_NAME, r, parent.section_name.span, parent.section_name, parent=parent)
    if parent.port_span is not None:
        yield Located(PARENT_PORT, r, parent.port_span, parent=parent)


def _selector(r: Resource, span: Span, labels: dict[str, str], scope: str | None) -> Located:
    return Located(SELECTOR, r, span, labels=labels, scope=scope)


# ---- shared helpers -------------------------------------------------------------


def host_ref_sites(resource: Resource, refs: Iterable[Ref], patterns: Iterable[str], domain: str) -> list[Site]:
    """The refs of a resource whose host, read in its namespace, matches one of the host patterns."""
    wanted = list(patterns)
    return [
        Site(resource.uri, ref.span, resource, ref)
        for ref in refs
        if host_matches_any(host_candidates(ref.value, resource.namespace, domain), wanted)
    ]


def host_matches_any(candidates: Iterable[str], patterns: Iterable[str]) -> bool:
    """Whether some reading of a host equals a pattern or falls under a wildcard pattern."""
    wanted = list(patterns)
    for candidate in candidates:
        if not candidate or candidate.startswith("*"):
            if candidate in wanted:
                return True
            continue
        if any(host_matches(p, candidate) for p in wanted):
            return True
    return False


def unique_sites(sites: Iterable[Site]) -> list[Site]:
    """Sites in file and text order, each place once."""
    seen: set[tuple[str, Span]] = set()
    out: list[Site] = []
    for site in sorted(sites, key=lambda s: (s.uri, s.span)):
        key = (site.uri, site.span)
        if key not in seen:
            seen.add(key)
            out.append(site)
    return out


def workload_site(workload: Workload) -> Site:
    return Site(workload.uri, workload.name_span, workload)
