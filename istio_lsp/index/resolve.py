"""What a reference resolves to in the workspace, as Istio would resolve it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.hosts import (
    ANY_NAMESPACE,
    cluster_namespace,
    consumer_namespaces,
    gateway_key,
    glob_match,
    host_candidates,
    host_matches,
    namespaces_match,
    visible,
)
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import (
    DestinationRule,
    Resource,
    SelectorPolicy,
    Service,
    ServiceEntry,
    VirtualService,
    Workload,
)
from istio_lsp.syntax import Span

_DNS_RESOLUTIONS = {"DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"}


@dataclass
class HostResolution:
    """Everything the workspace says about one destination host, seen from one VirtualService."""

    written: str
    candidates: list[str]
    consumers: list[str]  # namespaces whose proxies use the route
    services: list[Service] = field(default_factory=list)
    backed_entries: list[ServiceEntry] = field(default_factory=list)  # ServiceEntries with real endpoints
    hollow_entries: list[ServiceEntry] = field(default_factory=list)  # ServiceEntries that register no endpoints
    hidden: list[Resource] = field(default_factory=list)  # providers not exported to some consumer namespace
    declaring: list[VirtualService] = field(default_factory=list)  # VirtualServices with the host in `hosts`
    external: bool = False  # matches the externalHosts setting
    unknown: bool = False  # a placeholder a tool replaces before applying: nothing can be said of it

    @property
    def fqdn(self) -> str:
        return self.candidates[0]

    @property
    def provided(self) -> bool:
        return bool(self.services or self.backed_entries or self.external or self.unknown)


def resolve_host(index: WorkspaceIndex, written: str, vs: VirtualService) -> HostResolution:
    """What a destination host written in a VirtualService resolves to (shared: do not modify it)."""
    external_hosts = index.settings_for(vs.uri).external_hosts  # the VirtualService's folder's settings
    key = ("resolve_host", written, vs.namespace, tuple(vs.export_to), external_hosts)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = _resolve_host(index, written, vs, external_hosts)
    return found


def stand_in_referrer(namespace: str, like: Resource | None = None) -> VirtualService:
    """A VirtualService standing for another referrer of a host in `namespace` (a Gateway API route, a sidecar
    that sends a request with no VirtualService for it), in `like`'s file and place when given: what
    `resolve_host` reads of the VirtualService that refers."""
    return VirtualService(
        kind="VirtualService",
        api_version="",
        name=like.name if like is not None else "",
        namespace=namespace,
        uri=like.uri if like is not None else "",
        doc_index=like.doc_index if like is not None else 0,
        span=like.span if like is not None else Span(0, 0, 0, 0),
        name_span=like.name_span if like is not None else Span(0, 0, 0, 0),
    )


def _resolve_host(
    index: WorkspaceIndex, written: str, vs: VirtualService, external_hosts: tuple[str, ...]
) -> HostResolution:
    settings = index.settings
    candidates = host_candidates(written, vs.namespace, settings.cluster_domain)
    consumers = consumer_namespaces(vs.export_to, vs.namespace) or [vs.namespace]
    result = HostResolution(written, candidates, consumers)
    result.external = glob_match(external_hosts, candidates[0]) or glob_match(external_hosts, written)
    if is_placeholder(written):
        result.unknown = True
        return result
    for service in nearest(index, index.services_for(candidates), vs):
        if all(visible(service.export_to, service.namespace, ns) for ns in consumers):
            result.services.append(service)
        else:
            result.hidden.append(service)
    exact = {id(e) for c in candidates for e in index.service_entries_exactly(c)}
    for entry in index.service_entries_for(candidates):
        if not all(visible(entry.export_to, entry.namespace, ns) for ns in consumers):
            if id(entry) in exact:  # a hidden wildcard entry (`*` exported to `.`) says nothing about this host
                result.hidden.append(entry)
        elif has_endpoints(entry, candidates[0], settings.cluster_domain):
            result.backed_entries.append(entry)
        else:
            result.hollow_entries.append(entry)
    result.declaring = index.virtual_services_declaring(candidates)
    return result


def rule_consumers(rule: DestinationRule) -> list[str]:
    """Namespaces whose proxies a DestinationRule applies in: [ANY_NAMESPACE] when it is exported
    everywhere (the default), else the namespaces its exportTo names (`.` is its own)."""
    entries = [e.strip() for e in rule.export_to if e.strip()]
    if not entries or "*" in entries:
        return [ANY_NAMESPACE]
    named = list(dict.fromkeys(rule.namespace if e == "." else e for e in entries if e != "~"))
    return named or [rule.namespace]


def resolve_rule_host(index: WorkspaceIndex, written: str, rule: DestinationRule) -> HostResolution:
    """What the (non-wildcard) host of a DestinationRule resolves to.

    Unlike a route, a DestinationRule needs its host seen in only one of the namespaces it
    applies in: a provider goes to `hidden` only when none of them sees it. A ServiceEntry
    without endpoints still registers the host (`hollow_entries`), which is all a policy needs."""
    external_hosts = index.settings_for(rule.uri).external_hosts
    # `nearest` reads the rule's folder when namespaces cannot tell
    key = (
        "resolve_rule_host",
        written,
        rule.namespace,
        tuple(rule.export_to),
        external_hosts,
        index.folder_of(rule.uri),
    )
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = _resolve_rule_host(index, written, rule, external_hosts)
    return found


def _resolve_rule_host(
    index: WorkspaceIndex, written: str, rule: DestinationRule, external_hosts: tuple[str, ...]
) -> HostResolution:
    domain = index.settings.cluster_domain
    candidates = host_candidates(written, rule.namespace, domain)
    consumers = rule_consumers(rule)
    result = HostResolution(written, candidates, consumers)
    result.external = glob_match(external_hosts, candidates[0]) or glob_match(external_hosts, written)
    if is_placeholder(written):
        result.unknown = True
        return result

    def seen(export_to: list[str], owner: str) -> bool:
        return any(visible(export_to, owner, ns) for ns in consumers)

    for service in nearest(index, index.services_for(candidates), rule):
        (result.services if seen(service.export_to, service.namespace) else result.hidden).append(service)
    exact = {id(e) for c in candidates for e in index.service_entries_exactly(c)}
    for entry in index.service_entries_for(candidates):
        if not seen(entry.export_to, entry.namespace):
            if id(entry) in exact:  # a hidden wildcard entry says nothing about this host
                result.hidden.append(entry)
        elif has_endpoints(entry, candidates[0], domain):
            result.backed_entries.append(entry)
        else:
            result.hollow_entries.append(entry)
    result.declaring = index.virtual_services_declaring(candidates)
    return result


def mesh_wide(pattern: str, domain: str) -> bool:
    """Whether a wildcard host covers every Service of the cluster (`*`, `*.local`, `*.svc.<domain>`)."""
    return pattern == "*" or (pattern.startswith("*.") and f".svc.{domain}".endswith(pattern[1:]))


def wildcard_rule_targets(index: WorkspaceIndex, pattern: str) -> list[Resource]:
    """What a wildcard DestinationRule host (`*.example.com`, `*.shop.svc.<domain>`) can apply to:
    Services and ServiceEntries with a host it covers, and ServiceEntries whose wildcard covers it.

    A Service of unknown namespace may be in any namespace, so it meets every namespace wildcard.
    Visibility is not weighed: a wildcard policy is rarely meant for one namespace's view."""
    key = ("wildcard_rule_targets", pattern)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = _wildcard_rule_targets(index, pattern)
    return found


def _wildcard_rule_targets(index: WorkspaceIndex, pattern: str) -> list[Resource]:
    domain = index.settings.cluster_domain
    namespace = cluster_namespace(pattern, domain)
    found: list[Resource] = []
    for fqdn in list(index.services.keys()):
        if host_matches(pattern, fqdn) or (namespace and cluster_namespace(fqdn, domain) == ANY_NAMESPACE):
            found.extend(index.services.get(fqdn))
    if namespace:  # workloads show the namespace has Services, even when their manifests are elsewhere
        found.extend(index.workloads_in(namespace))
    table = index.service_entries
    for host in list(table.keys()):
        if host_matches(pattern, host) or (host.startswith("*.") and host_matches(host, pattern)):
            found.extend(table.get(host))
    return _unique_by_id(found)


def has_endpoints(entry: ServiceEntry, host: str, domain: str) -> bool:
    """Whether a ServiceEntry gives Envoy somewhere to send traffic for `host`.

    Explicit endpoints or a workload selector always do. Without them, STATIC has
    nothing, and NONE only forwards to the address the client already had. DNS
    resolves the host name itself: that works for a real external name, but a name
    inside the cluster domain that no Service backs resolves to nothing. Those are the
    ServiceEntries teams add to silence a missing host.
    """
    if entry.endpoint_count or entry.has_workload_selector:
        return True
    if entry.resolution in _DNS_RESOLUTIONS:
        return not (host.endswith(f".svc.{domain}") or "." not in host)
    return False


def routes_to_own_host(vs: VirtualService, candidates: list[str], domain: str) -> bool:
    """Whether a VirtualService that declares a host also routes traffic to that host (a real service)."""
    wanted = set(candidates)
    for dest in vs.destinations:
        if dest.role == "route" and wanted & set(host_candidates(dest.host.value, vs.namespace, domain)):
            return True
    return False


def only_virtual(index: WorkspaceIndex, resolution: HostResolution) -> bool:
    """True when the host exists only as a VirtualService host: a routing rule, not something to call.

    Needs positive evidence, because the backing Service may live in another repository:
    a ServiceEntry that registers the host without endpoints (added to silence
    `istioctl analyze`), or VirtualServices that declare the host but never route to it
    (they answer with directResponse, redirect, delegate, or send traffic elsewhere).
    """
    if resolution.provided or resolution.hidden or not resolution.declaring:
        return False
    if resolution.hollow_entries:
        return True
    domain = index.settings.cluster_domain
    return not any(routes_to_own_host(vs, resolution.candidates, domain) for vs in resolution.declaring)


@dataclass
class RuleLookup:
    """The DestinationRules that would apply to a route's host, and those that exist but are not visible."""

    visible: list[DestinationRule]
    hidden: list[DestinationRule]


def destination_rules_for_route(index: WorkspaceIndex, candidates: list[str], consumers: list[str]) -> RuleLookup:
    visible_rules: list[DestinationRule] = []
    hidden: list[DestinationRule] = []
    for rule in index.destination_rules_for(candidates):
        if all(visible(rule.export_to, rule.namespace, ns) for ns in consumers):
            visible_rules.append(rule)
        else:
            hidden.append(rule)
    return RuleLookup(visible_rules, hidden)


def services_for_rule(index: WorkspaceIndex, rule: DestinationRule) -> list[Service]:
    if rule.host is None or is_placeholder(rule.host.value):
        return []
    found = index.services_for(host_candidates(rule.host.value, rule.namespace, index.settings.cluster_domain))
    return nearest(index, found, rule)


def selected_workloads(index: WorkspaceIndex, service: Service) -> list[Workload]:
    """Workloads of the Service's namespace whose pod labels satisfy its selector."""
    if not service.selector:
        return []
    selector = service.selector.items()
    # only the workloads carrying the selector's first label, not the whole namespace
    first_key, first_value = next(iter(selector))
    return [
        w
        for w in index.workloads_labelled(service.namespace, first_key, first_value)
        if all(w.pod_labels.get(k) == v for k, v in selector) and _belongs_to(index, w, service)
    ]


def selecting_services(index: WorkspaceIndex, workload: Workload) -> list[Service]:
    """The Services whose selector picks the workload's pods (those `selected_workloads` gives it to)."""
    return [
        s
        for label in workload.pod_labels.items()
        for s in index.services_labelled(workload.namespace, *label)
        if all(workload.pod_labels.get(k) == v for k, v in s.selector.items())
        and any(w is workload for w in selected_workloads(index, s))
    ]


def _belongs_to(index: WorkspaceIndex, workload: Workload, service: Service) -> bool:
    """Whether the Service is, of the Services of its name that could select the workload, one
    nearest to it: a sample's pods are not evidence about the namesake Service of another sample
    (each belongs to its own). Namespaces decide when both are known."""
    if workload.namespace != ANY_NAMESPACE and service.namespace != ANY_NAMESPACE:
        return True
    rivals = [
        s
        for s in index.named(service.name)
        if isinstance(s, Service) and namespaces_match(s.namespace, workload.namespace)
    ]
    return any(s is service for s in nearest(index, rivals, workload))


R = TypeVar("R", bound=Resource)


def nearest(index: WorkspaceIndex, found: list[R], referrer: Resource) -> list[R]:
    """What a lookup found, without what lies in unrelated trees of the workspace.

    When namespaces cannot tell (the referrer's or a candidate's namespace is not known), two
    samples side by side that both declare `reviews` would be taken for one application. Then
    only the candidates whose files are nearest to the referrer's file count: those sharing the
    longest folder path with it (the same folder, else the same parent, …).
    """
    if len(found) < 2 or (referrer.namespace != ANY_NAMESPACE and all(r.namespace != ANY_NAMESPACE for r in found)):
        return found
    here = index.path_of(referrer.uri).split("/")[:-1]
    shared = [_shared_depth(here, index.path_of(r.uri).split("/")[:-1]) for r in found]
    best = max(shared)
    return [r for r, depth in zip(found, shared, strict=True) if depth == best]


def _shared_depth(a: list[str], b: list[str]) -> int:
    depth = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        depth += 1
    return depth


# Pod labels that say nothing about a version of the code (set by controllers or tooling).
_IGNORED_LABEL_PREFIXES = (
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/",
    "batch.kubernetes.io/",
    "job-name",
    "controller-uid",
)


def distinguishing_labels(workload: Workload, selector: dict[str, str]) -> dict[str, str]:
    """A workload's pod labels beyond the Service selector: what tells it apart from its siblings."""
    return {
        k: v for k, v in workload.pod_labels.items() if k not in selector and not k.startswith(_IGNORED_LABEL_PREFIXES)
    }


def labels_for_subset(index: WorkspaceIndex, services: list[Service], subset: str) -> dict[str, str] | None:
    """Labels that would select the pods of `subset` among the workloads behind the Services, if a label says so.

    `version: v1` is the convention: a label (preferring `version`) whose value on some
    selected workload equals the subset name.
    """
    for service in services:
        workloads = selected_workloads(index, service)
        keys: list[str] = []
        for w in workloads:
            keys.extend(k for k in distinguishing_labels(w, service.selector) if k not in keys)
        keys.sort(key=lambda k: (k != "version", k))
        for key in keys:
            if any(w.pod_labels.get(key) == subset for w in workloads):
                return {key: subset}
    return None


# ---- lookups for navigation (definition, references, lenses) -----------------------

# Keys Istio matches against the node's or the cluster's topology, not against pod labels.
_TOPOLOGY_PREFIXES = ("topology.kubernetes.io/", "topology.istio.io/", "failure-domain.beta.kubernetes.io/")
_TOPOLOGY_KEYS = ("kubernetes.io/hostname",)


def subset_selects(labels: dict[str, str], workload: Workload) -> bool:
    """Whether a subset's labels select a workload's pods (topology labels match nodes, not pods)."""
    return subset_matches_labels(labels, workload.pod_labels)


def subset_matches_labels(labels: dict[str, str], carried: dict[str, str]) -> bool:
    """Whether a subset's labels are among an endpoint's labels (topology labels are matched against
    nodes and clusters, not the endpoint's own labels: only an empty value never matches)."""
    for key, value in labels.items():
        if key.startswith(_TOPOLOGY_PREFIXES) or key in _TOPOLOGY_KEYS:
            if value == "":
                return False
            continue
        if carried.get(key) != value:
            return False
    return True


def subset_workloads(index: WorkspaceIndex, rule: DestinationRule, labels: dict[str, str]) -> list[Workload]:
    """The workloads behind a DestinationRule's Services whose pods carry a subset's labels."""
    found: list[Workload] = []
    for service in services_for_rule(index, rule):
        found.extend(w for w in selected_workloads(index, service) if subset_selects(labels, w))
    return _unique_by_id(found)


def workloads_matching(index: WorkspaceIndex, labels: dict[str, str], namespace: str | None) -> list[Workload]:
    """Workloads whose pod labels include `labels`: in `namespace`, or in every namespace when None (found
    through the index of one of the labels)."""
    if not labels:
        return []
    key, value = next(iter(labels.items()))
    candidates = index.workloads_labelled(ANY_NAMESPACE if namespace is None else namespace, key, value)
    return [w for w in candidates if all(w.pod_labels.get(k) == v for k, v in labels.items())]


def route_rules(index: WorkspaceIndex, vs: VirtualService, host: str) -> list[DestinationRule]:
    """The DestinationRules that apply to a destination `host` of a VirtualService, as the subset checks see them."""
    resolution = resolve_host(index, host, vs)
    return destination_rules_for_route(index, resolution.candidates, resolution.consumers).visible


def delegate_targets(
    index: WorkspaceIndex, vs: VirtualService, name: str, namespace: str | None
) -> list[VirtualService]:
    """The VirtualServices a `delegate` names (its namespace defaults to the delegating VirtualService's)."""
    ns = namespace or vs.namespace
    return [r for r in index.named(name) if isinstance(r, VirtualService) and namespaces_match(r.namespace, ns)]


def gateways_named(index: WorkspaceIndex, reference: str, namespace: str) -> list[Resource]:
    """The Gateways a VirtualService `gateways` entry binds to: Istio's, or Gateway API Gateways of that name."""
    if reference.strip() == "mesh":
        return []
    gw_ns, gw_name = gateway_key(reference, namespace)
    found: list[Resource] = list(index.gateway(gw_ns, gw_name))
    found.extend(kubernetes_gateways(index, gw_ns, gw_name))
    return found


def kubernetes_gateways(index: WorkspaceIndex, namespace: str, name: str) -> list[Resource]:
    """Gateway API (gateway.networking.k8s.io) Gateways `namespace/name`: Istio binds a VirtualService
    to one of those by name too."""
    return [
        r
        for r in index.named(name)
        if r.kind == "Gateway"
        and r.api_version.startswith("gateway.networking.k8s.io/")
        and namespaces_match(r.namespace, namespace)
    ]


def _unique_by_id(values: list[R]) -> list[R]:
    seen: set[int] = set()
    out: list[R] = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out


# ---- the mTLS mode a server's sidecar accepts (read-only, for hover) ----------------------


@dataclass
class MtlsDecision:
    """The PeerAuthentication mode in force for some pods, and where it comes from.

    `level` is "workload" (a PeerAuthentication whose selector picks the pods), "namespace"
    (the namespace's own, without selector), "mesh" (the root namespace's, without selector)
    or "default" (none: Istio accepts both, PERMISSIVE). When the PeerAuthentications of the
    deciding level disagree, Istio takes the oldest, which files cannot tell: `mode` is "" and
    `rivals` holds them all."""

    mode: str  # STRICT, PERMISSIVE, DISABLE; "" when the deciding level disagrees with itself
    level: str
    policy: SelectorPolicy | None  # the deciding PeerAuthentication (None: the default, or a disagreement)
    rivals: list[SelectorPolicy] = field(default_factory=list)


def peer_authentications(index: WorkspaceIndex, namespace: str) -> list[SelectorPolicy]:
    """The PeerAuthentications placed in a namespace that select pods (not those with a `targetRef`)."""
    key = ("peer_authentications", namespace)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [
            r
            for r in index.of_kind(namespace, "PeerAuthentication")
            if isinstance(r, SelectorPolicy) and r.namespace == namespace and not r.targeted
        ]
    return found


def mtls_mode_of(policy: SelectorPolicy) -> str:
    """A PeerAuthentication's `mtls.mode`, upper-cased; UNSET when it sets none (it inherits)."""
    return (policy.mtls_mode or "UNSET").strip().upper() or "UNSET"


def effective_mtls(index: WorkspaceIndex, namespace: str, pod_labels: dict[str, str] | None) -> MtlsDecision | None:
    """The mTLS mode the sidecars of pods with `pod_labels` in `namespace` accept, as Istio composes
    PeerAuthentications (workload level over namespace level over the root namespace's; UNSET
    inherits from the level above). `pod_labels` None: the namespace's pods in general (workload-level
    PeerAuthentications are then not weighed). None when the namespace is not known.

    Istio ignores PeerAuthentications with a selector in the root namespace."""
    if namespace in (ANY_NAMESPACE, ""):
        return None
    root = index.settings.root_namespace
    levels: list[tuple[str, list[SelectorPolicy]]] = []
    if namespace != root:
        own = peer_authentications(index, namespace)
        if pod_labels is not None:
            picked = [p for p in own if p.selector and all(pod_labels.get(k) == v for k, v in p.selector.items())]
            levels.append(("workload", picked))
        levels.append(("namespace", [p for p in own if not p.selector]))
    levels.append(("mesh", [p for p in peer_authentications(index, root) if not p.selector]))
    for level, policies in levels:
        decided = [p for p in policies if mtls_mode_of(p) != "UNSET"]
        if not decided:
            continue
        if len({mtls_mode_of(p) for p in decided}) > 1:
            return MtlsDecision("", level, None, decided)
        return MtlsDecision(mtls_mode_of(decided[0]), level, decided[0], decided[1:])
    return MtlsDecision("PERMISSIVE", "default", None)
