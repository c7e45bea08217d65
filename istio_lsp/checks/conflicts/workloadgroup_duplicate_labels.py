"""workloadgroup-duplicate-labels: two WorkloadGroups of one namespace give their entries the same labels."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.pods import format_labels
from istio_lsp.checks.together import how_sure, same_object, together
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import WorkloadGroup

DOC = """\
Two WorkloadGroups of one namespace set the same `metadata.labels`: the labels every
WorkloadEntry their VMs register carries.

## Why it matters

Services, ServiceEntry selectors, DestinationRule subsets and policies pick VMs by those
labels. With the same labels, nothing can tell the VMs of one group from the other's: a
Service meant for one group sends traffic to both, and a subset or an AuthorizationPolicy
cannot apply to one group alone.

## How sure it is

- **warning**: both groups are in one file or one kustomize build.
- **information**: they only share a folder (it may hold alternatives).
- **not reported**: groups without labels, groups whose labels hold placeholders, copies of
  one object, groups of a namespace known only at deploy time.

## Wrong

```yaml
kind: WorkloadGroup
metadata: {name: billing-v1, namespace: billing}
spec:
  metadata:
    labels: {app: billing}
---
kind: WorkloadGroup
metadata: {name: billing-v2, namespace: billing}
spec:
  metadata:
    labels: {app: billing}
```

## Right

Give each group a label the other lacks (`version: v1`, `version: v2`).

## Fixes

None: which label tells the groups apart is yours to choose.

Related: Kiali KIA1702.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for group in summary.resources:
        if not _judged(group):
            continue
        assert isinstance(group, WorkloadGroup)
        twins = [
            other
            for other in ctx.index.of_kind(group.namespace, "WorkloadGroup")
            if other is not group
            and _judged(other)
            and isinstance(other, WorkloadGroup)
            and other.namespace == group.namespace
            and other.entry_labels == group.entry_labels
            and not same_object(other, group)
        ]
        evidence = [how for other in twins if (how := together(ctx.index, group, other)) is not None]
        if not evidence:
            continue
        severity, hedge = how_sure(RULE.severity, evidence)
        names = ", ".join(f"`{t.display}`" for t in twins)
        yield ctx.finding(
            RULE,
            group,
            group.entry_labels_span or group.name_span,
            f"WorkloadGroup {names} gives its entries the same labels ({format_labels(group.entry_labels)}): "
            f"Services, subsets and policies cannot tell the VMs of these groups apart. Add a label that "
            f"differs.{hedge}",
            severity=severity,
            related=[Related(t.uri, t.entry_labels_span or t.name_span, "the same labels") for t in twins],
        )


def _judged(resource: object) -> bool:
    return (
        isinstance(resource, WorkloadGroup)
        and resource.api_version.startswith("networking.istio.io/")
        and resource.namespace not in ("", ANY_NAMESPACE)
        and bool(resource.entry_labels)
        and resource.entry_labels_complete
        and not any(is_placeholder(v) for v in resource.entry_labels.values())
    )


RULE = Rule(
    code="workloadgroup-duplicate-labels",
    severity=Severity.WARNING,
    summary="Two WorkloadGroups of one namespace give their entries the same labels",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1702",),
)
