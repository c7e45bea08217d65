"""gateway-address-shared: two Gateway API Gateways deployed together ask for the same address."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import KubernetesGateway

DOC = """\
Two Gateway API Gateways deployed together list the same entry (type and value) in
`spec.addresses`.

## Why it matters

Istio gives each Gateway its own Service of type LoadBalancer and asks for the addresses
the Gateway lists. One address cannot belong to two load balancers: the cloud provider
assigns it to one and the other Gateway's Service stays pending (no external address), or
the two fight over it. The second Gateway's `Programmed` condition stays False
(`AddressNotAssigned`), and its listeners are unreachable.

## How sure it is

Only Gateways deployed together are compared (the same kustomize build, or plain files of
one folder tree): overlays that put one Gateway in several environments are not a clash.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  addresses: [{type: IPAddress, value: 203.0.113.10}]
---
kind: Gateway
metadata: {name: partner, namespace: infra}
spec:
  addresses: [{type: IPAddress, value: 203.0.113.10}]
```

## Right

Give each Gateway its own address, or serve both sets of listeners from one Gateway.

Related: Kiali KIA1502. The Gateway's status condition `Programmed` (reason
`AddressNotAssigned`) says so once applied.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    gateways = [r for r in summary.resources if isinstance(r, KubernetesGateway) and r.addresses]
    if not gateways:
        return
    others = [r for r in ctx.index.of_kind(ANY_NAMESPACE, "Gateway") if isinstance(r, KubernetesGateway)]
    for gateway in gateways:
        together = ctx.index.deployed_with(gateway.uri)
        for kind, ref in gateway.addresses:
            if is_placeholder(ref.value):
                continue
            sharing = [
                other
                for other in others
                if other is not gateway
                and (other.namespace, other.name) != (gateway.namespace, gateway.name)
                and together(other.uri)
                and any(k == kind and r.value == ref.value for k, r in other.addresses)
            ]
            if not sharing:
                continue
            names = ", ".join(f"`{o.namespace}/{o.name}`" for o in sharing[:3])
            message = (
                f"Gateway {names} asks for the same address `{ref.value}` ({kind}): one load balancer gets it, "
                "and the other Gateway's Service stays without an external address (Programmed: False, "
                "AddressNotAssigned)."
            )
            related = [related_to(o, "asks for the same address") for o in sharing[:3]]
            yield ctx.finding(RULE, gateway, ref.span, message, related=related)


RULE = Rule(
    code="gateway-address-shared",
    severity=Severity.WARNING,
    summary="Two Gateway API Gateways deployed together ask for the same address.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1502",),
)
