"""service-selects-no-workload: a Service whose selector misses the workloads declared for it."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.pods import (
    NearMiss,
    any_could_match,
    elsewhere,
    format_labels,
    judgeable,
    near_misses,
    replace_selector,
    selector_sets,
    together,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import selected_workloads
from istio_lsp.model.resources import Service, Workload

DOC = """\
A Service's `spec.selector` matches none of the workloads the workspace declares
for it, although the workloads deployed with it (same folder, or same kustomize
build) include one that is plainly meant: named like the Service, or carrying
the selector's labels with one renamed or mistyped.

## Why it matters

A Service's endpoints are the pods of its namespace whose labels include all of
its selector. When none do, it has no endpoints: through the mesh every request
to it fails with 503 "no healthy upstream" (response flag UH), and without a
sidecar the connection is refused or times out. Nothing warns at apply time:
the API server admits the Service and the Deployment, and the mistake shows up
as an outage. Typical causes: the pod template's `app` label was renamed (or
the selector was, to `app.kubernetes.io/name`), a kustomize `namePrefix` was
added to the Deployment's labels but not to the Service's selector, or the
label sits on the Deployment's `metadata.labels` instead of
`spec.template.metadata.labels`.

## How sure it is

A warning, reported only with evidence that the workspace holds the Service's
pods: a workload deployed with it that is named like the Service (its name, or
its `app` or `app.kubernetes.io/name` label), or that misses the selector only by
a renamed key, a typo, a name prefix, or a label placed on its metadata; or one
that carries the selector's labels in another namespace (a Service selects pods
of its own namespace only). Otherwise it stays silent: the pods may come from a
chart, an operator or another repository. Labels a controller sets when pods
run (`pod-template-hash`, `statefulset.kubernetes.io/pod-name`, …), labels the
workload lacks entirely (they may be added at run time), other values of a
version label (`version`, `track`, …: that version may be deployed later),
placeholders, and workloads a kustomize patch may relabel are never taken as
evidence. Labels kustomize adds (`commonLabels`, `labels` with
`includeSelectors` or `includeTemplates`) are counted. ExternalName Services and
Services without a selector have no endpoints to compare and are not checked.

## Wrong

```yaml
kind: Service
metadata: {name: cart}
spec:
  selector: {app: cart}
---
kind: Deployment
metadata: {name: cart}
spec:
  template:
    metadata:
      labels: {app.kubernetes.io/name: cart}   # the Service selects `app`
```

## Right

```yaml
  selector: {app.kubernetes.io/name: cart}
```

## Fixes

**Use the labels of `<workload>`**: rewrites the selector so that it selects
that workload, changing only the labels it misses (one fix per workload found).
Check that the Service is not meant to select other pods too.

Related: neither `istioctl analyze` nor Kiali reports this.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for service in summary.resources:
        if not isinstance(service, Service) or service.service_type == "ExternalName":
            continue
        selector = service.selector
        if not judgeable(selector) or selected_workloads(index, service):
            continue
        selectors = selector_sets(index, service, selector)
        if selectors is None or any_could_match(index, selectors, service.namespace):
            continue  # kustomize may change the labels, or a workload could carry them once built
        beside = together(index, service, index.workloads_in(service.namespace))
        meant = near_misses(index, selector, service.name, beside)
        moved = elsewhere(index, service, selector, service.namespace)
        if meant or moved:
            yield _finding(ctx, service, meant, moved)


def _finding(ctx: Context, service: Service, meant: list[NearMiss], moved: list[Workload]) -> Finding:
    wanted = format_labels(service.selector)
    consequence = (
        'It has no endpoints: requests to it fail (503 "no healthy upstream" through the mesh, '
        "refused connections without it)."
    )
    if meant:
        described = "; ".join(m.why for m in meant[:3])
        message = f"The selector of Service `{service.name}` ({wanted}) matches none of its pods: {described}. "
    else:
        where = ", ".join(f"{w.display}" for w in moved[:3])
        message = (
            f"The selector of Service `{service.name}` ({wanted}) matches the pods of {where}, in another "
            f"namespace than the Service's (`{service.namespace}`); a Service selects pods of its own namespace only. "
        )
    related = [related_to(m.workload, "declared with the Service, without its selector's labels") for m in meant]
    related += [related_to(w, "carries the selector's labels in another namespace") for w in moved]
    fixes = []
    if service.selector_span is not None:
        for m in meant:
            if m.fixed:
                title = f"Use the labels of {m.workload.display}"
                fixes.append(
                    replace_selector(service.uri, service.selector_span, service.selector_flow, m.fixed, title)
                )
    span = service.selector_span or service.name_span
    return ctx.finding(RULE, service, span, message + consequence, related=related, fixes=fixes)


RULE = Rule(
    code="service-selects-no-workload",
    severity=Severity.WARNING,
    summary="A Service whose selector matches none of the workloads deployed with it, one of which is plainly meant.",
    doc=DOC,
    run=run,
)
