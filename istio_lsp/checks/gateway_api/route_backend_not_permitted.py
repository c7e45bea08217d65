"""route-backend-not-permitted: a cross-namespace route backendRef that no ReferenceGrant allows (RefNotPermitted)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import routes_of
from istio_lsp.checks.gateway_api._backends import SUPPORTED_BACKENDS, backends, group_kind, target_namespace
from istio_lsp.checks.gateway_api._grants import create_grant_fix, permitted
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder

DOC = """\
A route's `backendRefs` item names a backend in another namespace, and no ReferenceGrant
in that namespace allows routes of this kind from the route's namespace to refer to it.

## Why it matters

A namespace's owner opts in to references from other namespaces with a ReferenceGrant.
Without one, Istio's controller sets the route's `ResolvedRefs` condition to False
(reason `RefNotPermitted`) and answers that backend's share of requests with 500.

## How sure it is

ReferenceGrants live in the target namespace. When the workspace holds nothing of that
namespace (it is managed elsewhere), or a namespace is only known at deploy time, nothing
is reported.

## Wrong

```yaml
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  rules:
  - backendRefs: [{name: catalog, namespace: catalog, port: 8080}]
```

## Right

```yaml
kind: ReferenceGrant
metadata: {name: shop-routes, namespace: catalog}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: catalog}]
```

## Fixes

**Create a ReferenceGrant** in the target namespace allowing this route's kind and namespace
(marked unsafe: the target namespace's owner decides).

Related: Istio's route status `ResolvedRefs=False`, reason `RefNotPermitted`; the Gateway API
conformance tests `HTTPRouteInvalidCrossNamespaceBackendRef` and
`HTTPRouteInvalidReferenceGrant`; Kiali KIA1402.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for ref in backends(route):
            if ref.namespace is None or ref.name is None or ref.namespace.value == route.namespace:
                continue
            namespace = target_namespace(route, ref)
            group, kind = group_kind(ref)
            if is_placeholder(namespace) or (group, kind) not in SUPPORTED_BACKENDS:
                continue
            if permitted(ctx, route.kind, route.namespace, group, kind, namespace, ref.name.value) is not False:
                continue
            message = (
                f"No ReferenceGrant in `{namespace}` lets {route.kind}s of `{route.namespace}` refer to {kind} "
                f"`{ref.name.value}`: Istio sets the route's ResolvedRefs condition to False (RefNotPermitted) and "
                f"answers this backend's share of requests with 500."
            )
            fix = create_grant_fix(route, route.kind, group, kind, namespace, ref.name.value)
            yield ctx.finding(RULE, route, ref.namespace.span, message, fixes=[fix])


RULE = Rule(
    code="route-backend-not-permitted",
    severity=Severity.ERROR,
    summary="A cross-namespace route backendRef that no ReferenceGrant allows (RefNotPermitted).",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1402",),
)
