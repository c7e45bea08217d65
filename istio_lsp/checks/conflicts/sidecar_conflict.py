"""sidecar-conflict: several Sidecars for the same workloads of one namespace."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.conflicts._one_per_workload import clashes, finding, is_pod_policy
from istio_lsp.index import FileSummary

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
    for sidecar in summary.resources:
        if is_pod_policy(sidecar, "Sidecar") and (found := clashes(ctx.index, sidecar)):
            yield finding(ctx, RULE, sidecar, found, CONSEQUENCE)


CONSEQUENCE = (
    "a proxy takes one Sidecar only, the oldest, and ignores the other entirely, so which one applies depends on "
    "the order they were created. Merge them, or make their selectors pick different pods."
)


RULE = Rule(
    code="sidecar-conflict",
    severity=Severity.ERROR,
    summary="Sidecars of one namespace that apply to the same workloads: a proxy uses only one of them.",
    doc=DOC,
    run=run,
    istio_codes=("IST0110", "IST0111"),
    kiali_codes=("KIA0002", "KIA0003"),
)
