"""invalid-delegate-virtualservice: a delegate VirtualService (no `hosts`) with what only a root may have."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, is_istio
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import unseen
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax.nodes import get

DOC = """\
A VirtualService without `hosts` is a delegate: a root VirtualService includes its HTTP
routes with `http[].delegate`. Istio refuses a delegate that has what only a root
VirtualService can have.

Covers these rows of the webhook checklist (§1):

- a delegate VirtualService must not set `gateways` (the root decides where its routes apply);
- a delegate VirtualService must not have `tls` routes, nor `tcp` routes (only HTTP
  routes can be delegated);
- a route inside a delegate VirtualService must not itself `delegate`: there is only one
  level of delegation.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. Often the `hosts` were simply
forgotten, which turned an ordinary VirtualService into a delegate.

## Wrong

```yaml
kind: VirtualService
metadata:
  name: reviews-routes
spec:
  gateways: [istio-system/public]
  http:
  - route:
    - destination: {host: reviews}
```

## Right

Either drop `gateways` (and let the root VirtualService bind to the gateway), or give the
VirtualService its `hosts` when it is not meant as a delegate.

Related: `istioctl analyze` IST0106.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx) or ctx.list_at("spec.hosts"):
        return
    if ctx.list_at("spec.gateways"):
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            "spec.gateways",
            f"A VirtualService without `hosts` is a delegate, and a delegate cannot list `gateways` "
            f"(the root VirtualService decides where its routes apply); {REJECTED}.",
            key=True,
        )
    for protocol in ("tls", "tcp"):
        if ctx.list_at(f"spec.{protocol}"):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                f"spec.{protocol}",
                f"A VirtualService without `hosts` is a delegate, and only HTTP routes can be delegated: "
                f"`{protocol}` routes are not allowed; {REJECTED}.",
                key=True,
            )
    for index, rule in unseen(ctx.list_at("spec.http"), set()):
        if get(rule, "delegate") is not None:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                f"spec.http[{index}].delegate",
                f"This VirtualService has no `hosts`, so it is itself a delegate, and a delegate's routes cannot "
                f"delegate again (only one level of delegation); {REJECTED}.",
                key=True,
            )


RULE = Rule(
    code="invalid-delegate-virtualservice",
    severity=Severity.ERROR,
    summary="A delegate VirtualService (no hosts) has gateways, tls or tcp routes, or delegates again.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
