"""ineffective-match: one match of a route that an earlier match already takes every request of."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.routes._shared import analyze
from istio_lsp.findings import Finding, Severity

DOC = """\
One entry of a route's `match` list never applies, because an earlier match (in an
earlier route, or earlier in the same route) accepts every request it would accept.

A route applies when any of its matches accepts the request, and Envoy tries matches
in order. A match is ineffective when an earlier one is:

- **identical** (HTTP, TCP and TLS; an HTTP match's `name` is ignored, as it only
  labels the match), or
- **broader** (HTTP only): every condition the earlier match sets is met by every
  request the later one accepts. For a `uri`, an earlier `prefix: /api/v1/product`
  covers a later `prefix: /api/v1/products` or `exact: /api/v1/product/1`. The same
  reading applies to `scheme`, `method`, `authority`, `headers` and `queryParams`
  (an earlier condition that is absent accepts anything; an earlier `prefix` covers
  later values that start with it), `withoutHeaders` (the later match must exclude
  at least what the earlier one excludes), `port`, `sourceLabels`, `gateways`,
  `sourceNamespace` and `ignoreUriCase`. Regexes are only compared for equality.
  When a condition cannot be compared, the match is not reported.

Checklist rows (istio-validation-rules.md, "VS-unreachable"): a match identical to
an earlier one; an earlier `uri.prefix` match that covers a later one. `istioctl
analyze` reports these as IST0131 (VirtualServiceIneffectiveMatch). Istio's own
prefix comparison treats a missing `method` as `exact: GET` and ignores `scheme`,
`gateways`, `sourceLabels` and `sourceNamespace`; we compare them as Envoy
evaluates them instead (a missing method accepts every method), so a GET-only
`/api` before an any-method `/api/v1` is not reported (POST requests still reach
it), while a method-less `/api` before `/api/v1` with `GET` is.

When every match of a route is ineffective, the route itself is also reported as
`unreachable-route`.

## Why it matters

The ineffective match is dead configuration: requests it was written for are handled
by the earlier route, with that route's destinations, retries and timeouts. The
usual cause is a general prefix listed before a more specific one.

## Wrong

```yaml
http:
- match:
  - uri: {prefix: /api}
  route:
  - destination: {host: api}
- match:
  - uri: {prefix: /api/admin}    # never applies
  route:
  - destination: {host: admin}
```

## Right

List the more specific match first:

```yaml
http:
- match:
  - uri: {prefix: /api/admin}
  route:
  - destination: {host: admin}
- match:
  - uri: {prefix: /api}
  route:
  - destination: {host: api}
```

## Fixes

Reorder the routes (more specific first), narrow the earlier match, or remove the
duplicate.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    _, ineffective = analyze(ctx)
    for item in ineffective:
        yield ctx.finding(RULE.code, RULE.severity, item.node, item.message)


RULE = Rule(
    code="ineffective-match",
    severity=Severity.INFORMATION,
    summary="A route's match never applies: an earlier match takes every request it would.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0131",),
)
