"""route-backends-all-zero-weight: a route rule whose backendRefs all have weight 0."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._attach import routes_of
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.index import FileSummary

DOC = """\
Every `backendRefs` item of a route rule has `weight: 0` (typically a single backend
set to 0 during a rollout). Rules with `filters` are not judged: a redirect or an extension
may answer without a backend.

## Why it matters

A backend's weight is its share of the rule's requests, relative to the others; a weight
of 0 sends it none. When all weights are 0 there is nowhere to send a request: Gateway API
requires the implementation to answer 500, and Istio does.

## Wrong

```yaml
  - backendRefs:
    - {name: reviews-v2, port: 9080, weight: 0}
```

## Right

```yaml
  - backendRefs:
    - {name: reviews-v2, port: 9080}        # weight 1 by default
```

## Fixes

**Set the weight to 1** (one backend).

Related: `weights-not-100` and `single-weighted-destination` for VirtualServices; no status
condition: Istio accepts the route.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for rule in route.rules:
            refs = rule.backends
            if not refs or rule.has_filters or any(ref.weight != 0 for ref in refs):
                continue  # (a filter may answer without a backend: a redirect, an extension)
            first = refs[0]
            fixes = []
            if len(refs) == 1 and first.weight_span is not None:
                fixes = [Fix("Set the weight to 1", (TextEdit(route.uri, first.weight_span, "1"),), preferred=True)]
            message = (
                "Every backend of this rule has weight 0: there is nowhere to send a request, and Istio answers "
                "every request the rule matches with 500."
            )
            yield ctx.finding(RULE, route, first.weight_span or first.span, message, fixes=fixes)


RULE = Rule(
    code="route-backends-all-zero-weight",
    severity=Severity.ERROR,
    summary="A route rule whose backendRefs all have weight 0: every request it matches gets 500.",
    doc=DOC,
    run=run,
)
