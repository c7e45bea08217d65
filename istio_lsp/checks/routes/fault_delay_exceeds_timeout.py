"""fault-delay-exceeds-timeout: an injected delay at least as long as the same route's timeout."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import as_float, format_duration, parse_duration
from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.routes._shared import routes
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax.nodes import get, path, scalar

DOC = """\
An HTTP route injects a fixed delay (`fault.delay.fixedDelay`) that is not shorter
than its own `timeout`, for some percentage of requests.

Such a pair is usually written to watch the timeout fire in a chaos test. It does
not: Envoy applies the fault filter before the router, and the route timeout only
starts when the router receives the request, that is after the injected delay. The
delayed requests are not cut off with 504; they wait the full delay and then still
get the whole `timeout` for the upstream call. Callers see the delay added to the
response time, and only their own timeouts can end the request earlier.

The check needs an explicit `timeout` (Istio sets none by default) and a delay
`percentage.value` above 0 (without it no request is delayed; the deprecated
integer `percent` field is not read by current Istio). The message says how many
requests are affected.

Not in the webhook checklist; a semantic check of this project.

## Why it matters

A test that expects 504s from this route sees slow successes instead, and may be
read as "the timeout does not work". To see a timeout fire, delay the calls one
hop further (in the VirtualService of the service this one calls) and keep the
timeout here, as Istio's request-timeouts task does.

## Wrong

```yaml
http:
- fault:
    delay:
      fixedDelay: 5s
      percentage: {value: 10}
  timeout: 3s          # does not cut the 5s delay short
  route:
  - destination: {host: ratings}
```

## Right

```yaml
# ratings: the delay
http:
- fault:
    delay:
      fixedDelay: 5s
      percentage: {value: 10}
  route:
  - destination: {host: ratings}
---
# reviews (calls ratings): the timeout, which the delay downstream now triggers
http:
- timeout: 3s
  route:
  - destination: {host: reviews}
```

## Fixes

Move the delay to the route of the service that is called further down the chain,
or drop the `timeout` if the test only needs slow responses.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for route in routes(ctx, ("http",)):
        timeout = _seconds(scalar(get(route.node, "timeout")))
        delay = path(route.node, "fault", "delay")
        fixed = _seconds(scalar(get(delay, "fixedDelay")))
        share = as_float(scalar(path(delay, "percentage", "value")))
        if timeout is None or fixed is None or share is None or timeout <= 0 or share <= 0:
            continue
        if fixed < timeout:
            continue
        requests = f"{share:g}% of requests" if share < 100 else "every request"
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            f"{route.path}.fault.delay.fixedDelay",
            f"{route.label} delays {requests} by {format_duration(fixed)}, not less than its "
            f"`timeout: {format_duration(timeout)}`, but the delay does not count against the route timeout: "
            "Envoy starts the timeout only after the injected delay, so these requests are slowed down, not "
            "failed with 504. To make the timeout fire, inject the delay in the route of the service called "
            "further down.",
        )


def _seconds(text: str | None) -> float | None:
    return parse_duration(text) if text is not None else None


RULE = Rule(
    code="fault-delay-exceeds-timeout",
    severity=Severity.INFORMATION,
    summary="A route injects a fixed delay at least as long as its own timeout, which it does not trigger.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
)
