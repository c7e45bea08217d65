"""route-not-allowed-by-listeners: the listeners a route's parentRef selects refuse the route's namespace or kind."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.gateway_api._attach import attachment, routes_of
from istio_lsp.index import FileSummary

DOC = """\
The Gateway listeners a route's parentRef selects all refuse the route: their
`allowedRoutes.namespaces` does not admit the route's namespace (`from: Same`, the
default, admits only the Gateway's own namespace; `from: Selector` only namespaces with
the selector's labels), or their `allowedRoutes.kinds` (by default the kinds the
listener's protocol carries: HTTPRoute and GRPCRoute on HTTP/HTTPS, TLSRoute on TLS,
TCPRoute on TCP, UDPRoute on UDP) does not include the route's kind.

## Why it matters

Istio's controller sets the route's `Accepted` condition to False for that parent
(reason `NotAllowedByListeners`) and programs none of its rules on the Gateway.

## How sure it is

Namespace labels are read from the Namespace objects of the workspace (and the
`kubernetes.io/metadata.name` label Kubernetes sets on every namespace). When the route's
or the Gateway's namespace is only known at deploy time, or the selector uses
`matchExpressions`, or the Namespace object is not in the workspace, nothing is reported.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  listeners:
  - name: http
    port: 80
    protocol: HTTP              # allowedRoutes defaults to `from: Same`
---
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: public, namespace: infra}]
```

## Right

```yaml
    allowedRoutes:
      namespaces: {from: All}   # or Selector with a label the route's namespace has
```

Related: Istio's route status `Accepted=False`, reason `NotAllowedByListeners`; Kiali
KIA1401 (its namespace part).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for parent in route.parents:
            if parent.name is None:
                continue
            found = attachment(ctx, route, parent)
            if found.stage != "allowed":
                continue
            owner = found.gateways[0]
            reasons = "; ".join(dict.fromkeys(found.refusals))
            message = (
                f"{owner.display} does not accept this {route.kind}: {reasons}. Istio sets the route's Accepted "
                f"condition to False (NotAllowedByListeners) and the Gateway serves none of its rules."
            )
            yield ctx.finding(
                RULE, route, parent.name.span, message, related=[related_to(owner, "the Gateway refusing the route")]
            )


RULE = Rule(
    code="route-not-allowed-by-listeners",
    severity=Severity.ERROR,
    summary="A route whose parent Gateway's listeners refuse its namespace or kind (NotAllowedByListeners).",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1401",),
)
