"""The links between label selectors and the workloads they pick, both ways.

Forward: which workloads a Service's, Gateway's or policy's selector picks (Service
`spec.selector`, Gateway `spec.selector`, `spec.selector.matchLabels` of AuthorizationPolicy,
PeerAuthentication, RequestAuthentication and Telemetry, Sidecar `spec.workloadSelector.labels`,
the `workloadSelector` of a ServiceEntry or DestinationRule). Backward: which of those pick a
workload, and which policies govern it.

Matching is the checks' own: a Service through `selected_workloads`/`selecting_services`, every
other selector through the selector checks' helpers (labels a kustomization adds to the pods
count; placeholders and labels set at run time are never matched). The scope is Istio's: a
policy picks pods of its own namespace, one in the root namespace pods of every namespace, a
Gateway gateway pods wherever they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from istio_lsp.checks.pods import RUNTIME_KEYS, built_labels, label_sets, selects, workloads_selected
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import (
    MtlsDecision,
    effective_mtls,
    selected_workloads,
    selecting_services,
    services_for_rule,
    subset_selects,
)
from istio_lsp.model.hosts import ANY_NAMESPACE, service_fqdn
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import (
    DestinationRule,
    Gateway,
    Resource,
    SelectorPolicy,
    Service,
    ServiceEntry,
    Subset,
    Workload,
)
from istio_lsp.syntax import Span

POLICY_KINDS = ("AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Sidecar", "Telemetry")

# why the files cannot tell what a selector picks
PLACEHOLDER = "placeholder"
RUNTIME_LABEL = "runtime-label"
EMPTY = "empty"


@dataclass(frozen=True)
class Selection:
    """What a selector picks among the workspace's workloads."""

    holder: Resource
    selector: dict[str, str]
    scope: str  # the namespace it picks pods in; ANY_NAMESPACE: every namespace
    workloads: list[Workload] = field(default_factory=list)
    unknown: str = ""  # PLACEHOLDER, RUNTIME_LABEL, EMPTY: the workloads are not looked up


def selector_of(resource: Resource) -> tuple[dict[str, str], Span] | None:
    """A resource's workload selector and where it is written, if it has one."""
    if isinstance(resource, (Service, Gateway)) and resource.selector_span is not None:
        return resource.selector, resource.selector_span
    if isinstance(resource, SelectorPolicy) and resource.kind in POLICY_KINDS and not resource.targeted:
        return (resource.selector or {}, resource.selector_span) if resource.selector_span is not None else None
    if isinstance(resource, (ServiceEntry, DestinationRule)) and resource.workload_selector_span is not None:
        return resource.workload_selector, resource.workload_selector_span
    return None


def scope_of(index: WorkspaceIndex, resource: Resource) -> str:
    """The namespace whose pods a resource's selector picks (ANY_NAMESPACE: every namespace).

    A Gateway picks gateway pods of every namespace; a policy in the root namespace (or of a
    namespace not known) picks pods of every namespace, as the selector checks read it."""
    if isinstance(resource, Gateway):
        return ANY_NAMESPACE
    if isinstance(resource, SelectorPolicy) and resource.namespace in (index.settings.root_namespace, ANY_NAMESPACE):
        return ANY_NAMESPACE
    return resource.namespace


def why_unknown(selector: dict[str, str]) -> str:
    """Why the files cannot tell which pods a selector picks ("" when they can)."""
    if not selector:
        return EMPTY
    if any(is_placeholder(k) or is_placeholder(v) for k, v in selector.items()):
        return PLACEHOLDER
    if any(k.startswith(RUNTIME_KEYS) for k in selector):
        return RUNTIME_LABEL
    return ""


def selection(index: WorkspaceIndex, resource: Resource) -> Selection | None:
    """The workloads a resource's selector picks, as the checks match them; None without a selector."""
    found = selector_of(resource)
    if found is None:
        return None
    selector = found[0]
    scope = scope_of(index, resource)
    unknown = why_unknown(selector)
    if unknown:
        return Selection(resource, selector, scope, [], unknown)
    if isinstance(resource, Service):
        return Selection(resource, selector, scope, selected_workloads(index, resource))
    picked = workloads_selected(index, selector, scope)
    if picked is None:  # a kustomization may relabel some workload: those the files show as written
        first = next(iter(selector.items()))
        picked = [w for w in index.workloads_labelled(scope, *first) if selects(selector, w.pod_labels)]
    return Selection(resource, selector, scope, picked)


# ---- backwards: what picks a workload ------------------------------------------------------


def may_pick(index: WorkspaceIndex, selector: dict[str, str], workload: Workload) -> bool:
    """Whether a (judgeable, non-empty) selector picks a workload's pods, as written or once built."""
    if selects(selector, workload.pod_labels):
        return True
    return any(selects(selector, labels) for labels in label_sets(index, workload) or [])


def applies_in(index: WorkspaceIndex, holder: Resource, namespace: str) -> bool:
    """Whether a selector holder picks pods of `namespace` (the inverse of `scope_of`)."""
    scope = scope_of(index, holder)
    return ANY_NAMESPACE in (scope, namespace) or scope == namespace


def _selector_resources_in(index: WorkspaceIndex, namespace: str) -> list[Resource]:
    """The policies (with a selector or not) and workload selectors placed in a namespace (of
    unknown namespace: ANY_NAMESPACE); read once per change of the workspace."""
    key = ("features.selector_resources", namespace)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [r for r in index.in_namespace(namespace) if _is_selector_resource(r)]
    return found


def _is_selector_resource(r: Resource) -> bool:
    if isinstance(r, SelectorPolicy):
        return r.kind in POLICY_KINDS and not r.targeted
    return isinstance(r, (ServiceEntry, DestinationRule)) and r.workload_selector_span is not None


def _all_selector_resources(index: WorkspaceIndex) -> list[Resource]:
    """Every policy and workload selector of the workspace (for workloads whose namespace is not known)."""
    key = ("features.selector_resources", None)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [r for r in index.resources() if _is_selector_resource(r)]
    return found


Table = dict[tuple[str, str], list[Resource]]


def _by_first_label(index: WorkspaceIndex, key: object, holders: Sequence[Resource]) -> Table:
    """Selector holders keyed by their selector's first label (pods they pick carry it), without
    those whose selector the files cannot judge; read once per change of the workspace."""
    memo_key = ("features.holders_by_label", key)
    table: Table | None = index.memo.get(memo_key)
    if table is None:
        table = index.memo[memo_key] = {}
        for holder in holders:
            found = selector_of(holder)
            if found is not None and not why_unknown(found[0]):
                table.setdefault(next(iter(found[0].items())), []).append(holder)
    return table


def _tables(index: WorkspaceIndex, workload: Workload) -> list[Table]:
    """The tables of the Gateways, policies and workload selectors that may pick the workload's pods."""
    ns = workload.namespace
    tables = [_by_first_label(index, ("gateways",), index.all_gateways())]  # not a namespace's name
    if ns == ANY_NAMESPACE:
        tables.append(_by_first_label(index, ("all",), _all_selector_resources(index)))
        return tables
    namespaces = [ns, ANY_NAMESPACE]
    root = index.settings.root_namespace
    if ns != root:
        namespaces.append(root)
    tables += [_by_first_label(index, n, _selector_resources_in(index, n)) for n in namespaces]
    return tables


def picked_by(index: WorkspaceIndex, workload: Workload) -> list[Resource]:
    """The Services, Gateways, policies and workload selectors whose selector picks the workload's pods."""
    holders: list[Resource] = list(selecting_services(index, workload))
    root = index.settings.root_namespace
    sets = [workload.pod_labels, *(label_sets(index, workload) or [])]  # as written, and as built
    carried = {item for labels in sets for item in labels.items()}
    for table in _tables(index, workload):
        for label in carried:
            for holder in table.get(label, ()):
                if holder.kind == "PeerAuthentication" and holder.namespace == root:
                    continue  # Istio ignores a PeerAuthentication with a selector in the root namespace
                found = selector_of(holder)
                if found and applies_in(index, holder, workload.namespace) and may_pick(index, found[0], workload):
                    holders.append(holder)
    return _sorted(_unique(holders))


def picking_subsets(
    index: WorkspaceIndex, workload: Workload, services: list[Service]
) -> list[tuple[DestinationRule, Subset]]:
    """The subsets of the DestinationRules for the Services selecting a workload whose labels pick it."""
    domain = index.settings.cluster_domain
    found: list[tuple[DestinationRule, Subset]] = []
    seen: set[int] = set()
    for service in services:
        for rule in index.destination_rules_for([service_fqdn(service.name, service.namespace, domain)]):
            if id(rule) in seen or not any(s is service for s in services_for_rule(index, rule)):
                continue
            seen.add(id(rule))
            found.extend((rule, subset) for subset in rule.subsets if subset_selects(subset.labels, workload))
    return found


# ---- what governs a workload -----------------------------------------------------------------


@dataclass
class Governance:
    """What applies to a workload's pods, for hover on its name."""

    workload: Workload
    labels: dict[str, str]  # its pod labels as built
    services: list[Service] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    mtls: MtlsDecision | None = None  # None: the namespace is not known
    # kind → (policy, how it applies: "selector", "namespace", "mesh")
    policies: dict[str, list[tuple[SelectorPolicy, str]]] = field(default_factory=dict)
    others: list[Resource] = field(default_factory=list)  # ServiceEntry or DestinationRule workload selectors


def governance(index: WorkspaceIndex, workload: Workload) -> Governance:
    labels = built_labels(index, workload)
    found = Governance(workload, labels, mtls=effective_mtls(index, workload.namespace, labels))
    root = index.settings.root_namespace
    for holder in picked_by(index, workload):
        if isinstance(holder, Service):
            found.services.append(holder)
        elif isinstance(holder, Gateway):
            found.gateways.append(holder)
        elif isinstance(holder, SelectorPolicy):
            found.policies.setdefault(holder.kind, []).append((holder, "selector"))
        else:
            found.others.append(holder)
    # the policies without selector: of the workload's namespace, and of the root namespace (mesh-wide)
    for namespace, how in ((workload.namespace, "namespace"), (root, "mesh")):
        if namespace == ANY_NAMESPACE or (how == "namespace" and namespace == root):
            continue
        for r in _selector_resources_in(index, namespace):
            if isinstance(r, SelectorPolicy) and not r.selector:
                found.policies.setdefault(r.kind, []).append((r, how))
    return found


def _unique(values: list[Resource]) -> list[Resource]:
    seen: set[int] = set()
    out: list[Resource] = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out


def _sorted(values: list[Resource]) -> list[Resource]:
    """Services first, then by file and position (the order of the labels looked up says nothing)."""
    return sorted(values, key=lambda r: (not isinstance(r, Service), r.uri, r.span.start_line))
