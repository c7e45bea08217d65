"""single-weighted-destination: the only destination of a route has a weight below 100."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext, quote_of
from istio_lsp.checks.routes._shared import destinations, routes
from istio_lsp.findings import Finding, Fix, Severity, TextEdit

DOC = """\
A route (`http`, `tcp` or `tls`) has a single destination, and its `weight` is
below 100.

Weights are relative shares of a route's traffic. With one destination there is
nothing to share with: it gets 100% of the requests whatever its weight says. A
single destination without a weight, or with `weight: 100`, is fine.

Kiali reports this as KIA1104. Not a webhook rule (the webhook accepts any
non-negative weight).

## Why it matters

`weight: 20` on the only destination reads like "send 20% here", but all traffic
goes there. Usually the second destination of a traffic split was removed or
never added: a canary that was meant to get a share gets everything.

## Wrong

```yaml
route:
- destination: {host: reviews, subset: v2}
  weight: 20
```

## Right

```yaml
route:
- destination: {host: reviews, subset: v1}
  weight: 80
- destination: {host: reviews, subset: v2}
  weight: 20
```

or, when all traffic should go to the one destination, drop the weight or set it to 100.

## Fixes

- **Set weight to 100**: states what already happens.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for route in routes(ctx):
        dests = destinations(route.node)
        if dests is None or len(dests) != 1:
            continue
        (dest,) = dests
        if dest.weight is None or dest.weight >= 100 or dest.weight_node is None:
            continue
        quote = quote_of(dest.weight_node)
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            dest.weight_node,
            f"{dest.label} is the only destination of {route.label}, so it gets all of its traffic: "
            f"`weight: {dest.weight}` has no effect. Add the destination that should get the other "
            f"{100 - dest.weight}%, or set the weight to 100.",
            fixes=[
                Fix(
                    "Set weight to 100",
                    (TextEdit(ctx.uri, ctx.node_span(dest.weight_node), f"{quote}100{quote}"),),
                    preferred=True,
                )
            ],
        )


RULE = Rule(
    code="single-weighted-destination",
    severity=Severity.WARNING,
    summary="A route's only destination has a weight below 100, yet gets all the traffic.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    kiali_codes=("KIA1104",),
)
