"""Which namespaces the workspace knows, shared by the checks that judge a namespace named in a field
(AuthorizationPolicy `namespaces`, `exportTo`, principals), and the Namespace objects whose labels
decide how pods run (sidecar injection, ambient mode).

A namespace the files never mention proves little: system namespaces, those of other repositories and
those a pipeline creates exist without a manifest here. So these helpers give the checks what makes a
finding evidence: the namespaces the files do mention, whether some file's namespace is only known at
deploy time (then any name may be one of them), and the namespace names Istio's patterns accept.
"""

from __future__ import annotations

from dataclasses import dataclass

from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Resource

# Namespaces every cluster has, with or without a manifest.
CLUSTER_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class KnownNamespaces:
    names: frozenset[str]  # declared by a Namespace object, or holding a resource of the files
    declared: frozenset[str]  # declared by a Namespace object
    some_unknown: bool  # some resource's namespace is only set at deploy time

    def knows(self, name: str) -> bool:
        return name in self.names or name in CLUSTER_NAMESPACES


def known_namespaces(index: WorkspaceIndex) -> KnownNamespaces:
    key = "known_namespaces"
    found = index.memo.get(key)
    if found is None:
        names: set[str] = set()
        some_unknown = False
        for namespace in list(index.by_namespace.keys()):
            if not index.by_namespace.get(namespace):
                continue
            if namespace == ANY_NAMESPACE:
                some_unknown = True
            elif namespace:
                names.add(namespace)
        declared = frozenset(r.name for r in index.by_kind.lookup(f"{ANY_NAMESPACE}/Namespace") if r.name)
        found = index.memo[key] = KnownNamespaces(frozenset(names) | declared, declared, some_unknown)
    return found


def pattern_matches(pattern: str, value: str) -> bool:
    """Istio's patterns of AuthorizationPolicy values (namespaces, principals, hosts, paths, …): exact, `*`,
    `prefix*` or `*suffix`."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def namespace_objects(index: WorkspaceIndex, namespace: str, near: Resource) -> list[Resource]:
    """The Namespace objects of that name the files hold (their labels: injection, ambient mode): those
    deployed with `near` if any, else all."""
    if namespace == ANY_NAMESPACE:
        return []
    found = [r for r in index.named(namespace) if r.kind == "Namespace"]
    beside = [r for r in found if index.deployed_together(r.uri, near.uri)]
    return beside or found
