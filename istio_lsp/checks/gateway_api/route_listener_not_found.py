"""route-listener-not-found: a route's parentRef `sectionName` or `port` matches no listener of the Gateway."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, replace_fixes
from istio_lsp.checks.gateway_api._attach import attachment, routes_of
from istio_lsp.checks.gateway_api._backends import set_port_fixes
from istio_lsp.findings import Fix
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import GatewayListener, GatewayParentRef, KubernetesRoute

DOC = """\
A route's parentRef selects listeners of its Gateway by `sectionName` (the listener's
`name`) and `port`; here no listener of the Gateway has that name, that port, or both
together.

## Why it matters

A parentRef that selects no listener attaches nowhere: Istio's controller sets the
route's `Accepted` condition to False for that parent (reason `NoMatchingParent`,
"sectionName not found" or "port not found") and the Gateway serves none of the
route's rules.

## Wrong

```yaml
kind: Gateway
spec:
  listeners:
  - {name: https, port: 443, protocol: HTTPS, ...}
---
kind: HTTPRoute
spec:
  parentRefs:
  - {name: public, sectionName: http}     # no listener `http`
```

## Right

```yaml
  parentRefs:
  - {name: public, sectionName: https}
```

## Fixes

**Did you mean `x`?** for listener names close to the `sectionName`; **Set the port to N**
when the selected listeners use one port.

Related: Istio's route status `Accepted=False`, reason `NoMatchingParent`; the Gateway
API conformance tests `HTTPRouteInvalidParentRefNotMatchingSectionName` and
`HTTPRouteInvalidParentRefNotMatchingListenerPort`. Kiali has no equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for route in routes_of(summary.resources):
        for parent in route.parents:
            if parent.name is None or (parent.section_name is None and parent.port is None):
                continue
            found = attachment(ctx, route, parent)
            if found.stage == "listener":
                yield _finding(ctx, route, parent, found.listeners, found.gateways[0].display)


def _finding(
    ctx: Context, route: KubernetesRoute, parent: GatewayParentRef, listeners: list[GatewayListener], owner: str
) -> Finding:
    names = [listener.name for listener in listeners if listener.name]
    section = parent.section_name
    named = [listener for listener in listeners if section is not None and listener.name == section.value]
    fixes: list[Fix] = []
    if section is not None and not named:
        span = section.span
        what = f"no listener named `{section.value}`"
        suggestions = close_matches(section.value, names) or (names if len(names) == 1 else [])
        fixes = list(replace_fixes(route.uri, section, suggestions))
    else:
        span = parent.port_span or parent.span
        candidates = named or listeners
        what = f"no listener {'`' + section.value + '` ' if section is not None else ''}on port {parent.port}"
        ports = sorted({listener.port for listener in candidates if listener.port is not None})
        if parent.port_span is not None:
            fixes = set_port_fixes(route.uri, parent.port_span, ports)
    listed = ", ".join(f"`{listener.name}` ({listener.protocol} {listener.port})" for listener in listeners[:6])
    message = (
        f"{owner} has {what} (its listeners: {listed}): Istio sets the {route.kind}'s Accepted condition to "
        f"False (NoMatchingParent) and the Gateway serves none of its rules."
    )
    return ctx.finding(RULE, route, span, message, fixes=fixes)


RULE = Rule(
    code="route-listener-not-found",
    severity=Severity.ERROR,
    summary="A route parentRef sectionName or port matching no listener of its Gateway (NoMatchingParent).",
    doc=DOC,
    run=run,
)
