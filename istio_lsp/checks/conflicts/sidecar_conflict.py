"""sidecar-conflict: several Sidecars for the same workloads of one namespace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeGuard

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.conflicts._together import how_sure, same_object, together, workloads_with
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Resource, SelectorPolicy, Workload

DOC = """\
Two Sidecars in one namespace apply to the same workloads: both have no
`workloadSelector` (each is the namespace's default), or their selectors pick the same
pods.

## Why it matters

A proxy takes its configuration from one Sidecar only: the one whose selector matches
it, else the namespace's Sidecar without selector, else the root namespace's. When two
qualify, istiod uses the oldest and ignores the other entirely (its egress hosts,
ingress listeners, outbound traffic policy), so which one applies depends on the
order they were created.

## How sure it is

| situation (Sidecars in one file, or deployed by one kustomize build) | severity |
|---|---|
| both without `workloadSelector`, in one namespace | error |
| the same `workloadSelector`, in one namespace | error |
| different selectors, both matching the pods of a workload of the workspace in that namespace | error |
| different selectors, and no workload of the workspace matches both | not reported |
| any of the above in one folder, neither built by kustomize (a folder may hold alternatives) | information |
| not deployed together: different folders no build joins, or builds (overlays) of their own | not reported |
| one namespace known and the other not (they may be in different namespaces) | not reported |
| the same name in namespaces that may be one (one object, applied twice) | not reported |

Two Sidecars whose namespace is not written are taken to be in the same namespace
only when they are deployed together (the same file, folder or kustomize build): they
are applied with the same `-n` then.

## Wrong

```yaml
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
---
kind: Sidecar
metadata: {name: restrict-egress, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
```

## Right

One Sidecar without selector per namespace (put both settings in it), and Sidecars
with selectors that pick disjoint sets of pods.

## Fixes

None: which Sidecar should apply is for you to decide.

Related: `istioctl analyze` IST0110 ConflictingSidecarWorkloadSelectors, IST0111
MultipleSidecarsWithoutWorkloadSelectors; Kiali KIA0002, KIA0003.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for sidecar in summary.resources:
        if not _is_sidecar(sidecar) or not _selector_known(sidecar):
            continue
        mine = sidecar.selector or {}
        clashes: list[tuple[SelectorPolicy, list[Workload]]] = []
        evidence: dict[int, str] = {}
        for other, how in _neighbours(index, sidecar):
            evidence[id(other)] = how
            theirs = other.selector or {}
            if not mine and not theirs:
                clashes.append((other, []))
            elif mine and theirs:
                if mine == theirs:
                    clashes.append((other, []))
                elif not any(theirs.get(k, v) != v for k, v in mine.items()):
                    shared = workloads_with(index, {**mine, **theirs}, sidecar, sidecar.namespace)
                    if shared:
                        clashes.append((other, shared))
        if clashes:
            yield _finding(ctx, sidecar, clashes, [evidence[id(o)] for o, _ in clashes])


def _finding(
    ctx: Context, sidecar: SelectorPolicy, clashes: list[tuple[SelectorPolicy, list[Workload]]], evidence: list[str]
) -> Finding:
    severity, hedge = how_sure(RULE.severity, evidence)
    names = ", ".join(other.display for other, _ in clashes)
    where = "this namespace" if sidecar.namespace == ANY_NAMESPACE else f"namespace `{sidecar.namespace}`"
    if not sidecar.selector:
        what = f"{names} also {'has' if len(clashes) == 1 else 'have'} no `workloadSelector` in {where}"
        span = sidecar.name_span
    else:
        pods = [w.display for _, shared in clashes for w in shared]
        if pods:
            what = f"{names} also select{'s' if len(clashes) == 1 else ''} the pods of {', '.join(dict.fromkeys(pods))}"
        else:
            what = f"{names} {'has' if len(clashes) == 1 else 'have'} the same `workloadSelector` in {where}"
        span = sidecar.selector_span or sidecar.name_span
    message = (
        f"{what}: a proxy takes one Sidecar only, the oldest, and ignores the other entirely, so which one applies "
        f"depends on the order they were created. Merge them, or make their selectors pick different pods." + hedge
    )
    related = [Related(o.uri, o.selector_span or o.name_span, f"{o.display}") for o, _ in clashes]
    return ctx.finding(RULE, sidecar, span, message, severity=severity, related=related)


def _neighbours(index: WorkspaceIndex, sidecar: SelectorPolicy) -> list[tuple[SelectorPolicy, str]]:
    """The other Sidecars certainly in the same namespace and deployed with it (and how the workspace shows it)."""
    found: list[tuple[SelectorPolicy, str]] = []
    for other in index.in_namespace(sidecar.namespace):  # exactly that namespace (ANY_NAMESPACE: unknown ones)
        if (
            _is_sidecar(other)
            and not same_object(sidecar, other)
            and _selector_known(other)
            and (how := together(index, sidecar, other)) is not None
            and all(other is not f for f, _ in found)
        ):
            found.append((other, how))
    return found


def _is_sidecar(resource: Resource) -> TypeGuard[SelectorPolicy]:
    return isinstance(resource, SelectorPolicy) and resource.kind == "Sidecar"


def _selector_known(sidecar: SelectorPolicy) -> bool:
    return not any(is_placeholder(k) or is_placeholder(v) for k, v in (sidecar.selector or {}).items())


RULE = Rule(
    code="sidecar-conflict",
    severity=Severity.ERROR,
    summary="Sidecars of one namespace that apply to the same workloads: a proxy uses only one of them.",
    doc=DOC,
    run=run,
    istio_codes=("IST0110", "IST0111"),
    kiali_codes=("KIA0002", "KIA0003"),
)
