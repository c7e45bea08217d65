"""routing-test-failed: a case of a routing test file (`kind: RoutingTest`) whose request goes elsewhere.

No check function: `istio-lsp test` and the editor make these findings by running the routing tests
(`istio_lsp.routing.testfile.run_case`); the rule is registered for its code, severity and page."""

from __future__ import annotations

from istio_lsp.checks.base import Rule, Severity

DOC = """\
A case of a routing test file (`kind: RoutingTest`, `apiVersion: istio-lsp.dev/v1`) whose request
does not get the outcome the case expects: the request was traced through the configuration and an
`expect` key does not hold, or an `expectNot` key does. The finding sits on the first expectation
that fails and says what was expected, what the trace gives, and for which request.

`istio-lsp test` reports these findings in CI; the editor shows them on the case while you edit the
test file or any manifest the routing reads, so a change that sends traffic elsewhere shows up
where the intent is written.

## Why it matters

A routing test states what the routing is meant to do: this path reaches that Service, this header
selects the canary subset, that host answers 404. A failing case means the configuration now does
something else, usually a route order, a host, a subset or a weight changed by an edit elsewhere.

## Wrong

```yaml
apiVersion: istio-lsp.dev/v1
kind: RoutingTest
via: shop/public-gateway
cases:
- name: the canary header reaches v2
  request: {url: http://shop.example.com/api, headers: {x-canary: "true"}}
  expect:
    destination: {host: web, subset: v2}   # the route for x-canary sends to subset v1
```

## Right

The route for the header sends to the subset the case expects (or the case states what the routing
is now meant to do).

## Fixes

Correct the routing, or the case when the routing is right. `istio-lsp trace` with the case's
request (in the editor, the `istioLsp.trace` command or the "Trace a request…" lens) shows every step
of the decision. The format is described in docs/routing.md.

No `istioctl analyze` code: Istio has no routing tests (istio-config-validator's test cases are the
nearest, and map onto this format).
"""

RULE = Rule(code="routing-test-failed", severity=Severity.ERROR, summary="A routing test case fails.", doc=DOC)
