"""Both ends of a connection's TLS: what a DestinationRule's `tls.mode` sends, what the
PeerAuthentications in force where it sends accept, and the other way round.

Read-only, for hover, definition and references. The PeerAuthentication composition is
`effective_mtls` of the index's resolver (the check `plaintext-to-strict-mtls` reasons about the
same PeerAuthentications at namespace level).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from istio_lsp.checks.pods import built_labels
from istio_lsp.features.selection import selection
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import (
    MtlsDecision,
    effective_mtls,
    mesh_wide,
    selected_workloads,
    services_for_rule,
    subset_selects,
)
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, host_candidates
from istio_lsp.model.resources import DestinationRule, SelectorPolicy, TlsMode, Workload

NO_MODE = "DISABLE"  # a `tls` without `mode`: the field's default


@dataclass
class ServerSide:
    """What the pods a DestinationRule sends to accept, as far as the workspace shows."""

    host: str
    namespace: str  # of the host; the root namespace for a mesh-wide host
    mesh: bool = False  # a host covering every service (`*.local`): the mesh-wide mode
    workloads: list[tuple[Workload, MtlsDecision]] = field(default_factory=list)
    namespace_level: MtlsDecision | None = None  # when no workload behind the host is in the workspace


def client_mode(tls: TlsMode) -> str:
    return (tls.mode or NO_MODE).strip().upper()


def server_side(index: WorkspaceIndex, rule: DestinationRule, tls: TlsMode) -> ServerSide | None:
    """The PeerAuthentication modes of the pods behind a DestinationRule's host (the subset's,
    for a subset's `tls`). None when the host is not a service of a known cluster namespace."""
    if rule.host is None:
        return None
    domain = index.settings.cluster_domain
    host = rule.host.value.strip().lower()
    if mesh_wide(host, domain):
        root = index.settings.root_namespace
        return ServerSide(host, root, mesh=True, namespace_level=effective_mtls(index, root, None))
    namespace = next(
        (ns for c in host_candidates(host, rule.namespace, domain) if (ns := cluster_namespace(c, domain))), None
    )
    if namespace is None or namespace == ANY_NAMESPACE:
        return None
    side = ServerSide(host, namespace)
    labels = next((s.labels for s in rule.subsets if s.name.value == tls.subset), None) if tls.subset else None
    if not host.startswith("*"):
        for service in services_for_rule(index, rule):
            for w in selected_workloads(index, service):
                if labels is not None and not subset_selects(labels, w):
                    continue
                decision = effective_mtls(
                    index, namespace if w.namespace == ANY_NAMESPACE else w.namespace, built_labels(index, w)
                )
                if decision is not None and all(w is not seen for seen, _ in side.workloads):
                    side.workloads.append((w, decision))
    if not side.workloads:
        side.namespace_level = effective_mtls(index, namespace, None)
    return side


def decisions(side: ServerSide) -> list[MtlsDecision]:
    found = [d for _, d in side.workloads]
    if side.namespace_level is not None:
        found.append(side.namespace_level)
    return found


def verdict(client: str, server: str) -> str:
    """What happens when a client sidecar sends with DestinationRule mode `client` to a server
    sidecar whose PeerAuthentication mode is `server` ("" when that is not known)."""
    if not server:
        return "the PeerAuthentications in force disagree: Istio uses the oldest, which the files do not show"
    if client == "DISABLE":
        if server == "STRICT":
            return "**plain text to a STRICT sidecar: it resets the connections** (callers see 503)"
        if server == "PERMISSIVE":
            return "accepted as plain text, without the caller's identity (rules on principals or namespaces deny it)"
        return "both sides use plain text"
    if client == "ISTIO_MUTUAL":
        if server == "DISABLE":
            return "**Istio mTLS to a sidecar that expects plain text: the application receives TLS bytes and fails**"
        return "both sides use Istio mTLS"
    if client in ("SIMPLE", "MUTUAL"):
        if server == "STRICT":
            return "**TLS with certificates of its own, where the sidecar requires Istio mTLS: the handshake fails**"
        return "the sidecar passes the TLS through: the application itself must terminate it"
    return "nothing to compare"


# ---- from a PeerAuthentication: who sends to the pods it governs --------------------------------


@dataclass
class Governed:
    """Which pods a PeerAuthentication decides for, and whether it is the one in force."""

    level: str  # "workload", "namespace", "mesh", or "ignored" (a selector in the root namespace)
    namespace: str
    workloads: list[Workload] = field(default_factory=list)  # of a workload-level one
    in_force: MtlsDecision | None = None  # what decides for those pods (for a namespace or mesh level)


def governed(index: WorkspaceIndex, policy: SelectorPolicy) -> Governed:
    root = index.settings.root_namespace
    if policy.selector:
        if policy.namespace == root:
            return Governed("ignored", root)
        picked = selection(index, policy)
        return Governed("workload", policy.namespace, picked.workloads if picked else [])
    if policy.namespace == root:
        return Governed("mesh", root, in_force=effective_mtls(index, root, None))
    return Governed("namespace", policy.namespace, in_force=effective_mtls(index, policy.namespace, None))


def decides(decision: MtlsDecision, policy: SelectorPolicy) -> bool:
    """Whether a PeerAuthentication is (one of) what a decision comes from."""
    return decision.policy is policy or any(p is policy for p in decision.rivals)


def senders(index: WorkspaceIndex, policy: SelectorPolicy) -> list[tuple[DestinationRule, TlsMode, ServerSide]]:
    """The DestinationRule `tls` settings that send to pods whose mode the PeerAuthentication decides.

    Only DestinationRules whose dependency keys read the PeerAuthentications of its namespace are
    looked at (those with a host there, and those setting `tls` when it is the root namespace)."""
    uris = index.dependents([f"pa:{policy.namespace}"])
    found: list[tuple[DestinationRule, TlsMode, ServerSide]] = []
    for uri in sorted(uris):
        for rule in index.resources_in(uri):
            if not isinstance(rule, DestinationRule):
                continue
            for tls in rule.tls_modes:
                side = server_side(index, rule, tls)
                if side is not None and any(decides(d, policy) for d in decisions(side)):
                    found.append((rule, tls, side))
    return found
