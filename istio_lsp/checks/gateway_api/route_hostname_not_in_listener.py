"""route-hostname-not-in-listener: no hostname of a route intersects those of the listeners it attaches to."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, related_to, replace_fixes
from istio_lsp.checks.gateway_api._attach import attachment, routes_of
from istio_lsp.index import FileSummary

DOC = """\
A route's `hostnames` and the `hostname` of every listener its parentRef selects have
nothing in common. A listener hostname `*.example.com` covers any name ending in
`.example.com` (not `example.com` itself); a listener or route without hostnames takes
every host.

## Why it matters

Istio's controller sets the route's `Accepted` condition to False for that parent
(reason `NoMatchingListenerHostname`): no request the Gateway receives on those
listeners can reach the route.

## Wrong

```yaml
kind: Gateway
spec:
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: "*.example.com", ...}
---
kind: HTTPRoute
spec:
  parentRefs: [{name: public}]
  hostnames: [shop.example.org]
```

## Right

```yaml
  hostnames: [shop.example.com]
```

## Fixes

**Did you mean `x`?** with the listener hostnames close to the route's.

Related: Istio's route status `Accepted=False`, reason `NoMatchingListenerHostname`; the
Gateway API conformance test `TLSRouteInvalidNoMatchingListenerHostname`. Kiali has no
equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        if not route.hostnames:
            continue
        for parent in route.parents:
            found = attachment(ctx, route, parent)
            if found.stage != "hostname":
                continue
            owner = found.gateways[0]
            listener_hosts = sorted({lst.hostname.value for lst in found.listeners if lst.hostname is not None})
            shown = ", ".join(f"`{h}`" for h in listener_hosts)
            message = (
                f"No hostname of this {route.kind} matches the listeners of {owner.display} it attaches to "
                f"({shown}): Istio sets its Accepted condition to False (NoMatchingListenerHostname) and the "
                f"Gateway routes no request to it."
            )
            fixes = []
            if len(route.hostnames) == 1:
                ref = route.hostnames[0]
                near = close_matches(ref.value, listener_hosts) or listener_hosts[:1]
                # a wildcard starts with `*`, an alias in plain YAML: quote it
                quoted = [f'"{h}"' if h[:1] == "*" and not ref.quote else h for h in near]
                fixes = list(replace_fixes(route.uri, ref, quoted))
            yield ctx.finding(
                RULE,
                route,
                route.hostnames[0].span,
                message,
                related=[related_to(owner, "the Gateway the route attaches to")],
                fixes=fixes,
            )


RULE = Rule(
    code="route-hostname-not-in-listener",
    severity=Severity.ERROR,
    summary="A route whose hostnames match none of its parent listeners' hostnames (NoMatchingListenerHostname).",
    doc=DOC,
    run=run,
)
