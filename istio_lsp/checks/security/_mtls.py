"""What the mTLS checks share: which PeerAuthentication decides the mode of a namespace or of some
pods, which DestinationRules reach every host of a namespace or of the mesh, and how sure a finding
that joins two resources is.

Istio's rules, as these checks read them:

- A PeerAuthentication with a selector decides for the pods it selects; one without, for its
  namespace; one without in the root namespace, for every namespace that has none of its own.
  A mode UNSET (or none) inherits from the level above; with nothing anywhere, pods are PERMISSIVE.
- Client sidecars use the `tls` of the DestinationRule that applies to the host. Without one,
  automatic mTLS (on unless MeshConfig `enableAutoMtls` is false) sends mTLS to pods with a
  sidecar and plain text to the others; with it off, they send plain text.
- A DestinationRule for one host replaces a wildcard one (`*.ns.svc.<domain>`, `*.local`) for that
  host entirely, its `tls` included: the two are not merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from istio_lsp.checks.together import BUILD, FILE, FOLDER, how_sure, together
from istio_lsp.findings import Severity
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import mesh_wide, mtls_mode_of, peer_authentications
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, host_candidates, service_fqdn
from istio_lsp.model.resources import DestinationRule, Resource, SelectorPolicy, Service, TlsMode

MESH_WIDE = ("*", "*.local", "*.cluster.local")
ENABLED = ("STRICT", "PERMISSIVE")  # modes in which a sidecar accepts mTLS


@dataclass(frozen=True, slots=True)
class Reach:
    """The services a DestinationRule's `host` covers."""

    namespace: str | None  # their namespace; None: every namespace
    wildcard: bool  # every service of that namespace (of the mesh), not one


def reach(dr: DestinationRule, domain: str) -> Reach | None:
    """What a DestinationRule's host covers; None: no cluster-local service of a known namespace."""
    if dr.host is None:
        return None
    host = dr.host.value.lower()
    if mesh_wide(host, domain):
        return Reach(None, True)
    namespace = cluster_namespace(host_candidates(host, dr.namespace, domain)[0], domain)
    if namespace is None or namespace == ANY_NAMESPACE:
        return None
    return Reach(namespace, host.startswith("*"))


def own_tls(dr: DestinationRule) -> TlsMode | None:
    """The `tls.mode` of the DestinationRule's own traffic policy (not a port's or a subset's)."""
    return next((t for t in dr.tls_modes if t.port is None and t.subset is None and t.mode), None)


def own_mode(dr: DestinationRule) -> str | None:
    tls = own_tls(dr)
    return tls.mode.upper() if tls is not None else None


def mesh_rules(index: WorkspaceIndex, domain: str) -> list[DestinationRule]:
    """The DestinationRules for every service of the mesh."""
    hosts = dict.fromkeys((*MESH_WIDE, f"*.{domain}", f"*.svc.{domain}"))
    return _unique(dr for host in hosts for dr in index.destination_rules.lookup(host))


def namespace_rules(index: WorkspaceIndex, namespace: str, domain: str) -> list[DestinationRule]:
    """The DestinationRules for every service of a namespace (`*.<ns>.svc.<domain>`)."""
    found = index.destination_rules.lookup(f"*.{namespace}.svc.{domain}")
    return [dr for dr in _unique(found) if reach(dr, domain) == Reach(namespace, True)]


def host_rules(index: WorkspaceIndex, namespace: str, domain: str) -> list[DestinationRule]:
    """The DestinationRules for one service of a namespace, every such service."""
    found = []
    for key in list(index.destination_rules.keys()):
        if not key.startswith("*") and cluster_namespace(key, domain) == namespace:
            found.extend(index.destination_rules.get(key))
    return [dr for dr in _unique(found) if reach(dr, domain) == Reach(namespace, False)]


def service_rules(index: WorkspaceIndex, service: Service, domain: str) -> list[DestinationRule]:
    """The DestinationRules written for one Service's host."""
    fqdn = service_fqdn(service.name, service.namespace, domain)
    return [dr for dr in _unique(index.destination_rules.lookup(fqdn)) if reach(dr, domain) is not None]


# ---- PeerAuthentications ---------------------------------------------------------------------------


def accepts_mtls(policy: SelectorPolicy) -> bool:
    """Whether a PeerAuthentication lets some of its pods' ports accept mTLS."""
    return mtls_mode_of(policy) in ENABLED or any(m.upper() in ENABLED for m in policy.port_mtls_modes)


def namespace_level(policies: Iterable[SelectorPolicy]) -> SelectorPolicy | bool | None:
    """The PeerAuthentication without selector that decides (None: none does; False: several that disagree)."""
    wide = [p for p in policies if not p.selector and mtls_mode_of(p) != "UNSET"]
    if len({mtls_mode_of(p) for p in wide}) > 1:
        return False
    return wide[0] if wide else None


@dataclass(frozen=True, slots=True)
class PeerMode:
    """The mTLS mode some pods' sidecars accept, and what decides it."""

    mode: str  # STRICT, PERMISSIVE or DISABLE (or a value as written that Istio would reject)
    policy: SelectorPolicy | None  # None: no PeerAuthentication, Istio's default (PERMISSIVE)


def mesh_mode(index: WorkspaceIndex, root: str) -> PeerMode | None:
    """The mode the root namespace's PeerAuthentication gives the mesh; None: they disagree."""
    decided = namespace_level(peer_authentications(index, root))
    if decided is False:
        return None
    if isinstance(decided, SelectorPolicy):
        return PeerMode(mtls_mode_of(decided), decided)
    return PeerMode("PERMISSIVE", None)


def namespace_mode(index: WorkspaceIndex, namespace: str, root: str) -> PeerMode | None:
    """The mode of a namespace's pods that no PeerAuthentication selects: the namespace's own, else the
    mesh's. None: not known (PeerAuthentications of one level disagree)."""
    decided = namespace_level(peer_authentications(index, namespace))
    if decided is False:
        return None
    if isinstance(decided, SelectorPolicy):
        return PeerMode(mtls_mode_of(decided), decided)
    return mesh_mode(index, root)


def pods_mode(index: WorkspaceIndex, namespace: str, root: str, selector: dict[str, str] | None) -> PeerMode | None:
    """The mode of the pods of a namespace that carry the labels `selector` (None: every pod of it).

    None when it is not one mode: a PeerAuthentication with a selector that may pick some of those pods
    (and not certainly all) accepts mTLS where the rest does not, or those that pick all disagree."""
    policies = peer_authentications(index, namespace)
    labels = selector or {}
    deciding: list[SelectorPolicy] = []
    for policy in policies:
        if not policy.selector:
            continue
        if selector and _within(policy.selector, labels):
            deciding.append(policy)  # it selects every pod of `selector`
        elif _may_overlap(policy.selector, labels) and accepts_mtls(policy):
            return None  # some of the pods accept mTLS
    modes = {mtls_mode_of(p) for p in deciding} - {"UNSET"}
    if len(modes) > 1 or any(m.upper() in ENABLED for p in deciding for m in p.port_mtls_modes):
        return None  # they disagree, or some ports accept mTLS
    if modes:
        policy = next(p for p in deciding if mtls_mode_of(p) != "UNSET")
        return PeerMode(mtls_mode_of(policy), policy)
    return namespace_mode(index, namespace, root)


def _within(policy_labels: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether every pod carrying `labels` carries `policy_labels`."""
    return all(labels.get(k) == v for k, v in policy_labels.items())


def _may_overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether some pod may carry both label sets (no key with two values)."""
    return all(b.get(k, v) == v for k, v in a.items())


# ---- evidence --------------------------------------------------------------------------------------

SEPARATE = " (The two are deployed separately: this holds where both reach one cluster.)"


def how_certain(index: WorkspaceIndex, a: Resource, b: Resource, default: Severity) -> tuple[Severity, str]:
    """A finding's severity and what to add to its message, from how the workspace shows that `a` and
    `b` are deployed together: one file or one build is certain; one folder or nothing is information."""
    how = together(index, a, b)
    if how in (FILE, BUILD):
        return default, ""
    if how == FOLDER:
        return how_sure(default, (FOLDER,))
    return Severity.INFORMATION, SEPARATE


def _unique(resources: Iterable[DestinationRule]) -> list[DestinationRule]:
    found: dict[int, DestinationRule] = {}
    for resource in resources:
        found.setdefault(id(resource), resource)
    return list(found.values())
