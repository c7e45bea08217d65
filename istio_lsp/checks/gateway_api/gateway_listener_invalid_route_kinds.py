"""gateway-listener-invalid-route-kinds: a listener's `allowedRoutes.kinds` names route kinds its protocol
cannot carry (InvalidRouteKinds)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import GATEWAY_GROUP, supported_kinds
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import KubernetesGateway, ListenerSet

DOC = """\
A Gateway (or ListenerSet) listener's `allowedRoutes.kinds` lists a route kind that the
listener's protocol cannot carry, or that is not a route kind at all. Istio carries
HTTPRoute and GRPCRoute on HTTP and HTTPS listeners, TCPRoute on TCP listeners, TLSRoute on
TLS listeners (and TCPRoute on those that terminate TLS).

## Why it matters

Istio's controller sets the listener's `ResolvedRefs` condition to False (reason
`InvalidRouteKinds`) and drops the kinds it cannot carry: routes of those kinds never attach
(`NotAllowedByListeners`). When no listed kind is valid the listener accepts no route at all.

## Wrong

```yaml
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      kinds: [{kind: TCPRoute}]
```

## Right

```yaml
    allowedRoutes:
      kinds: [{kind: HTTPRoute}]
```

Related: Istio's listener status `ResolvedRefs=False`, reason `InvalidRouteKinds`; the Gateway
API conformance test `GatewayInvalidRouteKind`. Kiali has no equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway in summary.resources:
        if not isinstance(gateway, (KubernetesGateway, ListenerSet)):
            continue
        for listener in gateway.listeners:
            supported = supported_kinds(listener)
            if supported is None or not listener.allowed_kinds or listener.allowed_kinds_span is None:
                continue
            invalid = [k for g, k in listener.allowed_kinds if g != GATEWAY_GROUP or k not in supported]
            if not invalid:
                continue
            none_left = len(invalid) == len(listener.allowed_kinds)
            listed = ", ".join(f"`{k}`" for k in invalid)
            outcome = "it accepts no route at all" if none_left else "routes of those kinds never attach"
            message = (
                f"Listener `{listener.name}` ({listener.protocol}) cannot carry {listed} (it carries "
                f"{', '.join(supported)}): Istio sets its ResolvedRefs condition to False (InvalidRouteKinds), and "
                f"{outcome}."
            )
            severity = Severity.ERROR if none_left else Severity.WARNING
            yield ctx.finding(RULE, gateway, listener.allowed_kinds_span, message, severity=severity)


RULE = Rule(
    code="gateway-listener-invalid-route-kinds",
    severity=Severity.ERROR,
    summary="A listener allowedRoutes.kinds naming route kinds its protocol cannot carry (InvalidRouteKinds).",
    doc=DOC,
    run=run,
)
