"""Find references: every place in the workspace that points at a declaration.

From a declaration (a Service, a ServiceEntry or VirtualService host, a
DestinationRule subset, a Gateway, a VirtualService's name) or from a reference to
one (a destination host or subset, a `gateways` entry, a `delegate`). Only files
whose dependency keys say they may point at it are read, and each candidate is
resolved with the same functions the checks use.

Links through labels and modes too: a workload's name or pod labels → the selectors
that pick it (Services, Gateways, policies, Sidecars, Telemetries, workloadSelectors)
and the DestinationRule subsets whose labels pick it; a Gateway server's `hosts`
entry → the `hosts` of the VirtualServices bound to the Gateway that it serves; a
PeerAuthentication's `mtls.mode` → the DestinationRule `tls` settings sending to the
pods it decides for.

The Gateway API: a Gateway (or ListenerSet) → the parentRefs naming it, a listener → the
`sectionName`s naming it (see `gateway_api.py`); never Istio's Gateways' `gateways` entries.
A Service's references include the route backendRefs and mesh parentRefs naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from istio_lsp.features import gateway_api
from istio_lsp.features.definition import definition_sites, subset_sites
from istio_lsp.features.locate import (
    DELEGATE,
    DESTINATION_HOST,
    DESTINATION_SUBSET,
    DESTINATIONRULE_HOST,
    GATEWAY_HOST,
    GATEWAY_REF,
    MTLS_MODE,
    RESOURCE_NAME,
    SERVICEENTRY_HOST,
    SUBSET_NAME,
    VIRTUALSERVICE_HOST,
    WORKLOAD_LABELS,
    Convert,
    Located,
    Site,
    UriOf,
    host_matches_any,
    host_ref_sites,
    locate,
    same_uri,
    unique_sites,
)
from istio_lsp.features.mtls import senders
from istio_lsp.features.selection import picked_by, picking_subsets, selector_of
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import resolve_host, route_rules
from istio_lsp.model.hosts import gateway_key, host_candidates, namespaces_match, service_fqdn
from istio_lsp.model.resources import (
    DestinationRule,
    Gateway,
    KubernetesRoute,
    Ref,
    Resource,
    SelectorPolicy,
    Service,
    VirtualService,
    Workload,
)
from istio_lsp.model.serving import meets, readings, server_entry


def references(
    index: WorkspaceIndex,
    uri: str,
    line: int,
    character: int,
    include_declaration: bool,
    convert: Convert,
    uri_of: UriOf = same_uri,
) -> list[types.Location]:
    located = locate(index, uri, line, character)
    if located is None:
        return []
    found = reference_sites(index, located, include_declaration)
    return [site.location(convert, uri_of) for site in found]


@dataclass
class Subject:
    """What references are searched for, and where it is declared."""

    declarations: list[Site]
    references: list[Site]


def reference_sites(index: WorkspaceIndex, located: Located, include_declaration: bool) -> list[Site]:
    subject = find_subject(index, located)
    if subject is None:
        return []
    sites = list(subject.references)
    if include_declaration:
        sites += subject.declarations
    return unique_sites(sites)


def find_subject(index: WorkspaceIndex, located: Located) -> Subject | None:
    """The declarations of what a position names, and the places that point at them."""
    r = located.resource
    what = located.what
    domain = index.settings.cluster_domain
    owner = gateway_api.owner_of(index, located)
    if owner is not None:
        found = gateway_api.uses(index, *owner)
        return Subject(found.declarations, found.references)
    patterns = gateway_api.service_patterns(index, located)  # a backendRef, a mesh route's parent Service
    if patterns is not None:
        return host_subject(index, patterns)
    if what in (DESTINATION_HOST, VIRTUALSERVICE_HOST, DESTINATIONRULE_HOST, SERVICEENTRY_HOST) and located.ref:
        if isinstance(r, VirtualService) and what == DESTINATION_HOST:
            patterns = resolve_host(index, located.ref.value, r).candidates
        else:
            patterns = host_candidates(located.ref.value, r.namespace, domain)
        return host_subject(index, patterns)
    if what == RESOURCE_NAME and isinstance(r, Service):
        return host_subject(index, [service_fqdn(r.name, r.namespace, domain)])
    if what == SUBSET_NAME and located.subset is not None and isinstance(r, DestinationRule):
        return subset_subject(index, [r], located.subset.name.value)
    if what == DESTINATION_SUBSET and located.destination is not None and located.ref and isinstance(r, VirtualService):
        name = located.ref.value
        rules = [rule for rule in route_rules(index, r, located.destination.host.value) if _defines(rule, name)]
        if rules:
            return subset_subject(index, rules, name)
        # no DestinationRule defines it: the routes that name the same subset of the same host
        fqdn = resolve_host(index, located.destination.host.value, r).fqdn
        return Subject([], _undefined_subset_sites(index, fqdn, name))
    if what == GATEWAY_REF and located.ref is not None:
        if located.ref.value.strip() == "mesh":
            return None
        namespace, name = gateway_key(located.ref.value, r.namespace)
        return gateway_subject(index, namespace, name)
    if what == RESOURCE_NAME and isinstance(r, Gateway):
        return gateway_subject(index, r.namespace, r.name)
    if what == DELEGATE and located.delegate is not None and located.delegate.name is not None:
        assert isinstance(r, VirtualService)
        namespace = located.delegate.namespace.value if located.delegate.namespace else r.namespace
        return delegate_subject(index, namespace, located.delegate.name.value)
    if what == RESOURCE_NAME and isinstance(r, VirtualService):
        return delegate_subject(index, r.namespace, r.name)
    if what in (RESOURCE_NAME, WORKLOAD_LABELS) and isinstance(r, Workload):
        return Subject([Site(r.uri, r.name_span, r)], selector_sites(index, r))
    if what == GATEWAY_HOST and isinstance(r, Gateway) and located.ref is not None:
        return Subject([located.site()], served_hosts(index, r, located.ref.value))
    if what == MTLS_MODE and isinstance(r, SelectorPolicy):
        return Subject([located.site()], [Site(rule.uri, tls.span, rule) for rule, tls, _ in senders(index, r)])
    if what == RESOURCE_NAME:
        return Subject(definition_sites(index, located), [])
    return None


def _defines(rule: DestinationRule, name: str) -> bool:
    return any(s.name.value == name for s in rule.subsets)


# ---- hosts ------------------------------------------------------------------------


def host_subject(index: WorkspaceIndex, patterns: list[str]) -> Subject:
    """A host's declarations (Services, ServiceEntry hosts) and the places that name it:
    destination and mirror hosts, DestinationRule hosts, VirtualService `hosts` entries."""
    domain = index.settings.cluster_domain
    declarations = [Site(s.uri, s.name_span, s) for s in index.services_for(patterns)]
    for entry in index.service_entries_for(patterns):
        declarations.extend(host_ref_sites(entry, entry.hosts, patterns, domain))
    uris = index.readers(f"host:{p}" for p in patterns)
    uris.update(vs.uri for vs in index.virtual_services_declaring(patterns))
    found: list[Site] = []
    for resource in _resources_of(index, uris):
        if isinstance(resource, VirtualService):
            refs = [d.host for d in resource.destinations] + resource.hosts
            found.extend(host_ref_sites(resource, refs, patterns, domain))
        elif isinstance(resource, DestinationRule) and resource.host is not None:
            found.extend(host_ref_sites(resource, [resource.host], patterns, domain))
        elif isinstance(resource, KubernetesRoute):
            found.extend(gateway_api.service_refs(index, resource, patterns))
    return Subject(declarations, found)


# ---- subsets ----------------------------------------------------------------------


def subset_subject(index: WorkspaceIndex, rules: list[DestinationRule], name: str) -> Subject:
    return Subject(subset_sites(rules, name), subset_usages(index, rules, name))


def subset_usages(index: WorkspaceIndex, rules: list[DestinationRule], name: str) -> list[Site]:
    """Destinations (routes and mirrors) that use subset `name` of one of the DestinationRules."""
    domain = index.settings.cluster_domain
    keys = {f"dr:{c}" for rule in rules if rule.host for c in host_candidates(rule.host.value, rule.namespace, domain)}
    wanted = {id(rule) for rule in rules}
    found: list[Site] = []
    for vs in _resources_of(index, index.readers(keys)):
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            if dest.subset is None or dest.subset.value != name:
                continue
            if any(id(rule) in wanted for rule in route_rules(index, vs, dest.host.value)):
                found.append(Site(vs.uri, dest.subset.span, vs, dest.subset))
    return found


def _undefined_subset_sites(index: WorkspaceIndex, fqdn: str, name: str) -> list[Site]:
    found: list[Site] = []
    for vs in _resources_of(index, index.readers([f"host:{fqdn}"])):
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            if dest.subset is None or dest.subset.value != name:
                continue
            if host_matches_any(resolve_host(index, dest.host.value, vs).candidates[:1], [fqdn]):
                found.append(Site(vs.uri, dest.subset.span, vs, dest.subset))
    return found


# ---- gateways and delegates ----------------------------------------------------------


def gateway_subject(index: WorkspaceIndex, namespace: str, name: str) -> Subject:
    declarations = [Site(g.uri, g.name_span, g) for g in index.gateway(namespace, name)]
    found: list[Site] = []
    for vs in _resources_of(index, index.readers([f"gw:{namespace}/{name}"])):
        if isinstance(vs, VirtualService):
            found.extend(
                Site(vs.uri, ref.span, vs, ref)
                for ref in vs.gateways
                if gateway_key(ref.value, vs.namespace) == (namespace, name)
            )
    return Subject(declarations, found)


def delegate_subject(index: WorkspaceIndex, namespace: str, name: str) -> Subject:
    """A VirtualService and the `delegate` entries that name it (no dependency key: every VirtualService)."""
    declarations = [
        Site(r.uri, r.name_span, r)
        for r in index.in_namespace(namespace)
        if isinstance(r, VirtualService) and r.name == name
    ]
    found: list[Site] = []
    for vs in index.resources():
        if not isinstance(vs, VirtualService):
            continue
        for delegate in vs.delegates:
            if delegate.name is None or delegate.name.value != name:
                continue
            if (delegate.namespace.value if delegate.namespace else vs.namespace) == namespace:
                found.append(Site(vs.uri, delegate.name.span, vs, delegate.name))
    return Subject(declarations, found)


# ---- workloads and Gateway servers ------------------------------------------------------


def selector_sites(index: WorkspaceIndex, workload: Workload) -> list[Site]:
    """The selectors that pick a workload's pods, and the subset labels that pick them among a Service's."""
    holders = picked_by(index, workload)
    sites = [Site(h.uri, found[1], h) for h in holders if (found := selector_of(h)) is not None]
    services = [h for h in holders if isinstance(h, Service)]
    for rule, subset in picking_subsets(index, workload, services):
        sites.append(Site(rule.uri, subset.labels_span or subset.name.span, rule))
    return sites


def served_hosts(index: WorkspaceIndex, gateway: Gateway, written: str) -> list[Site]:
    """The `hosts` entries of the VirtualServices bound to a Gateway that a server host entry
    (`host`, `ns/host`, `./host`, `*/host`) admits."""
    domain = index.settings.cluster_domain
    found: list[Site] = []
    for vs in _resources_of(index, index.readers([f"gw:{gateway.namespace}/{gateway.name}"])):
        if not isinstance(vs, VirtualService) or not bound(vs, gateway):
            continue
        admits, host = server_entry(written, gateway.namespace, vs.namespace)
        if not admits:
            continue
        found.extend(_served(vs, vs.hosts, host, domain))
    return found


def bound(vs: VirtualService, gateway: Gateway) -> bool:
    """Whether a VirtualService names a Gateway in its `gateways` (or a match's)."""
    for ref in vs.gateways:
        namespace, name = gateway_key(ref.value, vs.namespace)
        if name == gateway.name and namespaces_match(namespace, gateway.namespace):
            return True
    return False


def _served(vs: VirtualService, hosts: list[Ref], server_host: str, domain: str) -> list[Site]:
    return [
        Site(vs.uri, ref.span, vs, ref)
        for ref in hosts
        if any(meets(server_host, reading) for reading in readings(ref.value, vs.namespace, domain))
    ]


def _resources_of(index: WorkspaceIndex, uris: set[str]) -> list[Resource]:
    return [r for uri in sorted(uris) for r in index.resources_in(uri)]
