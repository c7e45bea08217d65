"""Go to definition: from a reference to what it resolves to, resolved as the checks resolve it.

- a destination or mirror `host` → the Services and ServiceEntries behind it (hidden
  ones when nothing visible provides it; the VirtualServices that declare it when no
  service does);
- a destination `subset` → the subset in the DestinationRules that apply to the route;
- a destination `port.number` → the Service's port;
- a `gateways` entry → the Gateway; `delegate` → the delegate VirtualService;
- a VirtualService or DestinationRule `host` → the Service or ServiceEntry;
- selector, workloadSelector and subset labels → the workloads they select (a policy in
  the root namespace and a Gateway: in every namespace);
- a DestinationRule's `tls.mode` → the PeerAuthentications that decide what the pods it
  sends to accept;
- the Gateway API: a parentRef → the Gateway, ListenerSet or Service, its `sectionName` (or
  `port`) → that listener; a backendRef → the Service or ServiceEntry, its `port` → the
  Service's port (see `gateway_api.py`);
- a declaration (a resource name, a subset name, a ServiceEntry host, a Gateway server's
  host, a workload's pod labels, a PeerAuthentication's mode) → itself, which editors
  turn into "find references".
"""

from __future__ import annotations

from lsprotocol import types

from istio_lsp.features import gateway_api
from istio_lsp.features.locate import (
    DELEGATE,
    DESTINATION_HOST,
    DESTINATION_PORT,
    DESTINATION_SUBSET,
    DESTINATIONRULE_HOST,
    GATEWAY_HOST,
    GATEWAY_REF,
    MTLS_MODE,
    RESOURCE_NAME,
    SELECTOR,
    SERVICEENTRY_HOST,
    SUBSET_LABELS,
    SUBSET_NAME,
    TLS_MODE,
    VIRTUALSERVICE_HOST,
    WORKLOAD_LABELS,
    Convert,
    Located,
    Site,
    UriOf,
    host_ref_sites,
    locate,
    same_uri,
    unique_sites,
    workload_site,
)
from istio_lsp.features.mtls import decisions, server_side
from istio_lsp.features.selection import selection
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import (
    HostResolution,
    delegate_targets,
    gateways_named,
    resolve_host,
    route_rules,
    services_for_rule,
    subset_workloads,
)
from istio_lsp.model.hosts import host_candidates, host_matches
from istio_lsp.model.resources import (
    DestinationRule,
    Resource,
    Service,
    ServiceEntry,
    Subset,
    VirtualService,
    Workload,
)


def definition(
    index: WorkspaceIndex, uri: str, line: int, character: int, convert: Convert, uri_of: UriOf = same_uri
) -> list[types.Location]:
    """Locations of what the reference at a position resolves to; empty when nothing is there."""
    located = locate(index, uri, line, character)
    if located is None:
        return []
    return [site.location(convert, uri_of) for site in definition_sites(index, located)]


def definition_sites(index: WorkspaceIndex, located: Located) -> list[Site]:
    r = located.resource
    what = located.what
    found = gateway_api.definition_sites(index, located)
    if found is not None:
        return found
    if what in (DESTINATION_HOST, VIRTUALSERVICE_HOST) and isinstance(r, VirtualService) and located.ref:
        resolution = resolve_host(index, located.ref.value, r)
        sites = host_providers(resolution)
        if not sites and what == DESTINATION_HOST:
            sites = declaring_sites(index, resolution)
        return unique_sites(sites)
    if what == DESTINATION_SUBSET and located.destination is not None and located.ref:
        assert isinstance(r, VirtualService)
        return unique_sites(subset_sites(route_rules(index, r, located.destination.host.value), located.ref.value))
    if what == DESTINATION_PORT and located.destination is not None and isinstance(r, VirtualService):
        return unique_sites(_port_sites(index, r, located))
    if what == GATEWAY_REF and located.ref is not None:
        return unique_sites(Site(g.uri, g.name_span, g) for g in gateways_named(index, located.ref.value, r.namespace))
    if what == DELEGATE and located.delegate is not None and isinstance(r, VirtualService):
        delegate = located.delegate
        if delegate.name is None:
            return []
        namespace = delegate.namespace.value if delegate.namespace else None
        targets = delegate_targets(index, r, delegate.name.value, namespace)
        return unique_sites(Site(vs.uri, vs.name_span, vs) for vs in targets)
    if what == DESTINATIONRULE_HOST and isinstance(r, DestinationRule) and r.host is not None:
        return unique_sites(rule_host_sites(index, r))
    if what == SUBSET_LABELS and located.subset is not None and isinstance(r, DestinationRule):
        return unique_sites(workload_site(w) for w in subset_workloads(index, r, located.subset.labels))
    if what == SELECTOR:
        picked = selection(index, r)
        return unique_sites(workload_site(w) for w in picked.workloads) if picked else []
    if what == TLS_MODE and located.tls is not None and isinstance(r, DestinationRule):
        side = server_side(index, r, located.tls)
        policies = [p for d in decisions(side) for p in ([d.policy] if d.policy else d.rivals)] if side else []
        return unique_sites(Site(p.uri, p.mtls_span or p.name_span, p) for p in policies)
    if what in (SUBSET_NAME, SERVICEENTRY_HOST, RESOURCE_NAME, WORKLOAD_LABELS, GATEWAY_HOST, MTLS_MODE):
        return [located.site()]
    return []


# ---- resolution, shared with references and hover --------------------------------


def host_providers(resolution: HostResolution) -> list[Site]:
    """Where the services behind a resolved host are declared: visible ones, else hidden ones."""
    sites = _provider_sites([*resolution.services, *resolution.backed_entries, *resolution.hollow_entries], resolution)
    return sites or _provider_sites(resolution.hidden, resolution)


def declaring_sites(index: WorkspaceIndex, resolution: HostResolution) -> list[Site]:
    """The `hosts` entries of the VirtualServices that declare a host."""
    domain = index.settings.cluster_domain
    return [s for vs in resolution.declaring for s in host_ref_sites(vs, vs.hosts, resolution.candidates, domain)]


def _provider_sites(providers: list[Resource], resolution: HostResolution) -> list[Site]:
    sites: list[Site] = []
    for provider in providers:
        if isinstance(provider, Service):
            sites.append(Site(provider.uri, provider.name_span, provider))
        elif isinstance(provider, ServiceEntry):
            sites.extend(_entry_host_sites(provider, resolution.candidates))
    return sites


def _entry_host_sites(entry: ServiceEntry, candidates: list[str]) -> list[Site]:
    """The ServiceEntry's hosts that cover one of the candidates (its name when none does)."""
    found = [
        Site(entry.uri, ref.span, entry, ref)
        for ref in entry.hosts
        if any(host_matches(ref.value.strip().lower(), c) for c in candidates)
    ]
    return found or [Site(entry.uri, entry.name_span, entry)]


def subset_sites(rules: list[DestinationRule], name: str) -> list[Site]:
    """The declarations of subset `name` in some DestinationRules."""
    return [
        Site(rule.uri, subset.name.span, rule, subset.name)
        for rule in rules
        for subset in rule.subsets
        if subset.name.value == name
    ]


def subsets_named(rules: list[DestinationRule], name: str) -> list[tuple[DestinationRule, Subset]]:
    """(rule, subset) for each DestinationRule that defines subset `name`: what hover shows."""
    return [(rule, s) for rule in rules for s in rule.subsets if s.name.value == name]


def subset_details(index: WorkspaceIndex, located: Located) -> list[tuple[DestinationRule, Subset, list[Workload]]]:
    """For a route's `subset` or a subset's `name`: each defining DestinationRule, the subset, and the
    workloads its labels select (what hover shows: `version: v1`, Deployment `cart-v1`)."""
    r = located.resource
    if located.what == DESTINATION_SUBSET and isinstance(r, VirtualService) and located.destination and located.ref:
        rules = route_rules(index, r, located.destination.host.value)
        pairs = subsets_named(rules, located.ref.value)
    elif located.what in (SUBSET_NAME, SUBSET_LABELS) and isinstance(r, DestinationRule) and located.subset:
        pairs = [(r, located.subset)]
    else:
        return []
    return [(rule, subset, subset_workloads(index, rule, subset.labels)) for rule, subset in pairs]


def rule_host_sites(index: WorkspaceIndex, rule: DestinationRule) -> list[Site]:
    """The Services and ServiceEntries a DestinationRule's host names."""
    assert rule.host is not None
    candidates = host_candidates(rule.host.value, rule.namespace, index.settings.cluster_domain)
    sites = [Site(s.uri, s.name_span, s) for s in services_for_rule(index, rule)]
    for entry in index.service_entries_for(candidates):
        sites.extend(_entry_host_sites(entry, candidates))
    return sites


def _port_sites(index: WorkspaceIndex, vs: VirtualService, located: Located) -> list[Site]:
    dest = located.destination
    assert dest is not None
    resolution = resolve_host(index, dest.host.value, vs)
    return [
        Site(service.uri, port.span or service.name_span, service)
        for service in [*resolution.services, *resolution.hidden]
        if isinstance(service, Service)
        for port in service.ports
        if port.port == dest.port
    ]
