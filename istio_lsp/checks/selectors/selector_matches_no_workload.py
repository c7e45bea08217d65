"""selector-matches-no-workload: a policy's or Gateway's selector that picks none of the workspace's pods."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.pods import (
    VARIANT_KEYS,
    NearMiss,
    any_could_match,
    built_labels,
    could_be_meant,
    default_install_selector,
    elsewhere,
    format_labels,
    gateway_workload,
    install_gateway_selector,
    judgeable,
    label_sets,
    near_misses,
    replace_selector,
    selector_sets,
    selects,
    together,
)
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Gateway, Resource, SelectorPolicy, Workload
from istio_lsp.syntax import Span

DOC = """\
The workload selector of an AuthorizationPolicy, PeerAuthentication,
RequestAuthentication, Sidecar, Telemetry (`spec.selector.matchLabels`,
`spec.workloadSelector.labels`) or Gateway (`spec.selector`) matches none of the
workloads it can apply to.

## Why it matters

A policy with a selector applies only to the pods of its namespace that carry
all the selector's labels (in the root namespace, `istio-system` by default, to
such pods of every namespace). When no pod carries them, the policy does
nothing, silently: an AuthorizationPolicy's rules are enforced nowhere, a
PeerAuthentication's mTLS mode and a RequestAuthentication's token rules apply
to no pod, a Sidecar or Telemetry configures no proxy. A Gateway's selector
picks the gateway pods (in any namespace) that serve its servers; when none
match, no proxy listens for its hosts and the VirtualServices bound to it route
nothing.

## How sure it is

- **Warning**, with evidence that the selector was meant for a workload the
  workspace declares with it (same folder, or same kustomize build): one named
  like the resource, or missing the selector only by a renamed key, a typo, a
  name prefix or a label placed on its metadata; or one carrying the selector's
  labels in another namespace than the policy's.
- **Information** when the workspace declares workloads with the resource where
  it applies, with the selector's label keys, but none matches: the pods may come
  from elsewhere. For a Gateway with a custom gateway label (`istio: <name>`), when
  the workspace declares gateway pods, none of them with that label.
- A policy in the root namespace is compared with the workloads of every
  namespace, a Sidecar's too (istioctl compares a Sidecar with its own
  namespace's pods only): that can only make the check quieter.
- **Nothing** otherwise: when the workspace declares no workload with it, for the
  gateways Istio's install deploys (`istio: ingressgateway`, `istio: egressgateway`,
  `app: istio-ingressgateway`, …) and pods made by gateway controllers, for labels
  set when pods run, placeholders, and workloads a kustomize patch may relabel.

istioctl reports a Sidecar, Telemetry or Gateway selector as an error (IST0101)
and an AuthorizationPolicy's as a warning (IST0127), from the pods of a cluster;
from files, a warning is as far as the evidence goes.

## Wrong

```yaml
kind: AuthorizationPolicy
metadata: {name: reviews, namespace: shop}
spec:
  selector:
    matchLabels: {app: reveiws}
---
kind: Deployment
metadata: {name: reviews, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: reviews}
```

## Right

```yaml
    matchLabels: {app: reviews}
```

## Fixes

**Use the labels of `<workload>`**: rewrites the selector so that it selects
that workload, changing only the labels it misses.

Related: `istioctl analyze` IST0127 NoMatchingWorkloadsFound (AuthorizationPolicy)
and IST0101 ReferencedResourceNotFound for the selectors of Sidecars, Telemetries
and Gateways; Kiali KIA0004 (AuthorizationPolicy, PeerAuthentication,
RequestAuthentication, Sidecar) and KIA0302 (Gateway).
"""

_POLICIES = frozenset({"AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication", "Sidecar", "Telemetry"})
_EFFECT = {
    "AuthorizationPolicy": "the policy applies to no pod, and its rules are enforced nowhere",
    "PeerAuthentication": "its mTLS settings apply to no pod",
    "RequestAuthentication": "no pod checks the tokens it describes",
    "Sidecar": "it configures no proxy",
    "Telemetry": "its settings apply to no proxy",
    "Gateway": "no gateway proxy serves its servers, and the VirtualServices bound to it route nothing there",
}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for resource in summary.resources:
        if isinstance(resource, Gateway):
            selector, span, flow, scope = (
                resource.selector,
                resource.selector_span,
                resource.selector_flow,
                ANY_NAMESPACE,
            )
        elif isinstance(resource, SelectorPolicy) and resource.kind in _POLICIES:
            selector, span, flow = resource.selector or {}, resource.selector_span, resource.selector_flow
            # a policy in the root namespace applies to matching pods of every namespace
            mesh_wide = resource.namespace in (ctx.settings.root_namespace, ANY_NAMESPACE)
            scope = ANY_NAMESPACE if mesh_wide else resource.namespace
        else:
            continue
        if not judgeable(selector):
            continue  # no selector (every pod), or one the files cannot judge
        selectors = selector_sets(index, resource, selector)
        if selectors is None or any_could_match(index, selectors, scope):
            continue
        beside = together(index, resource, could_be_meant(index, selector, scope))
        meant = near_misses(index, selector, resource.name, beside)
        moved = [] if scope == ANY_NAMESPACE else elsewhere(index, resource, selector, scope)
        if meant or moved:
            yield _warning(ctx, resource, selector, span, flow, meant, moved)
            continue
        if install_gateway_selector(selector):
            if isinstance(resource, Gateway) and not default_install_selector(selector):
                gateways = [w for w in index.workloads_in(ANY_NAMESPACE) if gateway_workload(w)]
                if gateways and all(label_sets(index, w) is not None for w in gateways):
                    which = "the gateway workloads the workspace declares"
                    yield _information(ctx, resource, selector, span, gateways, which)
            continue
        declared = [w for w in beside if set(selector) & set(built_labels(index, w))]
        # a workload matching all but the version labels: that version may not be deployed yet
        unversioned = {k: v for k, v in selector.items() if k not in VARIANT_KEYS}
        if declared and not (unversioned and any(selects(unversioned, built_labels(index, w)) for w in beside)):
            if scope != ANY_NAMESPACE:
                where = f" in namespace `{scope}`"
            elif resource.namespace == ctx.settings.root_namespace:
                where = " (in the root namespace, it applies in every namespace)"
            else:
                where = ""
            yield _information(ctx, resource, selector, span, declared, f"the workloads declared with it{where}")


def _subject(resource: Resource) -> str:
    return f"The selector of {resource.kind} `{resource.name}`"


def _warning(
    ctx: Context,
    resource: Resource,
    selector: dict[str, str],
    span: Span | None,
    flow: bool,
    meant: list[NearMiss],
    moved: list[Workload],
) -> Finding:
    wanted = format_labels(selector)
    if meant:
        described = "; ".join(m.why for m in meant[:3])
        message = f"{_subject(resource)} ({wanted}) matches no workload it applies to: {described}."
    else:
        where = ", ".join(w.display for w in moved[:3])
        message = (
            f"{_subject(resource)} ({wanted}) matches the pods of {where}, in another namespace than "
            f"`{resource.namespace}`; outside the root namespace it applies to pods of its own namespace only."
        )
    message += f" As written, {_EFFECT[resource.kind]}."
    related = [
        related_to(m.workload, f"declared with the {resource.kind}, without its selector's labels") for m in meant
    ]
    related += [related_to(w, "carries the selector's labels in another namespace") for w in moved]
    fixes = []
    if span is not None:
        for m in meant:
            if m.fixed:
                title = f"Use the labels of {m.workload.display}"
                fixes.append(replace_selector(resource.uri, span, flow, m.fixed, title))
    return ctx.finding(RULE, resource, span or resource.name_span, message, related=related, fixes=fixes)


def _information(
    ctx: Context,
    resource: Resource,
    selector: dict[str, str],
    span: Span | None,
    declared: list[Workload],
    which: str,
) -> Finding:
    shown = "; ".join(f"{w.display} has {format_labels(built_labels(ctx.index, w))}" for w in declared[:3])
    more = f" (and {len(declared) - 3} more)" if len(declared) > 3 else ""
    message = (
        f"{_subject(resource)} ({format_labels(selector)}) matches none of {which}: {shown}{more}. "
        f"If its pods are deployed from elsewhere (a chart, an operator, another repository), that is expected; "
        f"otherwise {_EFFECT[resource.kind]}."
    )
    related = [related_to(w, f"does not carry the {resource.kind}'s selector labels") for w in declared[:3]]
    return ctx.finding(
        RULE, resource, span or resource.name_span, message, severity=Severity.INFORMATION, related=related
    )


RULE = Rule(
    code="selector-matches-no-workload",
    severity=Severity.WARNING,
    summary="A policy's or Gateway's workload selector that matches none of the workloads it can apply to.",
    doc=DOC,
    run=run,
    istio_codes=("IST0127", "IST0101"),
    kiali_codes=("KIA0004", "KIA0302"),
)
