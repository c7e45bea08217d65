"""Whether two resources reach one cluster, one namespace, one object: the evidence every check that
joins two resources (conflicts, mTLS, EnvoyFilter order, gateway routes) grades its severity by.

Two resources conflict only when both are applied. A repository often holds alternatives
side by side (tutorial steps, samples, overlays for other clusters), so the workspace is
evidence that two resources are deployed together only when:

- a kustomize build (an overlay, `kubectl apply -k`) deploys both (BUILD), or
- neither is built by kustomize and they are in one file (FILE) or one folder (FOLDER),
  which `kubectl apply -f` applies as one.

Only FILE and BUILD are certain. A folder is often a set of alternatives applied one at a
time (a tutorial's steps, a book chapter's variants), so a conflict that rests on FOLDER alone
is information. Resources built by different overlays, or lying in different folders no build
joins, may never meet: the checks say nothing about them.
"""

from __future__ import annotations

from collections.abc import Iterable

from istio_lsp.findings import Severity
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import Resource, Workload

FILE = "file"
BUILD = "build"
FOLDER = "folder"


def together(index: WorkspaceIndex, a: Resource, b: Resource) -> str | None:
    """How the workspace shows that `a` and `b` are deployed together (FILE, BUILD, FOLDER), or None."""
    builds_a, builds_b = _builds(index, a), _builds(index, b)
    if builds_a is not None or builds_b is not None:
        if builds_a is None or builds_b is None:
            return None  # one is built by kustomize, the other lies beside it unbuilt
        return BUILD if builds_a & builds_b else None
    if a.uri == b.uri:
        return FILE
    if index.folder_of(a.uri) == index.folder_of(b.uri):
        return FOLDER
    return None


def how_sure(default: Severity, evidence: Iterable[str]) -> tuple[Severity, str]:
    """A conflict's severity and what to add to its message, from how the workspace shows that the
    resources involved are deployed together (the strongest evidence counts)."""
    if any(e in (FILE, BUILD) for e in evidence):
        return default, ""
    return Severity.INFORMATION, (
        " (Only if the files of this folder are applied together: no kustomization says so, and a folder may "
        "hold alternatives applied one at a time.)"
    )


def same_object(a: Resource, b: Resource) -> bool:
    """Whether `a` and `b` may be one object: two ways of deploying one document, or two files
    declaring the same kind and name (applying the second replaces the first, they never coexist)."""
    return a is b or (a.kind == b.kind and a.name == b.name and namespaces_match(a.namespace, b.namespace))


def same_namespace(a: Resource, b: Resource) -> bool:
    """Whether two resources deployed together certainly share a namespace: both name the same
    one, or neither names one (they are applied to the same namespace then)."""
    return a.namespace == b.namespace  # ANY_NAMESPACE only equals itself: one known, one not is not certain


def workloads_with(
    index: WorkspaceIndex, labels: dict[str, str], near: Resource, namespace: str | None
) -> list[Workload]:
    """Workloads whose pods carry all `labels`, certainly in `namespace` (None: in any namespace)
    as `near` is deployed: of that namespace, or of unknown namespace and deployed with `near`."""
    if not labels:
        return []
    key, value = next(iter(labels.items()))
    found = []
    for workload in index.workloads_labelled(ANY_NAMESPACE if namespace is None else namespace, key, value):
        if not all(workload.pod_labels.get(k) == v for k, v in labels.items()):
            continue
        if namespace is not None and workload.namespace != namespace:
            continue  # of unknown namespace, where the namespace is known: it may run elsewhere
        if namespace == ANY_NAMESPACE and together(index, near, workload) is None:
            continue
        found.append(workload)
    return found


def _builds(index: WorkspaceIndex, resource: Resource) -> frozenset[str] | None:
    """The builds deploying the variant `resource` is; None when no kustomize build deploys it."""
    for variant in index.variants(resource.uri):
        if variant.placement is not None and any(r is resource for r in variant.resources):
            return frozenset(variant.placement.builds)
    return None
