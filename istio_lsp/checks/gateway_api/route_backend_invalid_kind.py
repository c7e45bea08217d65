"""route-backend-invalid-kind: a route backendRef of a kind Istio cannot route to (InvalidKind)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import routes_of
from istio_lsp.checks.gateway_api._backends import SUPPORTED_BACKENDS, backends, group_kind
from istio_lsp.index import FileSummary

DOC = """\
A route's `backendRefs` item names a `group`/`kind` Istio does not route to. Istio
resolves Services (the default: empty group, kind `Service`), ServiceEntry hosts
(group `networking.istio.io`, kind `Hostname`, the host as `name`), multi-cluster
`ServiceImport`s and inference pools; anything else is rejected.

## Why it matters

Istio's controller sets the route's `ResolvedRefs` condition to False (reason
`InvalidKind`) and answers the requests meant for that backend with 500.

## Wrong

```yaml
    backendRefs:
    - group: networking.istio.io
      kind: ServiceEntry          # not a backend kind
      name: external-api
      port: 443
```

## Right

```yaml
    backendRefs:
    - group: networking.istio.io
      kind: Hostname
      name: api.example.com       # a host of the ServiceEntry
      port: 443
```

Related: Istio's route status `ResolvedRefs=False`, reason `InvalidKind`; the Gateway API
conformance test `HTTPRouteInvalidBackendRefUnknownKind`. Kiali has no equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for ref in backends(route):
            group, kind = group_kind(ref)
            if (group, kind) in SUPPORTED_BACKENDS:
                continue
            hint = ""
            if kind == "ServiceEntry":
                hint = (
                    " To route to a ServiceEntry, write `group: networking.istio.io`, `kind: Hostname` and one "
                    "of its hosts as `name`."
                )
            elif kind == "Service":
                hint = ' A Service\'s group is empty ("").'
            message = (
                f"Istio cannot route to a backendRef of group `{group}` kind `{kind}`: it sets the {route.kind}'s "
                f"ResolvedRefs condition to False (InvalidKind) and answers the requests for it with 500.{hint}"
            )
            yield ctx.finding(RULE, route, ref.kind_span or ref.span, message)


RULE = Rule(
    code="route-backend-invalid-kind",
    severity=Severity.ERROR,
    summary="A route backendRef of a group/kind Istio cannot route to (InvalidKind).",
    doc=DOC,
    run=run,
)
