"""invalid-tcp-route: `tcp` route rules Istio rejects (null matches, bad subnets, missing route)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes, subnet_problems
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, distinct, items_at
from istio_lsp.checks.local import DocumentContext, name_or_first_key
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import key_node

DOC = """\
A `tcp` route rule that Istio's webhook rejects.

Covers the "TLS and TCP routes" rows of the webhook checklist for `tcp`:

- a null `match` entry;
- a `destinationSubnets` entry that is not an IP address or CIDR block;
- a rule without `route` destinations.

Ports, source labels and gateway names in the match are checked by `invalid-port`,
`invalid-labels` and `invalid-gateway-reference`; weights and destinations by
`invalid-route-destination`.

## Why it matters

A TCP rule can only forward connections: without a destination there is nothing
it could do, and Istio's webhook rejects the whole VirtualService.

## Wrong

```yaml
tcp:
- match:
  - port: 27017
    destinationSubnets: [10.0.0.0/33]
```

## Right

```yaml
tcp:
- match:
  - port: 27017
    destinationSubnets: [10.0.0.0/16]
  route:
  - destination: {host: mongo, port: {number: 27017}}
```

Related: `istioctl analyze` IST0106 (schema validation error).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "tcp"):
        for match in distinct(items_at(rule, "match")):
            if absent(match):
                yield ctx.finding(RULE.code, RULE.severity, match, f"A `tcp` match entry is empty (null). {REJECTED}.")
            elif isinstance(match, MappingNode):
                for node, message in subnet_problems(match):
                    yield ctx.finding(RULE.code, RULE.severity, node, message)
        if not items_at(rule, "route"):
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                key_node(rule, "route") or name_or_first_key(rule),
                f"A `tcp` rule needs a `route` with at least one destination. {REJECTED}.",
            )


RULE = Rule(
    code="invalid-tcp-route",
    severity=Severity.ERROR,
    summary="A tcp route rule Istio rejects: a null match, a bad destination subnet, no route.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
