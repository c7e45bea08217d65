"""listenerset-not-allowed: a ListenerSet whose parent Gateway's `allowedListeners` does not admit it (NotAllowed)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.gateway_api._attach import kubernetes_gateways, selector_admits
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import KubernetesGateway, ListenerSet

DOC = """\
A ListenerSet adds listeners to the Gateway its `parentRef` names, but only when that
Gateway's `spec.allowedListeners.namespaces` admits the ListenerSet's namespace: `from: All`,
`from: Same` (the Gateway's own namespace), or `from: Selector` (namespaces with the selector's
labels). Without `allowedListeners` a Gateway admits no ListenerSet.

## Why it matters

Istio's controller sets the ListenerSet's `Accepted` condition to False (reason `NotAllowed`)
and programs none of its listeners: the routes attached to them receive no traffic.

## How sure it is

Namespace labels are read from the Namespace objects of the workspace. When a namespace is
only known at deploy time, the selector uses `matchExpressions`, or the Namespace object is not
in the workspace, nothing is reported; nor when the parent Gateway is not in the workspace.

## Wrong

```yaml
kind: Gateway
metadata: {name: shared, namespace: infra}
spec:
  gatewayClassName: istio
  listeners: [...]                      # no allowedListeners: no ListenerSet attaches
---
kind: ListenerSet
metadata: {name: team-a, namespace: infra}
spec:
  parentRef: {name: shared, kind: Gateway, group: gateway.networking.k8s.io}
```

## Right

```yaml
spec:
  allowedListeners:
    namespaces: {from: Same}
```

Related: Istio's ListenerSet status `Accepted=False`, reason `NotAllowed`; the Gateway API
conformance test `ListenerSetDefaultNotAllowed`. Kiali has no equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for listener_set in summary.resources:
        if not isinstance(listener_set, ListenerSet):
            continue
        parent = listener_set.parent
        if parent is None or parent.name is None or parent.kind != "Gateway":
            continue
        namespace = parent.namespace.value if parent.namespace is not None else listener_set.namespace
        gateways = kubernetes_gateways(ctx, namespace, parent.name.value)
        if len(gateways) != 1:
            continue
        why = _refusal(ctx, gateways[0], listener_set.namespace)
        if why is None:
            continue
        message = (
            f"{gateways[0].display} does not admit this ListenerSet: {why}. Istio sets the ListenerSet's Accepted "
            f"condition to False (NotAllowed) and programs none of its listeners."
        )
        yield ctx.finding(
            RULE,
            listener_set,
            parent.name.span,
            message,
            related=[related_to(gateways[0], "the parent Gateway")],
        )


def _refusal(ctx: Context, gateway: KubernetesGateway, namespace: str) -> str | None:
    allowed_from = gateway.listeners_from
    if allowed_from == "All":
        return None
    if allowed_from == "None":
        return "it has no `allowedListeners` (or `from: None`), so it admits no ListenerSet"
    if ANY_NAMESPACE in (namespace, gateway.namespace):
        return None
    if allowed_from == "Same":
        return None if namespace == gateway.namespace else f"it admits ListenerSets of `{gateway.namespace}` only"
    if allowed_from == "Selector":
        admitted = selector_admits(ctx, namespace, gateway.listeners_selector)
        if admitted is None or admitted:
            return None
        return f"its allowedListeners selector does not pick namespace `{namespace}`"
    return None


RULE = Rule(
    code="listenerset-not-allowed",
    severity=Severity.ERROR,
    summary="A ListenerSet its parent Gateway's allowedListeners does not admit (NotAllowed).",
    doc=DOC,
    run=run,
)
