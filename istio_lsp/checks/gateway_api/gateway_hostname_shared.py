"""gateway-hostname-shared: listeners of two Gateway API Gateways deployed together serve the same hostname
on the same port."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import GatewayListener, KubernetesGateway

DOC = """\
A listener of a Gateway API Gateway serves a hostname on a port that a listener of another
Gateway, deployed together with it, also serves.

## Why it matters

Each Gateway gets its own proxy and its own address, so nothing conflicts inside Istio:
which Gateway a client reaches depends on where DNS points the hostname. Routes attached to
the other Gateway for that hostname are then never used by those clients. This is often a
leftover of a copied Gateway, and sometimes meant (an internal and an external Gateway with
split-horizon DNS), hence information.

## How sure it is

Only Gateways deployed together are compared, and only identical hostnames (a wildcard
listener and a specific one are a common, deliberate pairing). Waypoints and listeners
without a hostname are left out.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  listeners: [{name: https, port: 443, protocol: HTTPS, hostname: shop.example.com}]
---
kind: Gateway
metadata: {name: public-v2, namespace: infra}
spec:
  listeners: [{name: https, port: 443, protocol: HTTPS, hostname: shop.example.com}]
```

## Right

Serve the hostname from one Gateway (attach the routes there), or keep both deliberately
with DNS that sends each client to the one meant for it.

Related: Kiali KIA1501 (a warning there).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    gateways = [
        r
        for r in summary.resources
        if isinstance(r, KubernetesGateway) and r.class_name != "istio-waypoint" and any(_served(r))
    ]
    if not gateways:
        return
    others = [
        r
        for r in ctx.index.of_kind(ANY_NAMESPACE, "Gateway")
        if isinstance(r, KubernetesGateway) and r.class_name != "istio-waypoint"
    ]
    for gateway in gateways:
        together = ctx.index.deployed_with(gateway.uri)
        peers = [
            o
            for o in others
            if o is not gateway and (o.namespace, o.name) != (gateway.namespace, gateway.name) and together(o.uri)
        ]
        for hostname, port, listener in _served(gateway):
            sharing = [o for o in peers if any((h, p) == (hostname, port) for h, p, _ in _served(o))]
            if not sharing or listener.hostname is None:
                continue
            names = ", ".join(f"`{o.namespace}/{o.name}`" for o in sharing[:3])
            message = (
                f"Gateway {names} also serves `{hostname}` on port {port}: each Gateway has its own address, so which "
                "one a client reaches depends on DNS, and the other's routes for this hostname go unused. Ignore "
                "this if both are meant (an internal and an external Gateway)."
            )
            related = [related_to(o, f"also serves {hostname} on port {port}") for o in sharing[:3]]
            yield ctx.finding(RULE, gateway, listener.hostname.span, message, related=related)


def _served(gateway: KubernetesGateway) -> Iterator[tuple[str, int, GatewayListener]]:
    for listener in gateway.listeners:
        if listener.hostname is None or listener.port is None or is_placeholder(listener.hostname.value):
            continue
        yield listener.hostname.value.lower(), listener.port, listener


RULE = Rule(
    code="gateway-hostname-shared",
    severity=Severity.INFORMATION,
    summary="Listeners of two Gateway API Gateways deployed together serve the same hostname and port.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1501",),
)
