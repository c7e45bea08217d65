"""telemetry-conflict: several Telemetries for the same workloads of one namespace."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.conflicts._one_per_workload import clashes, finding, is_pod_policy
from istio_lsp.index import FileSummary

DOC = """\
Two Telemetries in one namespace apply to the same workloads: both have no `selector`
(each claims to be the namespace's default), or their selectors pick the same pods.

## Why it matters

Telemetry settings stack by level: the root namespace's Telemetry, then the
namespace's one without selector, then one whose selector matches the pod. At each
level a proxy takes a single Telemetry. When two qualify, istiod keeps the oldest and
drops the other whole (its access logging, tracing sampling, metric overrides), so what
is logged or traced depends on the order they were created.

Telemetries that name `targetRef`/`targetRefs` apply to a Gateway or a waypoint and
are not compared.

## How sure it is

As for `sidecar-conflict`: an error when the two are in one file or one kustomize
build, information when only a folder joins them, nothing when no build or folder
does, or when their namespaces may differ.

## Wrong

```yaml
kind: Telemetry
metadata: {name: access-logs, namespace: shop}
spec:
  accessLogging: [{providers: [{name: envoy}]}]
---
kind: Telemetry
metadata: {name: tracing, namespace: shop}
spec:
  tracing: [{randomSamplingPercentage: 10}]
```

## Right

One Telemetry without selector per namespace, holding both settings; Telemetries with
selectors that pick disjoint sets of pods.

## Fixes

None: which settings should apply is for you to decide.

Related: `istioctl analyze` IST0159 ConflictingTelemetryWorkloadSelectors, IST0160
MultipleTelemetriesWithoutWorkloadSelectors.
"""

CONSEQUENCE = (
    "a proxy takes one Telemetry per level, the oldest, and ignores the other whole (its logging, tracing and "
    "metrics settings), so what applies depends on the order they were created. Merge them, or make their "
    "selectors pick different pods."
)


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for telemetry in summary.resources:
        if is_pod_policy(telemetry, "Telemetry") and (found := clashes(ctx.index, telemetry)):
            yield finding(ctx, RULE, telemetry, found, CONSEQUENCE)


RULE = Rule(
    code="telemetry-conflict",
    severity=Severity.ERROR,
    summary="Telemetries of one namespace that apply to the same workloads: a proxy uses only one of them.",
    doc=DOC,
    run=run,
    istio_codes=("IST0159", "IST0160"),
)
