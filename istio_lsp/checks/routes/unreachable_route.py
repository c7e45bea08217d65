"""unreachable-route: a route that no request can reach, because earlier routes take them all."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext, first_key
from istio_lsp.checks.routes._shared import analyze
from istio_lsp.findings import Finding, Severity

DOC = """\
A route of a VirtualService (`http`, `tcp` or `tls`) can never receive a request,
because the routes before it already take every request it would match.

Envoy tries the routes of a list in order and uses the first one whose `match`
accepts the request. Two situations make a route dead:

- **A catch-all comes first.** A route without `match` (or with a match that sets
  no condition at all) accepts everything, so every route after it in the same list
  is ignored. Only the last route may go without a `match`.
- **Every match is taken earlier.** Each of the route's matches is identical to an
  earlier match (HTTP match `name`s do not count), or, for HTTP, is covered by a
  broader earlier one: `uri.prefix: /api` before `uri.prefix: /api/v1`, a match
  without `method` before one with `method: {exact: GET}`, and so on. Each such
  match is also reported as `ineffective-match`.

Checklist rows (istio-validation-rules.md, "VS-unreachable"): a route without
`match` that is not the last one; all matches of a rule used by prior rules.
`istioctl analyze` reports these as IST0130 (VirtualServiceUnreachableRule). Where
we differ from it: we report a route after a catch-all once (Istio once per match),
and we also count matches covered by a broader earlier HTTP match, not only exact
duplicates.

## Why it matters

The dead route is configuration that looks active and is not: traffic meant for it
(a canary subset, a special path, a header-based test route) silently goes to the
earlier route instead. It usually comes from appending a route after the default
one, or from ordering a general prefix before a more specific one.

## Wrong

```yaml
http:
- route:                      # catch-all first
  - destination: {host: reviews, subset: v1}
- match:
  - headers: {end-user: {exact: jason}}
  route:                      # never used
  - destination: {host: reviews, subset: v2}
```

## Right

```yaml
http:
- match:
  - headers: {end-user: {exact: jason}}
  route:
  - destination: {host: reviews, subset: v2}
- route:                      # the default route last
  - destination: {host: reviews, subset: v1}
```

## Fixes

Move the catch-all route (or the broader match) after the specific routes, make the
later route's matches more specific than the earlier ones, or delete the dead route.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    unreachable, _ = analyze(ctx)
    for item in unreachable:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            first_key(item.route.node),
            f"{item.route.label} never receives traffic: {item.reason}. "
            "Requests meant for it go to the earlier route instead.",
        )


RULE = Rule(
    code="unreachable-route",
    severity=Severity.WARNING,
    summary="A route comes after a catch-all route, or all its matches are taken by earlier routes.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0130",),
)
