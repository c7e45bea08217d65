"""subset-matches-no-workload: a DestinationRule subset whose labels select no pod of its Service."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, related_to
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import distinguishing_labels, selected_workloads, services_for_rule, subset_selects
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import DestinationRule, Resource, Subset, Workload

DOC = """\
A DestinationRule subset's labels, together with the Service's selector, match
none of the workloads the workspace declares behind that Service.

## Why it matters

A subset is the set of the Service's endpoints whose pods carry the subset's
labels. When no pod carries them, the subset's cluster has no endpoints: every
request routed to it fails with 503 "no healthy upstream" (response flag UH).
Typical causes: the Deployment's pod template lacks the `version` label, the
label sits on the Deployment's own `metadata.labels` instead of
`spec.template.metadata.labels`, or the values differ (`v1` vs `1.0`).

The check only speaks when the workspace declares at least one workload that
the Service selects; otherwise the pods may be deployed from elsewhere and it
stays silent. Topology labels (`topology.kubernetes.io/...`,
`topology.istio.io/...`) are matched by Istio against nodes and clusters, not pod
labels, and are ignored, except that an empty value can never match.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
---
kind: Deployment
spec:
  template:
    metadata:
      labels: {app: reviews}     # no version label
```

## Right

```yaml
    metadata:
      labels: {app: reviews, version: v1}
```

## Fixes

**Use the labels of `<workload>`**: replaces the subset's labels with the labels
that tell that workload apart from the Service's other pods (those beyond the
Service selector), one fix per selected workload.

Related: `istioctl analyze` IST0173 DestinationRuleSubsetNotSelectPods; Kiali KIA0203.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or not rule.subsets:
            continue
        # Several Services when namespaces cannot tell which one the rule means (files without a
        # namespace): a subset is fine when the pods of any of them carry its labels.
        services = services_for_rule(ctx.index, rule)
        workloads = list({id(w): w for s in services for w in selected_workloads(ctx.index, s)}.values())
        if not workloads:
            continue  # the pods may be deployed from elsewhere: nothing to compare with
        for subset in rule.subsets:
            if any(subset_selects(subset.labels, w) for w in workloads):
                continue
            names = " or ".join(dict.fromkeys(s.display for s in services[:3]))
            finding = _finding(ctx, rule, subset, names, services[0].selector, workloads)
            apart = _deployed_apart(ctx, rule, [*services, *workloads])
            if apart:
                # nothing proves these pods are the ones the rule applies to
                finding.severity = Severity.INFORMATION
                finding.message += (
                    f" The namespaces are not known here, and these pods are declared apart from the rule "
                    f"({apart}): they may not be the pods it applies to, or may get the label when deployed."
                )
            yield finding


def _deployed_apart(ctx: Context, rule: DestinationRule, others: list[Resource]) -> str:
    """Where the Services and pods compared with a rule are declared, when nothing ties them to the
    rule: their namespaces are not all known, and they are neither in the rule's folder nor built by
    a kustomization that builds the rule. "" when they are tied to it."""
    if all(r.namespace != ANY_NAMESPACE for r in [rule, *others]):
        return ""
    index = ctx.index
    apart = sorted({index.folder_of(r.uri) for r in others if not index.deployed_together(rule.uri, r.uri)})
    return ", ".join(f"`{posixpath.relpath(f, index.folder_of(rule.uri))}/`" for f in apart[:3])


def _finding(
    ctx: Context,
    rule: DestinationRule,
    subset: Subset,
    service: str,
    selector: dict[str, str],
    workloads: list[Workload],
) -> Finding:
    wanted = ", ".join(f"{k}: {v}" for k, v in subset.labels.items())
    carried = "; ".join(
        f"{w.display} has " + (", ".join(f"{k}: {v}" for k, v in w.pod_labels.items()) or "no labels")
        for w in workloads[:3]
    )
    message = (
        f"Subset `{subset.name.value}` ({wanted}) matches none of the pods behind {service}: {carried}. "
        f'The subset has no endpoints; requests routed to it get 503 "no healthy upstream".'
    )
    span = subset.labels_span or subset.name.span
    fixes = []
    if subset.labels_span is not None:
        for workload in workloads:
            labels = distinguishing_labels(workload, selector)
            if labels:
                fixes.append(_replace_labels(rule.uri, subset, workload, labels))
    return ctx.finding(
        RULE,
        rule,
        span,
        message,
        related=[related_to(w, "selected by the Service, without the subset's labels") for w in workloads],
        fixes=fixes,
    )


def _replace_labels(uri: str, subset: Subset, workload: Workload, labels: dict[str, str]) -> Fix:
    span = subset.labels_span
    assert span is not None
    if subset.labels_flow:
        text = "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}"
    else:
        text = f"\n{' ' * span.start_char}".join(f"{k}: {v}" for k, v in labels.items())
    return Fix(f"Use the labels of {workload.display}", (TextEdit(uri, span, text),), safe=False)


RULE = Rule(
    code="subset-matches-no-workload",
    severity=Severity.ERROR,
    summary="A DestinationRule subset whose labels match no pod of the Service's workloads.",
    doc=DOC,
    run=run,
    istio_codes=("IST0173",),
    kiali_codes=("KIA0203",),
)
